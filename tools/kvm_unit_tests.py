#!/usr/bin/env python3
"""kvm-unit-tests (x86) as Zazen guests, against the same tests bare.

    tools/kvm-unit-tests.sh KUT_DIR [--platforms bare,zazen-tcg,zazen-bochs] [TEST...]

KUT_DIR is a kvm-unit-tests tree fetched and built for x86_64 elsewhere
(./configure --arch=x86_64 && make; never committed here). Each test of
KUT_DIR/x86/unittests.cfg (or only the TESTs named) runs:
  bare         its .flat (a Multiboot kernel) by QEMU TCG's -kernel, with the
               CPU model Zazen's QEMU platform has (qemu64,+svm,+npt,+vgif)
               and isa-debug-exit, as kvm-unit-tests' own x86/run does;
  zazen-tcg    as the `kernel` of a Zazen domain (docs/config.md: Multiboot
               v1), Zazen booted by GRUB from a CD (tools/mkiso.sh, SeaBIOS)
               in QEMU TCG with that CPU model (AMD-V);
  zazen-bochs  the same CD in Bochs 2.7 corei7_haswell_4770 (VT-x).
A test that wants several CPUs (`smp = N`) gets them: QEMU's -smp N bare;
a domain with `vcpus = N` under Zazen (on QEMU -smp 2, on Bochs one host
CPU), and NR_CPUS=N in its environment. Of a qemu64 `-cpu` in its
qemu_params, the x2apic and tsc-deadline flags are kept (bare: on the CPU
model; Zazen: x2apic as the domain's `x2apic`; its TSC-deadline timer is
always offered); other CPU models (max, host, named ones) and QEMU's
devices (-device, -machine, -global) are skipped on every platform, with
the reason, as are other architectures and more than 16 CPUs. A run's result is read from the test's own report
on the serial line. Every run gets an environment (the Multiboot module,
as kvm-unit-tests' own runner passes it) with TEST_DEVICE=0, so that the
test ends by printing "--- DONE: STATUS ---" rather than through QEMU's
isa-debug-exit, which Zazen does not have: FAIL if any "FAIL:" line, a
status other than 0 and 38 (77 >> 1, lib/report.c: everything skipped),
or no DONE line (a hang, a crash, the domain ended); SKIP for 38; else
PASS. Prints one row per test and, with --markdown, the table for
docs/kvm-unit-tests.md.
"""
import argparse
import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.harness import bochs, qemu  # noqa: E402

CPU = qemu.SVM_CPU
PLATFORMS = ("bare", "zazen-tcg", "zazen-bochs")
DEVICE_PARAMS = ("-device", "-machine", "-global", "-object", "-chardev", "-M ")
KEPT_FLAGS = ("x2apic", "tsc-deadline")


def tests_of(kut):
    cfg = configparser.ConfigParser(strict=False, interpolation=None)
    cfg.read(os.path.join(kut, "x86", "unittests.cfg"))
    for name in cfg.sections():
        s = cfg[name]
        params = s.get("qemu_params", s.get("extra_params", ""))
        args = s.get("test_args", "").strip("'\"")
        m = re.search(r"-append\s+(['\"])(.*?)\1", params)
        if m:
            args = (args + " " + m.group(2)).strip()
        yield name, {"file": s.get("file", ""), "smp": s.get("smp", "1"), "arch": s.get("arch", ""),
                     "params": params, "args": args}


def cpus(t):
    return int(t["smp"].strip())


def cpu_flags(t):
    """The qemu64 -cpu flags of a test that this runner keeps: {flag: on}."""
    m = re.search(r"-cpu\s+(\S+)", t["params"])
    if not m:
        return {}
    return {f[1:]: f[0] == "+" for f in m.group(1).split(",")[1:] if f[1:] in KEPT_FLAGS and f[0] in "+-"}


def test_args(t):
    """The test's arguments as the suite's runner gives them: its shell
    expands `date +%s` (kvmclock_test's wall-clock check compares with it)."""
    return t["args"].replace("`date +%s`", str(int(time.time())))


def why_skipped(kut, t):
    if t["arch"] and t["arch"] != "x86_64":
        return "arch " + t["arch"]
    if not re.fullmatch(r"\d+", t["smp"].strip()) or not 1 <= cpus(t) <= 16:
        return "wants %s CPUs" % t["smp"].strip()
    m = re.search(r"-cpu\s+(\S+)", t["params"])
    if m and cpus(t) > 1 and m.group(1).split(",")[0] != "qemu64":
        return "wants -cpu %s" % m.group(1)
    if any(p in t["params"] for p in DEVICE_PARAMS):
        return "wants QEMU devices (%s)" % t["params"].strip()
    if not os.path.exists(os.path.join(kut, "x86", t["file"])):
        return "not built"
    return None


def run_until(cmd, timeout, stop=None, cwd=None):
    """Runs cmd; returns its output once it exits, `stop` shows, or timeout."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd)
    chunks, done = [], threading.Event()

    def reader():
        for chunk in iter(lambda: proc.stdout.read1(4096), b""):
            chunks.append(chunk)
            if stop and re.search(stop, b"".join(chunks[-8:])):
                done.set()
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    done.wait(timeout)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    return b"".join(chunks).decode("latin-1")


DONE = rb"--- DONE: -?\d+ ---"
ENVIRON = "TEST_DEVICE=0\nNR_CPUS=%d\nMEMSIZE=256\n"


def verdict(output):
    """The test's own report: (PASS|FAIL|SKIP, detail)."""
    text = qemu.clean(output)
    fails = re.findall(r"^(?:\(kut\) )?FAIL: (.*)$", text, re.M)
    summary = re.search(r"SUMMARY: ([^\n]*)", text)
    done = re.search(r"--- DONE: (-?\d+) ---", text)
    detail = summary.group(1)[:80] if summary else ""
    if fails:
        return "FAIL", "%d failed, first: %s" % (len(fails), fails[0][:80])
    if not done and summary:  # the run was stopped as DONE began: the summary says it
        skipped = re.search(r"(\d+) tests.*?(\d+) skipped", summary.group(1))
        if skipped and skipped.group(1) == skipped.group(2):
            return "SKIP", detail
        return "PASS", detail
    if not done:
        ended = re.search(r"zazen: domain \S+ \(id \d+\) ended: ([^\n]*)", text)
        return "FAIL", "no DONE line" + (" (domain ended: %s)" % ended.group(1)[:80] if ended else " (hung or crashed)")
    if done.group(1) == "38":
        return "SKIP", detail or "status 77"
    if done.group(1) != "0":
        return "FAIL", "status %s %s" % (done.group(1), detail)
    return "PASS", detail


def environ_file(work, t):
    path = os.path.join(work, "kut.env")
    with open(path, "w") as f:
        f.write(ENVIRON % cpus(t))
    return path


def bare_cpu(t):
    return CPU + "".join(",%s%s" % ("+" if on else "-", flag) for flag, on in cpu_flags(t).items())


def run_bare(kut, t):
    work = tempfile.mkdtemp(prefix="zazen-kut-")
    try:
        cmd = ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-cpu", bare_cpu(t), "-m", "256M", "-nodefaults",
               "-smp", str(cpus(t)),
               "-display", "none", "-serial", "stdio", "-no-reboot",
               "-kernel", os.path.join(kut, "x86", t["file"]), "-initrd", environ_file(work, t)]
        if t["args"]:
            cmd += ["-append", test_args(t)]
        return run_until(cmd, 300, stop=DONE)  # sieve takes 150 s bare on a busy two-core machine
    finally:
        shutil.rmtree(work, ignore_errors=True)


# What a test looks for that a Zazen domain has only when asked: KVM's
# paravirtual clock (kvmclock_test reads MSR 4B564D01h) with paravirt = kvm
# (docs/paravirt.md). Bare TCG has no kvmclock: the test skips there.
ZAZEN_EXTRA = {"kvmclock": "paravirt = kvm\n"}


def zazen_config(t):
    extra = "vcpus = %d\n" % cpus(t) if cpus(t) > 1 else ""
    extra += ZAZEN_EXTRA.get(os.path.splitext(t["file"])[0].replace("_test", ""), "")
    if "x2apic" in cpu_flags(t):
        extra += "x2apic = %s\n" % ("yes" if cpu_flags(t)["x2apic"] else "no")
    return "[domain kut]\nmemory = 256M\nkernel = %s\nramdisk = kut.env\n%s%s" % (
        t["file"], extra, "cmdline = %s\n" % test_args(t) if t["args"] else "")


def make_cd(kut, t, work):
    config = os.path.join(work, "zazen.cfg.in")
    with open(config, "w") as f:
        f.write(zazen_config(t))
    iso = os.path.join(work, "zazen.iso")
    subprocess.run([os.path.join(ROOT, "tools", "mkiso.sh"), config, iso, os.path.join(kut, "x86", t["file"]),
                    environ_file(work, t)], check=True)
    return iso


def run_zazen_tcg(kut, t):
    work = tempfile.mkdtemp(prefix="zazen-kut-")
    try:
        iso = make_cd(kut, t, work)
        cmd = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", CPU, "-m", "512M", "-display", "none",
               "-no-reboot", "-net", "none", "-serial", "stdio", "-cdrom", iso]
        if cpus(t) > 1:
            cmd[cmd.index("-accel") + 1] = "tcg,thread=multi"
            cmd += ["-smp", "2"]
        return run_until(cmd, int(os.environ.get("KUT_TCG_TIMEOUT", "240")), stop=DONE)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_zazen_bochs(kut, t):
    path = os.path.join(kut, "x86", t["file"])
    output, _ = bochs.run(zazen_config(t), [path], bochs.MODELS["bochs-vmx"], timeout=int(os.environ.get("KUT_BOCHS_TIMEOUT", "400")), megs=512,
                          extra={"kut.env": (ENVIRON % cpus(t)).encode()}, stop_on="--- DONE: ")
    return output


RUNNERS = {"bare": run_bare, "zazen-tcg": run_zazen_tcg, "zazen-bochs": run_zazen_bochs}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kut", help="a built kvm-unit-tests tree")
    p.add_argument("tests", nargs="*", help="test names of x86/unittests.cfg (default: all)")
    p.add_argument("--platforms", default=",".join(PLATFORMS))
    p.add_argument("--markdown", action="store_true", help="also print the docs/kvm-unit-tests.md table")
    p.add_argument("--logs", default=os.path.join(ROOT, "build", "kvm-unit-tests"), help="each run's output")
    p.add_argument("--reread", action="store_true", help="judge the logs of earlier runs instead of running")
    a = p.parse_intermixed_args()
    platforms = a.platforms.split(",")
    os.makedirs(a.logs, exist_ok=True)
    rows = []
    for name, t in tests_of(a.kut):
        if a.tests and name not in a.tests:
            continue
        skip = why_skipped(a.kut, t)
        row = [name]
        for plat in platforms:
            if skip:
                row.append(("SKIP", skip))
                continue
            log = os.path.join(a.logs, "%s.%s.log" % (name, plat))
            if a.reread:
                if not os.path.exists(log):
                    row.append(("-", "not run"))
                    continue
                with open(log, encoding="latin-1", newline="") as f:  # keep the console's \r: clean() needs it
                    output = f.read()
            else:
                output = RUNNERS[plat](a.kut, t)
                with open(log, "w", encoding="latin-1", newline="") as f:
                    f.write(output)
            row.append(verdict(output))
        print("%-24s %s" % (name, "  ".join("%s %-5s" % (plat, r[0]) for plat, r in zip(platforms, row[1:]))),
              flush=True)
        for plat, r in zip(platforms, row[1:]):
            if r[0] != "PASS":
                print("    %s: %s" % (plat, r[1]), flush=True)
        rows.append(row)
    counts = {plat: {} for plat in platforms}
    for row in rows:
        for plat, r in zip(platforms, row[1:]):
            counts[plat][r[0]] = counts[plat].get(r[0], 0) + 1
    for plat in platforms:
        print("%-12s %s" % (plat, ", ".join("%s %d" % kv for kv in sorted(counts[plat].items()))))
    if a.markdown:
        print("\n| test | " + " | ".join(platforms) + " |")
        print("|---" * (len(platforms) + 1) + "|")
        for row in rows:
            print("| %s | %s |" % (row[0], " | ".join(
                r[0] if r[0] == "PASS" else "%s: %s" % (r[0], r[1].replace("|", "/")) for r in row[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
