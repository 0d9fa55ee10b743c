// ProcessTracker: objects loaded after start (dlopen), reported by the
// dynamic linker's debugger hook; those that define entry points of their
// own are probed too.
#include <algorithm>
#include <cstdio>

#include "common/clock.h"
#include "common/error.h"
#include "common/terminal_safe.h"
#include "follow/process_tracker.h"
#include "targets/allocator.h"
#include "targets/file_id.h"
#include "targets/linker_hook.h"
#include "targets/process.h"

namespace memscope {

void ProcessTracker::watch_objects(TracedProcess& t, bool look_now) {
  const pid_t pid = t.process.pid;
  // What the linker loaded at start was resolved with the allocator: only
  // objects beyond it are looked at (after exec, the new program's).
  auto& seen = objects_seen_[pid];
  seen.clear();
  for (const auto& path : t.allocator.scope)
    if (auto id = file_id(path)) seen.insert(*id);
  watch_linker(pid);
  if (look_now) look_for_loaded(pid, 0);
}

void ProcessTracker::watch_linker(pid_t pid) {
  auto hook = find_linker_hook(pid);
  if (!hook) return;  // a static executable loads nothing later
  auto id = file_id(hook->open_path);
  if (!id) return;
  const pid_t scope = options_.all ? 0 : pid;
  auto key = std::make_tuple(id->first, id->second, scope);
  if (linkers_.count(key)) return;  // a probe on the same file keeps working across exec
  try {
    session_.watch_linker(scope, hook->open_path, hook->offset, hook->r_debug_delta);
    linkers_.insert(key);
  } catch (const Error& e) {
    // One gone already (a short-lived child) loads nothing more: no warning.
    if (process_alive(pid))
      fprintf(stderr, "memscope-bpf: warning: PID %d: %s; allocators it loads later are not probed\n", pid,
              terminal_safe(e.what()).c_str());
  }
}

bool ProcessTracker::look_for_loaded(pid_t pid, uint64_t event_ns) {
  TracedProcess* t = find(pid);
  if (!t || t->exited) return false;
  std::vector<Mapping> maps;
  try {
    maps = read_maps(pid);
  } catch (const Error&) {
    return false;  // gone
  }
  session_.unwind().load(pid, maps);  // every object it loaded, allocator or not
  std::set<FileId> serving;           // the allocator's own objects
  for (const ProbeSite& s : t->allocator.sites)
    if (auto id = file_id(s.open_path.empty() ? t->allocator.open_path : s.open_path)) serving.insert(*id);
  auto& seen = objects_seen_[pid];
  const std::string root = proc_root(pid);
  bool found = false;
  for (const Mapping& m : maps) {
    if (m.path.empty() || !m.inode) continue;
    const FileId id = file_id(m);
    if (!seen.insert(id).second || serving.count(id)) continue;
    AllocatorTarget extra;
    try {
      extra = object_entry_points(m.path, root + m.path);  // not ELF (locale archive, data): nothing
    } catch (const Error&) {
      continue;
    }
    if (extra.sites.empty()) continue;
    place_probes(extra, options_.placement);
    try {
      probe(pid, extra);
    } catch (const Error& e) {
      fprintf(stderr, "memscope-bpf: warning: PID %d (%s) loaded %s: %s; its calls are not counted\n", pid,
              terminal_safe(t->process.comm).c_str(), terminal_safe(m.path).c_str(), terminal_safe(e.what()).c_str());
      continue;
    }
    ExtraAllocator x;
    x.path = m.path;
    for (const ProbeSite& s : extra.sites)
      if (std::find(x.apis.begin(), x.apis.end(), s.api) == x.apis.end()) x.apis.push_back(s.api);
    if (event_ns) x.attach_delay_s = static_cast<double>(monotonic_ns() - event_ns) / 1e9;
    if (options_.verbose)
      fprintf(
          stderr, "memscope-bpf: PID %d loaded %s: probing its %zu entry points%s\n", pid,
          terminal_safe(m.path).c_str(), extra.sites.size(),
          event_ns ? (", " + std::to_string(x.attach_delay_s * 1e3) + " ms after the linker reported it").c_str() : "");
    t->extra_allocators.push_back(std::move(x));
    found = true;
  }
  return found;
}

}  // namespace memscope
