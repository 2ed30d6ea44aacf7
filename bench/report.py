#!/usr/bin/env python3
"""Turns the scenarios' JSON lines (stdin) into the peers table and writes it into docs/BENCHMARKS.md between the
markers <!-- peers:begin --> and <!-- peers:end --> (the rest of the file is left as it is)."""
import json
import re
import sys

# result key -> (label, best peer, supervisord, goal, goal test)
ROWS = [
    ("status", "S1 `supctl status JOB` wall time", "0.6 ms (runit)", "114 ms", "≤ 8 ms", lambda v: v <= 8),
    ("start", "S2 `supctl start JOB` until the job's process runs", "2.6 ms", "106 ms", "≤ 10 ms", lambda v: v <= 10),
    ("respawn", "S3 SIGKILL the job until its replacement runs", "2.1 ms", "1012 ms", "≤ 2 ms", lambda v: v <= 2),
    ("up", "S4 1000 `sleep` jobs: all up", "1.7 s (Upstart 2.7 s)", "8.7 s", "≤ 1 s", lambda v: v <= 1),
    ("rss", "S4 supd RSS with them up", "94 MB (Upstart 14 MB)", "47 MB", "≤ 40 MB", lambda v: v <= 40),
    ("idle-cpu", "S4 supd CPU while idle 20 s", "0 ms", "95 ms", "≤ 5 ms", lambda v: v <= 5),
    ("capture", "S5 512 MiB of output captured, ratio to `cat > file`", "0.66 (supervisord)", "0.66", "≥ 0.9", lambda v: v >= 0.9),
    ("stop", "S6 stop a `sleep` job", "1.5 ms", "90 ms", "≤ 5 ms", lambda v: v <= 5),
    ("stop-stubborn", "S6 stop a job ignoring SIGTERM, kill timeout 1 s", "1.00 s", "1.09 s", "≤ 1.01 s", lambda v: v <= 1010),
]


def main():
    path, machine = sys.argv[1], sys.argv[2]
    results = [json.loads(line) for line in sys.stdin if line.startswith("{")]
    lines = [f"Measured {machine}. Medians (p90 in brackets) of `bench/run-all.sh`; peers' figures from the issue.", "",
             "| scenario | best peer | supervisord | goal | supd | goal met |", "|---|---|---|---|---|---|"]
    for key, label, peer, supervisord, goal, met in ROWS:
        found = next((r for r in results if r.get("key") == key), None)
        if found is None:
            lines.append(f"| {label} | {peer} | {supervisord} | {goal} | not measured | |")
            continue
        unit = found["unit"]
        value = f"{found['median']:g} {unit} ({found['p90']:g})" if unit != "ratio" else f"{found['median']:g} ({found['p90']:g})"
        lines.append(f"| {label} | {peer} | {supervisord} | {goal} | {value} | {'yes' if met(found['median']) else '**no**'} |")
    table = "\n".join(lines)
    try:
        text = open(path).read()
    except FileNotFoundError:
        text = "# Benchmarks\n"
    block = f"<!-- peers:begin -->\n{table}\n<!-- peers:end -->"
    if "<!-- peers:begin -->" in text:
        text = re.sub(r"<!-- peers:begin -->.*?<!-- peers:end -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Against the peers (issue 10)\n\n" + block + "\n"
    open(path, "w").write(text)
    print(table)


if __name__ == "__main__":
    main()
