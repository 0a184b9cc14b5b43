// Helpers shared by the link tests: TCP packets built with the real codec and
// an event sink that records what a path reports.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/base/event.h"
#include "engine/wire/packet.h"
#include "gtest/gtest.h"

namespace tcpemu::link_test {

// An IPv4/TCP packet of 40 + payload_len bytes whose payload bytes are
// seq-derived, so that copies can be told apart from corrupted ones.
inline Packet MakePacket(uint32_t seq, uint8_t flags, size_t payload_len,
                         uint32_t ack = 0) {
  Ipv4Header ip;
  ip.src = 0x0a000001;
  ip.dst = 0x0a000002;
  TcpHeader tcp;
  tcp.src_port = 40000;
  tcp.dst_port = 80;
  tcp.seq = Seq(seq);
  tcp.ack = Seq(ack);
  tcp.flags = flags;
  tcp.window = 65535;
  std::vector<uint8_t> bytes(payload_len);
  for (size_t i = 0; i < payload_len; ++i) {
    bytes[i] = static_cast<uint8_t>(seq + i);
  }
  absl::StatusOr<Packet> p = BuildTcpPacket(ip, tcp, Payload::Copy(bytes));
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : Packet();
}

inline Packet DataPacket(uint32_t seq, size_t payload_len = 100) {
  return MakePacket(seq, tcp_flags::kAck | tcp_flags::kPsh, payload_len,
                    /*ack=*/1);
}

class RecordingSink : public EventSink {
 public:
  void OnEvent(const Event& e) override { events.push_back(e); }
  std::vector<Event> events;
};

}  // namespace tcpemu::link_test
