// CaptureStore: per-session pcap captures; see capture.h.
#include "server/capture.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/wire/byte_order.h"

namespace tcpemu::server {

CaptureStore::CaptureStore(uint32_t network_id, int64_t wall_epoch_ns,
                           const CaptureOptions& options)
    : network_id_(network_id),
      wall_epoch_ns_(wall_epoch_ns),
      options_(options) {}

CaptureStore::~CaptureStore() {
  for (auto& [id, c] : captures_) {
    if (c.file != nullptr) std::fclose(c.file);
  }
}

absl::Status CaptureStore::Enable(uint32_t session_id) {
  if (captures_.contains(session_id)) return absl::OkStatus();
  if (in_memory_ >= options_.max_captures) {
    return absl::ResourceExhaustedError(
        absl::StrCat("capture limit reached (", options_.max_captures,
                     " in-memory captures); delete captured sessions first"));
  }
  ++in_memory_;
  Capture& c = captures_[session_id];
  c.writer = std::make_unique<PcapWriter>(PcapLinkType::kRaw);
  (void)c.writer->WriteHeader();
  return absl::OkStatus();
}

void CaptureStore::EnableListener(uint32_t link_id, uint16_t port) {
  listeners_.insert(ListenerKey(link_id, port));
}

void CaptureStore::DisableListener(uint32_t link_id, uint16_t port) {
  listeners_.erase(ListenerKey(link_id, port));
}

bool CaptureStore::has(uint32_t session_id) const {
  auto it = captures_.find(session_id);
  return it != captures_.end() &&
         (it->second.writer || !it->second.path.empty());
}

CaptureStore::Capture* CaptureStore::Start(uint32_t session_id, Capture* c) {
  if (c == nullptr) {
    if (options_.pcap_dir.empty() || finished_.contains(session_id)) {
      return nullptr;
    }
    c = &captures_[session_id];
  }
  if (c->writer == nullptr && !options_.pcap_dir.empty() && c->path.empty()) {
    c->path = absl::StrCat(options_.pcap_dir, "/network-", network_id_,
                           "-session-", session_id, ".pcap");
    c->file = std::fopen(c->path.c_str(), "wb");
    if (c->file == nullptr) {
      std::fprintf(stderr, "tcpemud: cannot write %s: %s\n", c->path.c_str(),
                   std::strerror(errno));
      c->path.clear();
      captures_.erase(session_id);
      finished_.insert(session_id);
      return nullptr;
    }
    c->writer = std::make_unique<PcapWriter>(PcapLinkType::kRaw,
                                             PcapWriter::kMaxSnaplen, c->file);
    (void)c->writer->WriteHeader();
  }
  return c;
}

void CaptureStore::OnPacket(TimeNs t, uint32_t link_id, uint32_t session_id,
                            Endpoint e, bool outgoing, const Packet& p) {
  // Nothing to record: the common case costs one test per packet.
  if (captures_.empty() && listeners_.empty() && options_.pcap_dir.empty()) {
    return;
  }
  auto it = captures_.find(session_id);
  Capture* c = it == captures_.end() ? nullptr : &it->second;
  if (c == nullptr && e == Endpoint::kServer && !outgoing &&
      !listeners_.empty()) {
    // The SYN of an accepted session: its destination port is the
    // listener's.
    const size_t ihl = static_cast<size_t>(p.header[0] & 0x0f) * 4;
    const uint16_t dst_port = wire_internal::Get16(p.header.data() + ihl + 2);
    if (listeners_.contains(ListenerKey(link_id, dst_port))) {
      if (!Enable(session_id).ok()) return;
      c = &captures_[session_id];
    }
  }
  if (c == nullptr || !c->started) {
    c = Start(session_id, c);
    if (c == nullptr) return;
    if (!c->started) {
      c->started = true;
      c->endpoint = e;
    }
  }
  if (e != c->endpoint || c->writer == nullptr) return;
  if (c->file == nullptr &&
      c->writer->buffer().size() + p.size() + PcapWriter::kRecordHeaderLen >
          options_.max_bytes) {
    ++c->dropped;
    return;
  }
  (void)c->writer->WritePacket(wall_epoch_ns_ + t, p);
}

void CaptureStore::OnSessionDestroyed(uint32_t session_id) {
  auto it = captures_.find(session_id);
  if (it == captures_.end()) return;
  Capture& c = it->second;
  if (c.file != nullptr) {
    c.writer.reset();
    std::fclose(c.file);
    c.file = nullptr;
  }
}

void CaptureStore::Forget(uint32_t session_id) {
  auto it = captures_.find(session_id);
  finished_.erase(session_id);
  if (it == captures_.end()) return;
  if (it->second.file != nullptr) std::fclose(it->second.file);
  if (it->second.path.empty() && it->second.writer) --in_memory_;
  captures_.erase(it);
}

absl::StatusOr<std::vector<uint8_t>> CaptureStore::Export(uint32_t session_id) {
  auto it = captures_.find(session_id);
  if (it == captures_.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session_id ", session_id,
        " has no capture: open it with capture (or run tcpemud with "
        "--pcap_dir)"));
  }
  Capture& c = it->second;
  if (c.path.empty()) {
    if (c.writer == nullptr) return std::vector<uint8_t>();
    return c.writer->buffer();
  }
  if (c.writer != nullptr) (void)c.writer->Flush();
  std::FILE* f = std::fopen(c.path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("capture file ", c.path, ": ", std::strerror(errno)));
  }
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    out.insert(out.end(), buf, buf + n);
  }
  std::fclose(f);
  return out;
}

}  // namespace tcpemu::server
