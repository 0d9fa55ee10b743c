// The process events of the sched tracepoints (fork, exec, exit), read from
// their own ring buffer. Unlike the record ring it wakes its reader, so the
// agent learns of a new process within the poll it is sleeping in.
#pragma once
#include <vector>

#include "memscope/processes.h"

struct ring_buffer;

namespace memscope {

class ProcEventReader {
 public:
  explicit ProcEventReader(int ringbuf_fd);
  ~ProcEventReader();
  ProcEventReader(const ProcEventReader&) = delete;
  ProcEventReader& operator=(const ProcEventReader&) = delete;

  int poll_fd() const;                // readable when events are waiting
  std::vector<ms_proc_event> read();  // every event waiting, in order

 private:
  ring_buffer* ring_ = nullptr;
  std::vector<ms_proc_event> pending_;
};

}  // namespace memscope
