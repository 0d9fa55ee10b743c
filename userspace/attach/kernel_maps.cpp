#include "attach/kernel_maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "memscope/record.h"

namespace memscope {
namespace {

// Visits every key of a hash map with its per-CPU values.
template <typename Key, typename Value, typename F>
void for_each_percpu(int fd, F&& visit) {
  const int ncpu = libbpf_num_possible_cpus();
  std::vector<Value> values(ncpu);
  Key key{}, next{};
  const Key* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    if (bpf_map_lookup_elem(fd, &key, values.data()) == 0) visit(key, values);
  }
}

// Every key of a hash map.
template <typename Key>
std::vector<Key> keys_of(int fd) {
  std::vector<Key> out;
  Key key{}, next{};
  const Key* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    out.push_back(key);
  }
  return out;
}

void add_classes(std::array<ms_count, MS_SIZE_CLASSES>& dst, const std::vector<ms_proc_counts>& per_cpu) {
  for (const auto& cpu : per_cpu)
    for (unsigned c = 0; c < MS_SIZE_CLASSES; ++c) {
      dst[c].calls += cpu.by_class[c].calls;
      dst[c].bytes += cpu.by_class[c].bytes;
    }
}

void add_hits(ProcessCounts& dst, const std::vector<ms_proc_hits>& per_cpu) {
  for (const auto& cpu : per_cpu) {
    dst.entry_hits += cpu.entries;
    dst.return_hits += cpu.returns;
    dst.user_ticks += cpu.user_ticks;
  }
}

// Sums a per-CPU array of u64 counters.
template <size_t N>
std::array<uint64_t, N> sum_counters(int fd) {
  std::array<uint64_t, N> out{};
  std::vector<uint64_t> per_cpu(libbpf_num_possible_cpus());
  for (uint32_t i = 0; i < N; ++i) {
    if (bpf_map_lookup_elem(fd, &i, per_cpu.data())) continue;
    for (uint64_t v : per_cpu) out[i] += v;
  }
  return out;
}

}  // namespace

ExactCounts KernelMaps::exact_counts() const {
  ExactCounts out;
  std::vector<ms_count> per_cpu(libbpf_num_possible_cpus());
  for (uint32_t i = 0; i < MS_COUNT_SLOTS; ++i) {
    if (bpf_map_lookup_elem(fds_.counts, &i, per_cpu.data())) continue;
    ms_count& dst = out.by_api_class[i / MS_SIZE_CLASSES][i % MS_SIZE_CLASSES];
    for (const auto& c : per_cpu) {
      dst.calls += c.calls;
      dst.bytes += c.bytes;
    }
  }
  out.stats = sum_counters<MS_STAT_COUNT>(fds_.stats);
  return out;
}

std::map<pid_t, ProcessCounts> KernelMaps::process_counts(const std::map<pid_t, uint32_t>& slots) const {
  std::map<pid_t, ProcessCounts> out;
  for_each_percpu<ms_proc_key, ms_proc_counts>(fds_.proc_counts, [&](const ms_proc_key& k, const auto& v) {
    if (k.api < MS_API_COUNT) add_classes(out[static_cast<pid_t>(k.tgid)].exact.by_api_class[k.api], v);
  });
  for_each_percpu<uint32_t, ms_proc_hits>(
      fds_.proc_hits, [&](uint32_t tgid, const auto& v) { add_hits(out[static_cast<pid_t>(tgid)], v); });
  const int ncpu = libbpf_num_possible_cpus();
  std::vector<ms_proc_counts> counts(ncpu);
  std::vector<ms_proc_hits> hits(ncpu);
  for (const auto& [pid, slot] : slots) {
    if (slot == 0 || slot >= MS_PROC_SLOTS) continue;
    ProcessCounts& dst = out[pid];
    for (uint32_t api = 0; api < MS_API_COUNT; ++api) {
      const uint32_t idx = slot * MS_API_COUNT + api;
      if (bpf_map_lookup_elem(fds_.proc_slot_counts, &idx, counts.data()) == 0)
        add_classes(dst.exact.by_api_class[api], counts);
    }
    if (bpf_map_lookup_elem(fds_.proc_slot_hits, &slot, hits.data()) == 0) add_hits(dst, hits);
  }
  return out;
}

ProcessCounts KernelMaps::take_process_counts(pid_t pid) {
  ProcessCounts out;
  const int ncpu = libbpf_num_possible_cpus();
  std::vector<ms_proc_counts> counts(ncpu);
  for (uint32_t api = 0; api < MS_API_COUNT; ++api) {
    const ms_proc_key key{static_cast<uint32_t>(pid), api};
    if (bpf_map_lookup_elem(fds_.proc_counts, &key, counts.data()) != 0) continue;
    add_classes(out.exact.by_api_class[api], counts);
    bpf_map_delete_elem(fds_.proc_counts, &key);
  }
  std::vector<ms_proc_hits> hits(ncpu);
  const uint32_t tgid = static_cast<uint32_t>(pid);
  if (bpf_map_lookup_elem(fds_.proc_hits, &tgid, hits.data()) == 0) {
    add_hits(out, hits);
    bpf_map_delete_elem(fds_.proc_hits, &tgid);
  }
  return out;
}

void KernelMaps::reserve_process_counts(pid_t pid, const std::vector<unsigned>& apis) {
  const int ncpu = libbpf_num_possible_cpus();
  const std::vector<ms_proc_counts> counts(ncpu);
  for (unsigned api : apis) {
    const ms_proc_key key{static_cast<uint32_t>(pid), api};
    bpf_map_update_elem(fds_.proc_counts, &key, counts.data(), BPF_NOEXIST);  // EEXIST: counting already
  }
  const std::vector<ms_proc_hits> hits(ncpu);
  const uint32_t tgid = static_cast<uint32_t>(pid);
  bpf_map_update_elem(fds_.proc_hits, &tgid, hits.data(), BPF_NOEXIST);
}

std::array<uint64_t, MS_PROC_STAT_COUNT> KernelMaps::process_stats() const {
  return sum_counters<MS_PROC_STAT_COUNT>(fds_.proc_stats);
}

std::map<pid_t, ms_proc_overflow> KernelMaps::process_overflow() const {
  std::map<pid_t, ms_proc_overflow> out;
  for (uint32_t key : keys_of<uint32_t>(fds_.proc_overflow)) {
    ms_proc_overflow o{};
    if (bpf_map_lookup_elem(fds_.proc_overflow, &key, &o) == 0) out[static_cast<pid_t>(key)] = o;
  }
  return out;
}

SiteStacks KernelMaps::site_stacks() const {
  SiteStacks out;
  for (const ms_site_key& key : keys_of<ms_site_key>(fds_.sites)) {
    uint32_t id;
    if (bpf_map_lookup_elem(fds_.sites, &key, &id)) continue;
    ms_stack stack{};
    size_t depth = 0;
    if (key.has_stack && bpf_map_lookup_elem(fds_.stacks, &key.stack, &stack) == 0)
      depth = std::min<size_t>(stack.depth, MS_MAX_STACK_DEPTH);
    uint64_t ips[MS_MAX_STACK_DEPTH];
    std::copy(std::begin(stack.ips), std::end(stack.ips), ips);
    out[id] = site_stack(key.tgid, key.caller, ips, depth, stack.stop);
  }
  return out;
}

bool KernelMaps::vm_counts(pid_t pid, ms_vm_counts& out) const {
  const uint32_t key = static_cast<uint32_t>(pid);
  return bpf_map_lookup_elem(fds_.vm, &key, &out) == 0;
}

bool KernelMaps::count_vm(pid_t pid, const ms_vm_counts& start) {
  const uint32_t key = static_cast<uint32_t>(pid);
  return bpf_map_update_elem(fds_.vm, &key, &start, BPF_NOEXIST) == 0 || errno == EEXIST;
}

void KernelMaps::forget_vm(pid_t pid) {
  const uint32_t key = static_cast<uint32_t>(pid);
  bpf_map_delete_elem(fds_.vm, &key);
  std::vector<ms_vm_region_key> regions;
  for (const auto& k : keys_of<ms_vm_region_key>(fds_.vm_regions))
    if (k.tgid == key) regions.push_back(k);
  for (const auto& r : regions) bpf_map_delete_elem(fds_.vm_regions, &r);
}

}  // namespace memscope
