#!/usr/bin/env python3
"""supd against its peers' figures: scenarios S1-S4 and S6 (S5, log capture, is bench/capture.sh).

Each scenario starts its own supd in a temp dir (no root needed, nothing outside the temp dir is touched), measures,
stops supd and kills what is left, and prints one JSON object per line:
    {"key": "status", "scenario": "S1", "metric": "status", "unit": "ms", "median": 4.1, "p90": 4.9, "runs": 30}
Detecting "the job's process runs" is peer-neutral: each job's command writes its own pid to a marker file
(`echo $$ > FILE; exec sleep ...`), and the harness waits for that file with inotify (IN_CLOSE_WRITE), never polling.

Usage: scenarios.py --supd PATH --supctl PATH [--runs N] [S1 S2 S3 S4 S6 ...]
"""
import argparse
import ctypes
import ctypes.util
import json
import os
import resource
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

IN_CLOSE_WRITE = 0x00000008
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
BIN = {}  # "supd" and "supctl": the binaries under test
MARK = [""]  # the current Supd's mark-and-sleep script

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class Inotify:
    """Close-after-write notifications for one directory: the moment a job finished writing its marker."""

    def __init__(self, directory):
        self.fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, directory.encode(), IN_CLOSE_WRITE) < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {directory}")
        self.directory = directory

    def names(self, timeout):
        """The file names closed after writing, waiting up to timeout seconds for the first; [] on timeout."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return []
        data = os.read(self.fd, 64 * 1024)
        names, offset = [], 0
        while offset < len(data):
            _, _, _, length = struct.unpack_from("iIII", data, offset)
            name = data[offset + 16: offset + 16 + length].rstrip(b"\0").decode()
            names.append(name)
            offset += 16 + length
        return names

    def close(self):
        os.close(self.fd)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))]


def result(key, scenario, metric, unit, values, **extra):
    record = {"key": key, "scenario": scenario, "metric": metric, "unit": unit, "runs": len(values),
              "median": round(statistics.median(values), 3), "p90": round(percentile(values, 0.9), 3)}
    record.update(extra)
    print(json.dumps(record), flush=True)
    return record


class Supd:
    """One supd in a temp dir, with its own job dir, socket, log and state dirs."""

    def __init__(self, jobs):
        self.root = tempfile.mkdtemp(prefix="supd-bench-")
        self.markers = os.path.join(self.root, "markers")
        self.job_dir = os.path.join(self.root, "init")
        os.makedirs(self.markers)
        os.makedirs(self.job_dir)
        # The job's program: records its pid, then becomes sleep. Named directly in `exec` (no shell characters),
        # so supd executes it without an extra `sh -c`, as a peer's run script would be.
        self.marker_script = os.path.join(self.root, "mark-and-sleep")
        with open(self.marker_script, "w") as f:
            f.write(f"#!/bin/sh\n[ \"$2\" = ignore-term ] && trap '' TERM\necho $$ > {self.markers}/$1\nexec sleep 1000000\n")
        os.chmod(self.marker_script, 0o755)
        MARK[0] = self.marker_script
        for name, text in jobs(self.markers).items():
            with open(os.path.join(self.job_dir, name + ".conf"), "w") as f:
                f.write(text)
        self.socket = os.path.join(self.root, "supd.sock")
        self.process = None

    def start(self):
        """Starts supd; returns the monotonic time (ns) just before it was spawned."""
        self.inotify = Inotify(self.markers)
        t0 = time.monotonic_ns()
        self.process = subprocess.Popen(
            [BIN["supd"], "--job-dir", self.job_dir, "--socket", self.socket,
             "--log-dir", os.path.join(self.root, "log"), "--state-dir", os.path.join(self.root, "state")],
            stdout=open(os.path.join(self.root, "supd.out"), "wb"), stderr=subprocess.STDOUT,
            preexec_fn=raise_fd_limit)
        deadline = time.monotonic() + 60
        while subprocess.run([BIN["supctl"], "--socket", self.socket, "list"], capture_output=True).returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"supd did not answer: see {self.root}/supd.out")
            time.sleep(0.02)
        return t0

    def ctl(self, *args, check=True):
        out = subprocess.run([BIN["supctl"], "--socket", self.socket, *args],
                             capture_output=True, text=True)
        if check and out.returncode != 0:
            raise RuntimeError(f"supctl {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def wait_ready(self, job, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ctl("status", job, check=False).find("start/running") >= 0:
                return
            time.sleep(0.02)
        raise RuntimeError(f"{job} did not reach start/running within {timeout}s")

    def marker_pid(self, job):
        try:
            with open(os.path.join(self.markers, job)) as f:
                return int(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def wait_marker(self, job, other_than, timeout=30):
        """Waits until the job's marker holds a pid other than other_than; returns the monotonic time (ns) of it."""
        deadline = time.monotonic() + timeout
        while True:
            pid = self.marker_pid(job)
            if pid and pid != other_than:
                return time.monotonic_ns()
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"{job} did not write a new pid within {timeout}s")
            self.inotify.names(left)

    def rss_kib(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    def thread_run_ns(self):
        """Each live thread's run time in ns (/proc/PID/task/TID/schedstat): /proc/PID/stat counts in 10 ms ticks,
        too coarse for an idle daemon."""
        times = {}
        for tid in os.listdir(f"/proc/{self.process.pid}/task"):
            try:
                with open(f"/proc/{self.process.pid}/task/{tid}/schedstat") as f:
                    times[tid] = int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass  # the thread ended meanwhile
        return times

    def idle_cpu_ms(self, seconds):
        """CPU time supd's threads ran during the next `seconds` (a thread that ends meanwhile loses its share)."""
        before = self.thread_run_ns()
        time.sleep(seconds)
        after = self.thread_run_ns()
        return sum(ns - before.get(tid, 0) for tid, ns in after.items()) / 1e6

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # Whatever a job left behind (its pid is in its marker) is killed by process group.
        for name in os.listdir(self.markers):
            pid = self.marker_pid(name)
            if pid:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self.inotify.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def raise_fd_limit():
    # supd holds two descriptors per running job (output pipe, pidfd): 1000 jobs need more than the usual 1024.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def sleeper(markers, name, extra=""):
    return f"""respawn
respawn limit unlimited
{extra}
exec {MARK[0]} {name}
"""


def spawn_timed(argv):
    """Runs argv to completion with stdout and stderr to /dev/null; returns (wall ns, exit status)."""
    t0 = time.monotonic_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
    _, status = os.waitpid(pid, 0)
    return time.monotonic_ns() - t0, os.waitstatus_to_exitcode(status)


def ms(ns):
    return ns / 1e6


def s1_status(runs):
    with Supd(lambda m: {"probe": "start on startup\n" + sleeper(m, "probe")}) as supd:
        supd.start()
        supd.wait_ready("probe")
        argv = [BIN["supctl"], "--socket", supd.socket, "status", "probe"]
        for _ in range(5):
            spawn_timed(argv)
        times = []
        for _ in range(runs):
            wall, status = spawn_timed(argv)
            if status != 0:
                raise RuntimeError("supctl status failed")
            times.append(ms(wall))
        return result("status", "S1", "supctl status JOB", "ms", times)


def s2_start(runs):
    with Supd(lambda m: {"probe": sleeper(m, "probe")}) as supd:
        supd.start()
        argv = [BIN["supctl"], "--socket", supd.socket, "start", "probe"]
        times = []
        for i in range(runs + 3):
            before = supd.marker_pid("probe")
            t0 = time.monotonic_ns()
            pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
            t1 = supd.wait_marker("probe", before)
            os.waitpid(pid, 0)
            if i >= 3:
                times.append(ms(t1 - t0))
            supd.ctl("stop", "probe")
        return result("start", "S2", "supctl start JOB until its process runs", "ms", times)


def s3_respawn(runs):
    with Supd(lambda m: {"probe": "start on startup\n" + sleeper(m, "probe")}) as supd:
        supd.start()
        supd.wait_ready("probe")
        supd.wait_marker("probe", 0)
        times = []
        for i in range(runs + 3):
            pid = supd.marker_pid("probe")
            t0 = time.monotonic_ns()
            os.kill(pid, signal.SIGKILL)
            t1 = supd.wait_marker("probe", pid)
            if i >= 3:
                times.append(ms(t1 - t0))
        return result("respawn", "S3", "SIGKILL until the replacement runs", "ms", times)


def s4_thousand(runs, jobs=1000, idle_seconds=20):
    ups, rsses, cpus = [], [], []
    for _ in range(runs):
        def define(m):
            return {f"sleep{i:04}": f"start on startup\nexec {MARK[0]} sleep{i:04}\n"
                    for i in range(jobs)}
        with Supd(define) as supd:
            t0 = supd.start()
            seen = set()
            deadline = time.monotonic() + 300
            while len(seen) < jobs:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {len(seen)} of {jobs} jobs up after 300s")
                seen.update(supd.inotify.names(deadline - time.monotonic()))
            ups.append((time.monotonic_ns() - t0) / 1e9)
            # Let the start-up burst's aftermath finish before measuring: log writes, and supd's one trim of the GC
            # heap 2 s after the burst (Core/Memory/BurstMemoryTrimmer), so RSS and idle CPU are the steady state.
            time.sleep(5)
            rsses.append(supd.rss_kib() / 1024)
            cpus.append(supd.idle_cpu_ms(idle_seconds))
    result("up", "S4", f"{jobs} sleep jobs all up", "s", ups)
    result("rss", "S4", "supd RSS with them up", "MB", rsses)
    return result("idle-cpu", "S4", f"supd CPU while idle {idle_seconds} s", "ms", cpus)


def s6_stop(runs):
    def define(m):
        return {
            "plain": sleeper(m, "plain"),
            # SIG_IGN survives exec: sleep itself ignores SIGTERM, so only the SIGKILL after the kill timeout ends it.
            "stubborn": f"kill timeout 1\nexec {MARK[0]} stubborn ignore-term\n",
        }
    with Supd(define) as supd:
        supd.start()
        out = []
        for job, count in (("plain", runs), ("stubborn", max(5, runs // 3))):
            argv = [BIN["supctl"], "--socket", supd.socket, "stop", job]
            times = []
            for i in range(count + 2):
                before = supd.marker_pid(job)
                supd.ctl("start", job)
                supd.wait_marker(job, before)
                wall, status = spawn_timed(argv)
                if status != 0:
                    raise RuntimeError(f"supctl stop {job} failed")
                if i >= 2:
                    times.append(ms(wall))
            out.append(result("stop" if job == "plain" else "stop-stubborn", "S6", f"supctl stop ({'sleep' if job == 'plain' else 'ignores SIGTERM, kill timeout 1 s'})",
                              "ms", times))
        return out


SCENARIOS = {"S1": s1_status, "S2": s2_start, "S3": s3_respawn, "S4": s4_thousand, "S6": s6_stop}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--supd", required=True, help="the supd binary")
    parser.add_argument("--supctl", required=True, help="the supctl binary")
    parser.add_argument("--runs", type=int, default=30, help="measurements per scenario (S4: --s4-runs)")
    parser.add_argument("--s4-runs", type=int, default=3)
    parser.add_argument("--s4-jobs", type=int, default=1000)
    parser.add_argument("--s4-idle", type=int, default=20, help="seconds of idle CPU measurement")
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    args = parser.parse_args()
    BIN["supd"], BIN["supctl"] = os.path.abspath(args.supd), os.path.abspath(args.supctl)
    for name in args.scenarios:
        if name == "S4":
            s4_thousand(args.s4_runs, args.s4_jobs, args.s4_idle)
        else:
            SCENARIOS[name](args.runs)


if __name__ == "__main__":
    sys.exit(main())
