// Folded stacks, the input of flamegraph.pl, inferno and speedscope: one
// line per distinct stack, "process;outermost;...;innermost VALUE", VALUE
// the stack's estimated bytes (allocated or still live at the end) rounded
// to a whole byte. Lines are sorted; stacks worth no byte are left out.
#pragma once
#include <string>

#include "report/output_formats.h"
#include "report/report.h"

namespace memscope {

std::string to_folded(const Report& report, FoldedValue value);

}  // namespace memscope
