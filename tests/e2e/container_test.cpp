// A target in its own mount and PID namespaces, as in a container: its
// executable and its libc live on a tmpfs mounted inside the namespace, at
// paths that do not exist on the host, and it sees itself as PID 1. The
// agent, outside, traces it by host PID and must reach every file through
// /proc/PID/root, even after the namespace is gone.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <set>
#include <thread>

#include "e2e/e2e_support.h"
#include "support/schema_check.h"
#include "targets/proc_maps.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

int exit_code(int status) { return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

// The libc this test runs on, which the workload will load from a copy.
std::string host_libc() {
  for (const auto& m : memscope::read_maps(getpid()))
    if (m.path.ends_with("/libc.so.6")) return m.path;
  return {};
}

pid_t only_child(pid_t parent) {
  std::string children = slurp("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children");
  return children.empty() ? -1 : std::stoi(children);
}

// Mounts a tmpfs over DIR (private to the new mount namespace), copies the
// workload and libc there and runs the copy, on the copied libc.
const char* kInNamespace = R"(dir=$1 exe=$2 libc=$3; shift 3
mount -t tmpfs memscope-test "$dir" && cp "$exe" "$libc" "$dir"/ &&
LD_LIBRARY_PATH="$dir" exec "$dir/${exe##*/}" "$@")";

// Mounts a tmpfs over DIR, copies LIB there, stops (for the agent to attach
// to this shell), then execs the command with that copy preloaded: a path
// that exists only inside the namespace.
const char* kExecInNamespace = R"(dir=$1 lib=$2; shift 2
mount -t tmpfs memscope-test "$dir" && cp "$lib" "$dir"/ && kill -STOP $$ &&
LD_PRELOAD="$dir/${lib##*/}" exec "$@")";

bool can_unshare(const std::string& unshare) {
  return access(unshare.c_str(), X_OK) == 0 &&
         run({unshare, "--mount", "--pid", "--fork", "--mount-proc", "/bin/true"}).exit_code == 0;
}

}  // namespace

TEST_CASE("containers: a target in its own mount and PID namespaces traced by host PID", "[e2e][container]") {
  const std::string unshare = "/usr/bin/unshare";
  if (access(unshare.c_str(), X_OK) != 0 ||
      run({unshare, "--mount", "--pid", "--fork", "--mount-proc", "/bin/true"}).exit_code != 0) {
    fprintf(stderr, "SKIPPED: unshare cannot create mount and PID namespaces here\n");
    std::exit(77);
  }
  char dir_template[] = "/tmp/memscope-ns-XXXXXX";
  REQUIRE(mkdtemp(dir_template));
  struct RemoveDir {
    const char* path;
    ~RemoveDir() { rmdir(path); }
  } remove_dir{dir_template};
  const std::string dir = dir_template, libc = host_libc();
  REQUIRE(!libc.empty());
  const std::string truth = temp_path("truth.json"), report = temp_path("report.json");
  // --kill-child: the namespace's processes die with unshare, whatever
  // ends this test (they would otherwise outlive it, holding its files).
  Child ns({unshare,       "--mount",   "--pid", "--fork",  "--mount-proc", "--kill-child", "/bin/sh", "-c",
            kInNamespace,  "sh",        dir,     kWorkload, libc,           "--truth",      truth,     "--wait-start",
            "--wait-exit", "--profile", "web",   "--scale", "300",          "--threads",    "2"});
  REQUIRE(ns.wait_for("ready", 30s));
  const pid_t pid = only_child(ns.pid());
  REQUIRE(pid > 0);
  const std::string exe = dir + "/memscope-workload";
  REQUIRE(access(exe.c_str(), F_OK) != 0);  // the host cannot open it

  std::vector<std::string> ag_argv{kAgent, "-p", std::to_string(pid), "-o", report, "--top", "0", "-v", "--sample-all"};
  for (const auto& a : probe_mode_args()) ag_argv.push_back(a);
  Child agent(ag_argv);
  const bool tracing = agent.wait_for("tracing PID", 30s);
  INFO(agent.err());
  REQUIRE(tracing);
  // The workload is its namespace's init, and unshare forwards no signals:
  // signal it by host PID. Killed once its phase is done (so that nothing
  // runs after the truth was taken), it ends the namespace and unmounts
  // the tmpfs before the agent symbolizes.
  kill(pid, SIGUSR1);
  REQUIRE(ns.wait_for("done", 120s));
  kill(pid, SIGKILL);
  CHECK(ns.wait(60s) != -1);
  CHECK(exit_code(agent.wait(60s)) == 0);
  CHECK(agent.err().find("the target exited") != std::string::npos);

  const json r = load_json(report), t = load_json(truth);
  CHECK(schema_errors(r, kSchema) == "");
  const json& target = r["targets"][0];
  CHECK(target["pid"] == pid);
  CHECK(target["ns_pid"] == t["pid"]);  // what getpid() returned inside
  CHECK(target["ns_pid"] == 1);
  CHECK(target["exe"] == exe);
  CHECK(target["allocator"] == dir + "/libc.so.6");
  // The C entry points are probed in the namespace's own libc; the C++
  // operators in the libstdc++ the namespace shares with the host.
  for (const auto& p : r["probes"]) {
    if (p["api"].get<std::string>().rfind("operator", 0) == 0) continue;
    INFO(p["api"]);
    CHECK(p["path"].get<std::string>().rfind(dir + "/", 0) == 0);
  }
  check_exact(r, t);

  // Every site of the workload resolves to its function, read from the
  // executable that existed only inside the namespace.
  std::set<std::string> functions;
  for (const auto& s : r["sites"]) functions.insert(s["frames"][0]["function"].get<std::string>());
  for (const auto& s : t["sites"]) {
    if (s["calls"].get<uint64_t>() == 0) continue;
    INFO(s["function"]);
    CHECK(functions.count(s["function"].get<std::string>()) == 1);
  }
  CHECK(still_loaded(program_ids(agent.err())).empty());
  unlink(truth.c_str());
  unlink(report.c_str());
}

TEST_CASE("containers: an exec inside a mount namespace is resolved with the allocator that exists only there",
          "[e2e][container]") {
  const std::string unshare = "/usr/bin/unshare", jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
  if (!can_unshare(unshare)) {
    fprintf(stderr, "SKIPPED: unshare cannot create mount namespaces here\n");
    std::exit(77);
  }
  REQUIRE(access(jemalloc.c_str(), R_OK) == 0);
  char dir_template[] = "/tmp/memscope-ns-XXXXXX";
  REQUIRE(mkdtemp(dir_template));
  struct RemoveDir {
    const char* path;
    ~RemoveDir() { rmdir(path); }
  } remove_dir{dir_template};
  const std::string dir = dir_template, inside = dir + "/libjemalloc.so.2";
  const std::string truth = temp_path("truth.json"), report = temp_path("report.json");
  // unshare without --fork execs the shell in its own process: the agent
  // traces that PID, which then execs the workload inside the namespace.
  Child sh({unshare, "--mount", "/bin/sh", "-c", kExecInNamespace, "sh", dir, jemalloc, kWorkload, "--truth", truth,
            "--wait-start", "--wait-exit", "--profile", "mixed", "--scale", "100", "--threads", "1"});
  std::string state;
  for (int i = 0; i < 500 && state.find("State:\tT") == std::string::npos; ++i) {
    std::this_thread::sleep_for(20ms);
    state = slurp("/proc/" + std::to_string(sh.pid()) + "/status");
  }
  REQUIRE(state.find("State:\tT") != std::string::npos);
  REQUIRE(access(inside.c_str(), F_OK) != 0);  // the host has no such file
  std::vector<std::string> argv{kAgent, "-p", std::to_string(sh.pid()), "--sample-all", "--top", "0", "-o",
                                report, "-v"};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  Child agent(argv);
  REQUIRE(agent.wait_for("tracing PID " + std::to_string(sh.pid()), 30s));
  sh.signal(SIGCONT);
  REQUIRE(sh.wait_for("ready", 30s));
  const bool probed = agent.wait_for("(memscope-worklo) through " + inside, 30s);
  INFO(agent.err());
  REQUIRE(probed);
  sh.signal(SIGUSR1);
  REQUIRE(sh.wait_for("done", 120s));
  const json r = stop_agent(agent, report);
  REQUIRE(r["processes"].size() == 1);
  const json& p = r["processes"][0];
  CHECK(p["exe"] == kWorkload);
  CHECK(p["allocator"] == inside);
  const json t = load_json(truth);
  check_sites_exact(p, t);
  sh.signal(SIGUSR1);
  CHECK(exit_code(sh.wait(60s)) == 0);
  CHECK(memscope_programs().empty());
  unlink(truth.c_str());
  unlink(report.c_str());
}
