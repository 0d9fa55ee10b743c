#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>

#include "common/error.h"
#include "report/output_formats.h"
#include "report/report_file.h"
#include "report_model.h"
#include "support/process.h"
#include "support/schema_check.h"

using namespace memscope;
using namespace memscope::test;
namespace fs = std::filesystem;

namespace {
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("output formats: the file name's extension names the format") {
  CHECK(format_for_path("report.json") == OutputFormat::json);
  CHECK(format_for_path("/tmp/x/heap.pb.gz") == OutputFormat::pprof);
  CHECK(format_for_path("stacks.folded") == OutputFormat::folded);
  CHECK(format_for_path("run.speedscope.json") == OutputFormat::speedscope);
  CHECK(format_for_path("-") == OutputFormat::json);
  CHECK(message_of([] { format_for_path("report.txt"); }).find("report.txt") != std::string::npos);
  CHECK(message_of([] { format_for_path("report"); }).find("--format") != std::string::npos);
  CHECK(format_for_path("report.html") == OutputFormat::html);
  CHECK(message_of([] { format_for_path(".html"); }).find(".html") != std::string::npos);
  CHECK(!message_of([] { format_for_path("heap.pb"); }).empty());
}

TEST_CASE("output formats: --format names one for every -o; unknown names are refused") {
  CHECK(select_outputs({}, "") == std::vector<OutputFile>{{"memscope-report.json", OutputFormat::json}});
  CHECK(select_outputs({"a.json", "b.pb.gz", "c.folded", "d.speedscope.json"}, "") ==
        std::vector<OutputFile>{{"a.json", OutputFormat::json},
                                {"b.pb.gz", OutputFormat::pprof},
                                {"c.folded", OutputFormat::folded},
                                {"d.speedscope.json", OutputFormat::speedscope}});
  CHECK(select_outputs({"-"}, "folded") == std::vector<OutputFile>{{"-", OutputFormat::folded}});
  CHECK(select_outputs({"heap"}, "pprof") == std::vector<OutputFile>{{"heap", OutputFormat::pprof}});
  CHECK(select_outputs({"x.json", "-"}, "html") ==
        std::vector<OutputFile>{{"x.json", OutputFormat::html}, {"-", OutputFormat::html}});
  CHECK(message_of([] { select_outputs({"x.json"}, "xml"); }).find("unknown format") != std::string::npos);
  CHECK(message_of([] { select_outputs({"-", "-"}, ""); }).find("one output can go to stdout") != std::string::npos);
  CHECK(message_of([] { select_outputs({"a.json", "a.json"}, ""); }).find("given twice") != std::string::npos);
}

TEST_CASE("output formats: a path that cannot be written is found before the run") {
  const std::string dir = temp_path("outdir");
  fs::create_directories(dir);
  CHECK(message_of([&] { check_writable(dir + "/report.json"); }).empty());
  CHECK(!fs::exists(dir + "/report.json"));
  CHECK(fs::is_empty(dir));  // the probe file is gone
  CHECK(message_of([&] { check_writable(dir + "/missing/report.json"); }) ==
        "cannot write " + dir + "/missing/report.json: No such file or directory");
  CHECK(message_of([&] { check_writable(dir); }) == "cannot write " + dir + ": it is a directory");
  CHECK(message_of([] { check_writable("-"); }).empty());
  fs::remove_all(dir);
}

TEST_CASE("report files: names that are not UTF-8 are written with U+FFFD, and the report whole") {
  ConfigHistory h;
  Report r = profile_model(h);
  r.targets[0].process.comm = "bad\xff\xfe";           // prctl(PR_SET_NAME) takes any bytes
  for (auto* sites : {&r.sites, &r.targets[0].sites})  // a symbol name cut in a UTF-8 sequence
    for (SiteReport& s : *sites)
      if (!s.frames.empty()) s.frames[0].function = "f\xc3(";
  r.targets[1].process.exe = "/srv/\xe6\x97\xa5\xe6\x9c\xac";  // valid UTF-8 is kept as it is
  const auto doc = nlohmann::json::parse(render_report(r, OutputFormat::json, FoldedValue::alloc));
  CHECK(doc["targets"][0]["comm"] == "bad\xef\xbf\xbd\xef\xbf\xbd");
  CHECK(doc["sites"][0]["frames"][0]["function"] == "f\xef\xbf\xbd(");
  CHECK(doc["targets"][1]["exe"] == "/srv/\xe6\x97\xa5\xe6\x9c\xac");
  CHECK(schema_errors(doc, MEMSCOPE_SCHEMA).empty());
  const auto speedscope = nlohmann::json::parse(render_report(r, OutputFormat::speedscope, FoldedValue::alloc));
  CHECK(speedscope.dump().find("f\xef\xbf\xbd(") != std::string::npos);
}

TEST_CASE("report files: every format written whole under its name, none left half-written") {
  ConfigHistory h;
  const Report r = profile_model(h);
  const std::string dir = temp_path("written");
  fs::create_directories(dir);
  const std::vector<OutputFile> files{{dir + "/r.json", OutputFormat::json},
                                      {dir + "/r.pb.gz", OutputFormat::pprof},
                                      {dir + "/missing/r.folded", OutputFormat::folded},
                                      {dir + "/r.folded", OutputFormat::folded},
                                      {dir + "/r.speedscope.json", OutputFormat::speedscope},
                                      {dir + "/r.html", OutputFormat::html}};
  const std::vector<std::string> errors = write_outputs(r, files, FoldedValue::live);
  REQUIRE(errors.size() == files.size());
  CHECK(errors[2] == "cannot write " + dir + "/missing/r.folded: No such file or directory");
  for (size_t i : {0, 1, 3, 4, 5}) {
    CHECK(errors[i].empty());
    CHECK(slurp(files[i].path) == render_report(r, files[i].format, FoldedValue::live));
  }
  CHECK(slurp(dir + "/r.folded").find("worker (99);main 64\n") != std::string::npos);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  CHECK(entries == 5);  // no temporary file left
  fs::remove_all(dir);
}

TEST_CASE("report files: private to their owner, and a planted symlink redirects nothing") {
  const std::string dir = temp_path("planted");
  fs::create_directories(dir);
  const std::string victim = dir + "/victim", path = dir + "/report.json";
  { std::ofstream(victim) << "keep me"; }
  // Links where a careless writer would put its temporary file, and at the
  // report's own name.
  fs::create_symlink(victim, path + ".tmp");
  fs::create_symlink(victim, path);
  const mode_t old_mask = umask(0);  // whatever the umask, the file is 0600
  write_output_file(path, "{}\n");
  umask(old_mask);
  CHECK(slurp(victim) == "keep me");
  CHECK(!fs::is_symlink(path));
  CHECK(slurp(path) == "{}\n");
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  fs::remove_all(dir);
}

TEST_CASE("report files: a full disk is an error and leaves no file") {
  // A tmpfs of one page made for it: needs root.
  if (geteuid() != 0) {
    WARN("skipped: needs root to mount a full tmpfs");
    return;
  }
  const std::string dir = temp_path("full");
  fs::create_directories(dir);
  REQUIRE(mount("memscope-test", dir.c_str(), "tmpfs", 0, "size=4k") == 0);
  const std::string big(1 << 20, 'x');
  const std::string err = message_of([&] { write_output_file(dir + "/report.json", big); });
  CHECK(err == "cannot write " + dir + "/report.json: No space left on device");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  CHECK(entries == 0);
  umount2(dir.c_str(), MNT_DETACH);
  fs::remove_all(dir);
}
