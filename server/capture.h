// Per-session packet captures of one network, kept for ExportPcap: in memory
// (bounded) for sessions opened with `capture`, or as files under
// --pcap_dir for every session. A capture records one endpoint's view: the
// endpoint of the session's first packet (the client of an emulated session
// or an active open, the engine's server of an accepted one).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "engine/sim/network.h"
#include "engine/trace/pcap.h"

namespace tcpemu::server {

struct CaptureOptions {
  std::string pcap_dir;           // empty: no files
  uint64_t max_bytes = 64 << 20;  // per in-memory capture
  uint32_t max_captures = 64;     // in-memory captures at once
};

class CaptureStore final : public PacketObserver {
 public:
  // `wall_epoch_ns`: the Unix time (ns) of network time 0, for timestamps.
  CaptureStore(uint32_t network_id, int64_t wall_epoch_ns,
               const CaptureOptions& options);
  ~CaptureStore() override;

  // Records session `id` in memory from its first packet on.
  // RESOURCE_EXHAUSTED when max_captures are held.
  absl::Status Enable(uint32_t session_id);
  // Records every session a listener accepts on (link_id, port).
  void EnableListener(uint32_t link_id, uint16_t port);
  void DisableListener(uint32_t link_id, uint16_t port);
  // The session finished: its file is flushed and closed.
  void OnSessionDestroyed(uint32_t session_id);
  // Forgets a session's capture (its file stays on disk).
  void Forget(uint32_t session_id);

  bool has(uint32_t session_id) const;
  // The whole capture so far as pcap bytes.
  absl::StatusOr<std::vector<uint8_t>> Export(uint32_t session_id);

  void OnPacket(TimeNs t, uint32_t link_id, uint32_t session_id, Endpoint e,
                bool outgoing, const Packet& p) override;

 private:
  struct Capture {
    bool started = false;
    Endpoint endpoint = Endpoint::kClient;
    std::unique_ptr<PcapWriter> writer;
    std::FILE* file = nullptr;
    std::string path;
    uint64_t dropped = 0;  // packets past max_bytes
  };
  Capture* Start(uint32_t session_id, Capture* c);
  static uint64_t ListenerKey(uint32_t link_id, uint16_t port) {
    return (uint64_t{link_id} << 16) | port;
  }

  uint32_t network_id_;
  int64_t wall_epoch_ns_;
  CaptureOptions options_;
  uint32_t in_memory_ = 0;
  absl::flat_hash_map<uint32_t, Capture> captures_;
  absl::flat_hash_set<uint64_t> listeners_;
  absl::flat_hash_set<uint32_t> finished_;  // not to be restarted
};

}  // namespace tcpemu::server
