#!/usr/bin/env python3
"""R2 (issue 20, crash survival). (a) With N jobs running (default 1000), supd is SIGKILLed (RUNS times, default 3)
and started again: the time from the new supd's start until it answers with every job adopted (same pids, status
"adopted after supd restart"). (b) The same with SIGUSR2 (what systemctl restart sends: supd leaves its jobs). (c) A
job flooding its log with numbered lines while supd is SIGKILLed and started again KILLS times (default 20): the
lines lost (a SIGKILL can cost the one chunk read and not yet written), doubled, or out of order. Uses the fd holder
(no systemd here). Prints JSON lines. Not a test."""
import argparse, json, os, re, shutil, signal, statistics, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import supd_bench
from supd_bench import supd_dirs, start, ctl

def running(a, d):
    out = ctl(a, d, "list").stdout
    return {m[0]: (m[1], bool(m[2])) for m in re.findall(r"^(\S+) start/running, process (\d+)( \(adopted after supd restart\))?", out, re.M)}

def wait_for(cond, what, limit=600):
    supd_bench.wait_for(cond, what, limit, step=0.05, name="r2")

def goals_record(d, pids):
    try: text = open(os.path.join(d["state"], "goals.json")).read()
    except OSError: return False
    return all(f'"mainPid": {p},' in text for p in pids)

def end(p, signum):
    p.send_signal(signum); p.wait(timeout=300)

def adoption(a, signum, scenario):
    root = tempfile.mkdtemp(prefix="supd-r2-"); d = supd_dirs(root)
    for i in range(a.jobs):
        open(os.path.join(d["init"], f"j{i}.conf"), "w").write("start on startup\nexec sleep 100000\n")
    p = start(a, d)
    try:
        wait_for(lambda: len(running(a, d)) == a.jobs, f"{a.jobs} jobs up")
        before = {k: v[0] for k, v in running(a, d).items()}
        times = []
        for _ in range(a.runs):
            wait_for(lambda: goals_record(d, before.values()), "goals.json to record every job")
            end(p, signum)
            t = time.time()
            p = start(a, d)
            wait_for(lambda: (lambda r: len(r) == a.jobs and all(adopted for _, adopted in r.values()))(running(a, d)),
                     "every job adopted")
            times.append((time.time() - t) * 1000)
            after = {k: v[0] for k, v in running(a, d).items()}
            if after != before: sys.exit("r2: a pid changed")
        print(json.dumps({"scenario": scenario, "jobs": a.jobs, "restarts": a.runs,
                          "until_all_adopted_ms_median": round(statistics.median(times)), "until_all_adopted_ms_max": round(max(times)),
                          "pids_unchanged": True, "load_before": open("/proc/loadavg").read().split()[0]}), flush=True)
    finally:
        p.terminate(); p.wait(timeout=300); shutil.rmtree(root, ignore_errors=True)

def flood(a):
    root = tempfile.mkdtemp(prefix="supd-r2-"); d = supd_dirs(root)
    open(os.path.join(d["init"], "flood.conf"), "w").write(supd_bench.FLOOD_JOB)
    p = start(a, d)
    log = os.path.join(d["log"], "flood.log")
    try:
        wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 0, "the flood")
        pid = running(a, d)["flood"][0]
        wait_for(lambda: goals_record(d, [pid]), "goals.json to record the flood")
        t = time.time()
        for _ in range(a.kills):
            time.sleep(0.5)
            end(p, signal.SIGKILL)
            p = start(a, d)
            wait_for(lambda: running(a, d).get("flood", (None, False))[1], "the flood adopted")
        took = time.time() - t
        same = running(a, d)["flood"][0] == pid
        ctl(a, d, "stop", "flood")
        numbers = supd_bench.flood_numbers(log)
        first, last = numbers[0], numbers[-1]
        gaps = [y - x - 1 for x, y in zip(numbers, numbers[1:]) if y > x + 1]
        print(json.dumps({"scenario": "R2c", "sigkills": a.kills, "seconds": round(took, 1), "lines": len(numbers),
                          "bytes": os.path.getsize(log), "lines_lost": (last - first + 1) - len(set(numbers)),
                          "gaps": len(gaps), "largest_gap_lines": max(gaps, default=0),
                          "lines_doubled": len(numbers) - len(set(numbers)),
                          "backwards": sum(1 for x, y in zip(numbers, numbers[1:]) if y <= x),
                          "job_pid_unchanged": same, "load_before": open("/proc/loadavg").read().split()[0]}), flush=True)
    finally:
        p.terminate(); p.wait(timeout=300); shutil.rmtree(root, ignore_errors=True)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--supd", required=True); ap.add_argument("--supctl", required=True)
    ap.add_argument("--jobs", type=int, default=1000); ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("part", nargs="*", default=["sigkill", "sigusr2", "flood"])
    a = ap.parse_args()
    if "sigkill" in a.part: adoption(a, signal.SIGKILL, "R2a")
    if "sigusr2" in a.part: adoption(a, signal.SIGUSR2, "R2b")
    if "flood" in a.part: flood(a)

main()
