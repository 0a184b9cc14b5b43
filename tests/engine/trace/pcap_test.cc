// Tests for the pcap writer (pcap-savefile(5), nanosecond variant): golden
// file and record header bytes, snaplen truncation, multi-slice payloads, the
// three destinations, errors, and a read-back of real files with tcpdump.
#include "engine/trace/pcap.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "engine/wire/arp.h"
#include "engine/wire/ethernet.h"
#include "engine/wire/icmp.h"
#include "engine/wire/packet.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using ::testing::HasSubstr;

uint32_t Le32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t{b[at]} | (uint32_t{b[at + 1]} << 8) |
         (uint32_t{b[at + 2]} << 16) | (uint32_t{b[at + 3]} << 24);
}

std::vector<uint8_t> Iota(size_t n, uint8_t start = 0) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

// A payload of `sizes` bytes per slice, from alternating chunks so that the
// slices stay separate, holding the bytes first, first + 1, ...
Payload MultiSlice(const std::vector<size_t>& sizes, uint8_t first) {
  const size_t total = std::accumulate(sizes.begin(), sizes.end(), size_t{0});
  const std::vector<uint8_t> bytes = Iota(total, first);
  const Payload a = Payload::Copy(bytes);
  const Payload b = Payload::Copy(bytes);
  Payload out;
  size_t off = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    out.Append((i % 2 == 0 ? a : b).Sub(off, sizes[i]));
    off += sizes[i];
  }
  return out;
}

TEST(PcapTest, GoldenFileHeader) {
  PcapWriter w(PcapLinkType::kRaw, 65535);
  ASSERT_TRUE(w.WriteHeader().ok());
  const std::vector<uint8_t> golden = {
      0x4d, 0x3c, 0xb2, 0xa1,  // magic 0xa1b23c4d (nanoseconds), little-endian
      0x02, 0x00, 0x04, 0x00,  // version 2.4
      0x00, 0x00, 0x00, 0x00,  // thiszone
      0x00, 0x00, 0x00, 0x00,  // sigfigs
      0xff, 0xff, 0x00, 0x00,  // snaplen 65535
      0x65, 0x00, 0x00, 0x00,  // LINKTYPE_RAW (101)
  };
  EXPECT_EQ(w.buffer(), golden);

  PcapWriter eth(PcapLinkType::kEthernet, 0);
  ASSERT_TRUE(eth.WriteHeader().ok());
  EXPECT_EQ(Le32(eth.buffer(), 16), PcapWriter::kMaxSnaplen);  // 0 = max
  EXPECT_EQ(Le32(eth.buffer(), 20), 1u);                       // ETHERNET
}

TEST(PcapTest, SnaplenClamped) {
  EXPECT_EQ(PcapWriter(PcapLinkType::kRaw, 0).snaplen(), 262144u);
  EXPECT_EQ(PcapWriter(PcapLinkType::kRaw, 1u << 30).snaplen(), 262144u);
  EXPECT_EQ(PcapWriter(PcapLinkType::kRaw, 1).snaplen(), 1u);
  EXPECT_EQ(PcapWriter(PcapLinkType::kRaw).snaplen(), 262144u);
}

TEST(PcapTest, GoldenRecord) {
  PcapWriter w(PcapLinkType::kRaw, 1500);
  ASSERT_TRUE(w.WriteHeader().ok());
  const std::vector<uint8_t> pkt = {0xaa, 0xbb, 0xcc};
  ASSERT_TRUE(w.WritePacket(3 * kSecond + 7, pkt).ok());
  const std::vector<uint8_t> record = {
      0x03, 0x00, 0x00, 0x00,  // ts_sec 3
      0x07, 0x00, 0x00, 0x00,  // ts_nsec 7
      0x03, 0x00, 0x00, 0x00,  // captured length
      0x03, 0x00, 0x00, 0x00,  // original length
      0xaa, 0xbb, 0xcc,
  };
  EXPECT_EQ(std::vector<uint8_t>(w.buffer().begin() + 24, w.buffer().end()),
            record);
  EXPECT_EQ(w.packets_written(), 1u);
  EXPECT_EQ(w.packets_truncated(), 0u);
}

TEST(PcapTest, HeadAndSlicesWrittenInOrder) {
  PcapWriter w(PcapLinkType::kRaw);
  ASSERT_TRUE(w.WriteHeader().ok());
  const std::vector<uint8_t> head = Iota(10, 200);
  const Payload payload = MultiSlice({5, 1, 7}, 0);
  ASSERT_EQ(payload.slices().size(), 3u);
  ASSERT_TRUE(w.WritePacket(kSecond - 1, head, payload).ok());

  const std::vector<uint8_t>& b = w.buffer();
  ASSERT_EQ(b.size(), 24u + 16u + 23u);
  EXPECT_EQ(Le32(b, 24), 0u);
  EXPECT_EQ(Le32(b, 28), 999999999u);
  EXPECT_EQ(Le32(b, 32), 23u);
  EXPECT_EQ(Le32(b, 36), 23u);
  std::vector<uint8_t> want = head;
  const std::vector<uint8_t> tail = Iota(13, 0);
  want.insert(want.end(), tail.begin(), tail.end());
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + 40, b.end()), want);
}

TEST(PcapTest, TruncatesToSnaplenKeepingOriginalLength) {
  const std::vector<uint8_t> head = Iota(10, 100);
  const Payload payload = MultiSlice({6, 6, 6}, 0);
  const std::vector<uint8_t> all = [&] {
    std::vector<uint8_t> v = head;
    const std::vector<uint8_t> p = Iota(18, 0);
    v.insert(v.end(), p.begin(), p.end());
    return v;
  }();
  // Cuts inside the head, at its end, inside each slice, and none at all.
  for (uint32_t snaplen : {1u, 4u, 10u, 11u, 16u, 17u, 27u, 28u, 29u}) {
    PcapWriter w(PcapLinkType::kRaw, snaplen);
    ASSERT_TRUE(w.WriteHeader().ok());
    ASSERT_TRUE(w.WritePacket(0, head, payload).ok());
    const std::vector<uint8_t>& b = w.buffer();
    const size_t cap = std::min<size_t>(snaplen, 28);
    ASSERT_EQ(b.size(), 40u + cap) << snaplen;
    EXPECT_EQ(Le32(b, 32), cap) << snaplen;
    EXPECT_EQ(Le32(b, 36), 28u) << snaplen;
    EXPECT_EQ(std::vector<uint8_t>(b.begin() + 40, b.end()),
              std::vector<uint8_t>(all.begin(), all.begin() + cap))
        << snaplen;
    EXPECT_EQ(w.packets_truncated(), cap < 28 ? 1u : 0u) << snaplen;
  }
}

TEST(PcapTest, WritesPacketWithoutFlattening) {
  Ipv4Header ip;
  ip.src = 0x0a000001;
  ip.dst = 0x0a000002;
  TcpHeader tcp;
  tcp.src_port = 1;
  tcp.dst_port = 2;
  tcp.flags = tcp_flags::kAck;
  auto p = BuildTcpPacket(ip, tcp, MultiSlice({3, 4}, 50));
  ASSERT_TRUE(p.ok()) << p.status();
  PcapWriter w(PcapLinkType::kRaw);
  ASSERT_TRUE(w.WriteHeader().ok());
  ASSERT_TRUE(w.WritePacket(0, *p).ok());
  const std::vector<uint8_t> bytes(w.buffer().begin() + 40, w.buffer().end());
  ASSERT_EQ(bytes.size(), 47u);
  auto parsed = ParseTcpPacketBytes(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->checksum_ok);
  EXPECT_EQ(parsed->payload.size(), 7u);
}

TEST(PcapTest, Errors) {
  PcapWriter w(PcapLinkType::kRaw);
  const std::vector<uint8_t> pkt = {1};
  absl::Status s = w.WritePacket(0, pkt);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("WriteHeader must be called"));
  ASSERT_TRUE(w.WriteHeader().ok());
  s = w.WriteHeader();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("already written"));

  s = w.WritePacket(-1, pkt);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("outside [0, 2^32) seconds"));
  s = w.WritePacket((int64_t{1} << 32) * kSecond, pkt);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  // The last representable nanosecond is fine.
  EXPECT_TRUE(w.WritePacket((int64_t{1} << 32) * kSecond - 1, pkt).ok());
  EXPECT_EQ(Le32(w.buffer(), 24), 0xffffffffu);
  EXPECT_EQ(Le32(w.buffer(), 28), 999999999u);
  EXPECT_EQ(w.packets_written(), 1u);
}

TEST(PcapTest, StreamAndFileMatchMemory) {
  const std::vector<uint8_t> head = Iota(20, 9);
  const Payload payload = MultiSlice({2, 9}, 1);

  PcapWriter mem(PcapLinkType::kEthernet, 25);
  std::ostringstream os;
  PcapWriter str(PcapLinkType::kEthernet, 25, os);
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  PcapWriter file(PcapLinkType::kEthernet, 25, f);
  for (PcapWriter* w : {&mem, &str, &file}) {
    ASSERT_TRUE(w->WriteHeader().ok());
    ASSERT_TRUE(w->WritePacket(5, head, payload).ok());
    ASSERT_TRUE(w->WritePacket(6, head).ok());
    ASSERT_TRUE(w->Flush().ok());
  }
  EXPECT_TRUE(str.buffer().empty());
  EXPECT_TRUE(file.buffer().empty());
  const std::string s = os.str();
  EXPECT_EQ(std::vector<uint8_t>(s.begin(), s.end()), mem.buffer());

  std::rewind(f);
  std::vector<uint8_t> from_file(mem.buffer().size() + 1);
  EXPECT_EQ(std::fread(from_file.data(), 1, from_file.size(), f),
            mem.buffer().size());
  from_file.resize(mem.buffer().size());
  EXPECT_EQ(from_file, mem.buffer());
  std::fclose(f);

  // TakeBuffer hands the bytes over and keeps writing into a fresh buffer.
  const size_t before = mem.buffer().size();
  std::vector<uint8_t> taken = mem.TakeBuffer();
  EXPECT_EQ(taken.size(), before);
  EXPECT_TRUE(mem.buffer().empty());
  ASSERT_TRUE(mem.WritePacket(7, head).ok());
  EXPECT_EQ(mem.buffer().size(), 16u + 20u);
}

TEST(PcapTest, FailedStreamReported) {
  std::ostringstream os;
  os.setstate(std::ios::badbit);
  PcapWriter w(PcapLinkType::kRaw, 0, os);
  absl::Status s = w.WriteHeader();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("writing 24 bytes to the stream failed"));
}

// --- Read-back with tcpdump
// ---------------------------------------------------

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr
};

CommandResult Run(const std::string& command) {
  CommandResult r;
  std::FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    r.output.append(buf.data(), n);
  }
  r.status = pclose(pipe);
  return r;
}

bool HaveTcpdump() { return Run("command -v tcpdump").status == 0; }

// The packet lines of `tcpdump -tt` output: the ones that start with a time.
std::vector<std::string> PacketLines(const std::string& output) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (!line.empty() && line[0] >= '0' && line[0] <= '9') {
      lines.emplace_back(line);
    }
  }
  return lines;
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/tcpemu_" + name + "_" +
         std::to_string(getpid()) + ".pcap";
}

std::string ReadWithTcpdump(const std::string& path, const std::string& flags) {
  CommandResult r = Run("tcpdump -nn -tt --time-stamp-precision=nano " + flags +
                        " -r '" + path + "'");
  EXPECT_EQ(r.status, 0) << r.output;
  return r.output;
}

// 10.0.0.1 pings 10.0.0.2 (the golden request of icmp_test).
const std::vector<uint8_t> kEchoRequest = {
    0x45, 0x00, 0x00, 0x20, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x01, 0x0a,
    0x95, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x08, 0x00,
    0x21, 0x04, 0x12, 0x34, 0x00, 0x01, 'a',  'b',  'c',  'd',
};

TEST(PcapTcpdumpTest, RawIpv4FileReadsBack) {
  if (!HaveTcpdump()) {
    GTEST_SKIP() << "\n*** SKIPPED: tcpdump is not installed, so pcap output "
                    "was NOT checked against a real reader. Install it "
                    "(apt-get install -y tcpdump) to run this test. ***";
  }
  Ipv4Header c2s;
  c2s.src = 0x0a000001;
  c2s.dst = 0x0a000002;
  Ipv4Header s2c = c2s;
  std::swap(s2c.src, s2c.dst);
  TcpHeader syn;
  syn.src_port = 40000;
  syn.dst_port = 80;
  syn.seq = Seq(1000);
  syn.flags = tcp_flags::kSyn;
  syn.window = 65535;
  syn.options.mss = 1460;
  TcpHeader synack;
  synack.src_port = 80;
  synack.dst_port = 40000;
  synack.seq = Seq(5000);
  synack.ack = Seq(1001);
  synack.flags = tcp_flags::kSyn | tcp_flags::kAck;
  synack.window = 29200;
  TcpHeader data;
  data.src_port = 40000;
  data.dst_port = 80;
  data.seq = Seq(1001);
  data.ack = Seq(5001);
  data.flags = tcp_flags::kAck | tcp_flags::kPsh;
  data.window = 512;
  auto p1 = BuildTcpPacket(c2s, syn, Payload());
  auto p2 = BuildTcpPacket(s2c, synack, Payload());
  auto p3 = BuildTcpPacket(c2s, data, MultiSlice({100, 100, 100}, 0));
  ASSERT_TRUE(p1.ok() && p2.ok() && p3.ok());
  auto reply = MakeEchoReply(kEchoRequest);
  ASSERT_TRUE(reply.ok()) << reply.status();

  const std::string path = TempPath("raw");
  {
    std::ofstream out(path, std::ios::binary);
    ASSERT_TRUE(out.good()) << path;
    // 128 bytes: the data packet (340 bytes) is cut short.
    PcapWriter w(PcapLinkType::kRaw, 128, out);
    ASSERT_TRUE(w.WriteHeader().ok());
    ASSERT_TRUE(w.WritePacket(1 * kSecond + 1, *p1).ok());
    ASSERT_TRUE(w.WritePacket(1 * kSecond + 500'000'000, *p2).ok());
    ASSERT_TRUE(w.WritePacket(2 * kSecond, *p3).ok());
    ASSERT_TRUE(w.WritePacket(3 * kSecond, kEchoRequest).ok());
    ASSERT_TRUE(w.WritePacket(3 * kSecond + 250'000, *reply).ok());
    EXPECT_EQ(w.packets_truncated(), 1u);
    ASSERT_TRUE(w.Flush().ok());
  }
  // -S: absolute sequence numbers.
  const std::string output = ReadWithTcpdump(path, "-S");
  std::remove(path.c_str());

  EXPECT_THAT(output, HasSubstr("link-type RAW"));
  EXPECT_THAT(output, HasSubstr("snapshot length 128"));
  const std::vector<std::string> lines = PacketLines(output);
  ASSERT_EQ(lines.size(), 5u) << output;
  EXPECT_THAT(lines[0], HasSubstr("1.000000001 IP 10.0.0.1.40000 > "
                                  "10.0.0.2.80: Flags [S], seq 1000, win "
                                  "65535, options [mss 1460], length 0"));
  EXPECT_THAT(lines[1], HasSubstr("1.500000000 IP 10.0.0.2.80 > "
                                  "10.0.0.1.40000: Flags [S.], seq 5000, ack "
                                  "1001, win 29200, length 0"));
  // The record was truncated, yet tcpdump knows the packet's real length.
  EXPECT_THAT(lines[2], HasSubstr("2.000000000 IP 10.0.0.1.40000 > "
                                  "10.0.0.2.80: Flags [P.], seq 1001:1301, "
                                  "ack 5001, win 512, length 300"));
  EXPECT_THAT(lines[3], HasSubstr("3.000000000 IP 10.0.0.1 > 10.0.0.2: ICMP "
                                  "echo request, id 4660, seq 1, length 12"));
  EXPECT_THAT(lines[4], HasSubstr("3.000250000 IP 10.0.0.2 > 10.0.0.1: ICMP "
                                  "echo reply, id 4660, seq 1, length 12"));
}

TEST(PcapTcpdumpTest, EthernetFileReadsBack) {
  if (!HaveTcpdump()) {
    GTEST_SKIP() << "\n*** SKIPPED: tcpdump is not installed, so pcap output "
                    "was NOT checked against a real reader. Install it "
                    "(apt-get install -y tcpdump) to run this test. ***";
  }
  const MacAddress mac1 = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  const MacAddress mac2 = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  const ArpPacket req = MakeArpRequest(mac1, 0x0a000001, 0x0a000002);
  auto rep = MakeArpReply(req, mac2, 0x0a000002);
  ASSERT_TRUE(rep.ok()) << rep.status();
  std::vector<uint8_t> req_frame(42), rep_frame(42);
  ASSERT_TRUE(EncodeArpFrame(req, absl::MakeSpan(req_frame)).ok());
  ASSERT_TRUE(EncodeArpFrame(*rep, absl::MakeSpan(rep_frame)).ok());

  EthernetHeader eth;
  eth.dst = mac2;
  eth.src = mac1;
  eth.ether_type = kEtherTypeIpv4;
  std::vector<uint8_t> eth_bytes(kEthernetHeaderLen);
  ASSERT_TRUE(EncodeEthernetHeader(eth, absl::MakeSpan(eth_bytes)).ok());

  const std::string path = TempPath("ethernet");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  {
    PcapWriter w(PcapLinkType::kEthernet, 0, f);
    ASSERT_TRUE(w.WriteHeader().ok());
    ASSERT_TRUE(w.WritePacket(10 * kSecond, req_frame).ok());
    ASSERT_TRUE(w.WritePacket(10 * kSecond + 1000, rep_frame).ok());
    // The Ethernet header as head, the IPv4 packet as payload.
    ASSERT_TRUE(
        w.WritePacket(11 * kSecond, eth_bytes, Payload::Copy(kEchoRequest))
            .ok());
  }
  std::fclose(f);
  const std::string output = ReadWithTcpdump(path, "-e");
  std::remove(path.c_str());

  EXPECT_THAT(output, HasSubstr("link-type EN10MB"));
  const std::vector<std::string> lines = PacketLines(output);
  ASSERT_EQ(lines.size(), 3u) << output;
  EXPECT_THAT(lines[0],
              HasSubstr("10.000000000 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, "
                        "ethertype ARP (0x0806), length 42: Request who-has "
                        "10.0.0.2 tell 10.0.0.1, length 28"));
  EXPECT_THAT(lines[1],
              HasSubstr("10.000001000 02:00:00:00:00:02 > 02:00:00:00:00:01, "
                        "ethertype ARP (0x0806), length 42: Reply 10.0.0.2 "
                        "is-at 02:00:00:00:00:02, length 28"));
  EXPECT_THAT(lines[2],
              HasSubstr("11.000000000 02:00:00:00:00:01 > 02:00:00:00:00:02, "
                        "ethertype IPv4 (0x0800), length 46: 10.0.0.1 > "
                        "10.0.0.2: ICMP echo request, id 4660, seq 1, length "
                        "12"));
}

}  // namespace
}  // namespace tcpemu
