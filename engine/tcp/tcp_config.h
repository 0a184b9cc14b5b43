// Per-endpoint TCP configuration: every knob of the connection, with defaults
// close to Linux. Validate() names the offending field and its allowed range.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "engine/base/time.h"
#include "engine/wire/tcp_header.h"

namespace tcpemu {

enum class CcAlgorithm : uint8_t { kNewReno, kCubic, kBbr };

// "newreno", "cubic" or "bbr".
std::string_view ToString(CcAlgorithm cc);

enum class StackFlavor : uint8_t { kLinux, kFreeBsd };

// "linux" or "freebsd".
std::string_view ToString(StackFlavor f);

struct TcpConfig {
  // Buffers (bytes). Memory is allocated only while a buffer holds data.
  uint32_t send_buffer = 256 * 1024;
  uint32_t recv_buffer = 256 * 1024;

  // MTU of the attached interface; MSS = mtu - 40 (RFC 879).
  uint32_t mtu = 1500;
  // Send timing (RFC 1122 4.2.3.4): Nagle unless nodelay; cork holds partial
  // segments until a full MSS or cork_timeout.
  bool nodelay = false;
  bool cork = false;
  DurationNs cork_timeout = 200 * kMillisecond;

  // Retransmission timeout (RFC 6298).
  DurationNs rto_initial = 1 * kSecond;
  DurationNs rto_min = 200 * kMillisecond;
  DurationNs rto_max = 120 * kSecond;
  // Give-up thresholds (RFC 1122 4.2.3.5): retransmissions of one segment
  // before ETIMEDOUT, and SYN / SYN-ACK retransmissions.
  uint32_t max_retransmissions = 15;
  uint32_t syn_retries = 6;
  uint32_t synack_retries = 5;

  // Delayed ACK (RFC 1122 4.2.3.2): ACK every second full segment or after
  // this timeout.
  bool delayed_ack = true;
  // Limited transmit (RFC 3042): one new segment on each of the first two
  // duplicate ACKs, beyond cwnd.
  bool limited_transmit = true;
  DurationNs delayed_ack_timeout = 40 * kMillisecond;

  // Maximum segment lifetime; TIME_WAIT lasts 2 * msl (RFC 9293 3.4.2).
  DurationNs msl = 30 * kSecond;

  // Window scaling (RFC 7323 2): offered in the SYN when true.
  bool window_scaling = true;
  // The shift offered: -1 for the smallest that lets the window cover
  // recv_buffer, or 0..14 as given. Stacks that tune their buffers offer
  // the shift of the largest buffer they may grow to (Linux from
  // tcp_rmem's maximum, FreeBSD from kern.ipc.maxsockbuf).
  int window_scale = -1;
  // Timestamps (RFC 7323 3-5): offered in the SYN when true. When both ends
  // offer them every segment carries one, resent segments are timed by
  // their echo, and PAWS drops old duplicates.
  bool timestamps = true;
  // SACK (RFC 2018): SACK-permitted offered in the SYN when true. When both
  // ends offer it, the receiver reports the blocks it holds out of order,
  // the most recent first (and D-SACK, RFC 2883), and the sender keeps a
  // scoreboard and recovers losses by it (RFC 6675).
  bool sack = true;
  // RACK-TLP (RFC 8985), with SACK: losses are detected by time (a segment
  // sent before one already delivered, by more than a reordering window)
  // instead of by duplicate-ACK counting, and a tail loss probe replaces
  // most timeouts at the end of a flight. On by default, as in Linux.
  bool rack = true;
  // ECN (RFC 3168), off by default: when true the endpoint requests ECN in
  // its SYN and accepts it in its SYN-ACK when the peer requested it (as
  // Linux's net.ipv4.tcp_ecn=1); when false it neither requests nor accepts
  // it. When negotiated, new data carries ECT(0), CE marks are echoed with
  // ECE until CWR, and ECE reduces the window once per window of data
  // (engine/tcp/ecn.h).
  bool ecn = false;
  // How many retransmitted SYNs still carry the ECN setup before the
  // connection falls back to SYNs without it (RFC 3168 6.1.1.1): 0 as Linux
  // (tcp_ecn_fallback), 1 as FreeBSD (net.inet.tcp.ecn.maxretries).
  uint32_t ecn_syn_retries = 0;

  // Keepalive (RFC 1122 4.2.3.6), off by default.
  bool keepalive = false;
  DurationNs keepalive_idle = 7200 * kSecond;
  DurationNs keepalive_interval = 75 * kSecond;
  uint32_t keepalive_probes = 9;

  // Congestion control (RFC 5681, RFC 6582); initial window in segments
  // (RFC 6928).
  CcAlgorithm cc = CcAlgorithm::kNewReno;
  uint32_t initial_window = 10;
  // HyStart++ (RFC 9406): slow start ends early, through a conservative
  // phase, when the round-trip time rises, instead of by a loss.
  bool hystart = false;
  // Pacing: segments leave spaced at the rate congestion control sets (BBR
  // always paces); for NewReno and CUBIC, when true, at twice cwnd per RTT
  // in slow start and 1.2 times after, as Linux paces them.
  bool pacing = false;

  // RFC 5961's defences against blind in-window attacks: an RST resets
  // only at exactly RCV.NXT (others get a challenge ACK, section 3), and a
  // SYN in a synchronized state gets a challenge ACK (section 4). Off, the
  // RFC 793 rules apply, as FreeBSD's net.inet.tcp.insecure_rst and
  // insecure_syn select: any RST in the window resets, and a SYN in the
  // window is answered with RST and resets.
  bool rfc5961_rst = true;
  bool rfc5961_syn = true;

  // Whose rules apply where the RFCs leave stacks a choice and Linux and
  // FreeBSD chose differently. FreeBSD's:
  // - options in FreeBSD's order and padding (engine/wire/tcp_header.h);
  // - when the peer's SYN arrives, both buffers are rounded up to a
  //   multiple of the MSS (tcp_mss);
  // - a segment is acceptable anywhere within the free receive buffer, even
  //   beyond the window last advertised (tcp_input's rcv_wnd);
  // - the window advertised is all the free buffer unless that is below
  //   min(buffer / 4, MSS) (tcp_output), where Linux and RFC 1122 4.2.3.3
  //   move the right edge only in steps of min(buffer / 2, MSS);
  // - a segment that repeats bytes already received is acknowledged at
  //   once (tcp_input's trimming), where Linux lets the ACK wait as usual;
  // - delayed ACKs cover at most two data segments of any size, where Linux
  //   waits for two full-sized segments' worth of bytes;
  // - a read that lets the window grow by two segments and a quarter of the
  //   buffer, or by half of it, sends a window update (tcp_output), where
  //   Linux waits until the window has at least doubled from at most half.
  StackFlavor flavor = StackFlavor::kLinux;

  // Challenge ACKs (RFC 5961 3.2, 4.2, 5.2) sent at most this many times in
  // any one second (RFC 5961 7); the rest are counted and not sent. 0 sends
  // every one.
  uint32_t challenge_ack_limit = 10;
  // An unacceptable segment that occupies no sequence space (an ACK, an
  // empty window probe) is answered with an ACK at most once in this
  // interval (as Linux's tcp_invalid_ratelimit): two endpoints each refusing
  // the other's ACKs would otherwise answer each other without end. Text,
  // SYN and FIN are always answered. 0 answers every one.
  DurationNs invalid_ack_interval = 500 * kMillisecond;

  // Persist timer bounds for zero-window probes (RFC 9293 3.8.6.1).
  DurationNs persist_min = 200 * kMillisecond;
  DurationNs persist_max = 120 * kSecond;

  uint32_t mss() const { return mtu - 40; }

  absl::Status Validate() const;
};

}  // namespace tcpemu
