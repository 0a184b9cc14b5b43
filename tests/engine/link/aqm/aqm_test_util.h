// Synthetic traffic for the queue-discipline tests: encoded IPv4/TCP
// packets of a given size, flow and ECN codepoint, and a single-server
// link in virtual time that feeds a QueueDiscipline as the path does
// (Admit at arrival, Push, Pop whenever the wire is free).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "engine/link/queue_discipline.h"
#include "engine/wire/ecn.h"
#include "engine/wire/packet.h"
#include "gtest/gtest.h"

namespace tcpemu::aqm_test {

// A packet of `size` bytes (>= 40) from 10.0.0.<flow>:<port> to
// 10.0.1.1:80, with ECN codepoint `ecn`.
inline Packet MakePacket(size_t size, uint16_t port, Ecn ecn = Ecn::kNotEct,
                         uint8_t flow = 1) {
  Ipv4Header ip;
  ip.src = 0x0a000000u | flow;
  ip.dst = 0x0a000101u;
  ip.tos = static_cast<uint8_t>(ecn);
  TcpHeader tcp;
  tcp.src_port = port;
  tcp.dst_port = 80;
  const std::vector<uint8_t> body(size - 40, 0x5a);
  absl::StatusOr<Packet> p = BuildTcpPacket(ip, tcp, Payload::Copy(body));
  EXPECT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->size(), size);
  return *std::move(p);
}

inline QueuedPacket Queued(Packet p, TimeNs at) {
  QueuedPacket q;
  q.packet = std::move(p);
  q.enqueued = at;
  return q;
}

struct Arrival {
  TimeNs at = 0;
  Packet packet;
};

// `n` packets of one flow, one every `gap` from `start`.
inline std::vector<Arrival> Periodic(uint16_t port, size_t size, TimeNs start,
                                     DurationNs gap, int n,
                                     Ecn ecn = Ecn::kNotEct) {
  std::vector<Arrival> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    out.push_back({start + i * gap, MakePacket(size, port, ecn)});
  }
  return out;
}

// Merges arrival schedules by time (ties keep the order of the arguments).
inline std::vector<Arrival> Merge(std::vector<std::vector<Arrival>> flows) {
  std::vector<Arrival> all;
  for (auto& f : flows) {
    for (auto& a : f) all.push_back(std::move(a));
  }
  std::stable_sort(
      all.begin(), all.end(),
      [](const Arrival& a, const Arrival& b) { return a.at < b.at; });
  return all;
}

struct Sent {
  TimeNs at = 0;  // when it went onto the wire
  uint16_t port = 0;
  size_t size = 0;
  DurationNs sojourn = 0;
  Ecn ecn = Ecn::kNotEct;
};

struct Decision {
  TimeNs at = 0;
  uint16_t port = 0;
  size_t size = 0;
  Ecn ecn = Ecn::kNotEct;  // after the decision
  QueueAction action = QueueAction::kDrop;
  TimeNs enqueued = 0;
};

struct Outcome {
  std::vector<Sent> sent;
  std::vector<Decision> decisions;    // reported through Notify
  std::vector<Admission> admissions;  // one per arrival
  int Count(Admission a) const {
    return static_cast<int>(
        std::count(admissions.begin(), admissions.end(), a));
  }
  int Count(QueueAction a) const {
    return static_cast<int>(
        std::count_if(decisions.begin(), decisions.end(),
                      [a](const Decision& d) { return d.action == a; }));
  }
};

// Runs `arrivals` (sorted by time) through `q` onto a wire that takes
// `ns_per_byte` per byte, until every packet has left or been dropped.
inline Outcome RunLink(QueueDiscipline& q, std::vector<Arrival> arrivals,
                       DurationNs ns_per_byte) {
  Outcome out;
  auto notify = [&out](TimeNs when, const QueuedPacket& p, QueueAction a) {
    out.decisions.push_back({when, PeekTcp(p.packet).src_port, p.packet.size(),
                             PacketEcn(p.packet), a, p.enqueued});
  };
  constexpr TimeNs kNever = std::numeric_limits<TimeNs>::max();
  bool busy = false;
  TimeNs wire_free = 0;
  auto try_pop = [&](TimeNs now) {
    QueuedPacket p;
    if (!q.Pop(now, &p, notify)) {
      EXPECT_TRUE(q.empty());
      return;
    }
    out.sent.push_back({now, PeekTcp(p.packet).src_port, p.packet.size(),
                        now - p.enqueued, PacketEcn(p.packet)});
    busy = true;
    wire_free = now + static_cast<DurationNs>(p.packet.size()) * ns_per_byte;
  };
  size_t i = 0;
  while (i < arrivals.size() || busy || !q.empty()) {
    const TimeNs next_arrival = i < arrivals.size() ? arrivals[i].at : kNever;
    const TimeNs next_free = busy ? wire_free : kNever;
    if (next_free <= next_arrival) {
      busy = false;
      try_pop(next_free);
      continue;
    }
    const TimeNs now = next_arrival;
    Arrival& a = arrivals[i++];
    const Admission verdict = q.Admit(now, a.packet, busy);
    out.admissions.push_back(verdict);
    if (verdict == Admission::kAccept || verdict == Admission::kMarked) {
      q.Push(now, Queued(std::move(a.packet), now), notify);
      if (!busy) try_pop(now);
    }
  }
  return out;
}

// Window-based senders in the manner of TCP Reno, closing the loop
// through `q`: each keeps cwnd packets of its size in flight, grows cwnd by
// 1/cwnd per acknowledgement, and halves it (at most once per its rtt)
// when it learns of a drop (rtt after the drop) or of a CE mark (with the
// acknowledgement of the marked packet). Acknowledgements come rtt after a
// packet leaves the wire. Senders are told apart by source port. Runs for
// `duration`.
struct RenoFlow {
  uint16_t port = 1;
  size_t size = 1500;
  Ecn ecn = Ecn::kNotEct;
  DurationNs rtt = 50 * kMillisecond;
};

inline Outcome RunRenos(QueueDiscipline& q, const std::vector<RenoFlow>& flows,
                        DurationNs ns_per_byte, TimeNs duration) {
  Outcome out;
  enum Kind { kWireFree, kAck, kLoss };
  struct Event {
    TimeNs at;
    uint64_t seq;
    Kind kind;
    size_t flow;
    bool ce;
    bool operator>(const Event& o) const {
      return at != o.at ? at > o.at : seq > o.seq;
    }
  };
  struct State {
    double cwnd = 2;
    int inflight = 0;
    TimeNs last_cut = std::numeric_limits<TimeNs>::min() / 2;
  };
  std::vector<State> state(flows.size());
  auto index = [&flows](const Packet& p) {
    const uint16_t port = PeekTcp(p).src_port;
    for (size_t i = 0; i < flows.size(); ++i) {
      if (flows[i].port == port) return i;
    }
    ADD_FAILURE() << "unknown port " << port;
    return size_t{0};
  };
  std::vector<Event> heap;
  uint64_t seq = 0;
  auto schedule = [&](TimeNs at, Kind kind, size_t flow, bool ce) {
    heap.push_back({at, seq++, kind, flow, ce});
    std::push_heap(heap.begin(), heap.end(), std::greater<>());
  };
  bool busy = false;
  auto cut = [&](size_t f, TimeNs now) {
    if (now - state[f].last_cut < flows[f].rtt) return;
    state[f].last_cut = now;
    state[f].cwnd = std::max(2.0, state[f].cwnd / 2);
  };
  auto notify = [&](TimeNs when, const QueuedPacket& p, QueueAction a) {
    out.decisions.push_back({when, PeekTcp(p.packet).src_port, p.packet.size(),
                             PacketEcn(p.packet), a, p.enqueued});
    if (a == QueueAction::kDrop) {
      const size_t f = index(p.packet);
      schedule(when + flows[f].rtt, kLoss, f, false);
    }
  };
  auto try_pop = [&](TimeNs now) {
    QueuedPacket p;
    if (!q.Pop(now, &p, notify)) return;
    const DurationNs wire =
        static_cast<DurationNs>(p.packet.size()) * ns_per_byte;
    out.sent.push_back({now, PeekTcp(p.packet).src_port, p.packet.size(),
                        now - p.enqueued, PacketEcn(p.packet)});
    busy = true;
    const size_t f = index(p.packet);
    schedule(now + wire, kWireFree, f, false);
    schedule(now + wire + flows[f].rtt, kAck, f,
             PacketEcn(p.packet) == Ecn::kCe);
  };
  auto send = [&](size_t f, TimeNs now) {
    while (state[f].inflight < static_cast<int>(state[f].cwnd)) {
      ++state[f].inflight;
      Packet packet = MakePacket(flows[f].size, flows[f].port, flows[f].ecn);
      const Admission a = q.Admit(now, packet, busy);
      out.admissions.push_back(a);
      if (a == Admission::kAccept || a == Admission::kMarked) {
        q.Push(now, Queued(std::move(packet), now), notify);
        if (!busy) try_pop(now);
      } else {
        schedule(now + flows[f].rtt, kLoss, f, false);
      }
    }
  };
  for (size_t f = 0; f < flows.size(); ++f) send(f, 0);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const Event e = heap.back();
    heap.pop_back();
    if (e.at > duration) break;
    switch (e.kind) {
      case kWireFree:
        busy = false;
        try_pop(e.at);
        break;
      case kAck:
        --state[e.flow].inflight;
        if (e.ce) {
          cut(e.flow, e.at);
        } else {
          state[e.flow].cwnd += 1 / state[e.flow].cwnd;
        }
        break;
      case kLoss:
        --state[e.flow].inflight;
        cut(e.flow, e.at);
        break;
    }
    send(e.flow, e.at);
  }
  return out;
}

// One Reno-like sender on port 1.
inline Outcome RunReno(QueueDiscipline& q, size_t size, Ecn ecn,
                       DurationNs ns_per_byte, DurationNs rtt,
                       TimeNs duration) {
  return RunRenos(q, {{.port = 1, .size = size, .ecn = ecn, .rtt = rtt}},
                  ns_per_byte, duration);
}

}  // namespace tcpemu::aqm_test
