// libtcpemu_packetdrill.so driven as packetdrill drives it, without
// packetdrill: loaded with dlopen, set up by packetdrill_interface_init, fed
// raw IPv4 through netdev_send and read back through netdev_receive, on the
// virtual clock of usleep and gettimeofday.
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "engine/wire/packet.h"
#include "gtest/gtest.h"
#include "tests/packetdrill/packetdrill_abi.h"

namespace tcpemu::packetdrill {
namespace {

using namespace tcp_flags;

constexpr uint32_t kLocal = 0xC0A80001;   // 192.168.0.1
constexpr uint32_t kRemote = 0xC0000201;  // 192.0.2.1
constexpr uint16_t kPort = 8080;
constexpr uint16_t kPeerPort = 40001;

class Shim {
 public:
  explicit Shim(const std::string& flags) {
    handle_ = dlopen(TCPEMU_PACKETDRILL_SO, RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) return;
    auto init = reinterpret_cast<packetdrill_interface_init_t>(
        dlsym(handle_, "packetdrill_interface_init"));
    if (init == nullptr) return;
    init(flags.c_str(), &ifc_);
  }
  ~Shim() {
    if (ifc_.free != nullptr) ifc_.free(ifc_.userdata);
    if (handle_ != nullptr) dlclose(handle_);
  }
  bool loaded() const { return ifc_.userdata != nullptr; }
  packetdrill_interface& ifc() { return ifc_; }
  void* u() { return ifc_.userdata; }

  // A segment from the peer (192.0.2.1:40001 to 192.168.0.1:8080).
  int Inject(uint8_t flags, uint32_t seq, uint32_t ack,
             const std::string& data = "", uint16_t window = 65535) {
    Ipv4Header ip;
    ip.src = kRemote;
    ip.dst = kLocal;
    TcpHeader h;
    h.src_port = kPeerPort;
    h.dst_port = kPort;
    h.seq = Seq(seq);
    h.ack = Seq(ack);
    h.flags = flags;
    h.window = window;
    if (flags & kSyn) h.options.mss = 1460;
    absl::StatusOr<Packet> p = BuildTcpPacket(
        ip, h,
        Payload::Copy(absl::MakeConstSpan(
            reinterpret_cast<const uint8_t*>(data.data()), data.size())));
    EXPECT_TRUE(p.ok()) << p.status();
    std::vector<uint8_t> bytes(p->size());
    std::memcpy(bytes.data(), p->header.data(), p->header_len);
    p->payload.CopyTo(absl::MakeSpan(bytes).subspan(p->header_len));
    return ifc_.netdev_send(u(), bytes.data(), bytes.size());
  }

  // The stack's next packet and when it left (microseconds).
  std::optional<ParsedTcpPacket> Next(long long* when = nullptr) {
    std::vector<uint8_t> buf(65536);
    size_t n = buf.size();
    long long t = 0;
    if (ifc_.netdev_receive(u(), buf.data(), &n, &t) != 0 || n == 0) {
      return std::nullopt;
    }
    if (when != nullptr) *when = t;
    absl::StatusOr<ParsedTcpPacket> p =
        ParseTcpPacketBytes(absl::MakeConstSpan(buf.data(), n));
    if (!p.ok()) return std::nullopt;
    return *p;
  }

  long long NowUs() {
    timeval tv{};
    ifc_.gettimeofday(u(), &tv, nullptr);
    return tv.tv_sec * 1000000LL + tv.tv_usec;
  }

  int Listener() {
    int fd = ifc_.socket(u(), AF_INET, SOCK_STREAM, IPPROTO_TCP);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kPort);
    a.sin_addr.s_addr = htonl(kLocal);
    EXPECT_EQ(ifc_.bind(u(), fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)),
              0);
    EXPECT_EQ(ifc_.listen(u(), fd, 4), 0);
    return fd;
  }

 private:
  void* handle_ = nullptr;
  packetdrill_interface ifc_{};
};

TEST(PacketdrillInterfaceTest, PassiveOpenDataAndCloseThroughRawIpv4) {
  Shim s("profile=linux local_ip=192.168.0.1");
  ASSERT_TRUE(s.loaded()) << dlerror();
  const int lfd = s.Listener();

  // A blocking accept waits on its own thread, as packetdrill runs it.
  int afd = -1;
  std::thread acceptor(
      [&] { afd = s.ifc().accept(s.u(), lfd, nullptr, nullptr); });
  ASSERT_EQ(s.Inject(kSyn, 1000, 0), 0);
  std::optional<ParsedTcpPacket> synack = s.Next();
  ASSERT_TRUE(synack.has_value());
  EXPECT_EQ(synack->tcp.flags, kSyn | kAck);
  EXPECT_EQ(synack->tcp.ack.value(), 1001u);
  EXPECT_EQ(synack->ip.src, kLocal);
  EXPECT_EQ(synack->tcp.options.mss, std::optional<uint16_t>(1460));
  const uint32_t iss = synack->tcp.seq.value();
  ASSERT_EQ(s.Inject(kAck, 1001, iss + 1), 0);
  acceptor.join();
  ASSERT_GE(afd, 0);

  // Data both ways.
  ASSERT_EQ(s.ifc().write(s.u(), afd, "hello", 5), 5);
  std::optional<ParsedTcpPacket> data = s.Next();
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(data->payload.size(), 5u);
  EXPECT_EQ(data->tcp.seq.value(), iss + 1);
  ASSERT_EQ(s.Inject(kAck | kPsh, 1001, iss + 6, "world"), 0);
  char buf[16] = {};
  EXPECT_EQ(s.ifc().recv(s.u(), afd, buf, sizeof(buf), MSG_PEEK), 5);
  EXPECT_EQ(s.ifc().read(s.u(), afd, buf, sizeof(buf)), 5);
  EXPECT_EQ(std::string(buf, 5), "world");
  // Nothing more to read on a non-blocking socket: EAGAIN.
  EXPECT_EQ(s.ifc().recv(s.u(), afd, buf, sizeof(buf), MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);

  // The ACK for "world" is delayed: netdev_receive moves the virtual clock
  // to the delayed-ACK timer (40 ms) to find it.
  const long long before = s.NowUs();
  long long when = 0;
  std::optional<ParsedTcpPacket> ack = s.Next(&when);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->tcp.ack.value(), 1006u);
  EXPECT_GE(when - before, 39000);
  EXPECT_LE(when - before, 41000);

  // close sends FIN.
  ASSERT_EQ(s.ifc().close(s.u(), afd), 0);
  std::optional<ParsedTcpPacket> fin = s.Next();
  ASSERT_TRUE(fin.has_value());
  EXPECT_EQ(fin->tcp.flags, kFin | kAck);
  EXPECT_EQ(s.ifc().close(s.u(), lfd), 0);
}

TEST(PacketdrillInterfaceTest, VirtualClockMovesOnlyWhenAsked) {
  Shim s("profile=linux");
  ASSERT_TRUE(s.loaded()) << dlerror();
  const long long t0 = s.NowUs();
  ASSERT_EQ(s.ifc().usleep(s.u(), 250000), 0);
  const long long t1 = s.NowUs();
  // Each look at the clock costs a microsecond.
  EXPECT_GE(t1 - t0, 250000);
  EXPECT_LE(t1 - t0, 250010);
}

TEST(PacketdrillInterfaceTest, SynAckIsRetransmittedOnTheVirtualClock) {
  Shim s("profile=linux local_ip=192.168.0.1");
  ASSERT_TRUE(s.loaded()) << dlerror();
  s.Listener();
  ASSERT_EQ(s.Inject(kSyn, 1000, 0), 0);
  long long first = 0, second = 0;
  ASSERT_TRUE(s.Next(&first).has_value());
  std::optional<ParsedTcpPacket> again = s.Next(&second);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->tcp.flags, kSyn | kAck);
  EXPECT_EQ(second - first, 1000000);  // the initial RTO, 1 s
}

TEST(PacketdrillInterfaceTest, ErrnoValuesAreTheKernels) {
  Shim s("profile=linux local_ip=192.168.0.1");
  ASSERT_TRUE(s.loaded()) << dlerror();
  EXPECT_EQ(s.ifc().socket(s.u(), AF_INET6, SOCK_STREAM, 0), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  EXPECT_EQ(s.ifc().socket(s.u(), AF_INET, SOCK_DGRAM, 0), -1);
  EXPECT_EQ(errno, EPROTONOSUPPORT);
  const int fd = s.ifc().socket(s.u(), AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  char b[4];
  EXPECT_EQ(s.ifc().read(s.u(), fd, b, sizeof(b)), -1);
  EXPECT_EQ(errno, ENOTCONN);
  EXPECT_EQ(s.ifc().write(s.u(), fd, b, sizeof(b)), -1);
  EXPECT_EQ(errno, EPIPE);  // Linux; FreeBSD says ENOTCONN
  EXPECT_EQ(s.ifc().accept(s.u(), fd, nullptr, nullptr), -1);
  EXPECT_EQ(errno, EINVAL);
  int v = 0;
  socklen_t len = sizeof(v);
  EXPECT_EQ(s.ifc().getsockopt(s.u(), fd, SOL_SOCKET, 9999, &v, &len), -1);
  EXPECT_EQ(errno, ENOPROTOOPT);
  // A non-blocking connect reports EINPROGRESS and sends the SYN.
  ASSERT_EQ(s.ifc().fcntl(s.u(), fd, F_SETFL, O_RDWR | O_NONBLOCK), 0);
  EXPECT_EQ(s.ifc().fcntl(s.u(), fd, F_GETFL), O_RDWR | O_NONBLOCK);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(kPeerPort);
  a.sin_addr.s_addr = htonl(kRemote);
  EXPECT_EQ(
      s.ifc().connect(s.u(), fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)),
      -1);
  EXPECT_EQ(errno, EINPROGRESS);
  EXPECT_EQ(
      s.ifc().connect(s.u(), fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)),
      -1);
  EXPECT_EQ(errno, EALREADY);
  std::optional<ParsedTcpPacket> syn = s.Next();
  ASSERT_TRUE(syn.has_value());
  EXPECT_EQ(syn->tcp.flags, kSyn);
  // Unsupported calls say so.
  EXPECT_EQ(s.ifc().epoll_create(s.u(), 1), -1);
  EXPECT_EQ(errno, ENOSYS);
  EXPECT_EQ(s.ifc().close(s.u(), 12345), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(PacketdrillInterfaceTest, FreeBsdProfileLaysOptionsOutAsFreeBsd) {
  Shim s("profile=freebsd local_ip=192.168.0.1");
  ASSERT_TRUE(s.loaded()) << dlerror();
  const int fd =
      s.ifc().socket(s.u(), AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(kPeerPort);
  a.sin_addr.s_addr = htonl(kRemote);
  s.ifc().connect(s.u(), fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  std::vector<uint8_t> buf(2048);
  size_t n = buf.size();
  long long t = 0;
  ASSERT_EQ(s.ifc().netdev_receive(s.u(), buf.data(), &n, &t), 0);
  ASSERT_EQ(n, 60u);  // 20 IP + 20 TCP + 20 options
  // mss, nop, wscale 6, sackOK, TS.
  const uint8_t* o = buf.data() + 40;
  EXPECT_EQ(o[0], 2);
  EXPECT_EQ(o[4], 1);
  EXPECT_EQ(o[5], 3);
  EXPECT_EQ(o[7], 6);
  EXPECT_EQ(o[8], 4);
  EXPECT_EQ(o[10], 8);
}

}  // namespace
}  // namespace tcpemu::packetdrill
