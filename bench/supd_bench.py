"""What the Python bench scripts share: a supd on dirs of its own under a temp root, supctl against it, and waiting
for a condition with a bound. Not a test."""
import os, re, subprocess, sys, time

def supd_dirs(root):
    d = {k: os.path.join(root, k) for k in ("init", "log", "state")}
    for p in d.values(): os.makedirs(p)
    d["sock"] = os.path.join(root, "s.sock")
    return d

def start(a, d):
    """supd on d's dirs, its output appended to supd.out beside the socket (a restart adds to it)."""
    out = open(os.path.join(os.path.dirname(d["sock"]), "supd.out"), "a")
    return subprocess.Popen([a.supd, "--job-dir", d["init"], "--socket", d["sock"], "--log-dir", d["log"], "--state-dir", d["state"]],
                            stdout=out, stderr=subprocess.STDOUT)

def ctl(a, d, *args):
    return subprocess.run([a.supctl, "--socket", d["sock"], *args], capture_output=True, text=True)

def wait_for(cond, what, limit=600, step=0.2, name="bench"):
    t = time.time()
    while not cond():
        if time.time() - t > limit: sys.exit(f"{name}: {what} did not happen")
        time.sleep(step)

# Numbered lines as fast as sh writes them, in bursts (about 4 MB/s here), in one log file however long the run.
FLOOD_JOB = ("start on startup\nlog rotate 1G 1\nscript\n  n=0\n  while true; do n=$((n + 1)); echo \"flood $n\";"
             " [ $((n % 2000)) -eq 0 ] && sleep 0.02; done\nend script\n")

def flood_numbers(log):
    """The numbers of the whole "flood N" lines of the flood's log, in the order written."""
    return [int(l[6:]) for l in open(log, errors="replace").read().split("\n") if re.fullmatch(r"flood \d+", l)]
