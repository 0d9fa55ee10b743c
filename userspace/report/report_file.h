// Writes the JSON report: to stdout for "-", else to a temporary file
// renamed over the target, so that a failed write never leaves a partial
// file looking complete.
#pragma once
#include <string>

#include "report/report.h"

namespace memscope {

// Throws Error "cannot write PATH: why" when any step fails.
void write_report_file(const Report& report, const std::string& output);

}  // namespace memscope
