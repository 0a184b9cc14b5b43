// The Emulator service's interfaces, listeners and packet captures: TAP
// devices joined to REALTIME networks, passive opens on them, and pcap export.
#include <algorithm>
#include <memory>
#include <random>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/wire/ipv4.h"
#include "server/convert.h"
#include "server/emulator_service.h"

namespace tcpemu::server {
namespace {

constexpr size_t kPcapChunkBytes = 1 << 20;

absl::Status Invalid(absl::string_view msg) {
  return absl::InvalidArgumentError(msg);
}

absl::Status NotFound(absl::string_view what, uint32_t id) {
  return absl::NotFoundError(absl::StrCat(what, " ", id, " not found"));
}

// "a.b.c.d/n" -> address, prefix length.
absl::StatusOr<std::pair<uint32_t, uint8_t>> ParseCidr(
    const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  uint32_t prefix = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &prefix)) {
    return Invalid(absl::StrCat("address ", Quoted(text),
                                ": expected IPv4/prefix, e.g. 10.7.0.2/24"));
  }
  absl::StatusOr<uint32_t> addr = ParseIpv4(parts[0]);
  if (!addr.ok()) {
    return Invalid(
        absl::StrCat("address ", Quoted(text), ": not a dotted IPv4 address"));
  }
  if (prefix < 1 || prefix > 30) {
    return Invalid(absl::StrCat("address ", Quoted(text),
                                ": prefix length out of range [1, 30]"));
  }
  return std::make_pair(*addr, static_cast<uint8_t>(prefix));
}

MacAddress RandomMac() {
  std::random_device rd;
  MacAddress mac;
  for (auto& b : mac) b = static_cast<uint8_t>(rd());
  mac[0] = static_cast<uint8_t>((mac[0] & 0xfc) | 0x02);  // local, unicast
  return mac;
}

void ToProto(const InterfaceCounters& c, v1::InterfaceCounters* out) {
  out->set_frames_received(c.frames_received);
  out->set_bytes_received(c.bytes_received);
  out->set_frames_sent(c.frames_sent);
  out->set_bytes_sent(c.bytes_sent);
  out->set_arp_requests_answered(c.arp_requests_answered);
  out->set_arp_requests_sent(c.arp_requests_sent);
  out->set_arp_replies_received(c.arp_replies_received);
  out->set_icmp_echo_answered(c.icmp_echo_answered);
  out->set_dropped_malformed(c.dropped_malformed);
  out->set_dropped_not_for_us(c.dropped_not_for_us);
  out->set_dropped_fragment(c.dropped_fragment);
  out->set_dropped_too_big(c.dropped_too_big);
  out->set_dropped_unsupported(c.dropped_unsupported);
  out->set_dropped_arp_unresolved(c.dropped_arp_unresolved);
  out->set_dropped_device(c.dropped_device);
  out->set_rst_no_connection(c.rst_no_connection);
  out->set_syn_dropped_backlog(c.syn_dropped_backlog);
  out->set_syn_cookies_sent(c.syn_cookies_sent);
  out->set_syn_cookies_accepted(c.syn_cookies_accepted);
}

}  // namespace

void EmulatorService::InstallHooks(NetworkSlot& slot) {
  const uint32_t network_id = slot.id;
  // Past the limit the engine makes no session (counted as
  // syn_dropped_backlog).
  slot.net->SetSessionIdAllocator(
      [this, network_id] { return AllocateSessionId(network_id); });
}

uint32_t EmulatorService::AllocateSessionId(uint32_t network_id) {
  absl::MutexLock l(&mu_);
  if (ids_.session_count() >= options_.max_sessions) {
    if (metrics_ != nullptr) metrics_->CountLimitRejection(Limit::kSessions);
    return 0;
  }
  uint32_t id = next_session_id_++;
  ids_.AddSession(id, network_id);
  return id;
}

namespace {
uint64_t ListenerKey(uint32_t interface_id, uint32_t port) {
  return (uint64_t{interface_id} << 16) | port;
}
}  // namespace

void EmulatorService::ForgetListenersLocked(uint32_t interface_id) {
  absl::erase_if(listeners_, [interface_id](uint64_t key) {
    return (key >> 16) == interface_id;
  });
}

absl::Status EmulatorService::FillInterface(NetworkSlot& slot, uint32_t link_id,
                                            v1::Interface* out) {
  const Interface* iface = slot.net->interface(link_id);
  if (iface == nullptr) return NotFound("interface_id", link_id);
  const InterfaceSpec& spec = iface->spec();
  out->set_id(link_id);
  out->set_network_id(slot.id);
  auto dev = slot.devices.find(link_id);
  if (dev != slot.devices.end()) {
    out->set_name(dev->second->name());
    out->set_created_device(dev->second->created());
  }
  out->set_address(
      absl::StrCat(Ipv4ToString(spec.address), "/", spec.prefix_len));
  out->set_mac(MacToString(spec.mac));
  out->set_mtu(spec.mtu);
  if (spec.gateway != 0) out->set_gateway(Ipv4ToString(spec.gateway));
  const Path* egress = slot.net->path(link_id, Direction::kForward);
  const Path* ingress = slot.net->path(link_id, Direction::kReverse);
  ToProto(egress->spec(), out->mutable_egress());
  ToProto(ingress->spec(), out->mutable_ingress());
  ToProto(egress->counters(), *egress, out->mutable_egress_counters());
  ToProto(ingress->counters(), *ingress, out->mutable_ingress_counters());
  ToProto(iface->counters(), out->mutable_counters());
  out->set_session_count(slot.net->link_session_count(link_id));
  for (const ListenerInfo& li : slot.net->listeners(link_id)) {
    out->add_listening_ports(li.port);
  }
  return absl::OkStatus();
}

grpc::Status EmulatorService::CreateInterface(
    Ctx*, const v1::CreateInterfaceRequest* req, v1::Interface* resp) {
  return Observe("CreateInterface", [&]() -> absl::Status {
    if (req->address().empty()) return Invalid("address: required");
    absl::StatusOr<std::pair<uint32_t, uint8_t>> cidr =
        ParseCidr(req->address());
    if (!cidr.ok()) return cidr.status();
    InterfaceSpec spec;
    spec.address = cidr->first;
    spec.prefix_len = cidr->second;
    spec.mtu = req->mtu() == 0 ? 1500 : req->mtu();
    if (spec.mtu < kInterfaceMinMtu || spec.mtu > kInterfaceMaxMtu) {
      return Invalid(absl::StrCat("mtu ", req->mtu(), " out of range [",
                                  kInterfaceMinMtu, ", ", kInterfaceMaxMtu,
                                  "]"));
    }
    if (req->mac().empty()) {
      spec.mac = RandomMac();
    } else {
      absl::StatusOr<MacAddress> mac = ParseMac(req->mac());
      if (!mac.ok()) {
        return Invalid(absl::StrCat("mac ", Quoted(req->mac()),
                                    ": expected xx:xx:xx:xx:xx:xx"));
      }
      spec.mac = *mac;
    }
    if (!req->gateway().empty()) {
      absl::StatusOr<uint32_t> gw = ParseIpv4(req->gateway());
      if (!gw.ok()) {
        return Invalid(absl::StrCat("gateway ", Quoted(req->gateway()),
                                    ": not a dotted IPv4 address"));
      }
      spec.gateway = *gw;
    }
    if (absl::Status s = ValidateInterfaceSpec(spec); !s.ok()) return s;
    absl::StatusOr<PathSpec> egress_spec =
        PathSpecFromProto(req->egress(), "egress");
    if (!egress_spec.ok()) return egress_spec.status();
    absl::StatusOr<PathSpec> ingress_spec =
        PathSpecFromProto(req->ingress(), "ingress");
    if (!ingress_spec.ok()) return ingress_spec.status();
    // A path without its own MTU takes the interface's.
    if (!req->egress().has_mtu()) egress_spec->mtu = spec.mtu;
    if (!req->ingress().has_mtu()) ingress_spec->mtu = spec.mtu;
    absl::StatusOr<ValidPathSpec> egress = ValidatePath(*egress_spec, "egress");
    if (!egress.ok()) return egress.status();
    absl::StatusOr<ValidPathSpec> ingress =
        ValidatePath(*ingress_spec, "ingress");
    if (!ingress.ok()) return ingress.status();
    std::string name = req->name();
    if (name.size() > 15) {
      return Invalid(
          absl::StrCat("name ", Quoted(name), " is longer than 15 bytes"));
    }
    if (name.empty()) name = "tcpemu%d";
    absl::StatusOr<Where> w = NetworkOf(req->network_id());
    if (!w.ok()) return w.status();
    uint32_t id;
    {
      absl::MutexLock l(&mu_);
      if (ids_.interface_count() >= options_.max_interfaces) {
        return Exhausted(
            Limit::kInterfaces,
            absl::StrCat("interface limit reached: --max_interfaces is ",
                         options_.max_interfaces, "; delete interfaces first"));
      }
      if (ids_.link_count() >= options_.max_links) {
        return Exhausted(Limit::kLinks, LinkLimitMessage(options_.max_links));
      }
      id = next_link_id_++;
      ids_.AddInterface(id, w->network_id);
    }
    absl::Status s = OnNetwork(
        w->network_id, [&](NetworkSlot& slot, Shard& shard) -> absl::Status {
          if (slot.clock != Clock::kRealtime) {
            return absl::FailedPreconditionError(absl::StrCat(
                "network_id ", slot.id,
                " is VIRTUAL; interfaces need a REALTIME network"));
          }
          absl::StatusOr<std::unique_ptr<TapDevice>> dev = TapDevice::Open(
              name, spec.mtu, {.offloads = options_.tap_offloads});
          if (!dev.ok()) return dev.status();
          // Bring the network to the wall clock before it meets the device.
          TimeNs now = shard.NetworkNow(slot);
          if (now > slot.net->now()) slot.net->RunUntil(now);
          absl::StatusOr<uint32_t> got = slot.net->CreateInterface(
              spec, *egress, *ingress, dev->get(), id);
          if (!got.ok()) return got.status();
          shard.AttachDevice(slot, id, *std::move(dev));
          return FillInterface(slot, id, resp);
        });
    if (!s.ok()) {
      absl::MutexLock l(&mu_);
      ids_.RemoveLink(id);
    }
    return s;
  });
}

grpc::Status EmulatorService::GetInterface(Ctx*,
                                           const v1::GetInterfaceRequest* req,
                                           v1::Interface* resp) {
  return Observe("GetInterface", [&]() -> absl::Status {
    absl::StatusOr<Where> w = LinkOf(req->interface_id());
    if (!w.ok()) return NotFound("interface_id", req->interface_id());
    return OnNetwork(w->network_id, [&](NetworkSlot& slot, Shard&) {
      return FillInterface(slot, req->interface_id(), resp);
    });
  });
}

grpc::Status EmulatorService::ListInterfaces(
    Ctx*, const v1::ListInterfacesRequest* req,
    v1::ListInterfacesResponse* resp) {
  return Observe("ListInterfaces", [&]() -> absl::Status {
    if (req->network_id() != 0) {
      absl::StatusOr<Where> w = NetworkOf(req->network_id());
      if (!w.ok()) return w.status();
    }
    std::vector<std::pair<uint32_t, uint32_t>> ids;
    {
      absl::MutexLock l(&mu_);
      ids = ids_.Interfaces(req->network_id());
    }
    for (const auto& entry : ids) {
      // Named copies: a lambda cannot capture a structured binding in C++20
      // as clang implements it.
      const uint32_t id = entry.first;
      const uint32_t nid = entry.second;
      v1::Interface out;
      absl::Status s = OnNetwork(nid, [&](NetworkSlot& slot, Shard&) {
        return FillInterface(slot, id, &out);
      });
      if (s.ok()) *resp->add_interfaces() = std::move(out);
    }
    return absl::OkStatus();
  });
}

grpc::Status EmulatorService::DeleteInterface(
    Ctx*, const v1::DeleteInterfaceRequest* req, google::protobuf::Empty*) {
  return Observe("DeleteInterface", [&]() -> absl::Status {
    const uint32_t id = req->interface_id();
    absl::StatusOr<Where> w = LinkOf(id);
    if (!w.ok()) return NotFound("interface_id", id);
    absl::Status s = OnNetwork(
        w->network_id, [&](NetworkSlot& slot, Shard& shard) -> absl::Status {
          if (slot.net->interface(id) == nullptr) {
            return NotFound("interface_id", id);  // a plain link
          }
          TimeNs now = shard.NetworkNow(slot);
          if (now > slot.net->now()) slot.net->RunUntil(now);
          absl::Status st = slot.net->DeleteInterface(id);
          if (!st.ok()) return st;
          shard.DetachDevice(slot, id);
          shard.RunReadyWaiters();
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
    absl::MutexLock l(&mu_);
    ids_.RemoveLink(id);
    ForgetListenersLocked(id);
    return absl::OkStatus();
  });
}

grpc::Status EmulatorService::Listen(Ctx*, const v1::ListenRequest* req,
                                     v1::Listener* resp) {
  return Observe("Listen", [&]() -> absl::Status {
    if (req->port() == 0 || req->port() > 65535) {
      return Invalid(
          absl::StrCat("port ", req->port(), " out of range [1, 65535]"));
    }
    if (req->backlog() > 65535) {
      return Invalid(
          absl::StrCat("backlog ", req->backlog(), " out of range [0, 65535]"));
    }
    absl::StatusOr<TcpConfig> config =
        FromProto(req->config(), "config", options_.max_buffer);
    if (!config.ok()) return CountBufferLimit(config.status());
    absl::StatusOr<ReaderSpec> reader = FromProto(req->reader(), "reader");
    if (!reader.ok()) return reader.status();
    ListenSpec spec;
    spec.port = static_cast<uint16_t>(req->port());
    spec.config = *config;
    if (!req->config().has_mtu()) spec.config.mtu = 0;  // the interface's
    spec.reader = *reader;
    spec.digest = req->digest();
    if (req->backlog() != 0) spec.backlog = req->backlog();
    absl::StatusOr<Where> w = LinkOf(req->interface_id());
    if (!w.ok()) return NotFound("interface_id", req->interface_id());
    const uint64_t key = ListenerKey(req->interface_id(), req->port());
    bool reserved = false;
    {
      absl::MutexLock l(&mu_);
      if (!listeners_.contains(key)) {
        if (listeners_.size() >= options_.max_listeners) {
          return Exhausted(
              Limit::kListeners,
              absl::StrCat("listener limit reached: --max_listeners is ",
                           options_.max_listeners,
                           " (ports listening, over every interface); "
                           "DeleteListener first"));
        }
        listeners_.insert(key);
        reserved = true;
      }
    }
    absl::Status s = OnNetwork(w->network_id, [&](NetworkSlot& slot, Shard&) {
      absl::Status st = slot.net->Listen(req->interface_id(), spec);
      if (!st.ok()) return st;
      if (req->capture()) {
        slot.captures->EnableListener(req->interface_id(), spec.port);
      }
      resp->set_interface_id(req->interface_id());
      resp->set_port(spec.port);
      return absl::OkStatus();
    });
    if (!s.ok() && reserved) {
      absl::MutexLock l(&mu_);
      listeners_.erase(key);
    }
    return s;
  });
}

grpc::Status EmulatorService::DeleteListener(
    Ctx*, const v1::DeleteListenerRequest* req, google::protobuf::Empty*) {
  return Observe("DeleteListener", [&]() -> absl::Status {
    if (req->port() == 0 || req->port() > 65535) {
      return Invalid(
          absl::StrCat("port ", req->port(), " out of range [1, 65535]"));
    }
    absl::StatusOr<Where> w = LinkOf(req->interface_id());
    if (!w.ok()) return NotFound("interface_id", req->interface_id());
    absl::Status s = OnNetwork(w->network_id, [&](NetworkSlot& slot, Shard&) {
      const uint16_t port = static_cast<uint16_t>(req->port());
      absl::Status st = slot.net->Unlisten(req->interface_id(), port);
      if (st.ok()) slot.captures->DisableListener(req->interface_id(), port);
      return st;
    });
    if (s.ok()) {
      absl::MutexLock l(&mu_);
      listeners_.erase(ListenerKey(req->interface_id(), req->port()));
    }
    return s;
  });
}

grpc::Status EmulatorService::ExportPcap(
    Ctx*, const v1::ExportPcapRequest* req,
    grpc::ServerWriter<v1::PcapChunk>* writer) {
  std::vector<uint8_t> bytes;
  grpc::Status status = Observe("ExportPcap", [&]() -> absl::Status {
    absl::StatusOr<Where> w = SessionOf(req->session_id());
    if (!w.ok()) return w.status();
    return OnNetwork(w->network_id, [&](NetworkSlot& slot, Shard&) {
      absl::StatusOr<std::vector<uint8_t>> got =
          slot.captures->Export(req->session_id());
      if (!got.ok()) return got.status();
      bytes = *std::move(got);
      return absl::OkStatus();
    });
  });
  if (!status.ok()) return status;
  for (size_t off = 0; off < bytes.size(); off += kPcapChunkBytes) {
    v1::PcapChunk chunk;
    size_t n = std::min(kPcapChunkBytes, bytes.size() - off);
    chunk.set_data(bytes.data() + off, n);
    if (!writer->Write(chunk)) break;
  }
  return grpc::Status::OK;
}

}  // namespace tcpemu::server
