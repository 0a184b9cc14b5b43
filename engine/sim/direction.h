// The two directions of an emulated link.
#pragma once

#include <cstdint>

namespace tcpemu {

enum class Direction : uint8_t {
  kForward = 0,
  kReverse = 1
};  // client->server, server->client

inline Direction Opposite(Direction d) {
  return d == Direction::kForward ? Direction::kReverse : Direction::kForward;
}

}  // namespace tcpemu
