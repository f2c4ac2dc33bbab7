"""interrupt.py GLOB N DELAY CMD... - run CMD (its stdout discarded),
wait until GLOB matches at least N paths (at most 60 s, or until CMD
ends), wait DELAY seconds more, send it one SIGINT, and print its exit
status and the seconds from the signal to its exit ("4 1.2"). Run from
Python so that SIGINT is not ignored, as it is for a background job of a
non-interactive shell. With INTERRUPT_PRELOAD=SO in the environment, CMD runs
with that shim preloaded (see tests/lib/throttle.c); with INTERRUPT_AGAIN=S,
a second SIGINT follows the first after S seconds."""
import glob
import os
import signal
import subprocess
import sys
import time


def main():
    pattern, n, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    cmd = sys.argv[4:]
    env = dict(os.environ)
    so = env.pop("INTERRUPT_PRELOAD", "")
    again = env.pop("INTERRUPT_AGAIN", "")
    if so:
        env["LD_PRELOAD"] = so
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                     "verify_asan_link_order=0"]))
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env)
    t = time.time()
    while len(glob.glob(pattern)) < n:
        if time.time() - t > 60 or p.poll() is not None:
            break
        time.sleep(0.05)
    time.sleep(delay)
    p.send_signal(signal.SIGINT)
    t = time.time()
    if again:
        try:
            p.wait(timeout=float(again))
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGINT)
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    print(rc, "%.1f" % (time.time() - t))


main()
