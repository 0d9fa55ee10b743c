// The HTML report's page and script, read from userspace/report/html_* at
// build time (embed.cmake) into the binary, so the agent writes the page
// without any file beside it.
#pragma once
#include <string_view>

namespace memscope {

// page.html, with the placeholders the writer fills: @@REPORT_JSON@@ and
// @@SCRIPT@@.
std::string_view html_page_template();

// The page's scripts, in the order they run: charts.js, flamegraph.js,
// sections.js, report.js.
std::string_view html_script();

}  // namespace memscope
