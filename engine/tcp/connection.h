// One TCP endpoint as a sans-IO object (RFC 9293): inputs are received
// segments, application calls and timer expiry, each with `now`; outputs are
// segments handed to a SegmentOutput, events handed to an EventSink, and the
// next deadline. Nothing here reads a clock or makes a system call.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/base/event.h"
#include "engine/base/time.h"
#include "engine/tcp/congestion_control.h"
#include "engine/tcp/delivery_rate.h"
#include "engine/tcp/ecn.h"
#include "engine/tcp/prr.h"
#include "engine/tcp/reassembly.h"
#include "engine/tcp/reno_recovery.h"
#include "engine/tcp/rtt_estimator.h"
#include "engine/tcp/scoreboard.h"
#include "engine/tcp/send_buffer.h"
#include "engine/tcp/tcp_config.h"
#include "engine/tcp/timestamps.h"
#include "engine/wire/buffer.h"
#include "engine/wire/ecn.h"
#include "engine/wire/tcp_header.h"

namespace tcpemu {

// Addresses in host byte order.
struct FourTuple {
  uint32_t local_addr = 0;
  uint16_t local_port = 0;
  uint32_t remote_addr = 0;
  uint16_t remote_port = 0;
};

// Where a connection's segments go (an emulated link, a TAP device, a test).
class SegmentOutput {
 public:
  virtual ~SegmentOutput() = default;
  virtual void Transmit(TimeNs now, const TcpHeader& header,
                        const Payload& payload) = 0;
  // A segment whose IP header is to carry the ECN codepoint `ecn` (ECT(0)
  // on new data when ECN is in use, RFC 3168 6.1.2); every other segment
  // goes to Transmit. An output that builds no IP header may leave this to
  // Transmit, without the codepoint.
  virtual void TransmitEcn(TimeNs now, const TcpHeader& header,
                           const Payload& payload, Ecn ecn) {
    Transmit(now, header, payload);
  }
};

struct ConnectionCounters {
  uint64_t segments_sent = 0;
  uint64_t segments_received = 0;
  uint64_t bytes_sent = 0;  // payload, including retransmissions
  uint64_t bytes_retransmitted = 0;
  uint64_t retransmits_rto = 0;
  uint64_t retransmits_fast = 0;
  uint64_t pure_acks_sent = 0;
  uint64_t window_probes_sent = 0;
  uint64_t window_updates_sent = 0;
  uint64_t dup_acks_received = 0;
  uint64_t bytes_written = 0;    // accepted from the application
  uint64_t bytes_delivered = 0;  // in order, into the receive queue
  uint64_t bytes_read = 0;       // taken by the application
  uint64_t out_of_order_segments = 0;
  uint64_t duplicate_segments = 0;
  uint64_t bad_checksum_segments = 0;
  uint64_t outside_window_segments = 0;
  uint64_t challenge_acks_sent = 0;
  uint64_t challenge_acks_suppressed = 0;  // over challenge_ack_limit
  uint64_t invalid_acks_suppressed = 0;    // within invalid_ack_interval
  uint64_t paws_rejected = 0;  // old duplicates dropped (RFC 7323 5)
  // Congestion events: entries into fast recovery, and retransmission
  // timeouts with data outstanding (each backoff counts).
  uint64_t fast_recoveries = 0;
  uint64_t timeouts = 0;
  // Loss recovery with SACK: D-SACK blocks received (RFC 2883: the peer got
  // a segment twice), segments RACK deemed lost (RFC 8985 6.2), and tail
  // loss probes sent (RFC 8985 7).
  uint64_t dsacks_received = 0;
  uint64_t rack_losses = 0;
  uint64_t tail_loss_probes = 0;
  // ECN (RFC 3168): segments that arrived CE-marked, ACKs that arrived with
  // ECE (all of them), window reductions those caused (at most one per
  // window of data), and segments sent with CWR.
  uint64_t ce_received = 0;
  uint64_t ece_received = 0;
  uint64_t ecn_reductions = 0;
  uint64_t cwr_sent = 0;
};

// The segment that answers `h` (carrying `len` payload bytes) when no
// connection exists for it (RFC 9293 3.10.7.1); nullopt for an incoming RST.
std::optional<TcpHeader> ResetForUnmatched(const TcpHeader& h, uint32_t len);

class Connection {
 public:
  struct Context {
    uint32_t session_id = 0;
    uint32_t link_id = 0;
    Endpoint endpoint = Endpoint::kClient;
    EventSink* events = nullptr;  // may be null
    SegmentOutput* output = nullptr;
  };

  // `config` must have passed Validate().
  Connection(const TcpConfig& config, const FourTuple& tuple, Seq iss,
             const Context& context);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Active open: sends SYN (RFC 9293 3.5).
  absl::Status Connect(TimeNs now);
  // Passive open.
  absl::Status Listen(TimeNs now);
  // A passive open completed by a SYN cookie (engine/tcp/syn_cookie.h): the
  // listener kept no state, so the connection starts ESTABLISHED from what
  // the cookie carried: our ISS, the peer's ISN, its MSS and the window our
  // SYN-ACK advertised, without window scaling. The ACK that completed the
  // handshake goes to OnSegment next.
  absl::Status AcceptCookie(TimeNs now, Seq iss, Seq irs, uint16_t peer_mss,
                            uint16_t advertised_window);

  // Buffers bytes for sending (B1). Returns how many were accepted: a write
  // that does not fit is accepted partially. `push` flushes a corked tail.
  absl::StatusOr<size_t> Write(TimeNs now, absl::Span<const uint8_t> data,
                               bool push = false);
  // Like Write, with the bytes produced by `fill(dst, len)` in place.
  absl::StatusOr<size_t> WriteFill(
      TimeNs now, size_t n, absl::FunctionRef<void(uint8_t*, size_t)> fill,
      bool push = false);
  // Copies up to out.size() in-order bytes to `out`.
  size_t Read(TimeNs now, absl::Span<uint8_t> out);
  // Hands up to `max` in-order bytes to `sink` without copying them.
  size_t ReadInto(TimeNs now, size_t max,
                  absl::FunctionRef<void(absl::Span<const uint8_t>)> sink);
  // Copies up to out.size() in-order bytes to `out` and leaves them to be
  // read (MSG_PEEK).
  size_t Peek(absl::Span<uint8_t> out) const { return rcv_queue_.CopyTo(out); }
  // Bytes waiting to be read.
  size_t readable() const { return rcv_queue_.size(); }
  // The peer's FIN has been received and every byte before it read.
  bool eof() const { return peer_fin_received_ && rcv_queue_.empty(); }
  size_t send_buffer_free() const;
  // The application may still write: the connection is open or opening and
  // Close was not called.
  bool can_write() const;

  // Close for sending: a FIN follows the buffered data (RFC 9293 3.6).
  absl::Status Close(TimeNs now);
  // Abort: sends RST if synchronized, drops everything (RFC 9293 3.10.5).
  void Abort(TimeNs now);

  // A received segment whose checksum verified, with the ECN codepoint of
  // its IP header (RFC 3168).
  void OnSegment(TimeNs now, const TcpHeader& h, const Payload& payload,
                 Ecn ecn = Ecn::kNotEct);
  // A segment addressed to this connection that failed its checksum.
  void OnBadChecksum(TimeNs now, const TcpHeader& h, uint32_t len);
  // Fires every timer whose deadline is <= now.
  void OnTimer(TimeNs now);

  // Receive batching, as a stack that reads a device in batches does (Linux
  // with GRO, for one): while deferring, the ACK owed for every second
  // full-sized segment waits for FlushDeferredAck, so that one ACK covers a
  // batch. ACKs for out-of-order data, filled gaps, refused text and quick
  // ACKs still leave at once.
  void SetAckDeferral(bool on) { defer_acks_ = on; }
  // TCP_NODELAY and TCP_CORK on an open connection: turning either off sends
  // what it held back (as Linux does).
  void SetNoDelay(TimeNs now, bool on);
  void SetCork(TimeNs now, bool on);
  bool ack_deferred() const { return ack_deferred_; }
  void FlushDeferredAck(TimeNs now);
  TimeNs NextDeadline() const;

  TcpState state() const { return state_; }
  // CLOSED after having been open: the endpoint can be destroyed.
  bool finished() const { return finished_; }
  // Connect or Listen was called.
  bool opened() const { return opened_; }
  ErrorCode error() const { return error_; }
  const FourTuple& tuple() const { return tuple_; }
  const TcpConfig& config() const { return config_; }
  const ConnectionCounters& counters() const { return counters_; }
  TcbSnapshot Snapshot() const;
  uint32_t effective_mss() const { return snd_mss_; }
  // ECN was negotiated in the handshake (RFC 3168 6.1.1).
  bool ecn_ok() const { return ecn_.ok(); }
  std::string_view cc_name() const { return cc_->name(); }

 private:
  static constexpr int kTimerCount = 9;
  // Index into deadlines_.
  static int TimerIndex(TimerKind k) { return static_cast<int>(k) - 1; }

  bool Synchronized() const;
  void SetState(TimeNs now, TcpState s);
  void Fail(TimeNs now, ErrorCode error, bool send_rst);
  // The handshake completed (either side).
  void EnterSynchronized(TimeNs now);
  void ReturnToListen(TimeNs now);
  // Rounds both buffers up to a multiple of `mss` (the FreeBSD flavour).
  void RoundBuffersToMss(uint32_t mss);
  // Sends our SYN (active) or SYN-ACK (passive) and enters `state`.
  void StartHandshake(TimeNs now, TcpState state);
  void Finish(TimeNs now);

  // Segment construction and emission (sender.cc; SendSyn in handshake.cc).
  void SendSegment(TimeNs now, Seq seq, uint8_t flags, const Payload& payload,
                   SendReason reason);
  void SendAck(TimeNs now, SendReason reason);
  // An ACK in answer to a suspicious segment (RFC 5961), within
  // config_.challenge_ack_limit per second.
  void SendChallengeAck(TimeNs now);
  void SendSyn(TimeNs now, bool with_ack, SendReason reason);
  void SendRst(TimeNs now, Seq seq, std::optional<Seq> ack);
  uint16_t WindowToAdvertise(bool syn);
  uint32_t FreeReceiveSpace() const;

  // Sender (sender.cc; ACK processing in ack_processing.cc, RACK-TLP in
  // rack.cc).
  void Output(TimeNs now);
  void RetransmitFirst(TimeNs now, SendReason reason);
  // With SACK: resends the scoreboard's lost segments, first to last, while
  // cwnd leaves room above pipe (RFC 6675 5 step C, NextSeg rule 1).
  void RetransmitLost(TimeNs now);
  void RetransmitSegment(TimeNs now, const Scoreboard::Segment& s,
                         SendReason reason);
  // Takes the SACK blocks of an ACK into the scoreboard and marks losses.
  Scoreboard::AckResult TakeSacks(TimeNs now, const TcpHeader& h);
  void EnterRecovery(TimeNs now);
  // An acceptable ACK carrying ECE (RFC 3168 6.1.2): reduces the window
  // once per window of data, without retransmitting.
  void OnEcnEcho(TimeNs now);
  // Proportional Rate Reduction (RFC 6937) during SACK recovery: after each
  // ACK, how much may be sent, from the data it delivered.
  void UpdatePrr(uint32_t delivered);
  bool PrrActive() const {
    return sack_ok_ && in_recovery_ && !cc_->sets_recovery_window();
  }
  // RACK-TLP (RFC 8985), with SACK and config_.rack.
  bool Rack() const { return config_.rack && sack_ok_; }
  // RFC 8985 6.2 steps 1-5 on an ACK: the most recently sent segment it
  // delivered dates the others; those sent more than a reordering window
  // before it are lost.
  void RackOnAck(TimeNs now, const Scoreboard::AckResult& r);
  void RackDetectLoss(TimeNs now);
  void FireReorder(TimeNs now);
  // RFC 8985 7: the probe timeout, armed while new data is in flight and no
  // recovery runs; when it fires a probe segment leaves.
  void ArmTlp(TimeNs now);
  void FireTlp(TimeNs now);
  // Bytes congestion control lets out now beyond pipe: cwnd - pipe, or
  // PRR's allowance during SACK recovery (rounded up to whole segments).
  uint32_t SendRoom() const;
  // The sender's estimate of bytes in the network: RFC 6675 pipe with SACK,
  // FlightSize without.
  uint32_t Pipe() const {
    return sack_ok_ ? scoreboard_.pipe() : flight_size();
  }
  void ProcessAck(TimeNs now, const TcpHeader& h, uint32_t len);
  void UpdateSendWindow(const TcpHeader& h);
  // Sequence number of the first byte held in the send buffer (the SYN
  // occupies iss).
  Seq data_start() const { return snd_una_ == iss_ ? iss_ + 1 : snd_una_; }
  Seq data_end() const {
    return data_start() + static_cast<int64_t>(snd_buf_.size());
  }
  uint32_t flight_size() const {
    return static_cast<uint32_t>(snd_max_ - snd_una_);
  }
  void NoteCwnd(TimeNs now, uint32_t before);
  // The congestion window in force: the algorithm's, plus NewReno's
  // inflation during recovery without SACK (RFC 5681 3.2 steps 3-4, RFC
  // 6582 3.2 step 5).
  uint32_t Cwnd() const { return reno_.Window(cc_->cwnd()); }
  // Hands congestion control what an ACK told (its delivery-rate sample
  // included).
  void CongestionOnAck(TimeNs now, bool new_ack, uint32_t acked_bytes,
                       uint32_t prior_in_flight, DurationNs rtt,
                       const Scoreboard::AckResult& r, uint32_t lost_bytes);
  // Pacing: the rate in force (bytes/s, 0 for none), whether the next
  // segment must wait for it (arming the pacing timer), and the time a sent
  // segment takes at that rate.
  uint64_t PacingRate() const;
  bool PacingHolds(TimeNs now);
  void ChargePacing(TimeNs now, uint32_t len);

  // Receiver (receiver.cc; the handshake's input in handshake.cc).
  void ProcessText(TimeNs now, Seq seq, const Payload& payload, bool fin);
  void ProcessFin(TimeNs now);
  void MaybeWindowUpdate(TimeNs now);
  void OnSegmentListen(TimeNs now, const TcpHeader& h);
  void OnSegmentSynSent(TimeNs now, const TcpHeader& h, const Payload& payload);
  void ApplySynOptions(TimeNs now, const TcpHeader& h);
  // SACK: notes the run of held bytes around `seq` as the most recent block,
  // and fills `o` with the blocks still held, within `space` option bytes.
  void NoteSackBlock(Seq seq);
  void NoteDuplicate(Seq left, Seq right);
  void AddSackBlocks(TcpOptions& o, size_t space);

  // Timers (timers.cc).
  void Arm(TimeNs now, TimerKind k, TimeNs deadline);
  void Disarm(TimerKind k) { deadlines_[TimerIndex(k)] = kNever; }
  bool Armed(TimerKind k) const { return deadlines_[TimerIndex(k)] != kNever; }
  void FireRto(TimeNs now);
  void FirePersist(TimeNs now);
  void FireKeepalive(TimeNs now);

  // Events (connection.cc).
  Event MakeEvent(TimeNs now, EventKind kind) const;
  void Emit(const Event& e) {
    if (ctx_.events != nullptr) ctx_.events->OnEvent(e);
  }
  void EmitSegment(TimeNs now, EventKind kind, const TcpHeader& h, uint32_t len,
                   SendReason reason, Disposition d);

  TcpConfig config_;
  FourTuple tuple_;
  Context ctx_;
  TcpState state_ = TcpState::kClosed;
  bool finished_ = false;
  bool opened_ = false;
  bool passive_ = false;
  ErrorCode error_ = ErrorCode::kNone;

  // Send sequence variables (RFC 9293 3.3.1). snd_max is the highest
  // sequence number sent, which differs from snd_nxt after a timeout.
  Seq iss_;
  Seq snd_una_, snd_nxt_, snd_max_;
  uint32_t snd_wnd_ = 0;
  uint32_t max_snd_wnd_ = 0;
  Seq snd_wl1_, snd_wl2_;
  uint8_t snd_wscale_ = 0;  // shift applied to the peer's window
  uint32_t snd_mss_ = 536;  // RFC 9293 3.7.1 default without an MSS option

  // Receive sequence variables.
  Seq irs_;
  Seq rcv_nxt_;
  Seq rcv_adv_;  // right edge of the last advertised window
  uint8_t rcv_wscale_ = 0;
  uint8_t offered_wscale_ = 0;
  Seq last_ack_sent_;

  // Timestamps (RFC 7323): Snd.TS.OK, TS.Recent and when it was set.
  Timestamps ts_;
  bool ts_sample_wanted_ = false;  // a retransmission left no timed segment

  // SACK (RFC 2018): in use on this connection, and the blocks to report,
  // the most recently changed first (section 4).
  static constexpr size_t kSackBlocks = 4;      // at most, in one option
  static constexpr size_t kSackBlockBytes = 8;  // two sequence numbers
  bool sack_ok_ = false;
  std::array<SackBlock, kSackBlocks> sack_recent_{};
  uint8_t sack_recent_count_ = 0;
  // D-SACK (RFC 2883): bytes that arrived twice, reported once as the first
  // block of the next ACK.
  std::optional<SackBlock> dsack_;

  SendBuffer snd_buf_;
  bool fin_queued_ = false;
  Seq fin_seq_;   // sequence number of our FIN once queued
  Seq push_end_;  // bytes before this are flushed past the cork
  bool push_pending_ = false;
  bool cork_release_ = false;

  Payload rcv_queue_;
  Reassembly reassembly_;
  bool peer_fin_received_ = false;
  std::optional<Seq> peer_fin_seq_;  // a FIN held beyond a gap

  RttEstimator rtt_;
  bool rtt_timing_ = false;
  Seq rtt_seq_;
  TimeNs rtt_sent_at_ = 0;
  uint32_t retransmit_count_ = 0;  // consecutive timeouts of one segment
  uint32_t persist_backoff_ = 0;
  uint32_t keepalive_probes_sent_ = 0;
  // Challenge ACK rate limit: the current one-second window and the number
  // sent in it.
  TimeNs challenge_window_start_ = 0;
  uint32_t challenge_acks_in_window_ = 0;
  // When the last ACK answering an unacceptable segment without text left.
  std::optional<TimeNs> last_invalid_ack_;

  // With SACK in use, every segment sent and not acknowledged (RFC 6675).
  Scoreboard scoreboard_;
  // PRR (RFC 6937) during SACK recovery.
  Prr prr_;
  // RACK (RFC 8985 6.1): the newest delivered transmission, its end, the
  // RTT it measured, the minimum RTT, and whether reordering was seen.
  TimeNs rack_xmit_ts_ = -1;
  uint64_t rack_order_ = 0;
  DurationNs rack_rtt_ = 0;
  DurationNs rack_min_rtt_ = 0;
  bool rack_reordering_seen_ = false;
  // TLP (RFC 8985 7.3): SND.MAX when a probe resent old data, until the
  // ACK past it shows whether the probe repaired a loss.
  std::optional<Seq> tlp_high_seq_;
  bool tlp_dsack_ = false;

  // ECN (RFC 3168): negotiation, the receiver's echo, the sender's CWR.
  TcpEcn ecn_;

  std::unique_ptr<CongestionControl> cc_;
  uint32_t dup_acks_ = 0;
  SendReason pending_ack_ = SendReason::kNone;
  bool defer_acks_ = false;
  bool ack_deferred_ = false;
  bool in_recovery_ = false;
  Seq recover_;  // RFC 6582 "recover"
  // Without SACK, NewReno's window inflation during recovery.
  RenoRecovery reno_;
  // Delivery-rate estimation, and the least RTT its samples showed.
  DeliveryRate rate_;
  DurationNs min_rtt_ = 0;
  // When the next paced segment may leave.
  TimeNs pacing_next_ = 0;

  std::array<TimeNs, kTimerCount> deadlines_;
  ConnectionCounters counters_;
};

}  // namespace tcpemu
