// memscope-floor: attaches empty BPF programs at the sites memscope-bpf
// would probe in process PID, keeps them attached until SIGINT, SIGTERM or
// the target's exit, then detaches. The sites come from memscope_core's own
// allocator discovery and probe placement (find_allocator, place_probes),
// so they follow any change in where memscope-bpf places its probes.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"
#include "floor_probes.h"
#include "targets/api_names.h"
#include "targets/process.h"

namespace {

using memscope::overhead::FloorLink;
using memscope::overhead::FloorMode;

struct FloorOptions {
  pid_t pid = 0;
  FloorMode mode = FloorMode::Classic;
  FloorLink link = FloorLink::Auto;
  memscope::PlacementMode placement = memscope::PlacementMode::Smart;  // memscope-bpf's default
  bool list = false;
  bool verbose = false;
};

nlohmann::json describe_sites(pid_t pid, const memscope::AllocatorTarget& alloc) {
  nlohmann::json sites = nlohmann::json::array();
  for (const auto& s : alloc.sites) {
    nlohmann::json aliases = nlohmann::json::array();
    for (unsigned a : s.aliases) aliases.push_back(memscope::api_name(a));
    sites.push_back({{"api", memscope::api_name(s.api)},
                     {"symbol", s.symbol},
                     {"offset", s.offset},
                     {"stack_delta", s.stack_delta},
                     {"placement", s.placement},
                     {"aliases", aliases}});
  }
  return {{"pid", pid}, {"allocator", alloc.path}, {"open_path", alloc.open_path}, {"sites", sites}};
}

// Blocks until SIGINT or SIGTERM arrives or the target exits. The signals
// are blocked before anything is loaded, so none can kill the loader with
// its probes still attached.
const char* wait_for_end(int sigfd, pid_t pid) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  for (;;) {
    pollfd fds[2] = {{sigfd, POLLIN, 0}, {pidfd, POLLIN, 0}};
    if (poll(fds, pidfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      if (read(sigfd, &si, sizeof si) == sizeof si) {
        if (pidfd >= 0) close(pidfd);
        return si.ssi_signo == SIGINT ? "interrupted" : "terminated";
      }
    }
    if (pidfd >= 0 && (fds[1].revents & POLLIN)) {
      close(pidfd);
      return "the target exited";
    }
  }
  return "poll failed";
}

int run(const FloorOptions& opt) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sigfd = signalfd(-1, &mask, SFD_CLOEXEC);

  memscope::ProcessInfo proc = memscope::read_process(opt.pid);
  memscope::AllocatorTarget alloc = memscope::find_allocator(opt.pid, proc.exe);
  if (alloc.sites.empty())
    throw memscope::Error("PID " + std::to_string(opt.pid) + " (" + proc.comm + "): no object defines malloc");
  memscope::place_probes(alloc, opt.placement);
  if (opt.list) {
    printf("%s\n", describe_sites(opt.pid, alloc).dump(2).c_str());
    return 0;
  }

  const char* why;
  {
    memscope::overhead::FloorProbes probes(opt.mode, opt.link, opt.verbose);
    probes.attach(opt.pid, alloc);
    if (opt.verbose)
      for (const auto& p : probes.probes())
        fprintf(stderr, "memscope-floor:   %-9s %-15s %s+0x%llx\n", p.kind.c_str(), p.symbol.c_str(),
                alloc.path.c_str(), static_cast<unsigned long long>(p.offset));
    // The driver waits for this line before it starts the measured phase.
    fprintf(stderr, "memscope-floor: attached %zu probes as %s to PID %d (%s)\n", probes.probes().size(),
            probes.mechanism(), opt.pid, alloc.path.c_str());
    why = wait_for_end(sigfd, opt.pid);
  }
  fprintf(stderr, "memscope-floor: %s; detached\n", why);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  FloorOptions opt;
  CLI::App app{"memscope-floor: empty BPF programs at memscope-bpf's probe sites (the overhead floor)."};
  app.add_option("-p,--pid", opt.pid, "Process to attach to")->required();
  const std::map<std::string, FloorMode> modes{
      {"classic", FloorMode::Classic}, {"entry-only", FloorMode::EntryOnly}, {"session", FloorMode::Session}};
  app.add_option(
         "--mode", opt.mode,
         "classic: uprobe + uretprobe; entry-only: uprobes only; session: empty session probe skipping every return")
      ->transform(CLI::CheckedTransformer(modes, CLI::ignore_case));
  const std::map<std::string, FloorLink> links{
      {"auto", FloorLink::Auto}, {"perf", FloorLink::Perf}, {"multi", FloorLink::Multi}};
  app.add_option("--link", opt.link,
                 "entry-only: auto (a uprobe-multi link where memscope-bpf would use session probes), perf, multi")
      ->transform(CLI::CheckedTransformer(links, CLI::ignore_case));
  const std::map<std::string, memscope::PlacementMode> placements{{"smart", memscope::PlacementMode::Smart},
                                                                  {"entry", memscope::PlacementMode::Entry}};
  app.add_option("--placement", opt.placement, "As memscope-bpf's --placement: smart (default) or entry (offset 0)")
      ->transform(CLI::CheckedTransformer(placements, CLI::ignore_case));
  app.add_flag("--list", opt.list, "Print the sites as JSON and exit without attaching");
  app.add_flag("-v,--verbose", opt.verbose, "Print every probe and libbpf warnings");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return run(opt);
  } catch (const std::exception& e) {
    fprintf(stderr, "memscope-floor: error: %s\n", e.what());
    return 1;
  }
}
