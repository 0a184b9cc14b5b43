// Application: the modelled application of one endpoint; see application.h.
#include "engine/sim/application.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "engine/sim/pattern.h"

namespace tcpemu {
namespace {

void FillState(const Connection& c, EndpointStats& st) {
  st.final_state = c.state();
  st.error = c.error();
  st.counters = c.counters();
}

}  // namespace

absl::Status ValidateReaderSpec(const ReaderSpec& reader) {
  if (reader.mode == ReaderMode::kRate && reader.rate_bytes_per_sec == 0) {
    return absl::InvalidArgumentError(
        "reader rate_bytes_per_sec must be > 0 for a rate reader");
  }
  return absl::OkStatus();
}

Application::Application(const ReaderSpec& reader, uint64_t pattern_key,
                         bool digest)
    : reader_(reader), pattern_key_(pattern_key) {
  if (digest) {
    write_hash_ = std::make_unique<Sha256>();
    read_hash_ = std::make_unique<Sha256>();
  }
}

absl::StatusOr<size_t> Application::Write(Connection& c, TimeNs now,
                                          absl::Span<const uint8_t> data,
                                          bool push) {
  const uint8_t* src = data.data();
  absl::StatusOr<size_t> n = c.WriteFill(
      now, data.size(),
      [&](uint8_t* dst, size_t len) {
        std::memcpy(dst, src, len);
        if (write_hash_) write_hash_->Update(absl::MakeConstSpan(src, len));
        src += len;
      },
      push);
  if (n.ok()) stats_.bytes_written += *n;
  return n;
}

absl::StatusOr<size_t> Application::WriteGenerated(Connection& c, TimeNs now,
                                                   size_t n, bool push) {
  return c.WriteFill(
      now, n,
      [&](uint8_t* dst, size_t len) {
        FillPattern(pattern_key_, stats_.bytes_written, dst, len);
        if (write_hash_) write_hash_->Update(absl::MakeConstSpan(dst, len));
        stats_.bytes_written += len;
      },
      push);
}

size_t Application::Read(Connection& c, TimeNs now, absl::Span<uint8_t> out) {
  size_t done = 0;
  c.ReadInto(now, out.size(), [&](absl::Span<const uint8_t> piece) {
    std::memcpy(out.data() + done, piece.data(), piece.size());
    if (read_hash_) read_hash_->Update(piece);
    done += piece.size();
  });
  stats_.bytes_read += done;
  return done;
}

void Application::ReadUpTo(Connection& c, TimeNs now, size_t max) {
  size_t n = c.ReadInto(now, max, [&](absl::Span<const uint8_t> p) {
    if (read_hash_) read_hash_->Update(p);
  });
  stats_.bytes_read += n;
}

void Application::RefillSource(Connection& c, TimeNs now) {
  if (source_remaining_ > 0 && c.send_buffer_free() > 0 && c.can_write()) {
    size_t n = static_cast<size_t>(
        std::min<uint64_t>(source_remaining_, c.send_buffer_free()));
    absl::StatusOr<size_t> done = WriteGenerated(c, now, n, /*push=*/false);
    if (done.ok()) source_remaining_ -= *done;
  }
  if (source_remaining_ == 0 && source_close_) {
    source_close_ = false;
    (void)c.Close(now);
  }
}

void Application::OnActivity(Connection& c, TimeNs now) {
  if (c.finished()) return;
  if (reader_.mode == ReaderMode::kAuto && c.readable() > 0) {
    ReadUpTo(c, now, std::numeric_limits<size_t>::max());
  }
  RefillSource(c, now);
  if (reader_.close_on_eof && c.eof() && c.state() == TcpState::kCloseWait) {
    (void)c.Close(now);
  }
}

TimeNs Application::ArmReader(TimeNs now, bool reset_tokens) {
  reader_last_ = now;
  if (reset_tokens) reader_tokens_ = 0;
  reader_due_ = now + kReaderTick;
  return reader_due_;
}

TimeNs Application::Tick(Connection& c, TimeNs now) {
  reader_due_ = kNever;
  if (reader_.mode != ReaderMode::kRate || c.finished()) return kNever;
  double rate = static_cast<double>(reader_.rate_bytes_per_sec);
  reader_tokens_ += rate * static_cast<double>(now - reader_last_) / 1e9;
  reader_tokens_ = std::min(reader_tokens_, std::max(rate / 10, 1.0));
  reader_last_ = now;
  size_t budget = static_cast<size_t>(reader_tokens_);
  if (budget > 0 && c.readable() > 0) {
    size_t before = stats_.bytes_read;
    ReadUpTo(c, now, budget);
    reader_tokens_ -= static_cast<double>(stats_.bytes_read - before);
  }
  reader_due_ = now + kReaderTick;
  return reader_due_;
}

EndpointStats Application::Stats(const Connection* c) const {
  EndpointStats st = stats_;
  if (c != nullptr) FillState(*c, st);
  if (write_hash_) st.write_digest = Sha256(*write_hash_).Finish();
  if (read_hash_) st.read_digest = Sha256(*read_hash_).Finish();
  return st;
}

void Application::Finish(const Connection& c) {
  FillState(c, stats_);
  if (write_hash_) stats_.write_digest = write_hash_->Finish();
  if (read_hash_) stats_.read_digest = read_hash_->Finish();
  write_hash_.reset();
  read_hash_.reset();
}

}  // namespace tcpemu
