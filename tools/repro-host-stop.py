#!/usr/bin/env python3
"""Runs the qemu-svm/mgmt scenario N times (default 10) to catch the
intermittent host stop (docs/smp.md, Known problems): the machine resets
under load while a Linux guest loads its disk driver. The test harness
(tests/harness/qemu.py, StopWatch) pauses a machine that stops and, when
Zazen did not power it off, appends every CPU's registers, the code at
RIP, its paging (info mem) and its first IDT gates to the console log.
Each run's log goes to build/repro/out-N.log; a failed run's name is
printed with the first failed checks. Run from the top of the tree after
`make test`'s images exist, ideally beside other load (the stop has come
at host load 4 to 6): python3 tools/repro-host-stop.py 20"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tests import mgmt_scenarios  # noqa: E402

OUT = os.path.join("build", "repro")
os.makedirs(OUT, exist_ok=True)
os.makedirs(os.path.join("build", "test-logs"), exist_ok=True)

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
for i in range(n):
    t = time.time()
    sc = mgmt_scenarios.mgmt_scenario()
    output, status = sc.run()
    bad = [(nm, d) for nm, ok_, d in sc.check(output, status) if not ok_]
    with open(os.path.join(OUT, "out-%d.log" % i), "w") as f:
        f.write(output)
    stopped = "the machine stopped" in output
    print("run", i, "FAIL" if bad else "ok", int(time.time() - t), "s", "(host stop: dump in the log)" if stopped else "",
          bad[:2], flush=True)
