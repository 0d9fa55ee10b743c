"""One measured run: start the workload, attach a row's tracer to it, let
the workload measure itself, detach, and collect what happened."""
import json
import os
import re
import signal
import subprocess
import time

from breakpoints import breakpoint_at
from rows import RunContext

# clock_nanosleep on x86-64: where an idle Python tracer (memleak) waits.
SYS_CLOCK_NANOSLEEP = 230


def _tail(path, lines=4):
    try:
        with open(path, errors="replace") as f:
            text = [l for l in f.read().splitlines() if l.strip()]
        return " | ".join(text[-lines:])
    except OSError:
        return ""


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _reap(proc, timeout):
    """Waits up to `timeout` s for `proc`; returns (exit code, rusage) or
    None. wait4 rather than Popen.wait, for the child's CPU time."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.returncode is not None:  # already reaped by Popen.poll()
            return proc.returncode, None
        try:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        except ChildProcessError:
            return proc.returncode, None
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def _stop(proc, first_signal, grace):
    """Signals `proc` (first_signal, then SIGTERM, then SIGKILL) until it
    exits; returns (exit code, rusage)."""
    for sig, wait in ((first_signal, grace), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if sig is not None:
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass
        reaped = _reap(proc, wait)
        if reaped:
            return reaped
    return None, None


def _process_cpu_ns(pid):
    """CPU time of all of a process's threads, in ns, or None: the clock
    clock_getcpuclockid() would give (CPUCLOCK_SCHED of the process)."""
    try:
        return time.clock_gettime_ns(((~pid) << 3) | 2)
    except OSError:
        return None


def _idle_in_sleep(pid):
    try:
        with open(f"/proc/{pid}/syscall") as f:
            return f.read().split()[0] == str(SYS_CLOCK_NANOSLEEP)
    except (OSError, IndexError):
        return False


def _memscope_summary(path, sites):
    """The few report fields that explain a memscope-bpf row, and whether
    it probed the sites the floor used."""
    try:
        with open(path) as f:
            r = json.load(f)
    except (OSError, ValueError):
        return None
    sampling = r.get("sampling", {})
    probes = r.get("probes", [])
    entry = {(p.get("symbol"), p.get("offset")) for p in probes if p.get("kind") in ("uprobe", "session")}
    floor = {(s["symbol"], s["offset"]) for s in sites["sites"]}
    return {
        "mechanism": r.get("mechanism"),
        "probe_kinds": sorted({p.get("kind") for p in probes}),
        "sites_match_floor": entry == floor if entry else None,
        "sampled_events": sampling.get("sampled_events"),
        "dropped_events": sampling.get("dropped_events"),
        "rate_changes": len(sampling.get("changes", [])),
        "allocation_calls": r.get("exact", {}).get("allocation_calls"),
        "free_calls": r.get("exact", {}).get("free_calls"),
        "duration_s": r.get("duration_s"),
    }


class Runner:
    def __init__(self, bins, work_dir, sites, threads, seconds, warmup, seed):
        self.bins = bins
        self.work_dir = work_dir
        self.sites = sites  # memscope-floor --list output
        self.threads = threads
        self.seconds = seconds
        self.warmup = warmup
        self.seed = seed
        self.count = 0

    def _site_offsets(self, row):
        """Sites whose breakpoints show that a row's probes are in."""
        by_api = {s["api"]: s["offset"] for s in self.sites["sites"]}
        if row.command is None:
            return [s["offset"] for s in self.sites["sites"]]
        if not row.exact_sites:
            # Peers probe symbols at offset 0; memscope's malloc site is at 0
            # too, so this is the one site certainly shared.
            return [by_api["malloc"]] if by_api.get("malloc") is not None else []
        return [by_api[a] for a in ("malloc", "free") if a in by_api]

    def _breakpoints(self, pid, row):
        found = [breakpoint_at(pid, self.sites["allocator"], off) for off in self._site_offsets(row)]
        if any(f is None for f in found):
            return "unknown"
        if row.command is None:
            return "none" if not any(found) else "LEFT OVER"
        return "present" if all(found) else ("partial" if any(found) else "absent")

    def run(self, row, profile):
        self.count += 1
        run_dir = os.path.join(self.work_dir, f"{self.count:03d}-{profile}-{row.key}")
        os.makedirs(run_dir)
        load_out, load_err, tracer_log = (os.path.join(run_dir, n) for n in ("load.json", "load.err", "tracer.log"))
        warmup = self.warmup if row.warmup is None else row.warmup
        seconds = self.seconds if row.seconds is None else row.seconds
        result = {"row": row.key, "profile": profile, "ok": False, "warmup_s": warmup, "seconds": seconds}
        load = tracer = None
        try:
            with open(load_out, "w") as out, open(load_err, "w") as err:
                load = subprocess.Popen([self.bins["memscope-workload"], "--profile", profile,
                                         "--threads", str(self.threads), "--seconds", str(seconds),
                                         "--warmup", str(warmup), "--seed", str(self.seed), "--wait-start"],
                                        stdout=out, stderr=err)
            pid = self._wait_ready(load, load_err)
            if row.command is not None:
                t0 = time.monotonic()
                cmd = row.command(RunContext(pid, self.bins, run_dir, self.sites["allocator"]))
                result["command"] = " ".join(cmd)
                with open(tracer_log, "w") as log:
                    tracer = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                              env={**os.environ, **row.env})
                self._wait_attached(row, tracer, tracer_log)
                result["attach_s"] = round(time.monotonic() - t0, 3)
                m = re.search(r"attached \d+ probes as (.+?) to PID", _read(tracer_log))
                if m:
                    result["mechanism"] = m.group(1)
            result["breakpoints"] = self._breakpoints(pid, row)

            signalled = time.monotonic()
            os.kill(pid, signal.SIGUSR1)
            if tracer is not None:
                # The tracer's own CPU time inside the workload's window: its
                # userspace work per traced call (BPF programs run in the
                # workload's threads and are counted there).
                time.sleep(max(0.0, signalled + warmup - time.monotonic()))
                c0 = _process_cpu_ns(tracer.pid)
                time.sleep(max(0.0, signalled + warmup + seconds - time.monotonic()))
                c1 = _process_cpu_ns(tracer.pid)
                if c0 is not None and c1 is not None:
                    result["tracer_window_cpu_s"] = (c1 - c0) / 1e9
            reaped = _reap(load, warmup + seconds + 120)
            if reaped is None:
                raise RuntimeError("the workload did not finish in time")
            code, usage = reaped
            load = None
            if code != 0:
                raise RuntimeError(f"the workload exited with {code}: {_tail(load_err)}")
            measured = json.loads(_read(load_out))
            result.update(ops_per_s=measured["ops_per_s"], ns_per_call=measured["ns_per_call"],
                          cpu_ns_per_call=measured["cpu_ns_per_call"], cpu_share=measured["cpu_share"],
                          calls=measured["calls"], load_user_s=round(usage.ru_utime, 3),
                          load_sys_s=round(usage.ru_stime, 3))
            if "tracer_window_cpu_s" in result:
                result["tracer_ns_per_call"] = result["tracer_window_cpu_s"] * 1e9 / max(1, measured["calls"])
            result["ok"] = True
        except Exception as e:  # one failed run must not end the benchmark
            result["error"] = str(e)
        finally:
            if load is not None:
                _stop(load, signal.SIGKILL, 5)
            if tracer is not None:
                # Tracers that follow their target get time to write their
                # report; the others are ended as a user would, with Ctrl-C.
                if row.stops_with_target:
                    reaped = _reap(tracer, 60) or _stop(tracer, signal.SIGINT, 60)
                else:
                    reaped = _stop(tracer, signal.SIGINT, 60)
                code, usage = reaped
                result["tracer_exit"] = code
                if usage is not None:
                    result["tracer_cpu_s"] = round(usage.ru_utime + usage.ru_stime, 3)
                if code not in (0, None) and result["ok"] and row.group != "peer":
                    result["warning"] = f"tracer exited with {code}: {_tail(tracer_log)}"
        if row.memscope_report:
            result["memscope"] = _memscope_summary(os.path.join(run_dir, "report.json"), self.sites)
        return result

    def _wait_ready(self, load, err_path, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"^ready (\d+)$", _read(err_path), re.M)
            if m:
                return int(m.group(1))
            if load.poll() is not None:
                raise RuntimeError(f"the workload exited early: {_tail(err_path)}")
            time.sleep(0.01)
        raise RuntimeError("the workload never said ready")

    def _wait_attached(self, row, tracer, log_path, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if tracer.poll() is not None:
                raise RuntimeError(f"the tracer exited ({tracer.returncode}) before attaching: {_tail(log_path)}")
            if re.search(row.ready, _read(log_path), re.M) and (not row.ready_idle or _idle_in_sleep(tracer.pid)):
                return
            time.sleep(0.02)
        raise RuntimeError(f"the tracer did not attach within {timeout} s: {_tail(log_path)}")
