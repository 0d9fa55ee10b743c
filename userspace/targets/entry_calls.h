// Which allocator entry points can enter another one (tcmalloc's valloc
// jumps to its memalign through the PLT; glibc's realloc(NULL, n) enters
// malloc). Such a call must keep its return probe so that the inner call is
// recognised as the allocator's own and counted once; the others may skip
// their return when they are not sampled.
#pragma once
#include <set>
#include <string>

#include "targets/allocator.h"

namespace memscope {

// APIs of `target` whose function body (per the symbol table) contains a
// direct call or jump to another probed entry point, or to a PLT stub that
// resolves to one by name. Reads `target.open_path` with libelf and
// Capstone; an unreadable file yields the empty set.
// `also`: more names that count as entry points (probed in other objects).
std::set<unsigned> apis_entering_others(const AllocatorTarget& target, const std::set<std::string>& also = {});

}  // namespace memscope
