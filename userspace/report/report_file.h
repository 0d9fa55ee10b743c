// Writes the report in each format asked for: to stdout for "-", else to a
// temporary file renamed over the target, so that a failed write never
// leaves a partial file looking complete.
#pragma once
#include <string>
#include <vector>

#include "report/output_formats.h"
#include "report/report.h"

namespace memscope {

// The report as FORMAT's bytes.
std::string render_report(const Report& report, OutputFormat format, FoldedValue folded_value);

// Throws Error "cannot write PATH: why" when any step fails; nothing is
// left at PATH then (an older file there stays as it was).
void write_output_file(const std::string& path, const std::string& bytes);

// Writes every file, each on its own: one failing does not stop the
// others. Returns, file by file, "" when it was written, else the error
// line ("cannot write PATH: why").
std::vector<std::string> write_outputs(const Report& report, const std::vector<OutputFile>& files,
                                       FoldedValue folded_value);

}  // namespace memscope
