"""The scheduler's scenarios (issue: one vCPU scheduler on every host CPU):
several domains at once on two host CPUs, shares by weight and cap,
pinning, preemption of guests that never give the CPU back, idle cost,
and configuration errors.

Guest progress is measured by tests/guests/spin.asm: units of work per
window of the PM timer, which runs on real time. Proportions are asserted
within ranges. Bochs (clock: sync=none) is deterministic: each of its CPUs
runs at the same emulated speed, so a domain on CPU 1 can be compared
with one on CPU 0. Under QEMU TCG with thread=multi each CPU is a host
thread whose speed follows the host's load, so there only domains on the
same CPU are compared with each other.
"""
import os
import re
import statistics

from tests.scenarios import LINUX, Scenario, guest

SMP_PLATFORMS = ("qemu-svm", "bochs-vmx", "bochs-svm")
WINDOW = re.compile(r"\((\S+)\) spin: window (\d+): (\d+) units")
VCPU = re.compile(r"zazen: domain (\S+) \(id \d+\) vcpu (\d+): ran (\d+\.\d+) s waited (\d+\.\d+) s "
                  r"blocked (\d+\.\d+) s \((\d+) times\), (\d+) migrations, on CPUs ([0-9,]+|none)(;.*)?")


def windows_by_number(lines, name, first=2, last=10):
    """A spin domain's units per window, {window: units}, windows
    first..last: the ones where every domain of the run is still spinning."""
    got = {}
    for line in lines:
        m = WINDOW.fullmatch(line)
        if m and m.group(1) == name and first <= int(m.group(2)) <= last:
            got[int(m.group(2))] = int(m.group(3))
    return got


def windows(lines, name, first=2, last=10):
    got = windows_by_number(lines, name, first, last)
    return [got[k] for k in sorted(got)]


def vcpu_stats(lines, name):
    for line in lines:
        m = VCPU.fullmatch(line)
        if m and m.group(1) == name:
            return {"ran": float(m.group(3)), "waited": float(m.group(4)), "blocked": float(m.group(5)),
                    "blocks": int(m.group(6)), "migrations": int(m.group(7)), "cpus": m.group(8)}
    return None


X87_LOADS = re.compile(r"x87 state loads (\d+)")


def x87_loaded_once(names):
    """Guests that never touch the FPU get their x87/SSE image loaded
    once, at their first entry, however often their CPU switches between
    them: the registers already hold the same pristine image (vmm/
    guest_state.c; under QEMU every restore on CPU 1 risked the host stop,
    docs/smp.md, Known problems)."""
    def check(lines):
        got = {}
        for line in lines:
            m = VCPU.fullmatch(line)
            if m and m.group(1) in names:
                loads = X87_LOADS.search(m.group(9) or "")
                got[m.group(1)] = int(loads.group(1)) if loads else None
        return all(got.get(n) == 1 for n in names), "x87 state loads per vCPU: %r" % got
    return ("FPU-less guests load their x87 state once, whatever the switches", check)


def ratio_check(a, b, low, high, what):
    """sum(a's units) / sum(b's units) within [low, high], over the windows
    both report."""
    def check(lines):
        ua, ub = windows(lines, a), windows(lines, b)
        if len(ua) < 5 or len(ub) < 5 or not sum(ub):
            return False, "too few windows: %s %r, %s %r" % (a, ua, b, ub)
        r = sum(ua) / sum(ub)
        return low <= r <= high, "%s: %s/%s = %.3f (want %.2f-%.2f); %s %r, %s %r" % (
            what, a, b, r, low, high, a, ua, b, ub)
    return what, check


def median_ratio_check(a, b, low, high, what):
    """The median over the windows both report of a's units / b's: under
    QEMU TCG on a loaded host a window in which the host stopped one
    guest's thread (light made 1 unit in one window, beside its 243-686 in
    the others, at a load of 5 on 2 CPUs: heavy/light summed 2.60, the
    median of the windows' ratios 2.22) says nothing of the scheduler,
    whose own accounting ran_ratio_check holds to 10%. The median ignores
    such a window; equal weights still give a median near 1."""
    def check(lines):
        ua, ub = windows_by_number(lines, a), windows_by_number(lines, b)
        both = sorted(k for k in ua if k in ub and ub[k])
        if len(both) < 5:
            return False, "too few windows: %s %r, %s %r" % (a, ua, b, ub)
        r = statistics.median(ua[k] / ub[k] for k in both)
        return low <= r <= high, "%s: median of %s/%s over %d windows = %.3f (want %.2f-%.2f); %s %r, %s %r" % (
            what, a, b, len(both), r, low, high, a, [ua[k] for k in both], b, [ub[k] for k in both])
    return what, check


def share_check(a, b, low, high, what):
    """a's share of the CPU it shares with b: a / (a + b)."""
    def check(lines):
        ua, ub = windows(lines, a), windows(lines, b)
        if len(ua) < 5 or len(ub) < 5:
            return False, "too few windows: %s %r, %s %r" % (a, ua, b, ub)
        share = sum(ua) / (sum(ua) + sum(ub))
        return low <= share <= high, "%s: %s/(%s+%s) = %.3f (want %.2f-%.2f)" % (what, a, a, b, share, low, high)
    return what, check


def ran_ratio_check(a, b, low, high, what):
    """The scheduler's own accounting: a's CPU time over b's."""
    def check(lines):
        sa, sb = vcpu_stats(lines, a), vcpu_stats(lines, b)
        if not sa or not sb or not sb["ran"]:
            return False, "no vcpu lines for %s and %s" % (a, b)
        r = sa["ran"] / sb["ran"]
        return low <= r <= high, "%s: %s ran %.3f s, %s %.3f s: %.3f (want %.2f-%.2f)" % (
            what, a, sa["ran"], b, sb["ran"], r, low, high)
    return what, check


def pinned_check(name, cpus):
    def check(lines):
        st = vcpu_stats(lines, name)
        if not st:
            return False, "no vcpu line for %s" % name
        return st["cpus"] == cpus and st["migrations"] == 0, "%s ran on CPUs %s with %d migrations" % (
            name, st["cpus"], st["migrations"])
    return "%s ran only on CPU %s" % (name, cpus), check


def spin_domain(name, extra=""):
    return "[domain %s]\nmemory = 4M\nfirmware = spin.bin\n%s\n" % (name, extra)


WEIGHTS_CFG = (spin_domain("heavy", "weight = 512\ncpus = 0") + spin_domain("light", "weight = 256\ncpus = 0")
               + spin_domain("filler", "cpus = 1"))
CAP_CFG = (spin_domain("twin", "cpus = 0") + spin_domain("capped", "cap = 25\ncpus = 1")
           + spin_domain("filler", "cpus = 1"))


def weights_scenario(platform):
    """weight = 512 beside weight = 256 on one CPU: 2:1 within 10%, in the
    guests' own progress on Bochs. Under QEMU TCG a vCPU switch costs the
    incoming guest TCG's translation caches and the host's load comes and
    goes, so there the guests' progress is held to 2:1 within 25% and the
    CPU time the scheduler gave each to within 10%."""
    if platform == "qemu-svm":
        progress = median_ratio_check("heavy", "light", 1.5, 2.5, "weight 512 makes about twice the progress of 256")
    else:
        progress = ratio_check("heavy", "light", 1.8, 2.2, "weight 512 gets twice what weight 256 gets")
    return Scenario(
        "sched-weights", WEIGHTS_CFG, platform=platform, cpus=2, files=[guest("spin")], memory="256M",
        lines=["zazen: 2 CPUs online", "(heavy) spin: done", "(light) spin: done", "(filler) spin: done",
               "zazen: all domains ended"],
        checks=[progress, ran_ratio_check("heavy", "light", 1.8, 2.2, "the scheduler gave weight 512 twice the time"),
                pinned_check("heavy", "0"), pinned_check("light", "0"), pinned_check("filler", "1")],
        absent=["ZAZEN PANIC", "[bochs]"],
    )


def cap_scenario(platform):
    """cap = 25: a quarter of a CPU. On Bochs, against an uncapped twin
    alone on the other CPU; under QEMU (CPUs of unequal speed), as its
    share of the CPU it shares with an uncapped neighbour. There the host
    may stop the emulated CPU's thread at any moment: a refill of the
    budget (every 10 ms) that falls in such a pause is lost to the capped
    domain (a budget is not banked, as in Xen's caps), so on a loaded host
    its share falls below a quarter (0.13 and 0.08 seen with two `make
    test` beside it): under QEMU the cap is held as a ceiling and as
    "it runs", Bochs checks the quarter itself."""
    if platform == "qemu-svm":
        check = share_check("capped", "filler", 0.04, 0.35, "cap 25 gets at most a quarter of its CPU, and runs")
    else:
        check = ratio_check("capped", "twin", 0.15, 0.35, "cap 25 gets a quarter of an uncapped twin's progress")
    return Scenario(
        "sched-cap", CAP_CFG, platform=platform, cpus=2, files=[guest("spin")], memory="256M",
        lines=["zazen: 2 CPUs online", "(capped) spin: done", "(twin) spin: done", "zazen: all domains ended"],
        checks=[check, pinned_check("capped", "1"), pinned_check("twin", "0"),
                x87_loaded_once(("capped", "filler", "twin"))],
        absent=["ZAZEN PANIC", "[bochs]"],
    )


def spins_during_linux(lines):
    """The spinners report windows between Linux's first line and its
    userspace marker: they ran while Linux booted."""
    try:
        start = lines.index("(linux) Booting from hard disk...")
        end = lines.index("(linux) ZAZEN-LINUX: userspace")
    except (StopIteration, ValueError):
        return False, "no Linux banner or no userspace marker"
    during = {n: sum(1 for l in lines[start:end] if l.startswith("(%s) spin: window" % n)) for n in ("spin1", "spin2")}
    return all(during.values()), "spin windows printed while Linux booted: %r" % during


def three_at_once_scenario(platform):
    """The Linux disk test beside two CPU-bound guests, on two CPUs. On
    Bochs, whose two CPUs each run at half its speed, the spinners share
    CPU 1 and Linux has CPU 0 (a boot takes minutes there); under QEMU the
    scheduler places all three."""
    pin = platform != "qemu-svm"
    cfg = ("[domain linux]\nmemory = 256M\ndisk0 = linux.img\n%s\n" % ("cpus = 0\n" if pin else "")
           + spin_domain("spin1", "cpus = 1" if pin else "").replace("spin.bin", "spinlong.bin")
           + spin_domain("spin2", "cpus = 1" if pin else "").replace("spin.bin", "spinlong.bin"))
    return Scenario(
        "sched-three-at-once", cfg, platform=platform, cpus=2, memory="512M",
        files=[os.path.join(LINUX, "linux.img"), guest("spinlong")],
        timeout=2400 if platform != "qemu-svm" else 400,
        lines=["zazen: 2 CPUs online", "(spin1) spin: done", "(spin2) spin: done"],
        in_order=["(linux) ZAZEN-LINUX: userspace", "(linux) ZAZEN-LINUX: done",
                  "zazen: domain linux (id 1) ended: powered off"],
        checks=[("the spinners made progress while Linux booted", spins_during_linux)],
        absent=["ZAZEN PANIC", "[bochs]", "ZAZEN-LINUX: FAILED", "Kernel panic"],
    )


def steady_progress(floor):
    """The spinner pinned beside a guest looping with interrupts off (and
    one that triple-faults) still gets about half the CPU in every window:
    each window at least `floor` of the best (Bochs: 0.3; QEMU TCG, whose
    vCPU thread shares the host with whatever else runs: 0.1, as 573
    against 2044 was seen at a load of 6 on 2 CPUs)."""
    def check(lines):
        units = windows(lines, "spin", 1, 8)
        full = max(units) if units else 0
        ok = len(units) == 8 and min(units) > 0 and min(units) >= full * floor
        return ok, "spin's windows 1-8 beside cliloop: %r (each at least %g of the best)" % (units, floor)
    return check


def misbehaving_scenario(platform):
    """A guest spinning with interrupts off and one that triple-faults,
    on the same CPU as a CPU-bound guest: it is preempted, the fault ends
    its domain alone, and the spinner's progress goes on."""
    cfg = (spin_domain("spin", "cpus = 0") + "[domain cliloop]\nmemory = 4M\nfirmware = cliloop.bin\ncpus = 0\n\n"
           "[domain triple]\nmemory = 16M\nfirmware = triple.bin\ncpus = 0\n")
    return Scenario(
        "sched-misbehaving", cfg, platform=platform, cpus=1, memory="256M",
        files=[guest("spin"), guest("cliloop"), guest("triple")],
        lines=["zazen: domain triple (id 3) ended: triple fault at f000:00001000", "(spin) spin: done",
               "(cliloop) cliloop: 3 s with interrupts off, done", "zazen: all domains ended"],
        checks=[("the spinner progressed in every window beside a cli; jmp $ loop",
                 steady_progress(0.1 if platform == "qemu-svm" else 0.3))],
        absent=["ZAZEN PANIC", "[bochs]"],
    )


def idle_cost(limit):
    def check(lines):
        st = vcpu_stats(lines, "idle")
        if not st:
            return False, "no vcpu line for idle"
        total = st["ran"] + st["waited"] + st["blocked"]
        share = st["ran"] / total if total else 1
        return share < limit and st["blocks"] >= 60, "idle ran %.3f s of %.3f s (%.2f%%), blocked %d times" % (
            st["ran"], total, share * 100, st["blocks"])
    return "a HLT-idle domain costs under %g%% of a CPU" % (limit * 100), check


def idle_scenario(platform):
    """An idle guest (18.2 Hz timer, HLT between ticks) beside a spinner on
    one CPU. Under 1% on Bochs, where time is instructions; TCG pays much
    more per exit and follows the host's load, so there the bound is 5%."""
    cfg = "[domain idle]\nmemory = 4M\nfirmware = idle.bin\n\n" + spin_domain("spin")
    return Scenario(
        "sched-idle", cfg, platform=platform, cpus=1, memory="256M", files=[guest("idle"), guest("spin")],
        lines=["(idle) idle: 72 ticks, done", "(spin) spin: done", "zazen: all domains ended"],
        checks=[idle_cost(0.01 if platform != "qemu-svm" else 0.05)],
        absent=["ZAZEN PANIC", "[bochs]"],
    )


def isolation_scenario(platform):
    """Two domains on one CPU, each checking its registers survive being
    preempted by the other: general, SSE, x87, DR0-DR3, CR2."""
    cfg = ("[domain markers-a]\nmemory = 4M\nfirmware = markers.bin\ncpus = 0\n\n"
           "[domain markers-b]\nmemory = 4M\nfirmware = markers2.bin\ncpus = 0\n")
    return Scenario(
        "sched-isolation", cfg, platform=platform, cpus=1, memory="256M",
        files=[guest("markers"), guest("markers2")],
        lines=["(markers-a) markers: 20 rounds, every register kept its marker",
               "(markers-b) markers: 20 rounds, every register kept its marker", "zazen: all domains ended"],
        checks=[("the two domains were switched on one CPU", lambda lines: (
            (vcpu_stats(lines, "markers-a") or {}).get("waited", 0) > 0.2,
            "markers-a waited %r s for the CPU" % (vcpu_stats(lines, "markers-a") or {}).get("waited")))],
        absent=["ZAZEN PANIC", "[bochs]", "lost its marker"],
    )


ALL = [isolation_scenario(p) for p in SMP_PLATFORMS] + [weights_scenario(p) for p in SMP_PLATFORMS] + [cap_scenario(p) for p in SMP_PLATFORMS] + [
    misbehaving_scenario(p) for p in ("qemu-svm", "bochs-vmx")] + [idle_scenario(p) for p in ("qemu-svm", "bochs-vmx")] + [
    three_at_once_scenario(p) for p in ("qemu-svm", "bochs-vmx")] + [
    Scenario(
        "error-cpus-missing", spin_domain("a", "cpus = 1-2"), platform="bochs-vmx", cpus=2, files=[guest("spin")],
        lines=["zazen: 2 CPUs online", "zazen: zazen.cfg:4: cpus = 1-2 names a CPU that is not online: CPUs 0-1 are"],
        absent=["zazen: domain a"],
    ),
    Scenario(
        "host-cpus-limit", "[host]\ncpus = 1\n\n" + spin_domain("a", "cpus = 0"), platform="qemu-svm", cpus=2,
        files=[guest("spin")], lines=["zazen: 1 CPU online", "(a) spin: done", "zazen: all domains ended"],
    ),
]
