// Generated application data: a keyed, counter-based byte stream, so that any
// range can be produced (or checked) from its stream offset alone.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tcpemu {

// Writes bytes [offset, offset + n) of the stream identified by `key`.
void FillPattern(uint64_t key, uint64_t offset, uint8_t* dst, size_t n);

}  // namespace tcpemu
