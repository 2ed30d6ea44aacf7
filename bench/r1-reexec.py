#!/usr/bin/env python3
"""R1 (issue 20): supctl daemon-reexec. (a) With N jobs running (default 1000), the time of each re-exec as supctl
sees it (asked until the new image answers) and as supd reports it, and that no job's pid changed. (b) A job flooding
its log with numbered lines while supd re-executes REEXECS times (default 100): the lines lost or doubled over all of
them (read back from the log, every number from the first to the last). Prints JSON lines. Not a test."""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import supd_bench
from supd_bench import supd_dirs, start, ctl

def pids(a, d):
    out = ctl(a, d, "list").stdout
    return dict(re.findall(r"^(\S+) start/running, process (\d+)", out, re.M))

def wait_for(cond, what, limit=600):
    supd_bench.wait_for(cond, what, limit, step=0.2, name="r1")

def reexec_time(a):
    root = tempfile.mkdtemp(prefix="supd-r1-"); d = supd_dirs(root)
    for i in range(a.jobs):
        open(os.path.join(d["init"], f"j{i}.conf"), "w").write("start on startup\nexec sleep 100000\n")
    p = start(a, d)
    try:
        wait_for(lambda: len(pids(a, d)) == a.jobs, f"{a.jobs} jobs up")
        before = pids(a, d)
        wall, own = [], []
        for _ in range(a.runs):
            t = time.time()
            r = ctl(a, d, "daemon-reexec", "--json")
            wall.append((time.time() - t) * 1000)
            if r.returncode != 0: sys.exit(f"r1: daemon-reexec failed: {r.stderr}")
            own.append(json.loads(r.stdout)["milliseconds"])
        after = pids(a, d)
        print(json.dumps({"scenario": "R1a", "jobs": a.jobs, "reexecs": a.runs,
                          "supctl_ms_median": round(statistics.median(wall)), "supctl_ms_max": round(max(wall)),
                          "until_answered_ms_median": statistics.median(own), "until_answered_ms_max": max(own),
                          "pids_unchanged": before == after and len(after) == a.jobs, "supd_pid_unchanged": p.poll() is None,
                          "load_before": open("/proc/loadavg").read().split()[0]}), flush=True)
    finally:
        p.terminate(); p.wait(timeout=300); shutil.rmtree(root, ignore_errors=True)

def flood(a):
    root = tempfile.mkdtemp(prefix="supd-r1-"); d = supd_dirs(root)
    open(os.path.join(d["init"], "flood.conf"), "w").write(supd_bench.FLOOD_JOB)
    p = start(a, d)
    log = os.path.join(d["log"], "flood.log")
    try:
        wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 0, "the flood")
        pid = pids(a, d).get("flood")
        t = time.time()
        for _ in range(a.reexecs):
            r = ctl(a, d, "daemon-reexec")
            if r.returncode != 0: sys.exit(f"r1: daemon-reexec failed: {r.stderr}")
        took = time.time() - t
        same = pids(a, d).get("flood") == pid
        ctl(a, d, "stop", "flood")
        numbers = supd_bench.flood_numbers(log)
        first, last = numbers[0], numbers[-1]
        expected = last - first + 1
        print(json.dumps({"scenario": "R1b", "reexecs": a.reexecs, "seconds": round(took, 1), "lines": len(numbers),
                          "bytes": os.path.getsize(log), "lines_lost": expected - len(set(numbers)),
                          "lines_doubled": len(numbers) - len(set(numbers)),
                          "out_of_order": sum(1 for x, y in zip(numbers, numbers[1:]) if y != x + 1),
                          "job_pid_unchanged": same, "load_before": open("/proc/loadavg").read().split()[0]}), flush=True)
    finally:
        p.terminate(); p.wait(timeout=300); shutil.rmtree(root, ignore_errors=True)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--supd", required=True); ap.add_argument("--supctl", required=True)
    ap.add_argument("--jobs", type=int, default=1000); ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--reexecs", type=int, default=100)
    ap.add_argument("part", nargs="*", default=["time", "flood"])
    a = ap.parse_args()
    if "time" in a.part: reexec_time(a)
    if "flood" in a.part: flood(a)

main()
