#include "report/report_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "common/error.h"
#include "report/folded_writer.h"
#include "report/html_writer.h"
#include "report/json_report.h"
#include "report/pprof_writer.h"
#include "report/progress_line.h"
#include "report/speedscope_writer.h"

namespace memscope {

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
    case OutputFormat::html:
      return to_html(report);
  }
  throw Error("unknown output format");
}

// The report holds addresses, paths and function names of the traced
// processes: written by root, it must not be readable by everyone, and a
// name someone planted in a shared directory must not redirect the write.
// So the bytes go to a new file made with O_EXCL (mkostemp: mode 0600, a
// planted file or symlink of that name makes it pick another), which is
// renamed over PATH once complete (rename replaces a symlink at PATH, never
// the file it points to); a write that fails (disk full, directory gone)
// removes it and is an error: no partial file is left looking complete.
void write_output_file(const std::string& path, const std::string& bytes) {
  if (path == "-") {
    std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!std::cout.flush()) throw Error("cannot write to stdout");
    return;
  }
  std::string tmp = path + ".XXXXXX";
  const int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) throw Error("cannot write " + path + ": " + strerror(errno));
  auto fail = [&](int err) {
    unlink(tmp.c_str());
    return Error("cannot write " + path + ": " + strerror(err));
  };
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      close(fd);
      throw fail(err);
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0) throw fail(errno);
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
