// Events as JSON Lines: one JSON object per event, with only the fields that
// mean something for its kind. Used by `tcpemu-sim --events` and for debugging.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/base/event.h"

namespace tcpemu {

// TCP flags as letters in bit order F S R P A U E C, e.g. "S", "SA", "FPA";
// "" when none is set.
std::string TcpFlagsString(uint8_t flags);

// One JSON object, no trailing newline. Always: time_ns, kind, endpoint,
// session_id, link_id. Then by kind:
//  segment_sent:      reason, seq, ack, rel_seq (seq - tcb.iss),
//                     rel_ack (ack - tcb.irs), flags, len, window, options, tcb
//  segment_received:  disposition, seq, ack, rel_seq (seq - tcb.irs),
//                     rel_ack (ack - tcb.iss), flags, len, window, options, tcb
//  segment_dropped:   reason, seq, ack, flags, len, window, options
//  segment_mangled:   mangle, seq, ack, flags, len, window, options
//  state_changed:     old_state, new_state, tcb
//  timer_armed:       timer, deadline_ns, tcb
//  timer_fired:       timer, tcb
//  app_write:         requested, accepted, tcb
//  app_read:          bytes, tcb
//  rtt_sample:        rtt_ns, tcb
//  cwnd_changed:      old_cwnd, new_cwnd, tcb
//  connection_error:  error, tcb
//  session_destroyed: nothing more
// Every segment also has window_bytes (the window scaled as its direction
// uses it); one with SACK blocks has `sack`, [[left, right], ...] in absolute
// numbers, and, beside rel_ack, `rel_sack`, the same less rel_ack's base; one
// with a timestamp option has ts_val and ts_ecr.
// Relative numbers are taken modulo 2^32, as Wireshark shows them. `options`
// holds only the options present (mss, wscale, sack_permitted, sack_blocks,
// timestamp). `tcb` holds the snapshot with durations as srtt_ns, rttvar_ns,
// rto_ns, then the negotiated snd_wscale, rcv_wscale, ts_ok, sack_ok,
// ts_recent, and the scoreboard's sacked_bytes, lost_bytes, retrans_bytes,
// pipe.
std::string EventToJson(const Event& e);
// Appends the same object to `out`.
void AppendEventJson(const Event& e, std::string* out);

// Writes each event as one line of JSON to a FILE*, through its own buffer.
// Write errors are remembered and reported by status() and Flush().
class JsonlWriter : public EventSink {
 public:
  static constexpr size_t kDefaultBufferBytes = 64 * 1024;

  // Writes to `out`, which the caller keeps open until this writer is gone.
  explicit JsonlWriter(FILE* out, size_t buffer_bytes = kDefaultBufferBytes);
  // Creates or truncates `path`; "-" means standard output.
  static absl::StatusOr<std::unique_ptr<JsonlWriter>> Open(
      const std::string& path);

  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;
  // Flushes, and closes the file if Open created it.
  ~JsonlWriter() override;

  void OnEvent(const Event& e) override;

  // Writes the buffer out and flushes the FILE*.
  absl::Status Flush();
  // OK unless a write failed.
  absl::Status status() const { return status_; }
  uint64_t events_written() const { return events_; }

 private:
  JsonlWriter(FILE* out, bool owned, std::string path, size_t buffer_bytes);
  void WriteBuffer();

  FILE* out_;
  bool owned_;
  std::string path_;
  size_t buffer_bytes_;
  std::string buffer_;
  uint64_t events_ = 0;
  absl::Status status_;
};

}  // namespace tcpemu
