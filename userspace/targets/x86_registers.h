// What an x86-64 instruction writes, as the probe-placement walk needs it:
// the 64-bit register a (sub-)register belongs to, and the instructions
// whose only effect is their first operand and the flags.
#pragma once
#include <capstone/capstone.h>

namespace memscope {

// The 64-bit register a general-purpose (sub-)register belongs to, or
// X86_REG_INVALID for anything else (flags, rip, segment, vector registers).
x86_reg gpr64(unsigned r);
// Instructions whose first operand is their only explicit destination and
// which have no other effect than that register and the flags.
bool writes_first_operand(unsigned id);

}  // namespace memscope
