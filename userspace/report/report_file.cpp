#include "report/report_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "common/error.h"
#include "report/folded_writer.h"
#include "report/json_report.h"
#include "report/pprof_writer.h"
#include "report/progress_line.h"
#include "report/speedscope_writer.h"

namespace memscope {
namespace {

// The names in a report are the traced programs' own bytes (comm, paths,
// symbols): one that is not UTF-8 is written with U+FFFD in place of its bad
// bytes, where nlohmann's default would throw and lose the whole file.
constexpr auto kReplaceBadUtf8 = nlohmann::json::error_handler_t::replace;

}  // namespace

std::string render_report(const Report& report, OutputFormat format, FoldedValue folded_value) {
  switch (format) {
    case OutputFormat::json:
      return to_json(report).dump(2, ' ', false, kReplaceBadUtf8) + "\n";
    case OutputFormat::pprof:
      return pprof_bytes(report);
    case OutputFormat::folded:
      return to_folded(report, folded_value);
    case OutputFormat::speedscope:
      return to_speedscope(report).dump(-1, ' ', false, kReplaceBadUtf8) + "\n";
  }
  throw Error("unknown output format");
}

void write_output_file(const std::string& path, const std::string& bytes) {
  if (path == "-") {
    std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!std::cout.flush()) throw Error("cannot write to stdout");
    return;
  }
  const std::string tmp = path + ".tmp";
  auto fail = [&](int err) {
    unlink(tmp.c_str());
    return Error("cannot write " + path + ": " + strerror(err));
  };
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    if (!out) throw fail(errno);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (out.fail()) throw fail(errno ? errno : EIO);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) throw fail(errno);
}

std::vector<std::string> write_outputs(const Report& report, const std::vector<OutputFile>& files,
                                       FoldedValue folded_value) {
  std::vector<std::string> errors;
  ProgressLine progress("writing the report files", files.size());
  for (const auto& f : files) {
    progress.advance();
    errors.emplace_back();
    try {
      write_output_file(f.path, render_report(report, f.format, folded_value));
    } catch (const Error& e) {
      errors.back() = e.what();
    }
  }
  return errors;
}

}  // namespace memscope
