#include "e2e/e2e_support.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <map>
#include <sstream>
#include <thread>

#include "support/schema_check.h"
#include "targets/proc_maps.h"

namespace memscope::test {

using namespace std::chrono_literals;

nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(in);
}

std::vector<std::string> probe_mode_args() {
  std::vector<std::string> args;
  if (const char* mode = getenv("MEMSCOPE_TEST_PROBE_MODE"); mode && *mode)
    args.insert(args.end(), {"--probe-mode", mode});
  if (const char* p = getenv("MEMSCOPE_TEST_PLACEMENT"); p && *p) args.insert(args.end(), {"--placement", p});
  return args;
}

namespace {
SiteEstimate sum_sites(const nlohmann::json& list, const std::string& function) {
  SiteEstimate e;
  for (const auto& s : list) {
    if (s["frames"].empty() || s["frames"][0]["function"].get<std::string>() != function) continue;
    const auto& est = s["estimated"];
    e.count += est.value("count", 0.0);
    e.bytes += est.value("bytes", 0.0);
    e.live_count += est["live_count"].get<double>();
    e.live_bytes += est["live_bytes"].get<double>();
    if (est.contains("ci95") && est["ci95"].contains("bytes")) {  // sites (leaks give live bytes only)
      e.bytes_lo += est["ci95"]["bytes"][0].get<double>();
      e.bytes_hi += est["ci95"]["bytes"][1].get<double>();
    }
    ++e.sites;
  }
  return e;
}
}  // namespace

SiteEstimate site_estimate(const nlohmann::json& report, const std::string& function) {
  return sum_sites(report["sites"], function);
}
double other_leaks_live_bytes(const nlohmann::json& report, const std::string& leak_function) {
  double bytes = 0;
  for (const auto& l : report["leaks"])
    if (l["frames"].empty() || l["frames"][0]["function"] != leak_function)
      bytes += l["estimated"]["live_bytes"].get<double>();
  return bytes;
}

SiteEstimate leak_estimate(const nlohmann::json& report, const std::string& function) {
  return sum_sites(report["leaks"], function);
}

int check_big_sites(const nlohmann::json& report, const nlohmann::json& truth, double share, double max_rel,
                    Interval interval) {
  double total = 0;
  for (const auto& s : truth["sites"]) total += s["bytes"].get<double>();
  int checked = 0;
  for (const auto& s : truth["sites"]) {
    const double bytes = s["bytes"];
    if (bytes < share * total) continue;
    const std::string fn = s["function"];
    SiteEstimate e = site_estimate(report, fn);
    INFO(fn << ": truth " << bytes << " estimated " << e.bytes << " 95% [" << e.bytes_lo << ", " << e.bytes_hi << "]");
    CHECK(e.sites >= 1);
    CHECK(std::abs(e.bytes - bytes) <= max_rel * bytes);
    if (interval == Interval::checked) {
      const double sigma = (e.bytes_hi - e.bytes) / 1.96;
      CHECK(std::abs(e.bytes - bytes) <= 4 * sigma + 1e-6 * bytes);
      CHECK(e.bytes_lo <= e.bytes);
    }
    ++checked;
  }
  return checked;
}

void check_leak(const nlohmann::json& report, const nlohmann::json& truth, double max_rel) {
  SiteEstimate leak = leak_estimate(report, truth["leak"]["function"]);
  const double leak_bytes = truth["leak"]["live_bytes"];
  INFO("leak truth " << leak_bytes << " estimated " << leak.live_bytes);
  REQUIRE(leak.sites >= 1);
  CHECK(std::abs(leak.live_bytes - leak_bytes) <= max_rel * leak_bytes);
}

std::vector<std::string> leftover_breakpoints(const nlohmann::json& report, pid_t pid) {
  std::vector<std::string> out;
  auto maps = read_maps(pid);
  int mem = open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY);
  for (const auto& p : report["probes"]) {
    const std::string path = p["path"];
    const uint64_t offset = p["offset"];
    for (const auto& m : maps) {
      if (m.path != path || offset < m.offset || offset >= m.offset + (m.end - m.start)) continue;
      unsigned char live = 0, file = 0;
      pread(mem, &live, 1, static_cast<off_t>(m.start + offset - m.offset));
      int fd = open(("/proc/" + std::to_string(pid) + "/root" + path).c_str(), O_RDONLY);
      pread(fd, &file, 1, static_cast<off_t>(offset));
      close(fd);
      if (live != file) out.push_back(p["symbol"].get<std::string>() + "@" + std::to_string(offset));
    }
  }
  close(mem);
  return out;
}

std::vector<uint32_t> program_ids(const std::string& err) {
  std::vector<uint32_t> ids;
  auto pos = err.find("BPF program ids:");
  if (pos == std::string::npos) return ids;
  std::istringstream line(err.substr(pos + 16, err.find('\n', pos) - pos - 16));
  uint32_t id;
  while (line >> id) ids.push_back(id);
  return ids;
}

std::vector<uint32_t> still_loaded(const std::vector<uint32_t>& ids) {
  // The kernel frees a program after its last link is released, through an
  // RCU grace period: give it a few seconds before calling it left over.
  std::vector<uint32_t> out;
  for (int attempt = 0; attempt < 100; ++attempt) {
    out.clear();
    for (uint32_t id : ids) {
      int fd = bpf_prog_get_fd_by_id(id);
      if (fd >= 0) {
        out.push_back(id);
        close(fd);
      }
    }
    if (out.empty()) break;
    std::this_thread::sleep_for(50ms);
  }
  return out;
}

namespace {
// The agent traced by PID into `report`, verbose, with `args` and the probe
// mode and placement under test.
std::vector<std::string> agent_argv(pid_t pid, const std::string& report, const std::vector<std::string>& args) {
  std::vector<std::string> argv{kAgent, "-p", std::to_string(pid), "-o", report, "--top", "0", "-v"};
  argv.insert(argv.end(), args.begin(), args.end());
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  return argv;
}
}  // namespace

ProgramRun trace_test_program(const std::string& program, const std::vector<std::string>& agent_args) {
  return trace_test_program(std::vector<std::string>{program}, agent_args);
}

ProgramRun trace_test_program(const std::vector<std::string>& argv, const std::vector<std::string>& agent_args) {
  Child target(argv);
  REQUIRE(target.wait_for("ready", 30s));
  const std::string report = temp_path("report.json");
  Child agent(agent_argv(target.pid(), report, agent_args));
  REQUIRE(agent.wait_for("tracing PID", 30s));
  target.signal(SIGUSR1);
  REQUIRE(target.wait_for("done", 60s));
  agent.signal(SIGINT);
  REQUIRE(agent.wait(60s) != -1);
  ProgramRun run{load_json(report), target.err()};
  unlink(report.c_str());
  target.signal(SIGUSR1);
  CHECK(target.wait(30s) != -1);
  return run;
}

double host_hit_cost_ns() {
  TracedRun t = trace_workload_by_pid({"--profile", "web", "--scale", "2000", "--threads", "1"}, {});
  const auto& cost = t.report["sampling"]["adaptive"]["hit_cost_ns"];
  return cost.is_number() ? cost.get<double>() : 0.0;
}

std::string scale_for_trap_time(double seconds, double hits_per_scale, long most) {
  const double hit_ns = host_hit_cost_ns();
  if (hit_ns <= 0) return std::to_string(most);
  const double scale = seconds * 1e9 / (hit_ns * hits_per_scale);
  fprintf(stderr, "e2e: a hit costs %.0f ns here: scale %.0f (at most %ld)\n", hit_ns, scale, most);
  return std::to_string(std::min(most, std::max(most / 20, static_cast<long>(scale))));
}

TracedRun trace_workload_by_pid(const std::vector<std::string>& workload_args,
                                const std::vector<std::string>& agent_args, const std::vector<std::string>& launcher,
                                const std::string& workload) {
  TracedRun r;
  const std::string truth = temp_path("truth.json"), report = temp_path("report.json");
  std::vector<std::string> wl_argv = launcher;
  wl_argv.insert(wl_argv.end(), {workload, "--truth", truth, "--wait-start", "--wait-exit"});
  wl_argv.insert(wl_argv.end(), workload_args.begin(), workload_args.end());
  Child wl(wl_argv);
  REQUIRE(wl.wait_for("ready", 30s));

  Child agent(agent_argv(wl.pid(), report, agent_args));
  REQUIRE(agent.wait_for("tracing PID", 30s));
  wl.signal(SIGUSR1);
  REQUIRE(wl.wait_for("done", 300s));
  agent.signal(SIGINT);
  int st = agent.wait(120s);
  r.agent_exit = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
  r.agent_err = agent.err();
  INFO(r.agent_err);
  REQUIRE(r.agent_exit == 0);
  r.report = load_json(report);
  r.truth = load_json(truth);
  r.leftovers = leftover_breakpoints(r.report, wl.pid());
  r.programs_left = still_loaded(program_ids(r.agent_err));
  if (const char* mode = getenv("MEMSCOPE_TEST_PROBE_MODE"); mode && *mode)
    CHECK(r.report["mechanism"] == (std::string(mode) == "classic" ? "uprobe+uretprobe" : "uprobe-session"));
  wl.signal(SIGUSR1);
  REQUIRE(wl.wait(60s) != -1);
  r.workload_out = wl.out();
  unlink(truth.c_str());
  unlink(report.c_str());
  return r;
}

namespace {
// Truth per API, folded the way the report folds entry points that share
// one address (glibc's memalign is aligned_alloc).
std::map<std::string, std::pair<uint64_t, uint64_t>> folded_truth(const nlohmann::json& report,
                                                                  const nlohmann::json& truth) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> out;
  for (auto& [api, t] : truth["by_api"].items()) {
    std::string as = report["exact"]["by_api"][api].value("counted_as", api);
    out[as].first += t["calls"].get<uint64_t>();
    out[as].second += t["bytes"].get<uint64_t>();
  }
  return out;
}
}  // namespace

void check_exact(const nlohmann::json& report, const nlohmann::json& truth) {
  for (auto& [api, t] : folded_truth(report, truth)) {
    INFO("api " << api);
    CHECK(report["exact"]["by_api"][api]["calls"].get<uint64_t>() == t.first);
    if (api != "free") CHECK(report["exact"]["by_api"][api]["bytes"].get<uint64_t>() == t.second);
  }
}

void check_sites_exact(const nlohmann::json& report, const nlohmann::json& truth) {
  for (const auto& s : truth["sites"]) {
    if (s["calls"].get<uint64_t>() == 0) continue;
    INFO(s["function"]);
    SiteEstimate e = site_estimate(report, s["function"]);
    CHECK(e.count == Approx(s["calls"].get<double>()).margin(1e-6));
    CHECK(e.bytes == Approx(s["bytes"].get<double>()).margin(1e-6));
  }
}

nlohmann::json stop_agent(Child& agent, const std::string& report_path) {
  agent.signal(SIGINT);
  const int st = agent.wait(120s);
  INFO(agent.err());
  REQUIRE((st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0));
  nlohmann::json r = load_json(report_path);
  CHECK(schema_errors(r, kSchema) == "");
  return r;
}

MultiRun trace_workloads_by_pid(const std::vector<std::vector<std::string>>& workloads,
                                const std::vector<std::string>& agent_args) {
  MultiRun r;
  const std::string report = temp_path("report.json");
  std::vector<std::string> truths;
  std::vector<std::unique_ptr<Child>> wls;
  std::vector<std::string> ag_argv{kAgent, "-o", report, "--top", "0", "-v"};
  for (size_t i = 0; i < workloads.size(); ++i) {
    truths.push_back(temp_path("truth" + std::to_string(i) + ".json"));
    std::vector<std::string> argv{kWorkload, "--truth", truths.back(), "--wait-start", "--wait-exit"};
    argv.insert(argv.end(), workloads[i].begin(), workloads[i].end());
    wls.push_back(std::make_unique<Child>(argv));
    REQUIRE(wls.back()->wait_for("ready", 30s));
    r.pids.push_back(wls.back()->pid());
    ag_argv.insert(ag_argv.end(), {"-p", std::to_string(wls.back()->pid())});
  }
  ag_argv.insert(ag_argv.end(), agent_args.begin(), agent_args.end());
  for (const auto& a : probe_mode_args()) ag_argv.push_back(a);
  Child agent(ag_argv);
  for (pid_t pid : r.pids) REQUIRE(agent.wait_for("tracing PID " + std::to_string(pid), 30s));
  for (auto& w : wls) w->signal(SIGUSR1);
  for (auto& w : wls) REQUIRE(w->wait_for("done", 300s));
  r.report = stop_agent(agent, report);
  r.agent_err = agent.err();
  for (const auto& t : truths) r.truths.push_back(load_json(t));
  r.programs_left = still_loaded(program_ids(r.agent_err));
  for (auto& w : wls) {
    w->signal(SIGUSR1);
    REQUIRE(w->wait(60s) != -1);
  }
  for (const auto& t : truths) unlink(t.c_str());
  unlink(report.c_str());
  return r;
}

}  // namespace memscope::test

namespace memscope::test {
std::vector<uint32_t> memscope_programs() {
  std::vector<uint32_t> out;
  for (int attempt = 0; attempt < 100; ++attempt) {  // see still_loaded()
    out.clear();
    uint32_t id = 0;
    while (bpf_prog_get_next_id(id, &id) == 0) {
      int fd = bpf_prog_get_fd_by_id(id);
      if (fd < 0) continue;
      bpf_prog_info info{};
      uint32_t len = sizeof info;
      if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && std::string(info.name).rfind("ms_", 0) == 0)
        out.push_back(id);
      close(fd);
    }
    if (out.empty()) break;
    std::this_thread::sleep_for(50ms);
  }
  return out;
}

std::vector<std::string> uprobe_events_of(pid_t agent_pid) {
  int root = open("/sys/kernel/tracing", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root >= 0 && faccessat(root, "uprobe_events", R_OK, 0) != 0) {
    close(root);
    root = -1;
  }
  if (root < 0) {
    int fs = fsopen("tracefs", FSOPEN_CLOEXEC);
    if (fs < 0) throw std::runtime_error("cannot open tracefs");
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0) root = fsmount(fs, FSMOUNT_CLOEXEC, 0);
    close(fs);
    if (root < 0) throw std::runtime_error("cannot mount tracefs");
  }
  int fd = openat(root, "uprobe_events", O_RDONLY | O_CLOEXEC);
  close(root);
  if (fd < 0) throw std::runtime_error("cannot read uprobe_events");
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fd);
  std::vector<std::string> out;
  std::istringstream in(text);
  const std::string group = ":memscope_" + std::to_string(agent_pid) + "/";
  for (std::string line; std::getline(in, line);)
    if (line.find(group) != std::string::npos) out.push_back(line);
  return out;
}
}  // namespace memscope::test
