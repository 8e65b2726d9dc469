#!/usr/bin/env python3
"""Zazen's test runner, behind `make test`.

Three kinds of tests:
  unit/...      host unit tests of the pure parts (tests/unit/test_*.c),
                compiled with the host compiler under ASan and UBSan;
  fuzz/...      each libFuzzer target of tests/fuzz/ (built by make, clang,
                ASan and UBSan) run briefly: FUZZ_TEST_SECONDS each
                (default 8), several at once; a crash, a sanitizer report
                or a failed check fails it;
  qemu-svm/...  Zazen booted by OVMF under QEMU TCG with AMD-V, each
                assertion a line a user would see on the console (and
                bochs-vmx/..., bochs-svm/... under Bochs).
--thirdparty runs the slow scenarios of third-party software instead
(scenarios.THIRDPARTY, make test-thirdparty).
Scenarios run several at a time (scenario_jobs: one per host CPU, at
most 4, or ZAZEN_TEST_JOBS), Bochs's first; each one's lines are printed
together when it ends.
Prints one line per test and ends with "N passed, N failed"; exits
non-zero if anything failed.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests import mgmt_scenarios, pvh_scenarios, scenarios, sched_scenarios, storage_scenarios  # noqa: E402

BUILD = os.path.join(ROOT, "build")


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = []
        self.by_platform = {}  # "unit", "qemu-svm", ... -> [passed, failed]
        self.reruns = []  # scenarios run again after QEMU's IGNNE race

    def record(self, name, ok, detail=""):
        counts = self.by_platform.setdefault(name.split("/", 1)[0], [0, 0])
        counts[0 if ok else 1] += 1
        if ok:
            self.passed += 1
            print("PASS %s" % name)
        else:
            self.failed.append((name, detail))
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


FUZZ_TEST_SECONDS = int(os.environ.get("FUZZ_TEST_SECONDS", "8"))


def make(*targets):
    return subprocess.run(["make", "-s", "-C", ROOT] + list(targets), capture_output=True, text=True)


def fuzz_failure(output):
    """The lines of a libFuzzer run that say what went wrong: the check or
    sanitizer report, our frames of the stack, the summary, the input."""
    keep = []
    for line in output.splitlines():
        if ("FUZZ CHECK FAILED" in line or "runtime error:" in line or "ERROR:" in line
                or line.startswith("SUMMARY:") or "Test unit written to" in line
                or (re.match(r"\s+#\d+ 0x.* in \S+ " + re.escape(ROOT) + r"/\S+\.c\b", line))):
            keep.append(line.strip().replace(ROOT + "/", ""))
    return " | ".join(keep[:12])[-1800:] or output.strip()[-1500:]


def fuzz_one(name, seconds):
    """Builds build/fuzz/NAME and runs it for `seconds` on its corpus.
    Returns (ok, detail, summary)."""
    built = make("build/fuzz/" + name)
    if built.returncode != 0:
        return False, "build failed: " + (built.stderr or built.stdout).strip()[-1500:], None
    corpus = os.path.join(BUILD, "fuzz", "corpus", name)
    artifacts = os.path.join(BUILD, "fuzz", "artifacts", name)
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    cmd = [os.path.join(BUILD, "fuzz", name), "-max_total_time=%d" % seconds, "-timeout=10",
           "-rss_limit_mb=2048", "-print_final_stats=1", "-artifact_prefix=" + artifacts + "/"]
    dictionary = os.path.join(ROOT, "tests", "fuzz", name + ".dict")
    if os.path.exists(dictionary):
        cmd.append("-dict=" + dictionary)
    start = time.time()
    try:
        env = dict(os.environ, UBSAN_OPTIONS=os.environ.get("UBSAN_OPTIONS", "print_stacktrace=1"))
        run = subprocess.run(cmd + [corpus], capture_output=True, text=True, errors="replace",
                             timeout=seconds + 120, env=env)
    except subprocess.TimeoutExpired:
        return False, "did not finish within %d s" % (seconds + 120), None
    output = run.stdout + run.stderr
    bad = run.returncode != 0 or "FUZZ CHECK FAILED" in output or "runtime error:" in output
    if bad:
        return False, "exit status %d: %s" % (run.returncode, fuzz_failure(output)), None
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", output)
    cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", output)
    summary = "%s runs in %.1f s" % (runs.group(1) if runs else "?", time.time() - start)
    if cov:
        summary += ", cov %s ft %s, corpus %s" % cov[-1]
    return True, "", summary


def run_fuzz(results, selected):
    names = [os.path.basename(f)[len("fuzz_"):-len(".c")]
             for f in sorted(glob.glob(os.path.join(ROOT, "tests", "fuzz", "fuzz_*.c")))]
    names = [n for n in names if selected("fuzz/" + n)]
    if not names:
        return
    deps = make("fuzz-deps")  # clang and libFuzzer (tools/need.sh fuzz), once
    if deps.returncode != 0:
        for n in names:
            results.record("fuzz/" + n, False, "no fuzzing toolchain: " + (deps.stderr or deps.stdout).strip()[-500:])
        return
    jobs = max(1, min(4, os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {n: pool.submit(fuzz_one, n, FUZZ_TEST_SECONDS) for n in names}
        for n in names:
            ok, detail, summary = futures[n].result()
            if summary:
                print("# fuzz/%s: %s" % (n, summary))
            results.record("fuzz/" + n, ok, detail)


def scenario_jobs():
    """How many scenarios run at once: ZAZEN_TEST_JOBS if set, else one per
    host CPU, at most 4. Each emulator is one busy host thread (two for
    QEMU with -smp 2), and the scenarios hold on a busy machine (they
    assert ranges, not wall-clock rates), so a 2-core machine runs two."""
    if os.environ.get("ZAZEN_TEST_JOBS"):
        return max(1, int(os.environ["ZAZEN_TEST_JOBS"]))
    return max(1, min(4, os.cpu_count() or 1))


def longest_first(chosen):
    """Bochs's scenarios first (minutes each; Linux on Bochs the longest),
    QEMU's after: the last ones to finish are short, so the workers end
    close together. The order within each keeps the lists'."""
    return sorted(chosen, key=lambda sc: 0 if sc.platform.startswith("bochs") else 1)


class ScenarioRun:
    """One scenario's run, done on a worker thread: what it prints and
    records, handed to the main thread whole (its lines stay together)."""

    def __init__(self, sc):
        self.sc = sc
        self.lines = []     # "# ..." lines, in order
        self.records = []   # (name, ok, detail)
        self.rerun = False


def run_scenario(sc):
    from tests.harness import qemu as qemu_harness
    run = ScenarioRun(sc)
    output = None
    for attempt in (1, 2, 3):
        start = time.time()
        try:
            output, status = sc.run()
        except Exception as e:  # a harness failure is a failed test, not a crash
            run.records.append((sc.name + ": run", False, "%s: %s" % (type(e).__name__, e)))
            return run
        run.lines.append("# %s: %.1f s, end status %s" % (sc.name, time.time() - start, status))
        # QEMU's own lost update (docs/smp.md, Known problems), which a
        # guest's x87 restore on CPU 1 can cause: recognised by its
        # signature, the scenario runs again (at most twice: linux-smp4
        # once met it in both of its first two runs) and says so; each
        # such run's console is kept beside the scenario's log (.runN).
        why = race_rerun_reason(sc, output, qemu_harness) if attempt < 3 else None
        if not why:
            break
        run.rerun = True
        kept = keep_log(sc.name, output, ".run%d" % attempt)
        run.lines.append("# %s: %s (docs/smp.md, Known problems): run again; this run's log: %s" %
                         (sc.name, why, kept))
    marks = qemu_harness.last_timeline()
    start = marks.get("zazen: Zazen 0.1 hypervisor")
    if start is not None and "ZAZEN-LINUX: userspace" in marks:
        run.lines.append("# %s: Zazen start to Linux userspace: %.1f s wall" %
                         (sc.name, marks["ZAZEN-LINUX: userspace"] - start))
    log = keep_log(sc.name, output)
    for name, ok, detail in sc.check(output, status):
        run.records.append(("%s: %s" % (sc.name, name), ok, detail + ("" if ok else " (log: %s)" % log)))
    return run


def run_scenarios(results, selected, which):
    chosen = longest_first([sc for sc in which if selected(sc.name)])
    with concurrent.futures.ThreadPoolExecutor(max_workers=scenario_jobs()) as pool:
        futures = [pool.submit(run_scenario, sc) for sc in chosen]
        for future in concurrent.futures.as_completed(futures):
            run = future.result()
            for line in run.lines:
                print(line)
            if run.rerun:
                results.reruns.append(run.sc.name)
            for name, ok, detail in run.records:
                results.record(name, ok, detail)


def race_rerun_reason(sc, output, qemu_harness):
    """Why a QEMU scenario's run is QEMU's cpu_clear_ignne race, not a
    result: the host stop's signature, or (with several host CPUs) a
    guest triple fault Zazen finds deliverable. None if neither."""
    if sc.platform != "qemu-svm" or output is None:
        return None
    if qemu_harness.ignne_race(output):
        return "stopped by QEMU's cpu_clear_ignne race (CPU 0 at the instruction after VMRUN, CR2 in its IDT)"
    if sc.cpus > 1 and qemu_harness.nested_paging_lost(output):
        return ("a guest triple fault with its #DF deliverable, as QEMU's cpu_clear_ignne race makes one "
                "(nested paging lost at VMRUN)")
    return None


def keep_log(name, output, suffix=""):
    """Writes a scenario's console to build/test-logs; returns the path."""
    log_dir = os.path.join(BUILD, "test-logs")
    os.makedirs(log_dir, exist_ok=True)
    log = os.path.join(log_dir, name.replace("/", "_") + suffix + ".log")
    with open(log, "w") as f:
        f.write(output)
    return log


def print_failed_log_tails(failed, lines=40, most=3):
    """The last lines of each failed scenario's console log, in the
    closing summary: a CI run keeps only the tail of what make test
    printed, and its logs go with its machine."""
    logs = []
    for _, detail in failed:
        m = re.search(r"\(log: ([^)]+)\)$", detail or "")
        if m and m.group(1) not in logs:
            logs.append(m.group(1))
    for log in logs[:most]:
        try:
            with open(log, errors="replace") as f:
                all_lines = f.read().splitlines()
        except OSError:
            continue
        tail = all_lines[-lines:]
        print("\nthe last %d lines of %s:" % (len(tail), log))
        for line in tail:
            print("  | " + line[:200])
        # QEMU's account of a machine that stopped without Zazen's
        # power-off (tests/harness/qemu.py StopWatch), wherever it is in
        # the log, its key lines after the tail: what a CI run keeps of
        # its output is the end.
        stop = [l for l in all_lines[:-lines] if l.startswith("qemu: ")]
        if stop:
            print("\nQEMU's account of the stop in %s (key lines):" % log)
            for line in key_stop_lines(stop):
                print("  | " + line[:200])


def key_stop_lines(stop, most=40):
    """Of QEMU's account: each CPU's RIP, CR0/CR2/CR3/CR4 and EFER lines,
    the first instruction at each RIP, the VMCB's exit fields, and the
    line that says whether QEMU logged a triple fault."""
    heads = ("CPU#", "RIP=", "EIP=", "CR0=", "EFER=", "the machine stopped")
    followed = (" at RIP:", "EXITCODE", "guest CR4", "guest RIP", "guest EFER")
    keep, in_resets = [], False
    for i, line in enumerate(stop):
        text = line[len("qemu: "):]
        if text.startswith("the machine stopped"):
            in_resets = False
        if text.startswith("CPU Reset"):  # the firmware's resets at boot: not the stop
            in_resets = True
        if in_resets:
            continue
        if text.startswith(heads):
            keep.append(line)
        elif any(f in text for f in followed):
            keep += stop[i:i + 2]
    return keep[:most]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--only", action="append", default=[],
                   help="run tests whose name starts with this, or is exactly it with a trailing $ (repeatable)")
    p.add_argument("--thirdparty", action="store_true",
                   help="run the slow third-party scenarios (scenarios.THIRDPARTY, make test-thirdparty) instead")
    args = p.parse_args()

    def selected(name):
        return not args.only or any(name == o[:-1] if o.endswith("$") else name.startswith(o) for o in args.only)

    results = Results()
    if args.thirdparty:
        run_scenarios(results, selected, scenarios.THIRDPARTY)
    else:
        run_unit(results, selected)
        run_fuzz(results, selected)
        run_scenarios(results, selected, scenarios.ALL + sched_scenarios.ALL + mgmt_scenarios.ALL + pvh_scenarios.ALL +
                      storage_scenarios.ALL)
    if results.failed:
        print("\nfailed (with why, shortened; the FAIL lines above have it all):")
        for name, detail in results.failed:
            print("  " + name + ((": " + " | ".join(detail.splitlines())[:240]) if detail else ""))
        print_failed_log_tails(results.failed)
    print()
    if results.reruns:
        print("  run again after QEMU's cpu_clear_ignne race (docs/smp.md, Known problems): %s" % ", ".join(results.reruns))
    for platform, (passed, failed) in results.by_platform.items():
        print("  %-10s %d passed, %d failed" % (platform, passed, failed))
    print("%d passed, %d failed" % (results.passed, len(results.failed)))
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
