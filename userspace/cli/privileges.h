// Before anything is loaded: refuses a run the agent lacks the privileges
// for, with one line naming each capability missing and what it is for, or
// what a locked-down kernel blocks (the decision: cli/privilege_needs.h).
#pragma once
#include "cli/options.h"

namespace memscope {

// Throws Error when the run cannot go ahead; prints a warning for what it
// goes ahead without.
void check_privileges(const Options& options);

}  // namespace memscope
