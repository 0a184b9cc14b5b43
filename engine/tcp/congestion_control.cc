// The congestion-control factory; see congestion_control.h.
#include "engine/tcp/congestion_control.h"

#include <memory>

#include "engine/tcp/bbr.h"
#include "engine/tcp/cubic.h"
#include "engine/tcp/new_reno.h"

namespace tcpemu {

std::unique_ptr<CongestionControl> MakeCongestionControl(
    const TcpConfig& config, uint32_t mss, uint32_t random) {
  switch (config.cc) {
    case CcAlgorithm::kCubic:
      return std::make_unique<Cubic>(mss, config.initial_window,
                                     config.hystart);
    case CcAlgorithm::kBbr:
      return std::make_unique<Bbr>(mss, config.initial_window, random);
    case CcAlgorithm::kNewReno:
      break;
  }
  return std::make_unique<NewReno>(mss, config.initial_window, config.hystart);
}

}  // namespace tcpemu
