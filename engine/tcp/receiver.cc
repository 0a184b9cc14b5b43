// The receiver: segment text into the receive queue or the reassembly
// queue (RFC 9293 3.10.7.4), FIN, the receive window and window updates
// (receiver SWS avoidance, RFC 1122 4.2.3.3), ACK deferral for batches,
// the application's reads, and the SACK and D-SACK blocks reported to the
// peer (RFC 2018 4, RFC 2883).
#include <algorithm>
#include <optional>
#include <utility>

#include "engine/tcp/connection.h"

namespace tcpemu {
namespace {

using namespace tcp_flags;  // NOLINT(build/namespaces): flag names read best
                            // bare

}  // namespace

size_t Connection::Read(TimeNs now, absl::Span<uint8_t> out) {
  size_t done = 0;
  return ReadInto(now, out.size(), [&](absl::Span<const uint8_t> piece) {
    std::memcpy(out.data() + done, piece.data(), piece.size());
    done += piece.size();
  });
}

size_t Connection::ReadInto(
    TimeNs now, size_t max,
    absl::FunctionRef<void(absl::Span<const uint8_t>)> sink) {
  size_t n = std::min(max, rcv_queue_.size());
  if (n == 0) return 0;
  size_t left = n;
  for (const Slice& s : rcv_queue_.slices()) {
    if (left == 0) break;
    size_t take = std::min<size_t>(s.length, left);
    sink(absl::MakeConstSpan(s.data(), take));
    left -= take;
  }
  rcv_queue_.RemovePrefix(n);
  counters_.bytes_read += n;
  if (ctx_.events != nullptr) {
    Event e = MakeEvent(now, EventKind::kAppRead);
    e.a = static_cast<int64_t>(n);
    Emit(e);
  }
  MaybeWindowUpdate(now);
  return n;
}

uint32_t Connection::FreeReceiveSpace() const {
  size_t held = rcv_queue_.size();
  return held >= config_.recv_buffer
             ? 0
             : static_cast<uint32_t>(config_.recv_buffer - held);
}

uint16_t Connection::WindowToAdvertise(bool syn) {
  uint32_t free_space = FreeReceiveSpace();
  if (syn) {
    uint32_t w = std::min<uint32_t>(free_space, 65535);
    rcv_adv_ = rcv_nxt_ + w;
    return static_cast<uint16_t>(w);
  }
  uint32_t cur =
      rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  // Receiver SWS avoidance (RFC 1122 4.2.3.3): move the right edge only by
  // at least min(RCV.BUFF / 2, MSS); never shrink it (RFC 9293 3.8.6.2.2).
  uint32_t threshold = std::min(config_.recv_buffer / 2, config_.mss());
  uint32_t wnd = cur;
  if (config_.flavor == StackFlavor::kFreeBsd) {
    // FreeBSD: all the free space, unless it is silly small.
    if (free_space >= std::min(config_.recv_buffer / 4, snd_mss_)) {
      wnd = std::max(free_space, cur);
    }
  } else if (free_space >= cur + threshold ||
             (free_space > cur && free_space == config_.recv_buffer)) {
    wnd = free_space;
  }
  uint32_t max_wnd = uint32_t{65535} << rcv_wscale_;
  wnd = std::min(wnd, max_wnd);
  uint32_t raw = wnd >> rcv_wscale_;
  if ((raw << rcv_wscale_) < cur && raw < 65535) ++raw;  // keep the edge
  uint32_t adv = raw << rcv_wscale_;
  if (rcv_nxt_ + static_cast<int64_t>(adv) > rcv_adv_ || adv >= cur) {
    rcv_adv_ = rcv_nxt_ + static_cast<int64_t>(adv);
  }
  return static_cast<uint16_t>(raw);
}

void Connection::NoteSackBlock(Seq seq) {
  std::optional<std::pair<Seq, Seq>> run = reassembly_.RunAround(seq);
  if (!run.has_value()) return;
  const SackBlock b{run->first, run->second};
  // The new block first; older ones it now covers go.
  std::array<SackBlock, kSackBlocks> next{};
  uint8_t n = 0;
  next[n++] = b;
  for (uint8_t i = 0; i < sack_recent_count_ && n < next.size(); ++i) {
    const SackBlock& old = sack_recent_[i];
    if (old.right < b.left || old.left > b.right) next[n++] = old;
  }
  sack_recent_ = next;
  sack_recent_count_ = n;
}

void Connection::NoteDuplicate(Seq left, Seq right) {
  if (sack_ok_ && left < right) dsack_ = SackBlock{left, right};
}

void Connection::AddSackBlocks(TcpOptions& o, size_t space) {
  // Blocks delivered since, or no longer held, are not reported.
  uint8_t kept = 0;
  for (uint8_t i = 0; i < sack_recent_count_; ++i) {
    const SackBlock& b = sack_recent_[i];
    if (b.left > rcv_nxt_ && reassembly_.Holds(b.left, b.right)) {
      sack_recent_[kept++] = b;
    }
  }
  sack_recent_count_ = kept;
  // 40 bytes of options: timestamps leave room for three blocks (RFC 2018
  // 3), and the NOP NOP kind length header takes 4.
  size_t room = (ts_.ok() ? 40 - Timestamps::kOptionLen : 40);
  room = std::min(room, space);
  if (room < 4 + kSackBlockBytes) return;
  const size_t limit = (room - 4) / kSackBlockBytes;
  size_t n = 0;
  if (dsack_.has_value()) {
    o.sack[n++] = *dsack_;  // reported once
    dsack_.reset();
  }
  for (size_t i = 0; i < kept && n < limit; ++i) o.sack[n++] = sack_recent_[i];
  o.sack_count = static_cast<uint8_t>(n);
}

void Connection::FlushDeferredAck(TimeNs now) {
  if (!ack_deferred_) return;
  ack_deferred_ = false;
  if (last_ack_sent_ != rcv_nxt_ && opened() && !finished()) {
    SendAck(now, SendReason::kDelayedAck);
  }
}

void Connection::ProcessText(TimeNs now, Seq seq, const Payload& data_in,
                             bool fin) {
  switch (state_) {
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
      break;
    default:
      return;  // text after the peer's FIN is ignored (RFC 9293 3.10.7.4)
  }
  Payload data = data_in;
  bool ack_now = false;
  bool duplicate_noted = false;
  if (!data.empty() || fin) {
    // Trim what was already received and what lies beyond the window.
    if (seq < rcv_nxt_) {
      size_t skip = static_cast<size_t>(rcv_nxt_ - seq);
      NoteDuplicate(seq, rcv_nxt_ - seq > static_cast<int32_t>(data.size())
                             ? seq + static_cast<int64_t>(data.size())
                             : rcv_nxt_);
      if (skip >= data.size()) {
        data = Payload();
      } else {
        data.RemovePrefix(skip);
      }
      seq = rcv_nxt_;
      duplicate_noted = true;
      // FreeBSD acknowledges bytes received twice at once (tcp_input's
      // trimming sets TF_ACKNOW); Linux lets the ACK wait as usual.
      if (config_.flavor == StackFlavor::kFreeBsd) ack_now = true;
    }
    Seq edge = SeqMax(rcv_adv_, rcv_nxt_);
    if (config_.flavor == StackFlavor::kFreeBsd) {
      edge = SeqMax(edge, rcv_nxt_ + static_cast<int64_t>(FreeReceiveSpace()));
    }
    if (seq + static_cast<int64_t>(data.size()) > edge) {
      size_t keep = seq < edge ? static_cast<size_t>(edge - seq) : 0;
      data = data.Sub(0, keep);
      fin = false;
    }
  }
  if (fin) peer_fin_seq_ = seq + static_cast<int64_t>(data.size());
  if (!data.empty() && !reassembly_.empty() && !duplicate_noted) {
    // Bytes already held out of order are reported as a D-SACK (RFC 2883
    // 4: the first duplicate part, ahead of the other blocks).
    if (auto held = reassembly_.FirstHeldWithin(
            seq, seq + static_cast<int64_t>(data.size()))) {
      NoteDuplicate(held->first, held->second);
    }
  }
  if (!data.empty()) {
    if (seq == rcv_nxt_) {
      if (reassembly_.empty()) {
        rcv_queue_.Append(data);
        rcv_nxt_ += static_cast<int64_t>(data.size());
        counters_.bytes_delivered += data.size();
      } else {
        // The first arrival of every byte wins: where this text overlaps
        // bytes held out of order, those are delivered, not these.
        reassembly_.Insert(seq, data);
        Payload run = reassembly_.PopContiguous(rcv_nxt_);
        rcv_queue_.Append(run);
        rcv_nxt_ += static_cast<int64_t>(run.size());
        counters_.bytes_delivered += run.size();
        ack_now = true;  // RFC 5681 4.2: ACK at once when a gap fills
      }
    } else {
      ++counters_.out_of_order_segments;
      size_t stored = reassembly_.Insert(seq, data);
      if (stored == 0) ++counters_.duplicate_segments;
      if (sack_ok_) NoteSackBlock(seq);
      // RFC 5681 4.2: an out-of-order segment is answered with an immediate
      // (duplicate) ACK.
      SendAck(now, SendReason::kAck);
      return;
    }
  }
  if (peer_fin_seq_ && *peer_fin_seq_ == rcv_nxt_ && !peer_fin_received_) {
    ProcessFin(now);
    return;
  }
  if (data.empty()) {
    // A FIN ahead of a gap is out of order like any segment there: it is
    // answered with an immediate (duplicate) ACK (RFC 5681 4.2).
    if (fin && seq > rcv_nxt_) SendAck(now, SendReason::kAck);
    return;
  }
  // The ACK decided here leaves after Output(), so that a data segment can
  // carry it instead.
  if (ack_now || !config_.delayed_ack) {
    pending_ack_ = SendReason::kAck;
  } else if (rcv_nxt_ - last_ack_sent_ >= static_cast<int32_t>(2 * snd_mss_)) {
    // Every second full-sized segment (RFC 1122 4.2.3.2, RFC 5681 4.2).
    pending_ack_ = SendReason::kDelayedAck;
  } else if (config_.flavor == StackFlavor::kFreeBsd &&
             Armed(TimerKind::kDelayedAck)) {
    // FreeBSD counts segments, not bytes: a second one, whatever its size,
    // is acknowledged at once (tcp_input's DELAY_ACK).
    pending_ack_ = SendReason::kDelayedAck;
  } else if (!Armed(TimerKind::kDelayedAck)) {
    Arm(now, TimerKind::kDelayedAck, now + config_.delayed_ack_timeout);
  }
}

void Connection::ProcessFin(TimeNs now) {
  peer_fin_received_ = true;
  rcv_nxt_ += 1;
  peer_fin_seq_.reset();
  switch (state_) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
      SetState(now, TcpState::kCloseWait);
      break;
    case TcpState::kFinWait1:
      if (fin_queued_ && snd_una_ > fin_seq_) {
        SetState(now, TcpState::kTimeWait);
        Arm(now, TimerKind::kTimeWait, now + 2 * config_.msl);
      } else {
        SetState(now, TcpState::kClosing);
      }
      break;
    case TcpState::kFinWait2:
      SetState(now, TcpState::kTimeWait);
      Disarm(TimerKind::kRto);
      Arm(now, TimerKind::kTimeWait, now + 2 * config_.msl);
      break;
    default:
      break;
  }
  SendAck(now, SendReason::kAck);
}

void Connection::MaybeWindowUpdate(TimeNs now) {
  switch (state_) {
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
      break;
    default:
      return;
  }
  uint32_t cur =
      rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  uint32_t free_space =
      std::min(FreeReceiveSpace(), uint32_t{65535} << rcv_wscale_);
  if (config_.flavor == StackFlavor::kFreeBsd) {
    // FreeBSD (tcp_output): update when the window can grow by two
    // segments and a quarter of the buffer (or the buffer is small, or
    // little is left), or by half the buffer.
    const uint64_t buf = config_.recv_buffer;
    const uint64_t adv = free_space > cur ? free_space - cur : 0;
    const uint64_t mss = snd_mss_;
    if ((adv >= 2 * mss && (4 * adv >= buf || 8 * uint64_t{free_space} <= buf ||
                            buf <= 8 * mss)) ||
        2 * adv >= buf) {
      SendAck(now, SendReason::kWindowUpdate);
    }
    return;
  }
  uint32_t threshold = std::min(config_.recv_buffer / 2, config_.mss());
  // Announce a reopened window when the advertised one had shrunk to at most
  // half the buffer and can now grow by the SWS threshold; a pending delayed
  // ACK leaves merged into this update.
  if (2 * static_cast<uint64_t>(cur) <= config_.recv_buffer &&
      free_space >= cur + threshold) {
    SendAck(now, SendReason::kWindowUpdate);
  }
}

}  // namespace tcpemu
