#include "targets/allocator.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <filesystem>
#include <set>

#include "common/error.h"
#include "common/fs.h"
#include "targets/api_names.h"
#include "targets/elf_file.h"
#include "targets/entry_calls.h"
#include "targets/ld_list.h"
#include "targets/probe_placement.h"
#include "targets/process.h"

namespace memscope {
namespace {

std::string base_name(const std::string& p) { return std::filesystem::path(p).filename().string(); }

std::vector<std::string> split_preload(const std::string& value) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : value) {
    if (c == ' ' || c == ':') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string environ_value(pid_t pid, const std::string& key) {
  const std::string prefix = key + "=";
  for (const auto& e : process_environ(pid))
    if (e.compare(0, prefix.size(), prefix) == 0) return e.substr(prefix.size());
  return {};
}

// Runs `argv` with `envp` and returns its standard output.
std::string capture_output(const std::vector<std::string>& args, char* const envp[]) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) throw Error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t child;
  int rc = posix_spawn(&child, argv[0], &fa, nullptr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  std::string out;
  if (rc == 0) {
    char buf[4096];
    ssize_t n;
    while ((n = read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, n);
    int status;
    waitpid(child, &status, 0);
  }
  close(pipefd[0]);
  return out;
}

}  // namespace

namespace {
// `known`: objects already read, by the path the process sees. Without
// `need_malloc`, the entry points found are kept even when none is malloc.
AllocatorTarget pick_from(const std::vector<std::pair<std::string, std::string>>& scope,
                          const std::map<std::string, ElfInfo>& known, bool need_malloc = true);
}  // namespace

AllocatorTarget pick_allocator(const std::vector<std::pair<std::string, std::string>>& scope) {
  return pick_from(scope, {});
}

namespace {
AllocatorTarget pick_from(const std::vector<std::pair<std::string, std::string>>& scope,
                          const std::map<std::string, ElfInfo>& known, bool need_malloc) {
  // The dynamic linker binds each entry point separately, to the first
  // object in scope that defines it: the allocator is the one serving
  // malloc, and an entry point it lacks (tcmalloc has no reallocarray) is
  // served by the next definer, usually libc.
  std::vector<std::pair<size_t, ElfInfo>> objects;
  for (size_t i = 0; i < scope.size(); ++i) {
    if (auto it = known.find(scope[i].first); it != known.end()) {
      objects.emplace_back(i, it->second);
      continue;
    }
    try {
      objects.emplace_back(i, read_elf(scope[i].second));
    } catch (const Error&) {
    }
  }
  // The executable's own calls reach the allocator linked into it whether
  // or not it exports it (a static executable has no dynamic symbols at
  // all): its symbol table counts too. A library's hidden definitions serve
  // only itself.
  auto definer = [&](const std::string& name) -> std::pair<size_t, const ElfSymbol*> {
    for (const auto& [i, elf] : objects)
      if (const ElfSymbol* sym = elf.find_function(name, i != 0)) return {i, sym};
    return {0, nullptr};
  };
  auto [main_index, main_malloc] = definer("malloc");
  if (!main_malloc && !need_malloc && !objects.empty()) main_index = objects.front().first;
  else if (!main_malloc) {
    AllocatorTarget none;
    if (!objects.empty() && objects[0].first == 0) {
      const ElfInfo& exe = objects[0].second;
      if (exe.interp.empty() && exe.needed.empty() && !exe.has_symtab)
        none.why_none =
            "it is statically linked and stripped of its symbol table (.symtab), where its malloc would be found";
    }
    return none;
  }

  AllocatorTarget t;
  t.path = scope[main_index].first;
  t.open_path = scope[main_index].second;
  // Every symbol of every entry point, bound where the linker binds it;
  // symbols at one address share one probe.
  for (unsigned api = 0; api < MS_API_COUNT; ++api) {
    bool defined = false;
    for (std::string_view symbol : api_symbols(api)) {
      // Named, not a structured binding: clang before 16 (the sanitizer
      // build's) cannot capture a binding in the lambdas below.
      const auto found = definer(std::string(symbol));
      const size_t i = found.first;
      const ElfSymbol* const sym = found.second;
      if (!sym) continue;
      defined = true;
      const std::string& open_path = scope[i].second;
      auto same = std::find_if(t.sites.begin(), t.sites.end(),
                               [&](const ProbeSite& s) { return s.vaddr == sym->value && s.open_path == open_path; });
      if (same != t.sites.end()) {
        if (same->api != api && std::find(same->aliases.begin(), same->aliases.end(), api) == same->aliases.end())
          same->aliases.push_back(api);
        continue;
      }
      const ElfInfo& elf =
          std::find_if(objects.begin(), objects.end(), [&](const auto& o) { return o.first == i; })->second;
      auto offset = elf.vaddr_to_offset(sym->value);
      if (!offset) continue;
      ProbeSite site;
      site.api = api;
      site.symbol = sym->name;
      site.vaddr = sym->value;
      site.offset = *offset;
      site.path = scope[i].first;
      site.open_path = open_path;
      site.placement = "function entry";
      t.sites.push_back(site);
    }
    if (!defined) t.missing.push_back(api);
    else t.counted_as[api] = api;
  }
  // One probe counts under one entry point: where entry points share an
  // address (glibc's memalign is aligned_alloc; tcmalloc's operator delete
  // is free), all the calls of each go to the first in the list, whichever
  // of its variants was called, so that every counter is whole.
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& site : t.sites)
      for (unsigned a : site.aliases) {
        unsigned to = std::min(t.counted_as[a], t.counted_as[site.api]);
        for (unsigned x : {a, site.api})
          if (t.counted_as[x] != to) {
            t.counted_as[x] = to;
            changed = true;
          }
      }
  }
  for (auto& site : t.sites) {
    const unsigned own = site.api;
    site.api = t.counted_as[own];
    if (own != site.api) site.aliases.push_back(own);
    std::erase(site.aliases, site.api);
  }
  for (unsigned api : apis_entering_others(t))
    for (auto& site : t.sites)
      if (site.api == api) site.keep_return = true;
  return t;
}
}  // namespace

namespace {

// Up to two further emulated sites past the first, for other processes.
void add_alternates(ProbeSite& site, uint64_t start) {
  for (unsigned skip = 1; skip <= 2; ++skip) {
    Placement p;
    try {
      p = choose_probe_site(site.open_path, start, site.vaddr, api_argument_count(site.api), true, skip);
    } catch (const std::exception&) {
      return;
    }
    // The cookie carries 16 bits of stack_delta.
    if (!p.found || !p.emulated || p.stack_delta > 0xffff) return;
    site.alternates.push_back({start + p.offset, p.stack_delta,
                               "+" + std::to_string(p.offset) + " (" + p.instruction + "): " + p.reason +
                                   " (another process's own site)"});
  }
}

}  // namespace

void place_probes(AllocatorTarget& target, PlacementMode mode) {
  for (auto& site : target.sites) {
    if (mode == PlacementMode::Entry) {
      site.placement = "offset 0 (--placement entry)";
      continue;
    }
    const bool is_free = ms_api_frees(site.api);
    Placement p;
    try {
      p = choose_probe_site(site.open_path, site.offset, site.vaddr, api_argument_count(site.api), is_free);
    } catch (const std::exception& e) {
      site.placement = std::string("offset 0: ") + e.what();
      continue;
    }
    if ((!is_free || site.keep_return) && p.stack_delta != 0) {
      site.placement = "offset 0: the first cheap site (+" + std::to_string(p.offset) +
                       ") is past a push, where a return probe cannot sit";
      continue;
    }
    const uint64_t start = site.offset;
    site.offset += p.offset;
    site.stack_delta = p.stack_delta;
    site.placement = (p.offset ? "+" + std::to_string(p.offset) + " " : std::string("offset 0 ")) +
                     (p.instruction.empty() ? "" : "(" + p.instruction + "): ") + p.reason;
    if (is_free && !site.keep_return && p.emulated) add_alternates(site, start);
  }
}

AllocatorTarget find_allocator(pid_t pid, const std::string& exe) {
  auto maps = read_maps(pid);
  auto files = mapped_files(maps);
  const std::string root = proc_root(pid);

  // Lookup scope: executable, preloads, then DT_NEEDED breadth-first; what
  // is left (dlopen'd objects) comes last.
  std::vector<std::string> order;
  auto add = [&](const std::string& p) {
    if (std::find(order.begin(), order.end(), p) == order.end()) order.push_back(p);
  };
  add(exe);
  // Maps name files by their real path (symlinks resolved: libfoo.so.4.5.9),
  // while LD_PRELOAD and DT_NEEDED name them by link or soname: compare a
  // path by its resolved name, a bare name by soname or file name.
  // Every mapped object is read once: sonames for matching, DT_NEEDED for
  // the scope, symbols for choosing the allocator.
  std::map<std::string, ElfInfo> elves;
  for (const auto& f : files) {
    try {
      elves.emplace(f, read_elf(root + f));
    } catch (const Error&) {
    }
  }
  if (!elves.count(exe)) {
    try {
      elves.emplace(exe, read_elf(root + exe));
    } catch (const Error&) {
    }
  }
  auto soname = [&](const std::string& f) -> std::string {
    auto it = elves.find(f);
    return it == elves.end() ? std::string() : it->second.soname;
  };
  auto match = [&](const std::string& name) -> std::string {
    if (name.find('/') != std::string::npos) {
      std::error_code ec;
      auto real = std::filesystem::canonical(root + name, ec);
      std::string inside = ec ? name : real.string().substr(real.string().rfind(root, 0) == 0 ? root.size() : 0);
      for (const auto& f : files)
        if (f == name || f == inside) return f;
      return {};
    }
    for (const auto& f : files)
      if (soname(f) == name || base_name(f) == name) return f;
    return {};
  };
  for (const auto& p : split_preload(environ_value(pid, "LD_PRELOAD")))
    if (auto f = match(p); !f.empty()) add(f);
  std::deque<std::string> queue(order.begin(), order.end());
  while (!queue.empty()) {
    std::string cur = queue.front();
    queue.pop_front();
    auto elf = elves.find(cur);
    if (elf == elves.end()) continue;
    for (const auto& n : elf->second.needed) {
      auto f = match(n);
      if (f.empty() || std::find(order.begin(), order.end(), f) != order.end()) continue;
      add(f);
      queue.push_back(f);
    }
  }
  const size_t at_start = order.size();
  for (const auto& f : files) add(f);

  std::vector<std::pair<std::string, std::string>> scope;
  for (const auto& p : order) scope.emplace_back(p, root + p);
  AllocatorTarget t = pick_from(scope, elves);
  for (size_t i = 0; i < at_start; ++i) t.scope.push_back(scope[i].second);
  return t;
}

AllocatorTarget object_entry_points(const std::string& path, const std::string& open_path) {
  ElfInfo elf = read_elf(open_path);
  // Slot 0 stands for the executable, whose hidden definitions would
  // count: left empty, so that only the object's exported ones do.
  AllocatorTarget t = pick_from({{"", ""}, {path, open_path}}, {{path, elf}}, false);
  t.scope.clear();
  // The process's allocator is probed too: an entry point here that enters
  // one of its (a plugin's operator new calling glibc's malloc through the
  // PLT) keeps its return, so that the inner call is counted once.
  std::set<std::string> every_name;
  for (unsigned api = 0; api < MS_API_COUNT; ++api)
    for (std::string_view symbol : api_symbols(api)) every_name.emplace(symbol);
  for (unsigned api : apis_entering_others(t, every_name))
    for (auto& site : t.sites)
      if (site.api == api) site.keep_return = true;
  return t;
}

AllocatorTarget find_allocator_for_command(const std::string& exe_path, char* const envp[]) {
  ElfInfo exe = read_elf(exe_path);
  std::vector<std::pair<std::string, std::string>> scope{{exe_path, exe_path}};
  if (!exe.interp.empty()) {
    // "ld.so --list" prints the link map in load order, honouring
    // LD_PRELOAD and LD_LIBRARY_PATH from the command's environment.
    for (const std::string& path : parse_ld_list(capture_output({exe.interp, "--list", exe_path}, envp), exe_path))
      scope.emplace_back(path, path);
  }
  AllocatorTarget t = pick_allocator(scope);
  for (const auto& [path, open_path] : scope) t.scope.push_back(open_path);
  return t;
}

}  // namespace memscope
