// The kernel's rules for which x86-64 instructions a uprobe emulates and
// which it single-steps or refuses (uprobe_emulation(), declared with the
// placement in target/probe_placement.h), and the legacy prefixes the
// placement walk reads from the bytes.
#pragma once
#include <cstdint>

#include "targets/probe_placement.h"

namespace memscope {

// A legacy prefix byte (lock, rep, segment, operand/address size).
bool is_legacy_prefix(uint8_t b);

}  // namespace memscope
