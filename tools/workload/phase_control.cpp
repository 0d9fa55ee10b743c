#include "phase_control.h"

#include <pthread.h>
#include <unistd.h>

#include <ctime>

#include "text_buffer.h"

namespace memscope::workload {
namespace {

std::uint64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

bool block_sigusr1(sigset_t& set) {
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    return pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0;
}

void wait_for_sigusr1(const sigset_t& set) {
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) == 0 && sig == SIGUSR1) return;
    }
}

void say_ready() {
    char buf[64];
    TextBuffer t(buf, sizeof buf);
    t.append("ready ").append_i64(static_cast<std::int64_t>(getpid())).append("\n");
    write_all(2, t.data(), t.size());
}

std::uint64_t monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }

std::uint64_t thread_cpu_ns() { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

}  // namespace memscope::workload
