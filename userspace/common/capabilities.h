// The capabilities this process holds in effect (capget), as a bit set:
// bit N is capability N (CAP_* of linux/capability.h).
#pragma once
#include <cstdint>

namespace memscope {

// Throws Error when the kernel does not say.
uint64_t effective_capabilities();

inline bool holds_capability(uint64_t caps, int cap) { return (caps >> cap) & 1; }

}  // namespace memscope
