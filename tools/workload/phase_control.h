// What starts and times a phase, in both modes of the workload: SIGUSR1,
// the signal a tracer sends when its probes are in (--wait-start) and when
// it has read what it needs (--wait-exit), the ready line it waits for, and
// the clocks. Nothing here allocates.
#pragma once

#include <csignal>
#include <cstdint>

namespace memscope::workload {

// Blocks SIGUSR1 in the calling thread (call it before any thread exists:
// every thread inherits the mask, so only sigwait() ever takes the signal).
// `set` receives the signal set to wait on. False if the mask was refused.
bool block_sigusr1(sigset_t& set);

// Returns once SIGUSR1 has arrived.
void wait_for_sigusr1(const sigset_t& set);

// "ready <pid>\n" on stderr: the line a tracer waits for before attaching.
void say_ready();

// CLOCK_MONOTONIC and the calling thread's CPU clock, in ns.
std::uint64_t monotonic_ns();
std::uint64_t thread_cpu_ns();

}  // namespace memscope::workload
