#include "follow/proc_events.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace memscope {
namespace {

int collect(void* ctx, void* data, size_t size) {
  if (size >= sizeof(ms_proc_event)) {
    ms_proc_event e;
    std::memcpy(&e, data, sizeof e);
    static_cast<std::vector<ms_proc_event>*>(ctx)->push_back(e);
  }
  return 0;
}

}  // namespace

ProcEventReader::ProcEventReader(int ringbuf_fd) {
  ring_ = ring_buffer__new(ringbuf_fd, collect, &pending_, nullptr);
  if (!ring_) throw Error(std::string("cannot read process events: ") + strerror(errno));
}

ProcEventReader::~ProcEventReader() { ring_buffer__free(ring_); }

int ProcEventReader::poll_fd() const { return ring_buffer__epoll_fd(ring_); }

std::vector<ms_proc_event> ProcEventReader::read() {
  pending_.clear();
  ring_buffer__consume(ring_);
  return std::move(pending_);
}

}  // namespace memscope
