#include "cli/diff_command.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "common/error.h"
#include "common/terminal_safe.h"
#include "report/report_diff.h"

namespace memscope {

int diff_main(int argc, char** argv) {
  std::string old_path, new_path, folded;
  size_t top = 20;
  bool fail_on_growth = false;
  CLI::App app{
      "memscope-bpf diff: the sites whose allocated or live bytes changed between two JSON reports, matched by "
      "their stacks (functions and modules, not addresses), largest change first. '*' marks a change beyond both "
      "95% intervals (they do not overlap).",
      "memscope-bpf diff"};
  app.add_option("OLD", old_path, "The earlier report (JSON)")->required();
  app.add_option("NEW", new_path, "The later report (JSON)")->required();
  app.add_option("--top", top, "Show the N largest changes (0: all)")->capture_default_str();
  std::string metric_name = "allocated";
  app.add_option("--metric", metric_name, "Rank by, and fold, allocated or live bytes")
      ->check(CLI::IsMember({"allocated", "live"}))
      ->capture_default_str();
  app.add_option("--folded", folded,
                 "Write a differential folded file (stack OLD NEW per line) for flamegraph.pl or difffolded.pl");
  app.add_flag("--fail-on-growth", fail_on_growth,
               "Exit with status 3 when a site's bytes (--metric) grew beyond both 95% intervals");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fprintf(stderr, "memscope-bpf: error: %s (see memscope-bpf diff --help)\n", e.what());
    return 2;
  }
  const DiffMetric metric = metric_name == "live" ? DiffMetric::live : DiffMetric::allocated;
  try {
    const ReadReport before = read_report(old_path), after = read_report(new_path);
    const auto changes = diff_reports(before, after, metric);
    print_diff(stdout, before, after, changes, metric, top);
    if (!folded.empty()) write_folded_diff(folded, changes, metric);
    return fail_on_growth && any_growth(changes, metric) ? 3 : 0;
  } catch (const Error& e) {
    // A report's contents (names in it) may be quoted.
    fprintf(stderr, "memscope-bpf: error: %s\n", terminal_safe(e.what()).c_str());
    return 1;
  }
}

}  // namespace memscope
