#include <cstdio>
#include <string_view>

#include "cli/diff_command.h"
#include "cli/options.h"
#include "cli/trace_run.h"
#include "common/error.h"
#include "common/terminal_safe.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "diff") return memscope::diff_main(argc - 1, argv + 1);
  int code = 0;
  auto options = memscope::parse_options(argc, argv, code);
  if (!options) return code;
  try {
    return memscope::trace_run(*options);
  } catch (const memscope::Error& e) {
    fprintf(stderr, "memscope-bpf: error: %s\n", memscope::terminal_safe(e.what()).c_str());
    return 1;
  } catch (const std::exception& e) {
    fprintf(stderr, "memscope-bpf: error: %s\n", memscope::terminal_safe(e.what()).c_str());
    return 1;
  }
}
