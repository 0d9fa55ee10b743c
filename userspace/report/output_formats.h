// Which files a run writes and in which format: each -o's extension names
// its format, --format overrides it for all of them. Chosen and checked
// while the options are read and before anything is attached, so that a
// typo costs no trace.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memscope {

enum class OutputFormat { json, pprof, folded, speedscope, html };

// What folded stacks are weighted by: estimated bytes allocated, or
// estimated bytes still live at the end.
enum class FoldedValue { alloc, live };

struct OutputFile {
  std::string path;  // "-": stdout
  OutputFormat format = OutputFormat::json;
  bool operator==(const OutputFile&) const = default;
};

inline constexpr const char* kDefaultOutput = "memscope-report.json";

std::string_view format_name(OutputFormat format);

// The format a --format NAME means; throws Error for any other name.
OutputFormat format_named(const std::string& name);

// The format PATH's extension names (.json, .pb.gz, .folded,
// .speedscope.json, .html); throws Error naming PATH otherwise. "-" is JSON.
OutputFormat format_for_path(const std::string& path);

// The files to write for `paths` (every -o, in order; empty: the default)
// and `format` (--format; empty: by extension). Throws Error when a format
// is unknown or two outputs would be the same file or both stdout.
std::vector<OutputFile> select_outputs(const std::vector<std::string>& paths, const std::string& format);

// Throws Error "cannot write PATH: why" when PATH could not be written the
// way the report is (a temporary file beside it, renamed over it): its
// directory is missing or not writable, or PATH is a directory.
void check_writable(const std::string& path);

}  // namespace memscope
