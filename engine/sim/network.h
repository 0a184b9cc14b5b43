// A Network is one clock domain: it owns emulated links and the TCP sessions
// that cross them, and runs every timer and packet arrival in time order. It
// never reads a clock: the caller moves time with RunUntil (virtual time) or
// by calling it at wall-clock instants (real time). The same seed and the same
// calls give the same event trace.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/base/event.h"
#include "engine/base/rng.h"
#include "engine/base/sha256.h"
#include "engine/base/time.h"
#include "engine/link/fault.h"
#include "engine/link/path.h"
#include "engine/link/path_spec.h"
#include "engine/sim/application.h"
#include "engine/sim/demux.h"
#include "engine/sim/direction.h"
#include "engine/sim/interface.h"
#include "engine/sim/listeners.h"
#include "engine/sim/scheduler.h"
#include "engine/sim/valid_path_spec.h"
#include "engine/tcp/connection.h"
#include "engine/tcp/isn.h"
#include "engine/tcp/syn_cookie.h"
#include "engine/tcp/tcp_config.h"
#include "engine/wire/ecn.h"

namespace tcpemu {

// The far end of a session with a real host, reached through an interface.
struct RemoteSpec {
  uint32_t address = 0;  // host byte order
  uint16_t port = 0;
};

struct SessionSpec {
  // 0: the network picks the next id. A caller that keeps ids unique across
  // networks (the daemon) passes its own.
  uint32_t id = 0;
  uint32_t link_id = 0;
  TcpConfig client;
  TcpConfig server;
  uint16_t client_port = 0;  // 0: the next ephemeral port of the link
  uint16_t server_port = 5001;
  // False leaves the server port closed: the client's SYN meets an RST.
  bool server_listens = true;
  ReaderSpec client_reader;
  ReaderSpec server_reader;
  // Keep SHA-256 digests of the bytes each endpoint wrote and read.
  bool digest = true;
  // Set: an active open from the interface `link_id` to a real host. Only
  // the client endpoint exists; `client_port` is its local port and the
  // server fields are unused. client.mtu 0 takes the interface's MTU.
  std::optional<RemoteSpec> remote;
};

// Sees every packet at the engine's endpoints: what an endpoint sends before
// its link or interface acts on it, and what reaches it after.
class PacketObserver {
 public:
  virtual ~PacketObserver() = default;
  virtual void OnPacket(TimeNs t, uint32_t link_id, uint32_t session_id,
                        Endpoint e, bool outgoing, const Packet& p) = 0;
};

struct SessionInfo {
  uint32_t id = 0;
  uint32_t link_id = 0;
  bool destroyed = false;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  // A session with a real host: only endpoint `local` exists.
  bool remote = false;
  bool accepted = false;  // opened by a host through a listener
  Endpoint local = Endpoint::kClient;
  uint32_t local_addr = 0;
  uint32_t remote_addr = 0;
  uint16_t remote_port = 0;
  TimeNs opened_at = 0;
  TimeNs destroyed_at = 0;
  EndpointStats client;
  EndpointStats server;
};

// An endpoint as its application sees it now (a value: the connection stays
// inside the network).
struct EndpointStatus {
  TcpState state = TcpState::kClosed;
  ErrorCode error = ErrorCode::kNone;
  bool finished = false;   // the connection reached its end
  bool can_write = false;  // the application may still write
  bool eof = false;        // the peer's FIN arrived and all was read
  size_t readable = 0;     // bytes waiting for the application
  size_t send_buffer_free = 0;
  uint32_t mss = 0;  // effective send MSS
};

// What a write took.
struct WriteResult {
  size_t accepted = 0;  // bytes taken into the send buffer
  // The endpoint after the write (its buffer space, state and error).
  EndpointStatus after;
};

// What a read gave.
struct ReadResult {
  size_t bytes = 0;  // copied into the caller's buffer
  // True when nothing more will arrive: the peer's FIN was read, or the
  // session ended.
  bool eof = false;
};

class Network : private EntryHandler {
 public:
  // Limits that keep one network's memory bounded.
  struct Limits {
    uint32_t max_links = 4096;
    uint32_t max_sessions = 200000;
  };

  explicit Network(uint64_t seed, EventSink* sink = nullptr);
  Network(uint64_t seed, EventSink* sink, const Limits& limits);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  TimeNs now() const { return scheduler_.now(); }
  uint64_t seed() const { return seed_; }

  // Links.
  // `id` 0: the network picks the next id.
  absl::StatusOr<uint32_t> CreateLink(const PathSpec& forward,
                                      const PathSpec& reverse, uint32_t id = 0);
  // Specs checked already (ValidPathSpec::Check): not checked again.
  absl::StatusOr<uint32_t> CreateLink(const ValidPathSpec& forward,
                                      const ValidPathSpec& reverse,
                                      uint32_t id = 0);
  std::vector<uint32_t> link_ids() const;
  // Live sessions carried by a link.
  uint32_t link_session_count(uint32_t link_id) const;
  absl::Status UpdateLink(uint32_t link_id, const PathSpec& forward,
                          const PathSpec& reverse);
  absl::Status UpdateLink(uint32_t link_id, const ValidPathSpec& forward,
                          const ValidPathSpec& reverse);
  absl::Status DeleteLink(uint32_t link_id);
  const Path* path(uint32_t link_id, Direction d) const;
  absl::StatusOr<uint32_t> AddFault(uint32_t link_id, Direction d,
                                    const FaultRule& rule);
  // Removes one rule of direction `d` (NotFound if it is not held).
  absl::Status RemoveFault(uint32_t link_id, Direction d, uint32_t rule_id);
  absl::Status ClearFaults(uint32_t link_id);

  // Interfaces: a link whose far side is a device. Its forward path is the
  // egress (engine -> device), its reverse path the ingress. Frames leave
  // through `out`, which must outlive the interface. UpdateLink, AddFault and
  // ClearFaults work on it as on any link; DeleteInterface aborts its
  // sessions and forgets its listeners.
  absl::StatusOr<uint32_t> CreateInterface(const InterfaceSpec& spec,
                                           const PathSpec& egress,
                                           const PathSpec& ingress,
                                           FrameSink* out, uint32_t id = 0);
  absl::StatusOr<uint32_t> CreateInterface(const InterfaceSpec& spec,
                                           const ValidPathSpec& egress,
                                           const ValidPathSpec& ingress,
                                           FrameSink* out, uint32_t id = 0);
  absl::Status DeleteInterface(uint32_t link_id);
  // Null if `link_id` is not an interface.
  const Interface* interface(uint32_t link_id) const;
  // A frame read from the interface's device at now().
  absl::Status OnFrame(uint32_t link_id, absl::Span<const uint8_t> frame);
  // Frames read from a device in one go: between Begin and End, the ACK a
  // connection owes for every second full-sized segment waits for End, so
  // one ACK covers the batch (see Connection::SetAckDeferral).
  void BeginReceiveBatch() { batching_ = true; }
  void EndReceiveBatch();
  absl::Status Listen(uint32_t link_id, const ListenSpec& spec);
  absl::Status Unlisten(uint32_t link_id, uint16_t port);
  std::vector<ListenerInfo> listeners(uint32_t link_id) const;
  // Picks the ids of accepted sessions (a caller that keeps ids unique
  // across networks); returning 0 refuses the connection.
  void SetSessionIdAllocator(std::function<uint32_t()> fn) {
    allocate_id_ = std::move(fn);
  }
  void SetPacketObserver(PacketObserver* observer) { packets_ = observer; }

  // Sessions: a client and a server endpoint across one link, or one
  // endpoint and a real host (SessionSpec::remote). The client connects at
  // once.
  absl::StatusOr<uint32_t> OpenSession(const SessionSpec& spec);
  // Aborts both endpoints (RST) and forgets the session.
  absl::Status DeleteSession(uint32_t session_id);
  absl::StatusOr<SessionInfo> GetSession(uint32_t session_id) const;
  const Connection* connection(uint32_t session_id, Endpoint e) const;
  // The endpoint now; nullopt when it has no connection (the session is
  // unknown or over, or `e` is a real host's side).
  std::optional<EndpointStatus> GetEndpoint(uint32_t session_id,
                                            Endpoint e) const;
  // Its TCB (RFC 9293 names), under the same condition.
  std::optional<TcbSnapshot> GetTcb(uint32_t session_id, Endpoint e) const;
  // Calls fn(session_id, link_id, destroyed) for every session kept.
  void ForEachSession(
      absl::FunctionRef<void(uint32_t, uint32_t, bool)> fn) const;
  // Called after the stack or the application acted on an endpoint (data
  // arrived, buffer space freed, state changed). The observer must not call
  // back into the network; it may note the endpoint for later.
  void SetActivityObserver(std::function<void(uint32_t, Endpoint)> fn) {
    observer_ = std::move(fn);
  }
  size_t session_count() const { return sessions_.size(); }
  size_t live_session_count() const { return live_sessions_; }

  // Application calls on one endpoint.
  absl::StatusOr<size_t> Write(uint32_t session_id, Endpoint e,
                               absl::Span<const uint8_t> data, bool push);
  // Writes `n` generated bytes (a seeded pattern), as much as fits.
  absl::StatusOr<size_t> WriteGenerated(uint32_t session_id, Endpoint e,
                                        size_t n, bool push);
  // Keeps writing generated bytes as buffer space frees until `total` bytes
  // were accepted, then closes if `close_when_done`.
  absl::Status SetSource(uint32_t session_id, Endpoint e, uint64_t total,
                         bool close_when_done);
  absl::StatusOr<size_t> Read(uint32_t session_id, Endpoint e,
                              absl::Span<uint8_t> out);
  // Writes as much of `data` (or of `n` generated bytes) as the send buffer
  // has room for now, pushing only if all of it fits; a full buffer writes
  // nothing. Errors as CheckEndpoint.
  absl::StatusOr<WriteResult> WriteAvailable(uint32_t session_id, Endpoint e,
                                             absl::Span<const uint8_t> data,
                                             bool push);
  absl::StatusOr<WriteResult> WriteGeneratedAvailable(uint32_t session_id,
                                                      Endpoint e, size_t n,
                                                      bool push);
  // Reads up to out.size() bytes and tells whether the stream has ended.
  absl::StatusOr<ReadResult> ReadAvailable(uint32_t session_id, Endpoint e,
                                           absl::Span<uint8_t> out);
  absl::Status SetReader(uint32_t session_id, Endpoint e,
                         const ReaderSpec& reader);
  absl::Status Close(uint32_t session_id, Endpoint e);
  // Why application calls on (session, endpoint) would fail (OK if not).
  absl::Status CheckEndpoint(uint32_t session_id, Endpoint e);
  absl::Status Abort(uint32_t session_id, Endpoint e);

  // Time. RunUntil processes, in time order, everything due at or before `t`
  // and leaves now() == t (t earlier than now() is a no-op).
  void RunUntil(TimeNs t) { scheduler_.RunUntil(t); }
  // RunUntil in bounded steps: processes at most `max_entries` entries and
  // returns true once it has reached `t` (now() == t); false leaves now() at
  // the last entry processed, for the caller to go on later. The entries
  // and their order are those of one RunUntil(t).
  bool RunUntilBounded(TimeNs t, size_t max_entries) {
    return scheduler_.RunUntilBounded(t, max_entries);
  }
  // Runs until nothing is scheduled or `limit`; true if it went idle.
  bool RunUntilIdle(TimeNs limit) { return scheduler_.RunUntilIdle(limit); }
  TimeNs NextDeadline() { return scheduler_.NextDeadline(); }

 private:
  struct Session;
  struct EndpointSlot;
  struct Link;
  class Output;
  class LinkEvents;

  // What a scheduled entry runs (ScheduledEntry::target).
  enum class Target : uint8_t { kConnection, kPath, kReader };

  // EntryHandler.
  void Dispatch(const ScheduledEntry& e) override;
  bool IsLive(const ScheduledEntry& e) const override;

  void Push(TimeNs t, Target target, uint32_t id, uint8_t sub) {
    scheduler_.Push(t, static_cast<uint8_t>(target), id, sub);
  }
  void ScheduleConnection(Session& s, Endpoint e);
  void SchedulePath(Link& l, Direction d);
  // Starts the rate reader of endpoint `e`, if it has one.
  void ArmReader(Session& s, Endpoint e, bool reset_tokens);
  void DeliverPackets(Link& l, Direction d);
  void DeliverOne(Link& l, Direction d, Packet&& p);
  void Transmit(uint32_t link_id, Direction d, uint32_t src, uint32_t dst,
                const TcpHeader& h, const Payload& payload,
                uint32_t session_id = 0, Endpoint e = Endpoint::kClient,
                Ecn ecn = Ecn::kNotEct);
  absl::StatusOr<uint32_t> OpenRemoteSession(Link& l, const SessionSpec& spec);
  // A segment to a listening port of an interface: true if the listener
  // took it (a SYN, or the ACK of a SYN cookie).
  bool ToListener(Link& l, Listener& listener, const ParsedTcpPacket& p);
  // The session of an accepted connection, its endpoint not yet opened;
  // null (and counted) when the session limit or the id allocator refuse.
  Session* CreateAccepted(Link& l, Listener& listener,
                          const ParsedTcpPacket& p);
  void StartAccepted(Session& s);
  // Sets up endpoint `e` of `s` on link `l` and registers it for demux.
  void AddEndpoint(Link& l, Session& s, Endpoint e, const FourTuple& t,
                   const TcpConfig& config, const ReaderSpec& reader,
                   bool digest, uint64_t ordinal);
  void NoteBacklog(Session& s);
  // Runs the application side of an endpoint after the stack acted,
  // reschedules it, and destroys a finished session.
  void AfterActivity(Session& s, Endpoint e);
  void MaybeDestroy(Session& s);
  absl::StatusOr<Session*> FindLive(uint32_t session_id, Endpoint e);
  Session* FindSession(uint32_t session_id) const;
  Link* FindLink(uint32_t link_id) const;
  void Emit(const Event& e) {
    if (sink_ != nullptr) sink_->OnEvent(e);
  }

  uint64_t seed_;
  EventSink* sink_;
  std::function<void(uint32_t, Endpoint)> observer_;
  Limits limits_;
  Rng rng_;
  // One secret, drawn once from rng_ (so a seed fixes the random stream
  // the links draw from afterwards), keys both ISNs and SYN cookies.
  std::array<uint8_t, 16> secret_;
  IsnGenerator isn_;
  SynCookies cookies_;
  Scheduler scheduler_{this};
  uint32_t next_link_id_ = 1;
  uint32_t next_session_id_ = 1;
  uint32_t links_created_ = 0;
  uint64_t sessions_created_ = 0;
  size_t live_sessions_ = 0;
  absl::flat_hash_map<uint32_t, std::unique_ptr<Link>> links_;
  absl::flat_hash_map<uint32_t, std::unique_ptr<Session>> sessions_;
  std::function<uint32_t()> allocate_id_;
  PacketObserver* packets_ = nullptr;
  bool batching_ = false;
  std::vector<std::pair<uint32_t, Endpoint>> batched_;
};

}  // namespace tcpemu
