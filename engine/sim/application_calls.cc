// Network: the calls an application makes on one endpoint (write, read,
// close, readers and sources) and the values they answer with; the model
// itself is in application.h. See network.h.
#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/sim/network.h"
#include "engine/sim/network_state.h"

namespace tcpemu {

using network_internal::Index;

absl::StatusOr<Network::Session*> Network::FindLive(uint32_t session_id,
                                                    Endpoint e) {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) {
    return absl::NotFoundError(
        absl::StrCat("session ", session_id, " not found"));
  }
  if (it->second->destroyed) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", session_id, " is closed"));
  }
  const Session& s = *it->second;
  if (s.remote && e != s.local) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint: session ", session_id,
                     " is with a real host; the engine's endpoint is ",
                     s.local == Endpoint::kClient ? "CLIENT" : "SERVER"));
  }
  return it->second.get();
}

absl::Status Network::CheckEndpoint(uint32_t session_id, Endpoint e) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  return s.status();
}

absl::StatusOr<size_t> Network::Write(uint32_t session_id, Endpoint e,
                                      absl::Span<const uint8_t> data,
                                      bool push) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  EndpointSlot& slot = (*s)->ep[Index(e)];
  absl::StatusOr<size_t> n = slot.app->Write(*slot.conn, now(), data, push);
  AfterActivity(**s, e);
  return n;
}

absl::StatusOr<size_t> Network::WriteGenerated(uint32_t session_id, Endpoint e,
                                               size_t n, bool push) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  EndpointSlot& slot = (*s)->ep[Index(e)];
  absl::StatusOr<size_t> done =
      slot.app->WriteGenerated(*slot.conn, now(), n, push);
  AfterActivity(**s, e);
  return done;
}

absl::Status Network::SetSource(uint32_t session_id, Endpoint e, uint64_t total,
                                bool close_when_done) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  (*s)->ep[Index(e)].app->SetSource(total, close_when_done);
  AfterActivity(**s, e);
  return absl::OkStatus();
}

absl::StatusOr<size_t> Network::Read(uint32_t session_id, Endpoint e,
                                     absl::Span<uint8_t> out) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  EndpointSlot& slot = (*s)->ep[Index(e)];
  size_t done = slot.app->Read(*slot.conn, now(), out);
  AfterActivity(**s, e);
  return done;
}

namespace {

EndpointStatus StatusOf(const Connection& c) {
  EndpointStatus st;
  st.state = c.state();
  st.error = c.error();
  st.finished = c.finished();
  st.can_write = c.can_write();
  st.eof = c.eof();
  st.readable = c.readable();
  st.send_buffer_free = c.send_buffer_free();
  st.mss = c.effective_mss();
  return st;
}

}  // namespace

std::optional<EndpointStatus> Network::GetEndpoint(uint32_t session_id,
                                                   Endpoint e) const {
  const Connection* c = connection(session_id, e);
  if (c == nullptr) return std::nullopt;
  return StatusOf(*c);
}

std::optional<TcbSnapshot> Network::GetTcb(uint32_t session_id,
                                           Endpoint e) const {
  const Connection* c = connection(session_id, e);
  if (c == nullptr) return std::nullopt;
  return c->Snapshot();
}

absl::StatusOr<WriteResult> Network::WriteAvailable(
    uint32_t session_id, Endpoint e, absl::Span<const uint8_t> data,
    bool push) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  WriteResult r;
  const size_t n =
      std::min(data.size(), (*s)->ep[Index(e)].conn->send_buffer_free());
  if (n > 0) {
    absl::StatusOr<size_t> got =
        Write(session_id, e, data.first(n), push && n == data.size());
    if (!got.ok()) return got.status();
    r.accepted = *got;
  }
  if (const Connection* c = connection(session_id, e); c != nullptr) {
    r.after = StatusOf(*c);
  }
  return r;
}

absl::StatusOr<WriteResult> Network::WriteGeneratedAvailable(
    uint32_t session_id, Endpoint e, size_t n, bool push) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  WriteResult r;
  const size_t take = std::min(n, (*s)->ep[Index(e)].conn->send_buffer_free());
  if (take > 0) {
    absl::StatusOr<size_t> got =
        WriteGenerated(session_id, e, take, push && take == n);
    if (!got.ok()) return got.status();
    r.accepted = *got;
  }
  if (const Connection* c = connection(session_id, e); c != nullptr) {
    r.after = StatusOf(*c);
  }
  return r;
}

absl::StatusOr<ReadResult> Network::ReadAvailable(uint32_t session_id,
                                                  Endpoint e,
                                                  absl::Span<uint8_t> out) {
  absl::StatusOr<size_t> n = Read(session_id, e, out);
  if (!n.ok()) return n.status();
  const Connection* c = connection(session_id, e);
  return ReadResult{*n, c == nullptr || c->eof()};
}

absl::Status Network::SetReader(uint32_t session_id, Endpoint e,
                                const ReaderSpec& reader) {
  if (absl::Status st = ValidateReaderSpec(reader); !st.ok()) return st;
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  Application& app = *(*s)->ep[Index(e)].app;
  app.set_reader(reader);
  if (app.reader_due() == kNever) ArmReader(**s, e, /*reset_tokens=*/true);
  AfterActivity(**s, e);
  return absl::OkStatus();
}

absl::Status Network::Close(uint32_t session_id, Endpoint e) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  absl::Status st = (*s)->ep[Index(e)].conn->Close(now());
  AfterActivity(**s, e);
  return st;
}

absl::Status Network::Abort(uint32_t session_id, Endpoint e) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  (*s)->ep[Index(e)].conn->Abort(now());
  AfterActivity(**s, e);
  return absl::OkStatus();
}

void Network::AfterActivity(Session& s, Endpoint e) {
  if (s.destroyed) return;
  EndpointSlot& slot = s.ep[Index(e)];
  slot.app->OnActivity(*slot.conn, now());
  if (s.in_backlog) NoteBacklog(s);
  ScheduleConnection(s, e);
  if (observer_) observer_(s.id, e);
  MaybeDestroy(s);
}

}  // namespace tcpemu
