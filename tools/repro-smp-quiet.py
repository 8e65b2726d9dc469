#!/usr/bin/env python3
"""Runs a stock-Linux SMP scenario (default qemu-svm/linux-smp2) N times
to catch the quiet spells of docs/smp.md (Known problems). Each run gets
`stats = 20` and `trace = 256` in its domain's config and COM2 for the
management protocol; while the guest prints nothing for QUIET seconds
(default 40), every 20 s it records the last console lines, `stats`, `vcpu-list`, `trace linux
64` and `debug-keys i` (with the dmesg lines that prints) to
build/repro/quiet-N.txt, with the wall time; the run is left to go on
(the scenario's timeout, raised to 1500 s), so a long wait and a stall
can be told apart. The console goes to build/repro/quiet-N.log (and,
while it runs, every 10 s to quiet-N.live).

    python3 tools/repro-smp-quiet.py [N] [--name kernel-linux-x2apic-declined] [--quiet 40]

Run from the top of the tree after the Linux images exist."""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tests import scenarios, pvh_scenarios  # noqa: E402
from tests.mgmt_scenarios import load_tool  # noqa: E402

OUT = os.path.join("build", "repro")


def find(name):
    for sc in scenarios.ALL + pvh_scenarios.ALL:
        if sc.name == name or sc.name == "qemu-svm/" + name:
            return sc
    sys.exit("no scenario %s" % name)


def snapshot(conn, domain, started):
    out = ["=== %.1f s" % (time.time() - started)]
    for words in (["stats", domain], ["vcpu-list"], ["trace", domain, "64"], ["debug-keys", "i"]):
        try:
            r = conn.request(words)
        except Exception as e:  # the snapshot goes on with what it has
            out.append("%s: %s" % (" ".join(words), e))
            continue
        if words[0] == "trace":
            out.append("trace:\n  " + "\n  ".join(r.get("exits", [])))
        else:
            out.append("%s: %s" % (" ".join(words), json.dumps(r)))
    try:
        log = conn.request(["dmesg"]).get("log", "")
        keys = log[log.rfind("debug-keys"):] if "debug-keys" in log else log[-3000:]
        out.append("dmesg tail:\n" + keys[-6000:])
    except Exception as e:
        out.append("dmesg: %s" % e)
    return "\n".join(out) + "\n"


def make_driver(path, domain, quiet):
    def driver(com2, console, lines):
        zt = load_tool()
        conn = zt.Connection("unix:" + com2, timeout=60)
        started = time.time()
        last_len, last_change, last_snap, last_live = 0, time.time(), 0, 0
        while True:
            text = console()
            if time.time() - last_live >= 10:  # the console so far, to follow a run as it goes
                last_live = time.time()
                with open(path[:-4] + ".live", "w") as f:
                    f.write(text)
            if "zazen: all domains ended" in text or not os.path.exists(com2):
                return  # over (QEMU removes its socket when it ends)
            n = text.count("(%s)" % domain)
            now = time.time()
            if n != last_len:
                last_len, last_change = n, now
            elif now - last_change >= quiet and now - last_snap >= 20:
                last_snap = now
                with open(path, "a") as f:
                    f.write("quiet for %.0f s after: %s\n" % (now - last_change,
                            [l for l in text.splitlines() if l.startswith("(%s)" % domain)][-1:]))
                    f.write("\n".join(text.splitlines()[-15:]) + "\n")
                    f.write(snapshot(conn, domain, started))
            time.sleep(2)
    return driver


def main():
    p = argparse.ArgumentParser()
    p.add_argument("runs", nargs="?", type=int, default=1)
    p.add_argument("--name", default="qemu-svm/linux-smp2")
    p.add_argument("--quiet", type=float, default=40)
    p.add_argument("--tag", default="")
    a = p.parse_args()
    os.makedirs(OUT, exist_ok=True)
    for i in range(a.runs):
        sc = find(a.name)
        domain = sc.config.split("[domain ", 1)[1].split("]", 1)[0]
        sc.config = sc.config.replace("[domain %s]\n" % domain, "[domain %s]\nstats = 20\ntrace = 256\n" % domain, 1)
        tag = "%s%d" % (a.tag, i)
        snap = os.path.join(OUT, "quiet-%s.txt" % tag)
        if os.path.exists(snap):
            os.unlink(snap)
        sc.driver = make_driver(snap, domain, a.quiet)
        sc.timeout = 1500
        sc.stop_on = "end Kernel panic"  # a panicked guest never powers off
        t = time.time()
        output, status = sc.run()
        open(os.path.join(OUT, "quiet-%s.log" % tag), "w").write(output)
        bad = [(nm, d[:200]) for nm, ok, d in sc.check(output, status) if not ok]
        print("run", tag, "FAIL" if bad else "ok", int(time.time() - t), "s", "snapshots" if os.path.exists(snap) else "",
              bad[:2], flush=True)


if __name__ == "__main__":
    main()
