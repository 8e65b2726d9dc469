"""Running Zazen under QEMU TCG with OVMF, as the AMD-V test platform.

An ESP is a plain folder that QEMU presents as a FAT disk (vvfat). Zazen
goes either to \\EFI\\BOOT\\BOOTX64.EFI (the firmware's boot manager starts
it) or to \\zazen\\zazen.efi with a startup.nsh, so the UEFI shell starts it
and prints the status it returns to the firmware.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import traceback
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
SVM_CPU = "qemu64,+svm,+npt,+vgif"
ANSI = re.compile(r"\x1b\[[0-9;?=]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\r")


ERASE_LINE = re.compile(r"[^\n]*\r\x1b\[K")
# Where Zazen cut a guest's long line (every 200 characters without a
# newline) and went on with the next "(domain) " prefix.
CUT = re.compile(rb"\r?\n\([A-Za-z0-9_-]+\) ")
CUT_TEXT = re.compile(CUT.pattern.decode())  # the same, in text


def unsplit(data):
    """Console bytes with the guests' cut lines joined again, to look for a
    text that a cut may have split."""
    return CUT.sub(b"", data)


def on_terminal(data, text):
    """Whether text shows on the terminal in the console bytes data (the
    last few KiB will do): as clean() shows them, a guest's cut lines
    joined again. What the scenario's checks read, so a run stopped when
    it shows (stop_on) keeps it: the raw bytes can hold it in an
    unfinished line that a redraw then erases, and a run stopped before
    the redraw's new text came would show neither."""
    shown = CUT_TEXT.sub("", clean(data.decode("utf-8", "replace")))
    return text in shown


def clean(text):
    """Console text as a terminal shows it, without escapes: what a
    carriage return and erase-to-end-of-line (the shell's prompt, redrawn
    below the domains' lines) wiped is gone, then escapes and carriage
    returns are removed."""
    return ANSI.sub("", ERASE_LINE.sub("", text))


def make_esp(config_text, files, shell=False, extra=None):
    """Builds an ESP folder; returns (esp_dir, folder inside it)."""
    esp = tempfile.mkdtemp(prefix="zazen-esp-", dir=BUILD)
    folder = os.path.join(esp, "zazen") if shell else os.path.join(esp, "EFI", "BOOT")
    os.makedirs(folder)
    efi_name = "zazen.efi" if shell else "BOOTX64.EFI"
    shutil.copy(os.path.join(BUILD, "zazen.efi"), os.path.join(folder, efi_name))
    if config_text is not None:
        with open(os.path.join(folder, "zazen.cfg"), "w") as f:
            f.write(config_text)
    for path in files:
        shutil.copy(path, folder)
    for name, data in (extra or {}).items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    if shell:
        with open(os.path.join(esp, "startup.nsh"), "w") as f:
            f.write("fs0:\r\ncd \\zazen\r\nzazen.efi\r\n"
                    "echo \"zazen returned %lasterror%\"\r\nreset -s\r\n")
    return esp, folder


def accel_args(smp, icount):
    """-smp N: with thread=multi, each CPU is a host thread of its own
    (timing follows the host's load); with icount, one thread runs the
    CPUs in turn and time is the count of instructions executed: the
    same run every time (a deterministic platform).

    shift=3: 8 ns of virtual time per instruction (125 million a second,
    near Bochs' 100 million, tests/harness/bochs.py). At shift=0 (1 ns)
    OVMF's own start took 100-200 s of wall time: its PEI phase waits a
    few virtual seconds polling the ACPI PM timer (port 608h, seen at
    the waits' loop with the monitor), and under -icount every port read
    ends a translation block; 8 times fewer instructions per virtual
    second brings a run from about 120 s to 40 s. The guests' checks are
    in virtual time and hold at either shift (pitburst's counts 22 / 10,
    as at shift 0)."""
    if icount:
        shift = os.environ.get("ZAZEN_ICOUNT_SHIFT", "3")
        return ["-accel", "tcg,thread=single", "-icount", "shift=%s,sleep=off" % shift]
    return ["-accel", "tcg,thread=multi" if smp > 1 else "tcg"]


def qemu_command(esp, vars_path, cpu=SVM_CPU, memory="512M", serial="stdio", smp=1, icount=False, com2=None):
    """com2: a unix socket path for the machine's second serial port
    (Zazen's management protocol)."""
    cmd = ["qemu-system-x86_64", "-machine", "q35"] + accel_args(smp, icount) + [
        "-cpu", cpu, "-m", memory, "-smp", str(smp), "-display", "none", "-no-reboot", "-net", "none",
        "-drive", "if=pflash,format=raw,readonly=on,file=" + OVMF_CODE,
        "-drive", "if=pflash,format=raw,file=" + vars_path,
        "-drive", "file=fat:rw:" + esp + ",format=raw",
        "-serial", serial,
    ]
    if com2:
        cmd += ["-serial", "unix:%s,server=on,wait=off" % com2]
    return cmd


class Typist:
    """Types as a user would: steps = [(marker, text), ...]; once a
    step's marker shows in the console output that came since the previous
    step's last key was sent (what the last key, Enter, makes the guest
    print comes after it; the echo of the keys before it is not looked
    at), its text is sent with send(bytes), one character every
    `pause` seconds. feed(data) gives it each piece of output."""

    def __init__(self, steps, send, pause=0.02):
        self.steps = list(steps or ())
        self.send = send
        self.pause = pause
        self.chunks = []
        self.step = 0
        self.since = 0  # the chunk the next marker is searched from
        self.busy = False
        self.lock = threading.Lock()

    def feed(self, data):
        with self.lock:
            self.chunks.append(data)
        self._maybe_type()

    def _maybe_type(self):
        with self.lock:
            if self.busy or self.step >= len(self.steps):
                return
            if self.steps[self.step][0].encode() not in b"".join(self.chunks[self.since:]):
                return
            self.busy = True
            text = self.steps[self.step][1]
        threading.Thread(target=self._type, args=(text,), daemon=True).start()

    def _type(self, text):
        for i, ch in enumerate(text):
            if i == len(text) - 1:
                with self.lock:
                    self.since = len(self.chunks)
            try:
                self.send(ch.encode())
            except OSError:
                return
            time.sleep(self.pause)
        with self.lock:
            self.step += 1
            self.busy = False
        self._maybe_type()


def run(config_text, files, shell=False, cpu=SVM_CPU, timeout=120, memory="512M", extra=None, typing=None, smp=1,
        icount=False, driver=None, stop_on=None, ask_at_timeout=True):
    """Boots Zazen; returns (console text, exit status or None on timeout).
    typing = [(marker, text), ...]: what a user types, and when (Typist).
    stop_on: text that ends the run
    as soon as it shows (for guests that never end, such as memtest86+).
    ask_at_timeout: a run still going at its timeout, which the caller did
    not expect, is asked through Zazen's shell what its vCPUs are doing
    (ask_zazen) before the CPUs' dump.

    QEMU ends by itself when Zazen powers off (ACPI S5) or when the shell
    runs `reset -s`. The shell's five-second startup.nsh countdown is cut
    short by answering its prompt with a key press on the serial line."""
    esp, _ = make_esp(config_text, files, shell=shell, extra=extra)
    vars_path = esp + "-vars.fd"
    shutil.copy(OVMF_VARS, vars_path)
    com2 = None
    if driver:
        sock_dir = tempfile.mkdtemp(prefix="zazen-com2-")
        com2 = os.path.join(sock_dir, "com2")
    # A machine that stops (a power-off, or with -no-reboot a reset: a
    # triple fault of the hypervisor itself) pauses instead of ending
    # (shutdown=pause), so that when it stopped without Zazen's power-off
    # the CPUs' registers can be asked for on the monitor before it quits
    # (StopWatch); QEMU's own log notes the triple fault.
    reset_log = esp + "-resets.log"
    # ZAZEN_QEMU_LOG=int (any of QEMU's -d items) logs more, for a hunt:
    # the log of a run that stopped without Zazen's power-off is kept.
    log_items = ",".join(["cpu_reset"] + [i for i in os.environ.get("ZAZEN_QEMU_LOG", "").split(",") if i])
    monitor = esp + "-mon.sock"
    proc = subprocess.Popen(qemu_command(esp, vars_path, cpu, memory, smp=smp, icount=icount, com2=com2) +
                            ["-d", log_items, "-D", reset_log, "-action", "shutdown=pause",
                             "-monitor", "unix:%s,server=on,wait=off" % monitor],
                            stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    chunks = []
    arrivals = []  # (seconds since start, total bytes so far): when output came
    started = time.time()
    countdown = threading.Event()
    done = threading.Event()

    def send(data):
        proc.stdin.write(data)
        proc.stdin.flush()

    typist = Typist(typing, send)

    def reader():
        while True:
            data = proc.stdout.read1(4096)
            if not data:
                done.set()
                return
            chunks.append(data)
            arrivals.append((time.time() - started, sum(len(c) for c in chunks[-1:]) + (arrivals[-1][1] if arrivals else 0)))
            tail = b"".join(chunks[-4:])
            if b"startup.nsh" in tail:  # "Press ESC ... to skip startup.nsh"
                countdown.set()
            if b"Shell>" in tail:
                done.set()
            # The serial line hands over a few bytes at a time: look at the
            # last few KiB, whatever the number of reads they took.
            if stop_on and on_terminal(b"".join(chunks[-1024:])[-8192:], stop_on):
                proc.kill()
            typist.feed(data)

    def presser():
        # The shell polls for a key once a second; one key press sent too
        # early is lost, so keep pressing until the script starts.
        if not countdown.wait(timeout):
            return
        while not done.wait(0.3):
            try:
                proc.stdin.write(b" ")
                proc.stdin.flush()
            except OSError:
                return

    driven = []

    def drive():
        while not done.is_set():
            if b"zazen: management protocol" in b"".join(chunks):
                break
            time.sleep(0.1)
        else:
            return
        try:  # the driver appends each line as it goes: a failure keeps what came before
            driver(com2, lambda: clean(b"".join(chunks).decode("utf-8", "replace")), driven)
        except Exception as e:  # the checks see it as a line, with where it happened
            where = traceback.extract_tb(e.__traceback__)[-1]
            driven.append("DRIVER FAILED: %s: %s (%s:%d)" % (type(e).__name__, e, os.path.basename(where.filename),
                                                             where.lineno))

    if shell:
        threading.Thread(target=presser, daemon=True).start()
    driving = threading.Thread(target=drive, daemon=True)
    if driver:
        driving.start()
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    watch = StopWatch(monitor, lambda: clean(b"".join(chunks).decode("utf-8", "replace")), smp)
    watch.start()
    status = wait_for_qemu(proc, watch, started + timeout)
    if status is None and ask_at_timeout and b"zazen: Zazen" in b"".join(chunks):
        ask_zazen(send, chunks)
    t.join(5)
    done.set()
    watch.stop()
    if status is None:  # still running at the timeout: where were the CPUs?
        watch.collect_now()
        proc.kill()
        proc.wait()
    if driver:
        driving.join(60)  # its last steps may run after Zazen has powered off (tools on the host)
        if driving.is_alive():
            driven.append("DRIVER FAILED: still running 60 s after QEMU ended (after %r)" %
                          (driven[-1] if driven else "its first step"))
    shutil.rmtree(esp, ignore_errors=True)
    os.unlink(vars_path)
    raw = b"".join(chunks)
    set_last_timeline(timeline(raw, arrivals))
    if com2:
        shutil.rmtree(os.path.dirname(com2), ignore_errors=True)
    text = clean(raw.decode("utf-8", "replace"))
    # A run still going at its timeout (some scenarios expect that) gets
    # the dump of where its CPUs were, not the resets of a machine that
    # stopped.
    if status is not None and not stopped_by_zazen(text):
        text += last_resets(reset_log)
    if status is None or not stopped_by_zazen(text):
        text += watch.dump
    if status is None or watch.killed:
        text += watch.history()
    if os.path.exists(reset_log):
        if log_items != "cpu_reset" and (status is None or not stopped_by_zazen(text)):
            kept = os.path.join(BUILD, "qemu-log-%d.txt" % int(time.time()))
            shutil.move(reset_log, kept)
            text += "qemu: QEMU's -d %s log kept as %s\n" % (log_items, kept)
        else:
            os.unlink(reset_log)
    if os.path.exists(monitor):
        os.unlink(monitor)
    if driven:
        text += "\n" + "\n".join(driven) + "\n"
    return text, status


# Zazen's shell (vmm/shell.c, vmm/mgmt.c) asked at a timeout: is the
# hypervisor alive, and what state is each vCPU in (blocked, running,
# runnable; where; how long)? Ctrl-A three times leaves the console.
ASK_AT_TIMEOUT = (b"\x01\x01\x01", b"vcpu-list\r", b"list\r")


def ask_zazen(send, chunks, wait=10.0):
    """Types ASK_AT_TIMEOUT and waits (at most `wait` seconds) for the
    last answer's prompt; the answers land in the console text."""
    try:
        for keys in ASK_AT_TIMEOUT:
            seen = len(b"".join(chunks))
            send(keys)
            end = time.time() + wait / len(ASK_AT_TIMEOUT)
            while time.time() < end and b"zazen> " not in b"".join(chunks)[seen:]:
                time.sleep(0.1)
    except OSError:
        pass


def wait_for_qemu(proc, watch, deadline):
    """QEMU's exit status, or None if it was still running at the deadline.
    A machine that powered off is paused (-action shutdown=pause) until
    StopWatch sends "quit"; should QEMU outlive that by 20 s, it is ended
    here and its status is the power-off's, 0: the monitor saw the machine
    stop at the guest's shutdown request, which is what a test of the
    power-off asks; the watch's history says it happened."""
    while True:
        try:
            return proc.wait(timeout=max(0.1, min(1.0, deadline - time.time())))
        except subprocess.TimeoutExpired:
            pass
        if watch.quit_at and time.time() - watch.quit_at > 20:
            watch.note("QEMU still running 20 s after quit: killed")
            watch.killed = True
            proc.kill()
            proc.wait()
            return 0 if watch.shutdown_seen and watch.powered_off else None
        if time.time() >= deadline:
            watch.note("QEMU still running at the test's timeout")
            return None


def ignne_race(text):
    """Whether a machine stopped the way QEMU 7.2's cpu_clear_ignne race
    stops it (docs/smp.md, Known problems): a triple fault of CPU 0 at the
    first instruction after VMRUN (svm_run.asm's `push rsi; mov rsi,
    [rsp + 16]`), CR2 inside CPU 0's IDT (the #PF and #DF gates could not
    be read): every host address failed to translate because another
    CPU's x87 restore undid CPU 0's clear of its nested-paging flag."""
    if not re.search(r"QEMU logged \d+ triple fault", text) or stopped_by_zazen(text):
        return False
    cpu0 = text.split("qemu: CPU#0\n", 1)[-1].split("qemu: CPU#1\n", 1)[0]
    cr2, idt = re.search(r"CR2=([0-9a-f]+)", cpu0), re.search(r"IDT=\s+([0-9a-f]+)", cpu0)
    after_vmrun = re.search(r"qemu: CPU 0 at RIP:\nqemu: 0x[0-9a-f]+:\s+56\s+pushq\s+%rsi\n"
                            r"qemu: 0x[0-9a-f]+:\s+48 8b 74 24 10\s", text)
    return bool(cr2 and idt and after_vmrun and 0 <= int(cr2.group(1), 16) - int(idt.group(1), 16) < 0x1000)


def nested_paging_lost(text):
    """Whether a guest shut down the way the same race lets it (docs/smp.md,
    Known problems): its other side, a lost *set* of CPU 0's nested-paging
    flag at VMRUN, runs the guest on its own page tables read as host
    addresses, so its first instruction faults and so does every delivery:
    a triple fault that the state the exit shows does not explain. Zazen's
    report of the triple fault says so: the #DF's delivery (gate, code
    segment, stack) checked through the guest's real tables is
    deliverable (vmm/double_fault.c). No scenario's guest triple-faults
    that way on purpose."""
    return bool(re.search(r"^zazen: domain .* at its triple fault: its #DF: deliverable: ", text, re.M))


def stopped_by_zazen(text):
    """Did the machine stop because Zazen (or the UEFI shell) powered it
    off?"""
    return "zazen: all domains ended" in text or "Shell>" in text


def last_resets(path, blocks=2):
    """The last CPU resets QEMU logged, as lines headed "qemu: ", and
    whether it logged a triple fault (with -no-reboot it does not reset
    the CPUs then, so the resets are the firmware's)."""
    try:
        with open(path, errors="replace") as f:
            log = f.read()
    except OSError:
        return ""
    parts = log.split("CPU Reset")[-blocks:]
    lines = []
    for part in parts:
        lines += ["qemu: CPU Reset" + part.splitlines()[0]] + ["qemu: " + l for l in part.splitlines()[1:8]]
    faults = log.count("Triple fault")
    return ("\nqemu: the machine stopped without Zazen's power-off; %s; its last CPU resets:\n" %
            ("QEMU logged %d triple fault(s)" % faults if faults else "QEMU's log shows no CPU shutdown") +
            "\n".join(lines) + "\n")


class StopWatch:
    """Watches QEMU's human monitor (a unix socket): when the machine has
    stopped (paused by -action shutdown=pause) it quits QEMU, after
    asking for every CPU's registers and the instructions at each one's
    RIP if Zazen did not power it off (console() says). dump: those, as
    lines headed "qemu: "."""

    def __init__(self, path, console, cpus):
        self.path, self.console, self.cpus = path, console, cpus
        self.dump = ""
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.started = time.time()
        self.events = []         # what the watch saw, for a run that went wrong
        self.quit_at = None      # when "quit" was sent
        self.shutdown_seen = False
        self.powered_off = False  # the console says Zazen powered off
        self.killed = False      # by wait_for_qemu, after the quit

    def note(self, what):
        self.events.append("%.1f s: %s" % (time.time() - self.started, what))

    def history(self):
        return "".join("qemu: watch: %s\n" % e for e in self.events)

    def start(self):
        self.thread.start()

    def stop(self):
        self.done.set()
        self.thread.join(10)

    def command(self, sock, line, timeout=5.0):
        """Sends one command; returns its output, up to the next prompt."""
        sock.sendall((line + "\n").encode())
        out, end = b"", time.time() + timeout
        while b"(qemu) " not in out and time.time() < end:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                break
            out += data
        text = out.decode("utf-8", "replace").replace("\r", "")
        text = ANSI.sub("", text).split("(qemu) ")[0]
        return "\n".join(l for l in text.splitlines()[1:] if l.strip())  # the echoed command left out

    def connect(self):
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(0.5)
        try:
            sock.connect(self.path)
            self.command(sock, "")  # the greeting and its prompt
        except OSError:
            sock.close()
            raise
        return sock

    def run(self):
        sock, last = None, None
        while not self.done.is_set():
            try:
                if sock is None:
                    sock = self.connect()
                    self.note("monitor connected")
                status = self.command(sock, "info status")
            except OSError as e:
                if sock:
                    self.note("monitor connection lost: %s" % e)
                    sock.close()
                sock = None
                self.done.wait(0.2)
                continue
            if status != last:
                self.note("status %r" % status)
                last = status
            if "paused" in status:
                # "paused (shutdown)" is also a triple fault's with
                # -no-reboot: Zazen's power-off is the console's last word.
                self.shutdown_seen = "shutdown" in status
                self.powered_off = stopped_by_zazen(self.console())
                try:
                    if not self.powered_off:
                        self.collect(sock)
                    self.quit_at = time.time()
                    self.note("quit sent")
                    self.command(sock, "quit", 2.0)
                except OSError as e:
                    self.note("monitor failed at the stop: %s" % e)
                break
            self.done.wait(0.3)
        if sock:
            sock.close()

    def collect_now(self):
        """The dump of a machine still running (the watch has stopped)."""
        try:
            sock = self.connect()
        except OSError as e:
            self.note("no monitor for a dump: %s" % e)
            return
        try:
            self.command(sock, "stop")
            self.collect(sock)
        except OSError as e:
            self.note("monitor failed during the dump: %s" % e)
        finally:
            sock.close()

    def collect(self, sock):
        lines = ["the machine stopped (%s); every CPU's registers:" % self.command(sock, "info status")]
        keep = ("CPU#", "RAX", "RSI", "R8 ", "R12", "RIP", "EAX", "ESI", "EIP", "CS ", "SS ", "GDT", "IDT", "CR0",
                "EFER")  # not the FPU, vector and debug registers
        lines += [l for l in self.command(sock, "info registers -a").splitlines() if l.startswith(keep)]
        for cpu in range(self.cpus):
            self.command(sock, "cpu %d" % cpu)
            lines += ["CPU %d at RIP:" % cpu] + self.command(sock, "x /6i $pc").splitlines()
            # What its paging maps now, and the first 16 gates of its IDT
            # (a stop in the hypervisor: are they intact?).
            lines += ["CPU %d's page tables (info mem, the first 12 ranges):" % cpu]
            lines += self.command(sock, "info mem").splitlines()[:12]
            regs = self.command(sock, "info registers")
            m = re.search(r"IDT=\s+([0-9a-f]+)", regs)
            if m:
                lines += ["CPU %d's IDT, vectors 0-15:" % cpu] + self.command(sock, "x /32gx 0x%s" % m.group(1)).splitlines()
            lines += self.vmcb_fields(sock, cpu, regs)
            # Its local APIC: is Zazen's timer armed (LVT timer, initial
            # and current count)? A CPU halted with no timer counting and
            # nothing else to wake it is asleep for good. And the top of
            # its stack: return addresses into zazen.efi (build/zazen.so
            # less the load address, which RIP gives) say where it is.
            lines += ["CPU %d's local APIC:" % cpu] + [
                l for l in self.command(sock, "info lapic").splitlines() if l.lstrip().startswith(("LVT0", "LVTT", "Timer", "ISR", "IRR", "ESR", "APR"))]
            lines += ["CPU %d's stack, 32 quadwords:" % cpu] + self.command(sock, "x /32gx $sp").splitlines()
        # A machine whose A20 gate were off (A20=0 in the RIP lines) would
        # walk its page tables at CR3 with bit 20 clear: what is there.
        lines += ["the first 32 bytes of physical memory:"] + self.command(sock, "xp /4gx 0").splitlines()
        self.dump = "".join("qemu: %s\n" % l for l in lines)

    # AMD APM vol. 2, appendix B (VMCB layout): EXITCODE, EXITINFO1,
    # EXITINFO2, EXITINTINFO at 70h-88h of the control area; the save area
    # at 400h: EFER 4D0h, CR4 548h, CR3 550h, CR0 558h, RFLAGS 570h, RIP 578h.
    VMCB_FIELDS = ((0x70, 4, "EXITCODE EXITINFO1 EXITINFO2 EXITINTINFO"), (0x4d0, 1, "guest EFER"),
                   (0x548, 6, "guest CR4 CR3 CR0 DR7 DR6 RFLAGS"), (0x578, 1, "guest RIP"))

    def vmcb_fields(self, sock, cpu, regs):
        """A CPU stopped just after VMRUN holds the VMCB's address in RAX
        (VMRUN takes it there; #VMEXIT restores the host's RAX): the exit
        QEMU had just taken, and the guest it left."""
        m = re.search(r"RAX=([0-9a-f]{16})", regs)
        if not m or int(m.group(1), 16) & 0xfff or not int(m.group(1), 16):
            return []
        base = int(m.group(1), 16)
        lines = ["CPU %d: RAX is page-aligned; if it is a VMCB:" % cpu]
        for offset, count, what in self.VMCB_FIELDS:
            lines += ["%s:" % what] + self.command(sock, "xp /%dgx 0x%x" % (count, base + offset)).splitlines()
        return lines


# Wall-clock seconds at which each marker first appeared in the last run
# of this thread (tests/run.py runs scenarios on several threads).
TIMED_MARKERS = ("zazen: Zazen 0.1 hypervisor", "ZAZEN-LINUX: userspace", "ZAZEN-LINUX: done", "all domains ended")
_this_thread = threading.local()


def set_last_timeline(marks):
    _this_thread.timeline = marks


def last_timeline():
    """The markers' times in this thread's last run (an emulator's)."""
    return getattr(_this_thread, "timeline", {})


def timeline(raw, arrivals):
    times = {}
    for marker in TIMED_MARKERS:
        pos = raw.find(marker.encode())
        if pos < 0:
            continue
        times[marker] = next((t for t, end in arrivals if end > pos), None)
    return times


def run_interactive(config_text, files, cpu=SVM_CPU, memory="512M"):
    """For `make run`: the console is this terminal."""
    esp, _ = make_esp(config_text, files)
    vars_path = esp + "-vars.fd"
    shutil.copy(OVMF_VARS, vars_path)
    try:
        # mon:stdio: the console is this terminal. QEMU's escape key is
        # Ctrl-] (-echr 29), not its default Ctrl-A, which Zazen's console
        # uses: Ctrl-] X quits QEMU.
        return subprocess.call(qemu_command(esp, vars_path, cpu, memory, serial="mon:stdio") + ["-echr", "29"])
    finally:
        shutil.rmtree(esp, ignore_errors=True)
        os.unlink(vars_path)
