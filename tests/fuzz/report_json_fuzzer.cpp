// The JSON report: the file `memscope-bpf` writes for people, tools and its
// own later runs to read back. Its strings come from what the traced
// programs chose: their comm and paths, their symbol, file and module names.
// Whatever bytes those hold, the report must be written (never lost to an
// exception), parse back as JSON, and give every string that was valid UTF-8
// back unchanged; speedscope's JSON must be written and parse back too. (That
// such a report satisfies docs/report.schema.json is a unit test: valijson
// under ASan would leave ~20 runs/s here.)
//
// Input: the strings, one after another (FuzzedDataProvider's random-length
// strings), put into the unit tests' model report (tests/unit/report_model).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "report/report_file.h"
#include "report_model.h"

using namespace memscope;
using nlohmann::json;

namespace {

// A valid UTF-8 string reads back as itself (nlohmann's own check: a strict
// dump succeeds).
bool valid_utf8(const std::string& s) {
  try {
    (void)json(s).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

void expect_back(const json& value, const std::string& written) {
  if (!value.is_string()) abort();
  if (valid_utf8(written) && value.get<std::string>() != written) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  auto text = [&] { return in.ConsumeRandomLengthString(80); };

  ConfigHistory history;
  Report report = test::profile_model(history);
  for (TargetReport& t : report.targets) {
    t.process.comm = text();
    t.process.exe = text();
    t.allocator.path = text();
    t.extra_allocators.push_back({text(), {0}, 0.5});
  }
  for (SiteReport& s : report.sites)
    for (Frame& f : s.frames) {
      f.function = text();
      f.module = text();
      if (!f.file.empty()) f.file = text();
    }
  report.probes.push_back({1234, 0, text(), text(), 0x1000, 8, "first emulated instruction", "uprobe"});

  const json doc = json::parse(render_report(report, OutputFormat::json, FoldedValue::alloc));
  for (size_t i = 0; i < report.targets.size(); ++i) {
    const json& t = doc.at("targets").at(i);
    expect_back(t.at("comm"), report.targets[i].process.comm);
    expect_back(t.at("exe"), report.targets[i].process.exe);
    expect_back(t.at("allocator"), report.targets[i].allocator.path);
  }
  for (size_t i = 0; i < report.sites.size(); ++i)
    for (size_t k = 0; k < report.sites[i].frames.size(); ++k) {
      const json& f = doc.at("sites").at(i).at("frames").at(k);
      expect_back(f.at("function"), report.sites[i].frames[k].function);
      expect_back(f.at("module"), report.sites[i].frames[k].module);
    }
  (void)json::parse(render_report(report, OutputFormat::speedscope, FoldedValue::alloc));
  return 0;
}
