#include "follow/pid_reuse.h"

#include <catch2/catch.hpp>
#include <utility>

using namespace memscope;

namespace {

ms_proc_event event(uint32_t kind, uint32_t pid) {
  ms_proc_event e{};
  e.kind = kind;
  e.pid = pid;
  return e;
}

std::vector<std::pair<uint32_t, uint32_t>> order_of(std::vector<ms_proc_event> events) {
  order_proc_events(events);
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (const auto& e : events) out.emplace_back(e.kind, e.pid);
  return out;
}

}  // namespace

TEST_CASE("process events: forks first, in the kernel's order otherwise") {
  const std::vector<ms_proc_event> batch{event(MS_PROC_EXEC, 5), event(MS_PROC_FORK, 7), event(MS_PROC_EXIT, 5),
                                         event(MS_PROC_FORK, 8)};
  CHECK(order_of(batch) == std::vector<std::pair<uint32_t, uint32_t>>{
                               {MS_PROC_FORK, 7}, {MS_PROC_FORK, 8}, {MS_PROC_EXEC, 5}, {MS_PROC_EXIT, 5}});
}

TEST_CASE("process events: a fork of a PID that exited earlier in the batch comes after all before it") {
  using Order = std::vector<std::pair<uint32_t, uint32_t>>;
  // PID 5 forks 9 and exits, and 5 is handed out again: 9 comes before the
  // exit (its probes are inherited from 5's while 5 is known), the new 5
  // after it.
  const std::vector<ms_proc_event> batch{event(MS_PROC_FORK, 9), event(MS_PROC_EXIT, 5), event(MS_PROC_FORK, 5),
                                         event(MS_PROC_EXEC, 5), event(MS_PROC_EXIT, 5)};
  CHECK(order_of(batch) ==
        Order{{MS_PROC_FORK, 9}, {MS_PROC_EXIT, 5}, {MS_PROC_FORK, 5}, {MS_PROC_EXEC, 5}, {MS_PROC_EXIT, 5}});
  // A fork before the exit of the same PID: that exit is the child's own.
  const std::vector<ms_proc_event> own{event(MS_PROC_FORK, 5), event(MS_PROC_EXIT, 5)};
  CHECK(order_of(own) == Order{{MS_PROC_FORK, 5}, {MS_PROC_EXIT, 5}});
  // The former holder born, exec'ing and exiting in the batch: all of it
  // before the new fork.
  const std::vector<ms_proc_event> both{event(MS_PROC_FORK, 5), event(MS_PROC_EXEC, 5), event(MS_PROC_EXIT, 5),
                                        event(MS_PROC_FORK, 7), event(MS_PROC_FORK, 5)};
  CHECK(order_of(both) ==
        Order{{MS_PROC_FORK, 5}, {MS_PROC_FORK, 7}, {MS_PROC_EXEC, 5}, {MS_PROC_EXIT, 5}, {MS_PROC_FORK, 5}});
  // The former holder's parent forked in the same batch stays before it.
  const std::vector<ms_proc_event> parent{event(MS_PROC_FORK, 8), event(MS_PROC_FORK, 5), event(MS_PROC_EXIT, 5),
                                          event(MS_PROC_FORK, 5)};
  CHECK(order_of(parent) == Order{{MS_PROC_FORK, 8}, {MS_PROC_FORK, 5}, {MS_PROC_EXIT, 5}, {MS_PROC_FORK, 5}});
}

TEST_CASE("process events: an exec at a known PID is its own process's unless its holder was seen gone before it") {
  CHECK(exec_at(false, 0, 500) == ExecAt::own);
  // Found gone (/proc) at 900, its exec event from 500 handled after: its own.
  CHECK(exec_at(true, 900, 500) == ExecAt::own_gone);
  // Found gone at 900, an exec at 1000: a new holder's.
  CHECK(exec_at(true, 900, 1000) == ExecAt::new_holder);
  // Its exit event came (at 400): any exec after is a new holder's.
  CHECK(exec_at(true, 400, 500) == ExecAt::new_holder);
}
