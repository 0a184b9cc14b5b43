// Limits on waiting calls; see wait_budget.h.
#include "server/wait_budget.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tcpemu::server {

absl::Status WaitBudget::Acquire(absl::string_view client,
                                 uint64_t write_bytes) {
  absl::MutexLock l(&mu_);
  if (calls_ >= limits_.max_calls) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "too many waiting calls: --max_waiting_calls is ", limits_.max_calls,
        "; wait less (a shorter wait) or end other waiting calls first"));
  }
  if (write_bytes > 0) {
    if (write_bytes_ + write_bytes > limits_.max_write_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "data: waiting Writes would hold ", write_bytes_ + write_bytes,
          " bytes: --max_waiting_write_bytes is ", limits_.max_write_bytes,
          "; write without wait, or smaller pieces"));
    }
    uint64_t& mine = per_client_[client];
    if (mine + write_bytes > limits_.max_write_bytes_per_client) {
      if (mine == 0) per_client_.erase(client);
      return absl::ResourceExhaustedError(absl::StrCat(
          "data: this client's waiting Writes would hold ", mine + write_bytes,
          " bytes: --max_waiting_write_bytes_per_client is ",
          limits_.max_write_bytes_per_client,
          "; write without wait, or smaller pieces"));
    }
    mine += write_bytes;
    write_bytes_ += write_bytes;
  }
  ++calls_;
  return absl::OkStatus();
}

void WaitBudget::Release(absl::string_view client, uint64_t write_bytes) {
  absl::MutexLock l(&mu_);
  --calls_;
  if (write_bytes == 0) return;
  write_bytes_ -= write_bytes;
  auto it = per_client_.find(client);
  if (it == per_client_.end()) return;
  it->second -= write_bytes;
  if (it->second == 0) per_client_.erase(it);
}

uint32_t WaitBudget::calls() const {
  absl::MutexLock l(&mu_);
  return calls_;
}

uint64_t WaitBudget::write_bytes() const {
  absl::MutexLock l(&mu_);
  return write_bytes_;
}

uint64_t WaitBudget::write_bytes_of(absl::string_view client) const {
  absl::MutexLock l(&mu_);
  auto it = per_client_.find(client);
  return it == per_client_.end() ? 0 : it->second;
}

std::string WaitBudget::ClientOf(absl::string_view peer) {
  // "ipv4:127.0.0.1:5000" and "ipv6:[::1]:5000" lose their port; anything
  // else ("unix:/path") is its own client.
  if (absl::StartsWith(peer, "ipv4:")) {
    size_t colon = peer.rfind(':');
    if (colon > 4) return std::string(peer.substr(0, colon));
  } else if (absl::StartsWith(peer, "ipv6:")) {
    size_t bracket = peer.rfind("]:");
    if (bracket != absl::string_view::npos) {
      return std::string(peer.substr(0, bracket + 1));
    }
  }
  return std::string(peer);
}

}  // namespace tcpemu::server
