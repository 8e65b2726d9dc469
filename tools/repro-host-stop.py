#!/usr/bin/env python3
"""Runs the qemu-svm/mgmt scenario N times (default 10) to catch the
intermittent host stop (the closing notes of 2026-12-04). QEMU runs with
-action reboot=shutdown,shutdown=pause and its monitor on a socket: when
the machine stops, the registers of every CPU and the first pages of
Zazen's page tables (at 1 MiB) are dumped to build/repro/dump-N.txt
before QEMU is told to quit; each run's console goes to
build/repro/out-N.log. Run from the top of the tree after `make test`'s
images exist: python3 tools/repro-host-stop.py 20"""
import sys, os, shutil, time, socket, threading
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tests.harness import qemu
from tests import mgmt_scenarios
OUT = os.path.join("build", "repro")
os.makedirs(OUT, exist_ok=True)
os.makedirs(os.path.join("build", "test-logs"), exist_ok=True)
MON = os.path.join(OUT, "mon.sock")
orig = qemu.qemu_command
def cmd(*a, **k):
    c = orig(*a, **k)
    c = [x for x in c if x != "-no-reboot"]
    return c + ["-action", "reboot=shutdown,shutdown=pause", "-monitor", "unix:%s,server=on,wait=off" % MON]
qemu.qemu_command = cmd

def hmp(s, line, wait=1.0):
    s.sendall((line + "\n").encode())
    time.sleep(wait)
    out = b""
    s.settimeout(0.5)
    try:
        while True:
            d = s.recv(65536)
            if not d: break
            out += d
    except socket.timeout:
        pass
    return out.decode("utf-8", "replace")

def watcher(stop, tag):
    s = None
    while not stop.is_set():
        time.sleep(2)
        try:
            if s is None:
                s = socket.socket(socket.AF_UNIX); s.connect(MON); hmp(s, "")
            st = hmp(s, "info status", 0.5)
        except OSError:
            s = None; continue
        if "paused" in st:
            dump = hmp(s, "info registers -a", 1)
            for addr in (0x100000, 0x101000, 0x102000):
                dump += "\n=== %x\n" % addr + hmp(s, "xp /512gx 0x%x" % addr, 2)
            open(os.path.join(OUT, "dump-%s.txt" % tag), "w").write(dump)
            hmp(s, "quit", 0.5)
            return

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
for i in range(n):
    t = time.time()
    sc = mgmt_scenarios.mgmt_scenario()
    stop = threading.Event()
    th = threading.Thread(target=watcher, args=(stop, str(i)), daemon=True); th.start()
    output, status = sc.run()
    stop.set()
    bad = [(nm, d) for nm, ok_, d in sc.check(output, status) if not ok_]
    open(os.path.join(OUT, "out-%d.log" % i), "w").write(output)
    print("run", i, "FAIL" if bad else "ok", int(time.time() - t), "s", bad[:2], flush=True)
    if not bad and os.path.exists(os.path.join(OUT, "dump-%d.txt" % i)):
        os.unlink(os.path.join(OUT, "dump-%d.txt" % i))
