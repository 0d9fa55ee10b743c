// Text a traced program chose (its comm, set with prctl(PR_SET_NAME), its
// executable's and libraries' paths, its symbol names), made safe to print
// on a terminal: an escape sequence in a name would otherwise drive the
// user's terminal (move the cursor, rewrite the screen, retitle the window,
// on some terminals answer back). Every place that prints such a name, or
// an error message that may quote one, on stderr or the --live screen goes
// through this.
#pragma once
#include <string>
#include <string_view>

namespace memscope {

// `s` with each control character (C0, DEL, and C1 as UTF-8) and each byte
// that is not part of valid UTF-8 written as \xNN, and '\' as "\\" (so
// that the escaped form reads back unambiguously); valid UTF-8 text is kept.
std::string terminal_safe(std::string_view s);

}  // namespace memscope
