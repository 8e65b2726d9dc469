#!/usr/bin/env python3
"""Zazen's test runner, behind `make test`.

Two kinds of tests:
  unit/...      host unit tests of the pure parts (tests/unit/test_*.c),
                compiled with the host compiler under ASan and UBSan;
  qemu-svm/...  Zazen booted by OVMF under QEMU TCG with AMD-V, each
                assertion a line a user would see on the console.
Prints one line per test and ends with "N passed, N failed"; exits
non-zero if anything failed.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests import scenarios  # noqa: E402

BUILD = os.path.join(ROOT, "build")


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = []
        self.by_platform = {}  # "unit", "qemu-svm", ... -> [passed, failed]

    def record(self, name, ok, detail=""):
        counts = self.by_platform.setdefault(name.split("/", 1)[0], [0, 0])
        counts[0 if ok else 1] += 1
        if ok:
            self.passed += 1
            print("PASS %s" % name)
        else:
            self.failed.append(name)
            print("FAIL %s%s" % (name, (": " + detail) if detail else ""))
        sys.stdout.flush()


UNIT_CFLAGS = ["-std=c11", "-g", "-O1", "-DZAZEN_HOST", "-Wall", "-Wextra", "-Werror",
               "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-I", ROOT]


def unit_sources(test_file):
    with open(test_file) as f:
        m = re.search(r"unit-sources:\s*(.*?)\s*\*/", f.read())
    return m.group(1).split() if m else []


def run_unit(results, selected):
    outdir = os.path.join(BUILD, "unit")
    os.makedirs(outdir, exist_ok=True)
    for test_file in sorted(glob.glob(os.path.join(ROOT, "tests", "unit", "test_*.c"))):
        name = os.path.splitext(os.path.basename(test_file))[0]
        if not selected("unit/" + name):
            continue
        exe = os.path.join(outdir, name)
        cmd = ["gcc"] + UNIT_CFLAGS + [os.path.join(ROOT, "tests", "unit", "unit_main.c"), test_file]
        cmd += [os.path.join(ROOT, s) for s in unit_sources(test_file)] + ["-o", exe]
        build = subprocess.run(cmd, capture_output=True, text=True)
        if build.returncode != 0:
            results.record("unit/%s (build)" % name, False, build.stderr.strip()[:2000])
            continue
        run = subprocess.run([exe], capture_output=True, text=True, timeout=120)
        seen = set()
        failures = {}
        failed_before = len(results.failed)
        for line in run.stdout.splitlines():
            if line.startswith("FAIL "):
                failures.setdefault("pending", []).append(line[5:])
            elif line.startswith("PASS ") or line.startswith("FAILED "):
                test = line.split(" ", 1)[1]
                seen.add(test)
                ok = line.startswith("PASS ")
                results.record("unit/%s/%s" % (name, test), ok, "; ".join(failures.pop("pending", [])))
        running = [l[4:] for l in run.stdout.splitlines() if l.startswith("RUN ")]
        for test in running:
            if test not in seen:  # crashed inside this test
                results.record("unit/%s/%s" % (name, test), False,
                               "crashed (status %d): %s" % (run.returncode, run.stderr.strip()[-1500:]))
        if run.returncode != 0 and len(results.failed) == failed_before:
            results.record("unit/%s (exit status %d)" % (name, run.returncode), False, run.stderr.strip()[-1500:])


def run_scenarios(results, selected):
    for sc in scenarios.ALL:
        if not selected(sc.name):
            continue
        start = time.time()
        try:
            output, status = sc.run()
        except Exception as e:  # a harness failure is a failed test, not a crash
            results.record(sc.name + ": run", False, "%s: %s" % (type(e).__name__, e))
            continue
        elapsed = time.time() - start
        print("# %s: %.1f s, end status %s" % (sc.name, elapsed, status))
        log_dir = os.path.join(BUILD, "test-logs")
        os.makedirs(log_dir, exist_ok=True)
        log = os.path.join(log_dir, sc.name.replace("/", "_") + ".log")
        with open(log, "w") as f:
            f.write(output)
        for name, ok, detail in sc.check(output, status):
            results.record("%s: %s" % (sc.name, name), ok, detail + ("" if ok else " (log: %s)" % log))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--only", action="append", default=[],
                   help="run tests whose name starts with this (repeatable)")
    args = p.parse_args()

    def selected(name):
        return not args.only or any(name.startswith(o) for o in args.only)

    results = Results()
    run_unit(results, selected)
    run_scenarios(results, selected)
    if results.failed:
        print("\nfailed:")
        for name in results.failed:
            print("  " + name)
    print()
    for platform, (passed, failed) in results.by_platform.items():
        print("  %-10s %d passed, %d failed" % (platform, passed, failed))
    print("%d passed, %d failed" % (results.passed, len(results.failed)))
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
