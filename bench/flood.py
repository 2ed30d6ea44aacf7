#!/usr/bin/env python3
"""S7: the control socket under a flood (issue 16). While a local user (nobody) holds thousands of idle
connections and clients send 100 000-variable requests, measure root's `supctl status` latency and the gaps between
a crash-looping job's respawns. Prints JSON lines, then a summary. Not a test: nothing is asserted."""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, time

FLOOD = r'''
use IO::Socket::UNIX; my ($path, $n) = @ARGV; my @held;
for (1 .. $n) { my $c = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path) or next; push @held, $c; }
$| = 1; print scalar(@held), "\n"; <STDIN>;
'''

def as_nobody(cmd):
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + cmd

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--supd", required=True)
    p.add_argument("--supctl", required=True)
    p.add_argument("--connections", type=int, default=20000)
    p.add_argument("--variables", type=int, default=100000)
    p.add_argument("--big-as", choices=["nobody", "root", "none"], default="nobody",
                   help="who sends the 100k-variable requests (nobody: refused by access control; root: reaches the loop)")
    p.add_argument("--seconds", type=float, default=20)
    a = p.parse_args()

    root = tempfile.mkdtemp(prefix="supd-flood-", dir="/tmp")
    os.chmod(root, 0o755)
    jobs, logs, state, sock = (os.path.join(root, d) for d in ("init", "log", "state", "supd.sock"))
    os.makedirs(jobs)
    with open(os.path.join(jobs, "crashy.conf"), "w") as f:
        f.write("respawn\nrespawn limit unlimited\nexec sh -c 'date +%s.%N; sleep 0.2; exit 1'\n")
    with open(os.path.join(root, "supd.json"), "w") as f:
        f.write('{ "SocketMode": "0666" }')
    supd = subprocess.Popen([a.supd, "--config", os.path.join(root, "supd.json"), "--job-dir", jobs, "--socket", sock,
                             "--log-dir", logs, "--state-dir", state], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = []
    try:
        ctl = lambda *args: subprocess.run([a.supctl, "--socket", sock, *args], capture_output=True, text=True)
        for _ in range(600):
            if ctl("list").returncode == 0: break
            time.sleep(0.1)
        ctl("start", "crashy")

        def status_latencies(seconds):
            out, end = [], time.monotonic() + seconds
            while time.monotonic() < end:
                t = time.monotonic(); r = ctl("status", "crashy"); out.append((time.monotonic() - t, r.returncode))
                time.sleep(0.2)
            return out

        def respawn_gaps(since, until):
            starts = []
            for name in os.listdir(logs):
                if name.startswith("crashy.log"):
                    for line in open(os.path.join(logs, name), errors="replace"):
                        if re.fullmatch(r"\d+\.\d+\n", line): starts.append(float(line))
            starts = sorted(s for s in starts if since <= s <= until)
            return [b - x for x, b in zip(starts, starts[1:])]

        def summary(name, lat, gaps):
            ms = sorted(d * 1000 for d, _ in lat)
            row = {"phase": name, "status_calls": len(lat), "status_failed": sum(1 for _, rc in lat if rc != 0),
                   "status_median_ms": round(statistics.median(ms), 1), "status_max_ms": round(ms[-1], 1),
                   "respawns": len(gaps) + 1 if gaps else 0,
                   "gap_median_ms": round(statistics.median(gaps) * 1000) if gaps else None,
                   "gap_max_ms": round(max(gaps) * 1000) if gaps else None,
                   "supd_rss_mb": round(int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{supd.pid}/status").read()).group(1)) / 1024, 1),
                   "supd_fds": len(os.listdir(f"/proc/{supd.pid}/fd"))}
            print(json.dumps(row), flush=True)
            return row

        t0 = time.time(); base = status_latencies(a.seconds / 2); base_row = summary("baseline", base, respawn_gaps(t0, time.time()))

        flood = subprocess.Popen(as_nobody(["sh", "-c", f'ulimit -n {a.connections + 64} 2>/dev/null || ulimit -n $(ulimit -Hn); exec perl -e "$0" "$@"', FLOOD, sock, str(a.connections)]),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(flood)
        held = flood.stdout.readline().strip()
        if a.big_as != "none":
            args = [a.supctl, "--socket", sock, "status", "crashy"] + [f"K{i}=v" for i in range(a.variables)]
            loop = ["sh", "-c", 'while :; do "$@" >/dev/null 2>&1; done', "big", *args]
            procs.append(subprocess.Popen(as_nobody(loop) if a.big_as == "nobody" else loop))
        t1 = time.time(); lat = status_latencies(a.seconds); row = summary("flood", lat, respawn_gaps(t1, time.time()))
        supd.terminate(); supd.wait(timeout=120)
        refused = re.findall(r"(\d+) control connections? refused", open(os.path.join(logs, "supd.log")).read())
        print(json.dumps({"flood_connections_opened_by_client": int(held or 0), "refused_logged": int(refused[-1]) if refused else 0,
                          "big_requests_from": a.big_as, "variables": a.variables}), flush=True)
        ok = row["status_max_ms"] < 1000 and row["status_failed"] == 0 and (row["respawns"] or 0) > 3
        print(f"S7 flood: root status max {row['status_max_ms']} ms (baseline {base_row['status_max_ms']} ms), "
              f"respawn gap median {row['gap_median_ms']} ms max {row['gap_max_ms']} ms; acceptance {'met' if ok else 'NOT met'}")
    finally:
        for proc in procs:
            try:
                if proc.stdin: proc.stdin.close()
            except OSError: pass
            proc.kill(); proc.wait()
        supd.terminate()
        try: supd.wait(timeout=60)
        except subprocess.TimeoutExpired: supd.kill(); supd.wait()
        shutil.rmtree(root, ignore_errors=True)

if __name__ == "__main__":
    main()
