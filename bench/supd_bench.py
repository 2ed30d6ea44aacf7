"""What the Python bench scripts share: a supd on dirs of its own under a temp root, supctl against it, and waiting
for a condition with a bound. Not a test."""
import os, subprocess, sys, time

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
