#include "attach/parallel_release.h"

#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>
#include <thread>

namespace memscope {

// Each link destroyed by one worker only; libbpf's program and object
// state is only read here (the feature probes ran at load).
void release_in_parallel(std::vector<bpf_link*>& links, std::vector<int>& fds, size_t max_workers) {
  const size_t n = links.size() + fds.size();
  const size_t workers_wanted = std::max<size_t>(1, std::min(max_workers, n));
  auto part = [&links, &fds, workers_wanted](size_t w) {
    for (size_t i = w; i < links.size(); i += workers_wanted) bpf_link__destroy(links[i]);
    for (size_t i = w; i < fds.size(); i += workers_wanted) close(fds[i]);
  };
  std::vector<std::thread> workers;
  size_t started = 0;
  if (workers_wanted > 1) {
    try {
      for (; started < workers_wanted; ++started) workers.emplace_back(part, started);
    } catch (const std::system_error&) {
    }
  }
  for (size_t w = started; w < workers_wanted; ++w) part(w);  // no thread for it: here
  for (auto& t : workers) t.join();
  links.clear();
  fds.clear();
}

}  // namespace memscope
