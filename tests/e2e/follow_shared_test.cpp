// --follow-children of a build: processes probed at the same objects, one
// after another (a compiler run per file, each loading libstdc++), share
// each probe's tracefs definition and program; each process's own events go
// at its exit. Every process is counted exactly all the same.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <thread>
#include <tuple>

#include "e2e/e2e_support.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::vector<pid_t> ready_pids(const std::string& text) {
  std::vector<pid_t> out;
  static const std::regex ready("ready ([0-9]+)\n");  // whole lines: the file may be read mid-write
  for (auto it = std::sregex_iterator(text.begin(), text.end(), ready); it != std::sregex_iterator(); ++it)
    out.push_back(std::stoi((*it)[1]));
  return out;
}

// The agent's uprobe events by what they probe: (device, inode, offset,
// return) -> how many events. A line reads
// "p:memscope_AGENT/ms_N /proc/PID/root/usr/lib/...:0x<offset>".
std::map<std::tuple<dev_t, ino_t, uint64_t, bool>, int> probed_locations(const std::vector<std::string>& lines) {
  std::map<std::tuple<dev_t, ino_t, uint64_t, bool>, int> out;
  static const std::regex line("^([pr]):\\S+ (?:/proc/[0-9]+/root)?(\\S+):0x([0-9a-fA-F]+)");
  for (const auto& l : lines) {
    std::smatch m;
    if (!std::regex_search(l, m, line)) continue;
    struct stat st;
    if (stat(m[2].str().c_str(), &st) != 0) continue;
    ++out[{st.st_dev, st.st_ino, std::stoull(m[3].str(), nullptr, 16), m[1] == "r"}];
  }
  return out;
}

}  // namespace

TEST_CASE("follow children: processes probed one after another at the same objects share each probe and each is exact",
          "[e2e][follow]") {
  const std::string report = temp_path("report.json");
  std::vector<std::string> truths;
  std::string script;
  for (int i = 0; i < 3; ++i) {
    truths.push_back(temp_path("truth" + std::to_string(i) + ".json"));
    script += kWorkload + " --truth " + truths.back() + " --wait-start" + (i == 2 ? " --wait-exit" : "") +
              " --profile game --scale 50 --threads 1 >/dev/null; ";
  }
  std::vector<std::string> argv{kAgent, "--follow-children", "--sample-all", "--top", "0", "-v", "-o", report};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  argv.insert(argv.end(), {"--", "/bin/sh", "-c", script});
  Child agent(argv);
  std::vector<pid_t> kids;
  for (size_t i = 0; i < truths.size(); ++i) {
    for (int t = 0; t < 600 && kids.size() <= i; ++t) {
      std::this_thread::sleep_for(50ms);
      kids = ready_pids(agent.err());
    }
    INFO(agent.err());
    REQUIRE(kids.size() > i);
    // Its exec read and its allocator (libstdc++'s operator new too)
    // probed, then its phase. (Its announcement may name it by its shell's
    // comm: the fork is sometimes read after the exec.)
    REQUIRE(agent.wait_for("PID " + std::to_string(kids[i]) + " runs " + kWorkload + ": probing", 30s));
    kill(kids[i], SIGUSR1);
  }
  // The third waits to exit: the first two are gone, their own events
  // closed at their exit, the probes defined once for all three.
  bool done = false;
  for (int t = 0; t < 600 && !done; ++t) {
    std::this_thread::sleep_for(50ms);
    const std::string err = agent.err();
    done = err.find("done", err.rfind("ready")) != std::string::npos;
  }
  REQUIRE(done);
  for (int k = 0; k < 2; ++k)
    CHECK(agent.wait_for("PID " + std::to_string(kids[k]) + " gone: its ", 30s));
  const auto locations = probed_locations(uprobe_events_of(agent.pid()));
  CHECK(!locations.empty());
  for (const auto& [where, events] : locations) {
    INFO("offset " << std::hex << std::get<2>(where) << (std::get<3>(where) ? " (return)" : ""));
    CHECK(events == 1);
  }
  kill(kids[2], SIGUSR1);
  const int st = agent.wait(300s);
  INFO(agent.err());
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  const json r = load_json(report);
  for (const auto& t : truths) {
    const json truth = load_json(t);
    const json* p = nullptr;
    for (const auto& q : r["processes"])
      if (q["pid"] == truth["pid"]) p = &q;
    REQUIRE(p);
    check_sites_exact(*p, truth);
  }
  CHECK(memscope_programs().empty());
  CHECK(uprobe_events_of(agent.pid()).empty());
  unlink(report.c_str());
  for (const auto& t : truths) unlink(t.c_str());
}
