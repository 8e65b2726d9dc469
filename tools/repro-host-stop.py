#!/usr/bin/env python3
"""Reproduces the host stop under QEMU TCG (docs/smp.md, Known problems):
QEMU 7.2 runs each FLDENV, FRSTOR, FXRSTOR and XRSTOR through
cpu_clear_ignne(), an unlocked read-modify-write of the *first* CPU's
hflags2 from whichever vCPU thread executes it; with -smp 2 and
multi-threaded TCG it races CPU 0's own updates of hflags2 at VMRUN and
#VMEXIT, and a lost update leaves CPU 0's host running with nested paging
on: a triple fault at the first instruction after VMRUN.

Each run boots Zazen in QEMU (-smp 2) with two domains: `spin` on CPU 0
(spinforever.bin: a port read of the PM timer, an exit, every few
microseconds) and `storm` on CPU 1 (fpstorm.bin: FLDENV in a loop). It
prints how long the machine ran before it stopped, and whether CPU 0 was
at the first instruction after VMRUN with CR2 in its IDT (the stop's
signature, tests/harness/qemu.py `ignne_race`, by which `make test` also
knows it). Each stopped run's console log, with QEMU's dump, goes to
build/repro/stop-N.log. Run from the top of the tree after `make all` and
`make build/guests/fpstorm.bin build/guests/spinforever.bin`:

    python3 tools/repro-host-stop.py [RUNS [SECONDS]]

(2026-12-05, 2 host cores: the machine stopped after 7 to 60 s of such a
run.) Without `storm`, Zazen itself issues no x87 restore for guests that
never touch the FPU (vmm/guest_state.c), which were its part in the stop."""
import os
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests"))
from harness import qemu  # noqa: E402

GUESTS = os.path.join(qemu.BUILD, "guests")
CFG = """\
[domain spin]
memory = 4M
firmware = spinforever.bin
cpus = 0

[domain storm]
memory = 4M
firmware = fpstorm.bin
cpus = 1
"""


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 120
    out = os.path.join(qemu.BUILD, "repro")
    os.makedirs(out, exist_ok=True)
    files = [os.path.join(GUESTS, g + ".bin") for g in ("spinforever", "fpstorm")]
    stops = 0
    for i in range(runs):
        started = time.time()
        text, status = qemu.run(CFG, files, timeout=seconds, smp=2, memory="256M")
        took = time.time() - started
        if status is None:
            print("run %d: still running after %d s" % (i, seconds), flush=True)
            continue
        stops += 1
        log = os.path.join(out, "stop-%d.log" % i)
        with open(log, "w") as f:
            f.write(text)
        print("run %d: the machine stopped after %.0f s (the race's signature: %s); %s" % (
            i, took, qemu.ignne_race(text), log), flush=True)
    print("%d of %d runs stopped" % (stops, runs))


if __name__ == "__main__":
    main()
