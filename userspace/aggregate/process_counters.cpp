#include "aggregate/process_counters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

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

}  // namespace

std::map<pid_t, ProcessCounts> read_process_counts(int counts_fd, int hits_fd) {
  std::map<pid_t, ProcessCounts> out;
  for_each_percpu<ms_proc_key, ms_proc_counts>(counts_fd,
                                               [&](const ms_proc_key& k, const std::vector<ms_proc_counts>& v) {
                                                 if (k.api >= MS_API_COUNT) return;
                                                 auto& dst = out[static_cast<pid_t>(k.tgid)].exact.by_api_class[k.api];
                                                 for (const auto& cpu : v)
                                                   for (unsigned c = 0; c < MS_SIZE_CLASSES; ++c) {
                                                     dst[c].calls += cpu.by_class[c].calls;
                                                     dst[c].bytes += cpu.by_class[c].bytes;
                                                   }
                                               });
  for_each_percpu<uint32_t, ms_proc_hits>(hits_fd, [&](uint32_t tgid, const std::vector<ms_proc_hits>& v) {
    auto& dst = out[static_cast<pid_t>(tgid)];
    for (const auto& cpu : v) {
      dst.entry_hits += cpu.entries;
      dst.return_hits += cpu.returns;
    }
  });
  return out;
}

void add_slot_counts(std::map<pid_t, ProcessCounts>& out, int slot_counts_fd, int slot_hits_fd,
                     const std::map<pid_t, uint32_t>& slots) {
  const int ncpu = libbpf_num_possible_cpus();
  std::vector<ms_proc_counts> counts(ncpu);
  std::vector<ms_proc_hits> hits(ncpu);
  for (const auto& [pid, slot] : slots) {
    if (slot == 0 || slot >= MS_PROC_SLOTS) continue;
    ProcessCounts& dst = out[pid];
    for (uint32_t api = 0; api < MS_API_COUNT; ++api) {
      const uint32_t idx = slot * MS_API_COUNT + api;
      if (bpf_map_lookup_elem(slot_counts_fd, &idx, counts.data())) continue;
      for (const auto& cpu : counts)
        for (unsigned c = 0; c < MS_SIZE_CLASSES; ++c) {
          dst.exact.by_api_class[api][c].calls += cpu.by_class[c].calls;
          dst.exact.by_api_class[api][c].bytes += cpu.by_class[c].bytes;
        }
    }
    if (bpf_map_lookup_elem(slot_hits_fd, &slot, hits.data()) == 0)
      for (const auto& cpu : hits) {
        dst.entry_hits += cpu.entries;
        dst.return_hits += cpu.returns;
      }
  }
}

ProcessCounts& ProcessCounts::operator+=(const ProcessCounts& o) {
  for (unsigned api = 0; api < MS_API_COUNT; ++api)
    for (unsigned c = 0; c < MS_SIZE_CLASSES; ++c) {
      exact.by_api_class[api][c].calls += o.exact.by_api_class[api][c].calls;
      exact.by_api_class[api][c].bytes += o.exact.by_api_class[api][c].bytes;
    }
  entry_hits += o.entry_hits;
  return_hits += o.return_hits;
  return *this;
}

ProcessCounts take_process_counts(int counts_fd, int hits_fd, pid_t pid) {
  ProcessCounts out;
  const int ncpu = libbpf_num_possible_cpus();
  std::vector<ms_proc_counts> counts(ncpu);
  for (uint32_t api = 0; api < MS_API_COUNT; ++api) {
    const ms_proc_key key{static_cast<uint32_t>(pid), api};
    if (bpf_map_lookup_elem(counts_fd, &key, counts.data()) != 0) continue;
    for (const auto& cpu : counts)
      for (unsigned c = 0; c < MS_SIZE_CLASSES; ++c) {
        out.exact.by_api_class[api][c].calls += cpu.by_class[c].calls;
        out.exact.by_api_class[api][c].bytes += cpu.by_class[c].bytes;
      }
    bpf_map_delete_elem(counts_fd, &key);
  }
  std::vector<ms_proc_hits> hits(ncpu);
  const uint32_t tgid = static_cast<uint32_t>(pid);
  if (bpf_map_lookup_elem(hits_fd, &tgid, hits.data()) == 0) {
    for (const auto& cpu : hits) {
      out.entry_hits += cpu.entries;
      out.return_hits += cpu.returns;
    }
    bpf_map_delete_elem(hits_fd, &tgid);
  }
  return out;
}

std::map<pid_t, ms_proc_overflow> read_process_overflow(int overflow_fd) {
  std::map<pid_t, ms_proc_overflow> out;
  uint32_t key = 0, next = 0;
  const uint32_t* prev = nullptr;
  while (bpf_map_get_next_key(overflow_fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    ms_proc_overflow o{};
    if (bpf_map_lookup_elem(overflow_fd, &key, &o) == 0) out[static_cast<pid_t>(key)] = o;
  }
  return out;
}

std::array<uint64_t, MS_PROC_STAT_COUNT> read_process_stats(int stats_fd) {
  std::array<uint64_t, MS_PROC_STAT_COUNT> out{};
  std::vector<uint64_t> per_cpu(libbpf_num_possible_cpus());
  for (uint32_t i = 0; i < MS_PROC_STAT_COUNT; ++i) {
    if (bpf_map_lookup_elem(stats_fd, &i, per_cpu.data())) continue;
    for (uint64_t v : per_cpu) out[i] += v;
  }
  return out;
}

std::map<pid_t, ProcessCounts> read_every_process(int counts_fd, int hits_fd, int slot_counts_fd, int slot_hits_fd,
                                                  const std::map<pid_t, uint32_t>& slots,
                                                  const std::map<pid_t, ProcessCounts>& retired) {
  auto out = read_process_counts(counts_fd, hits_fd);
  add_slot_counts(out, slot_counts_fd, slot_hits_fd, slots);
  for (const auto& [pid, c] : retired) out[pid] += c;
  return out;
}

}  // namespace memscope
