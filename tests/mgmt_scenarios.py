"""Management scenarios: Zazen under QEMU with its COM2 as a unix socket,
driven through tools/zazen's protocol client while domains run, and the
shell typed at on the console. Each driver step reports a line
"MGMT <step>: <what it saw>" that the checks assert; the console shows
what the guests did.
"""
import importlib.machinery
import importlib.util
import json
import os
import re
import subprocess
import sys
import time

from tests.harness import qemu
from tests.scenarios import LINUX, Scenario, guest

TOOL = os.path.join(qemu.ROOT, "tools", "zazen")


def load_tool():
    loader = importlib.machinery.SourceFileLoader("zazen_tool", TOOL)
    spec = importlib.util.spec_from_loader("zazen_tool", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def wait_for(console, text, timeout, count=1):
    """Until text shows on the console count times."""
    end = time.time() + timeout
    while time.time() < end:
        if console().count(text) >= count:
            return True
        time.sleep(0.2)
    return False


def last_request(conn, console, words):
    """The request that ends the last domain: Zazen powers off before it
    could reply. The channel stays open until it has (QEMU may drop what
    a client sent just before it went away)."""
    conn.send(("1 %s\n" % " ".join(words)).encode())
    wait_for(console, "zazen: all domains ended", 60)


def domains(conn):
    return {d["name"]: d for d in conn.request(["list", "-l"])["domains"]}


def until_gone(conn, name, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if name not in domains(conn):
            return True
        time.sleep(0.1)
    return False


def free_kib(conn):
    return conn.request(["info"])["free_memory_kib"]


def vcpu_cpu(conn, name):
    for v in conn.request(["vcpu-list", name])["vcpus"]:
        return v["cpu"]
    return None


MGMT_CFG = """\
[domain linux]
memory = 256M
disk0 = linux-mgmt.img

[domain spin]
memory = 4M
firmware = spinforever.bin
trace = 16

[domain small]
memory = 32M
firmware = idleforever.bin
trace = 16
"""


def tool_steps(com2, out):
    """The tool itself, while the three domains run: a table, top with a
    record, and the plot of it (the README shows them)."""
    record = os.path.join(os.path.dirname(com2), "top.jsonl")
    png = os.path.join(qemu.BUILD, "test-logs", "mgmt-top.png")
    table = subprocess.run([sys.executable, TOOL, "--connect", "unix:" + com2, "list"], capture_output=True,
                           text=True, timeout=60)
    out += ["MGMT tool list: " + l for l in table.stdout.splitlines()]
    top = subprocess.run([sys.executable, TOOL, "--connect", "unix:" + com2, "top", "-n", "3", "-d", "1",
                          "--record", record], capture_output=True, text=True, timeout=60)
    out += ["MGMT tool top: " + l for l in top.stdout.splitlines()]
    os.makedirs(os.path.dirname(png), exist_ok=True)  # the first scenario of a run finds no test-logs yet
    plot = subprocess.run([sys.executable, TOOL, "plot", record, "--png", png], capture_output=True, text=True,
                          errors="replace", timeout=60)
    out.append("MGMT plot: %s %d bytes%s" % (plot.returncode == 0, os.path.getsize(png) if os.path.exists(png) else 0,
                                             "" if plot.returncode == 0 else " " + plot.stderr.strip()[-200:]))


LINUX_WAIT = 480  # seconds for Linux to reach its waiting line, each boot


def mgmt_driver(com2, console, out):
    """The proof of the management issue on three running domains. Each
    step's line goes to out at once: a step that fails leaves the ones
    before it to be checked."""
    zt = load_tool()
    tool_steps(com2, out)
    conn = zt.Connection("unix:" + com2, timeout=120)
    # list: all three, their memory and vCPUs (from the JSON the protocol sends)
    ds = domains(conn)
    out.append("MGMT list: " + ", ".join("%s %dM %d vCPU" % (n, d["mem_mib"], d["vcpus"]) for n, d in sorted(ds.items())))
    out.append("MGMT states: " + " ".join(d["state"] for n, d in sorted(ds.items())))
    # pause stops the spinner's progress; unpause resumes it
    r = conn.request(["pause", "spin"])
    out.append("MGMT pause: %s" % r["ok"])
    time.sleep(3)
    state = domains(conn)["spin"]["state"]
    r = conn.request(["unpause", "spin"])
    out.append("MGMT paused state %s, unpause: %s" % (state, r["ok"]))
    # destroy: free memory rises by the domain's size
    before = free_kib(conn)
    conn.request(["destroy", "small"])
    gone = until_gone(conn, "small")
    after = free_kib(conn)
    out.append("MGMT destroy small: gone %s, free memory rose %d KiB" % (gone, after - before))
    # vcpu-pin moves the spinner's vCPU, as vcpu-list shows
    seen = []
    for cpu in (1, 0):
        conn.request(["vcpu-pin", "spin", "0", str(cpu)])
        time.sleep(0.5)
        seen.append(vcpu_cpu(conn, "spin"))
    out.append("MGMT vcpu-pin to 1 then 0: vcpu-list shows CPU %s then %s" % tuple(seen))
    # trace: the spinner's last 8 exits while it runs (most of them PM
    # timer reads on the fast way, whose entries are written before the
    # handler and counted after it): 8 lines, numbered one after another
    r = conn.request(["trace", "spin", "8"])
    exits = r.get("exits", []) if r["ok"] else []
    numbers = [int(m.group(1)) for m in (re.match(r"exit (\d+) at rip [0-9a-f]{16}: ", e) for e in exits) if m]
    in_a_row = len(numbers) == 8 and all(b == a + 1 for a, b in zip(numbers, numbers[1:]))
    pm_reads = sum(e.endswith(": io in port b008 size 4") for e in exits)
    out.append("MGMT trace spin 8: %d exits, numbered in a row %s, PM timer reads %s" % (len(exits), in_a_row,
                                                                                         pm_reads > 0))
    # errors change nothing and say why
    # debug-keys i: every domain's interrupt controllers in Zazen's log
    r = conn.request(["debug-keys", "i"])
    out.append("MGMT debug-keys i: %s" % r["ok"])
    for req in (["lst"], ["pause", "nosuch"], ["sched-credit", "-d", "spin", "-w", "0"], ["vcpu-pin", "spin", "0", "7"],
                ["trace", "spin", "x"], ["debug-keys", "iq"]):
        r = conn.request(req)
        out.append("MGMT error for %s: %s" % (" ".join(req), r.get("error") if not r["ok"] else "NO ERROR"))
    # Linux: wait for its test, reboot it (Ctrl-Alt-Del), then shut it down (power button)
    # The waits are long for a loaded host (at load 11 on two cores the
    # first boot's test took more than 240 s); they end at the line.
    booted = wait_for(console, "ZAZEN-LINUX: waiting for the power button", LINUX_WAIT)
    out.append("MGMT linux waiting: %s" % booted)
    conn.request(["reboot", "linux"])
    back = wait_for(console, "ZAZEN-LINUX: waiting for the power button", LINUX_WAIT, count=2)
    out.append("MGMT reboot: back to userspace %s" % back)
    r = conn.request(["shutdown", "-w", "linux"])
    out.append("MGMT shutdown -w: %s" % (r.get("result") if r["ok"] else r.get("error")))
    if not r["ok"]:
        # Where the press went: Zazen's side (debug-keys i, in the log) and
        # Linux's (its init reports its ACPI counts every 30 s); then the
        # run ends instead of waiting for its timeout.
        conn.request(["debug-keys", "i"])
        wait_for(console, "ZAZEN-LINUX: still waiting after", 70)
        conn.request(["destroy", "linux"])
    conn.close()
    conn = zt.Connection("unix:" + com2, timeout=60)
    last_request(conn, console, ["destroy", "spin"])


def each_domain_ended_as_asked(lines):
    """spin and small end only by destroy, linux only by its power-off:
    any other end (a crash, a halt with interrupts off) is a bug, and the
    detail says which (their exits are in the log: trace = 16)."""
    want = {"linux": "powered off", "spin": "destroyed", "small": "destroyed"}
    ends = {}
    for l in lines:
        m = re.fullmatch(r"zazen: domain (\w+) \(id \d+\) ended: (.*)", l)
        if m:
            ends.setdefault(m.group(1), m.group(2))
    wrong = {n: ends.get(n) for n in want if ends.get(n) != want[n]}
    return not wrong, "ended otherwise: %r" % wrong


def paused_spin_made_no_progress(lines):
    """While paused the spinner ran not at all: after the unpause it owes
    the windows it missed, each with at most one unit; then it goes on."""
    try:
        at = lines.index("zazen: domain spin (id 2) paused")
        back = lines.index("zazen: domain spin (id 2) unpaused")
    except ValueError:
        return False, "no paused/unpaused lines"
    units = [int(m.group(1)) for m in map(re.compile(r"\(spin\) spin: window \d+: (\d+) units").fullmatch, lines[back:])
             if m]
    # units[0]: the window the pause cut short (its work before the pause)
    idle = 1
    while idle < len(units) and units[idle] <= 1:
        idle += 1
    ok = idle >= 6 and len(units) > idle + 1 and units[idle + 1] > 10
    return ok, "windows after the unpause: %r" % units[:idle + 3]


def mgmt_scenario():
    return Scenario(
        "mgmt", MGMT_CFG, cpus=2, memory="512M", timeout=300 + 2 * LINUX_WAIT,
        files=[os.path.join(LINUX, "linux-mgmt.img"), guest("spinforever"), guest("idleforever")],
        driver=mgmt_driver,
        lines=["zazen: management protocol 1 on COM2 (docs/management.md)",
               "MGMT list: linux 256M 1 vCPU, small 32M 1 vCPU, spin 4M 1 vCPU",
               "MGMT pause: True", "MGMT paused state --p---, unpause: True",
               "MGMT vcpu-pin to 1 then 0: vcpu-list shows CPU 1 then 0",
               "MGMT trace spin 8: 8 exits, numbered in a row True, PM timer reads True",
               "MGMT error for lst: unknown verb 'lst' (help lists them)",
               "MGMT error for pause nosuch: no domain 'nosuch' (list shows them)",
               "MGMT error for sched-credit -d spin -w 0: bad weight '0': a number from 1 to 65535",
               "MGMT error for vcpu-pin spin 0 7: bad CPUs '7': CPUs 0-1 are online (e.g. 0, 0-1, all)",
               "MGMT error for trace spin x: usage: trace NAME N",
               "MGMT error for debug-keys iq: unknown debug key 'q' (i: each domain's interrupt controllers, to dmesg)",
               "MGMT debug-keys i: True", "zazen: debug-keys i: domain spin (id 2)",
               "MGMT linux waiting: True", "MGMT reboot: back to userspace True",
               "(linux) ZAZEN-LINUX: Ctrl-Alt-Del: rebooting", "zazen: domain linux (id 1) reset by the guest",
               "(linux) ZAZEN-LINUX: ACPI power button: powering off",
               "zazen: domain linux (id 1) ended: powered off",
               "MGMT shutdown -w: shut down", "zazen: all domains ended"],
        # linux and small run or halt as they please; the spinner always runs
        patterns=[r"MGMT plot: True \d{4,} bytes", r"MGMT states: (r-----|-b----) (r-----|-b----) r-----",
                  r"MGMT destroy small: gone True, free memory rose 3(2[89]\d\d|3[01]\d\d) KiB",
                  r"MGMT tool list: linux +1 +256 +1 [rb-]{6} +[0-9.]+",
                  r"MGMT tool list: spin +2 +4 +1 r----- +[0-9.]+",
                  r"MGMT tool top: +spin +r----- +\d+ +\d+\.\d +4096 +1 +\d+ .*io \d+.*",
                  r"MGMT tool top: +small +[rb-]{6} +\d+ +\d+\.\d +32768 +1 +\d+.*",
                  r"zazen:   pm1: sts [0-9a-f]{4} en [0-9a-f]{4} cnt [0-9a-f]{4}, SCI \(GSI 9\) (asserted|low)",
                  r"zazen:   8259 master: irr [0-9a-f]{2} isr [0-9a-f]{2} imr [0-9a-f]{2} .*",
                  r"zazen:   lapic 0: id 00 svr [0-9a-f]{3} tpr [0-9a-f]{2} irr .* isr .* tmr .*"],
        checks=[("a paused domain makes no progress, and resumes", paused_spin_made_no_progress),
                ("each domain ended as management asked", each_domain_ended_as_asked)],
        absent=["ZAZEN PANIC", "DRIVER FAILED", "ZAZEN-LINUX: FAILED", "NO ERROR"],
    )


def churn_driver(com2, console, out):
    """200 rounds of create and destroy leave free memory where it was."""
    zt = load_tool()
    conn = zt.Connection("unix:" + com2, timeout=60)
    before = free_kib(conn)
    failures = 0
    for _ in range(200):
        if not conn.request(["create", "churn"])["ok"]:
            failures += 1
        conn.request(["destroy", "churn"])
        if not until_gone(conn, "churn", 20):
            failures += 1
    after = free_kib(conn)
    last_request(conn, console, ["destroy", "keeper"])
    out.append("MGMT churn: 200 rounds, %d failures, free memory %+d KiB" % (failures, after - before))


CHURN_CFG = """\
[domain keeper]
memory = 4M
firmware = spinforever.bin   # Zazen stays up while the loop runs

[domain churn]
memory = 8M
firmware = idle.bin
autostart = no
"""


def churn_scenario():
    return Scenario(
        "mgmt-churn", CHURN_CFG, cpus=2, memory="256M", timeout=600, files=[guest("spinforever"), guest("idle")],
        driver=churn_driver,
        lines=["MGMT churn: 200 rounds, 0 failures, free memory +0 KiB", "zazen: all domains ended"],
        absent=["ZAZEN PANIC", "DRIVER FAILED"],
    )


CRASH_CFG = """\
[domain crashy]
memory = 16M
firmware = triple.bin
on_crash = restart
cpus = 1   # away from CPU 0, where management's requests are served

[domain kept]
memory = 16M
firmware = triple.bin
on_crash = preserve
"""


def crash_driver(com2, console, out):
    zt = load_tool()
    conn = zt.Connection("unix:" + com2, timeout=60)
    restarted = wait_for(console, "zazen: domain crashy (id 1) restarts (on_crash)", 60, count=2)
    kept = wait_for(console, "zazen: domain kept (id 2) is kept, stopped (destroy frees it)", 60)
    ds = domains(conn)
    out += ["MGMT crashy restarted twice: %s, restarts >= 2: %s" % (restarted, ds["crashy"]["restarts"] >= 2),
            "MGMT kept: %s, state %s" % (kept, ds["kept"]["state"])]
    # crashy triple-faults and restarts all the time, so a destroy often
    # comes while it is on its way out: it must be destroyed all the same
    # (as xl), not restarted. Created again and destroyed, several times.
    gone = 0
    for round in range(CRASH_ROUNDS):
        if round:
            conn.request(["create", "crashy"])
            time.sleep(0.2)
        r = conn.request(["destroy", "crashy"])
        gone += r["ok"] and until_gone(conn, "crashy")
    out.append("MGMT crashy destroyed while it crashes and restarts: gone %d of %d" % (gone, CRASH_ROUNDS))
    last_request(conn, console, ["destroy", "kept"])


CRASH_ROUNDS = 12


def crash_scenario():
    return Scenario(
        "mgmt-on-crash", CRASH_CFG, cpus=2, memory="256M", timeout=300, files=[guest("triple")],
        driver=crash_driver,
        lines=["MGMT crashy restarted twice: True, restarts >= 2: True", "MGMT kept: True, state ----c-",
               "MGMT crashy destroyed while it crashes and restarts: gone %d of %d" % (CRASH_ROUNDS, CRASH_ROUNDS),
               "zazen: domain kept (id 2) destroyed", "zazen: all domains ended"],
        absent=["ZAZEN PANIC", "DRIVER FAILED"],
    )


SHELL_CFG = """\
[domain a]
memory = 4M
firmware = spinlong.bin

[domain b]
memory = 4M
firmware = echo.bin
"""


def shell_scenario(platform):
    """The zazen> shell typed at on the console: help, list, attaching to
    a domain's console and back, destroying. On Bochs the keys reach COM1
    through its socket (tests/harness/bochs.py)."""
    # b (the echo guest) takes three keys from the keyboard, then a line
    # from COM1 (tests/guests/echo.asm), and ends: the console comes
    # back to the shell by itself; a is left with Ctrl-A three times.
    typing = [("zazen> ", "help\r"), ("Ctrl-A three times switches", "list\r"),
              ("Time(s)", "console b\r"), ("the console is b's", "hi "), ("echo> ", "hi\r"),
              ("the zazen> shell (help", "console a\r"), ("the console is a's", "\x01\x01\x01"),
              ("the zazen> shell (help", "destroy a\r")]
    return Scenario(
        "mgmt-shell", SHELL_CFG, platform=platform, cpus=2, memory="256M",
        timeout=240 if platform == "qemu-svm" else 900, files=[guest("spinlong"), guest("echo")],
        typing=typing,
        lines=["zazen> help", "zazen> list", "zazen> console b", "(b) echo: COM1 got 'hi'",
               "zazen> console a", "zazen> destroy a", "zazen: domain a (id 1) ended: destroyed",
               "zazen: all domains ended"],
        patterns=[r"a +1 +4 +1 r----- +[0-9.]+", r"b +2 +4 +1 [rb-]{6} +[0-9.]+",
                  r"  list \[-l\] +the domains: .*"],
        absent=["ZAZEN PANIC"],
    )


SMP_SHELL_CFG = """\
[domain a]
memory = 4M
firmware = spinlong.bin
vcpus = 3

[domain b]
memory = 4M
firmware = spinlong.bin
"""


def smp_shell_scenario():
    """vcpu-list in the zazen> shell shows each vCPU of an SMP domain: the
    BSP spins, the APs wait for a start-up IPI nobody sends (blocked)."""
    typing = [("zazen> ", "vcpu-list\r"), ("Affinity", "destroy a\r"),
              ("domain a (id 1) ended: destroyed", "destroy b\r")]
    return Scenario(
        "mgmt-shell-smp", SMP_SHELL_CFG, cpus=2, memory="256M", timeout=240, files=[guest("spinlong")],
        typing=typing,
        lines=["zazen> vcpu-list", "zazen: domain a (id 1): 4M RAM, 3 vCPU, PCI PC, firmware spinlong.bin, weight 256",
               "zazen: domain a (id 1) ended: destroyed", "zazen: all domains ended"],
        # The APs' time is only the moment of their first turn before they
        # block, but it is host time: a QEMU thread the host preempts in
        # that moment makes it a second (seen at load 11), so any figure.
        patterns=[r"a +1 +0 +\d +(running|runnable) +[0-9.]+ all", r"a +1 +1 +\d +blocked +[0-9.]+ all",
                  r"a +1 +2 +\d +blocked +[0-9.]+ all", r"b +2 +0 +\d +(running|runnable) +[0-9.]+ all"],
        absent=["ZAZEN PANIC"],
    )


ALL = [mgmt_scenario(), churn_scenario(), crash_scenario(), shell_scenario("qemu-svm"), shell_scenario("bochs-vmx"),
       smp_shell_scenario()]
