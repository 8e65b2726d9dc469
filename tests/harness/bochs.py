"""Running Zazen under Bochs 2.7: VT-x on `corei7_haswell_4770`, AMD-V
on `ryzen`. Bochs has no UEFI, so Zazen boots from a GRUB ISO through
multiboot2 (tools/mkiso.sh).

Runs are headless and deterministic: `clock: sync=none` with a fixed
time0 makes emulated time advance by instructions (IPS per second, plus
idle time skipped at HLT), so a run prints the same thing every time. Debian's Bochs has no `nogui` display; `rfb` with
timeout=0 runs without a viewer (the `term` display can block for good when
a guest rewrites the VGA text screen a lot). The built-in debugger is
compiled in, so `-rc` gives it a `c` to start at once. Zazen's console is
COM1, written to a file; a run that types on it (typing=...) connects
COM1 to a TCP socket instead (`mode=socket-client`: Bochs connects at
start to a listener the harness opened, which writes what comes to the
same file and types through qemu.Typist). Bochs's exit status is always 1: a run is judged
by its output, and a clean ACPI power-off is recognized in bochs.log
("ACPI control: soft power off").
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from tests.harness import qemu

# Emulated instructions per emulated second: the TSC's rate. 100 million
# keeps a VM exit's few thousand instructions small next to a guest's
# timer tick, as on hardware (at 10 million, Linux's 4 ms tick under Zazen
# ran late often enough to lose jiffies); Bochs runs about that fast.
IPS = int(os.environ.get("ZAZEN_BOCHS_IPS", "100000000"))

last_power_off_ticks = None

MODELS = {"bochs-vmx": "corei7_haswell_4770", "bochs-svm": "ryzen"}

BOCHSRC = """\
megs: {megs}
cpu: model={model}, count={count}, ips={ips}
romimage: file=/usr/share/bochs/BIOS-bochs-latest, options=fastboot
vgaromimage: file=/usr/share/vgabios/vgabios.bin
{boot_device}
clock: sync=none, time0=946684800
port_e9_hack: enabled=1
{com1}
log: bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
display_library: rfb, options="timeout=0"
mouse: enabled=0
speaker: enabled=0
sound: driver=dummy
"""


COM1_FILE = "com1: enabled=1, mode=file, dev=serial.txt"
COM1_SOCKET = "com1: enabled=1, mode=socket-client, dev=127.0.0.1:{port}"


def run(config_text, files, model, timeout=600, megs=256, extra=None, count=1, stop_on=None, typing=None,
        disks=()):
    """Boots Zazen from a GRUB ISO; returns (console text, 0 if Zazen
    powered the machine off, else None). stop_on: text on the console that
    ends the run at once. typing: as qemu.run's. disks: (position, path)
    pairs, e.g. ("ata0-slave", "/tmp/x/data.img"): flat disk images (whole
    cylinders, see CYLINDER_BYTES) beside the CD-ROM on ata0-master,
    used in place, so what the machine wrote is in the file afterwards."""
    work = tempfile.mkdtemp(prefix="zazen-bochs-", dir=qemu.BUILD)
    try:
        paths = list(files)
        for name, data in (extra or {}).items():
            path = os.path.join(work, name)
            with open(path, "wb") as f:
                f.write(data)
            paths.append(path)
        config = os.path.join(work, "zazen.cfg.in")
        with open(config, "w") as f:
            f.write(config_text)
        subprocess.run([os.path.join(qemu.ROOT, "tools", "mkiso.sh"), config, os.path.join(work, "zazen.iso")] + paths,
                       check=True)
        listener = None
        com1 = COM1_FILE
        if typing:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            com1 = COM1_SOCKET.format(port=listener.getsockname()[1])
        with open(os.path.join(work, "bochsrc"), "w") as f:
            f.write(BOCHSRC.format(model=model, megs=megs, ips=IPS, boot_device=ZAZEN_ISO + "".join(
                "\n" + DISK.format(position=pos, path=os.path.abspath(path)) for pos, path in disks),
                count=count, com1=com1))
        if listener:
            threading.Thread(target=_serve_com1, args=(listener, os.path.join(work, "serial.txt"), typing),
                             daemon=True).start()
        return _run_bochs(work, timeout, stop_on)
    finally:
        shutil.rmtree(work, ignore_errors=True)


ZAZEN_ISO = "ata0-master: type=cdrom, path=zazen.iso, status=inserted\nboot: cdrom"
# A flat disk image; Bochs takes its geometry from the size (16 heads, 63
# sectors per track), so the size is a multiple of 516096 bytes.
CYLINDER_BYTES = 16 * 63 * 512
BARE_DISK = "ata0-master: type=disk, path={path}, mode=flat\nboot: disk"
DISK = "{position}: type=disk, path={path}, mode=flat"


def run_bare(disk, model, timeout=600, megs=256, stop_marker=None):
    """Boots a disk image with Bochs's own BIOS, no Zazen: the same guest
    directly on the emulated CPU. Returns (COM1 text, status) as run();
    stops at stop_marker on COM1 if given."""
    work = tempfile.mkdtemp(prefix="zazen-bochs-bare-", dir=qemu.BUILD)
    try:
        # A copy: Bochs locks the image (IMAGE.lock) and a killed run leaves
        # the lock behind; padded to whole cylinders, as Bochs wants.
        copy = os.path.join(work, "disk.img")
        shutil.copy(disk, copy)
        size = os.path.getsize(copy)
        os.truncate(copy, -(-size // CYLINDER_BYTES) * CYLINDER_BYTES)
        with open(os.path.join(work, "bochsrc"), "w") as f:
            f.write(BOCHSRC.format(model=model, megs=megs, ips=IPS, boot_device=BARE_DISK.format(path="disk.img"),
                                   count=1, com1=COM1_FILE))
        return _run_bochs(work, timeout, stop_marker)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_iso(iso, model, timeout=600, megs=256, stop_marker=None):
    """Boots a CD image (El Torito) with Bochs's own BIOS, no Zazen: e.g.
    the KVM bench host (tools/bench/mkkvmiso.sh). Returns (COM1 text,
    status) as run(); stops at stop_marker on COM1 if given."""
    work = tempfile.mkdtemp(prefix="zazen-bochs-iso-", dir=qemu.BUILD)
    try:
        shutil.copy(iso, os.path.join(work, "cd.iso"))  # Bochs locks what it opens
        with open(os.path.join(work, "bochsrc"), "w") as f:
            f.write(BOCHSRC.format(model=model, megs=megs, ips=IPS, count=1, com1=COM1_FILE,
                                   boot_device="ata0-master: type=cdrom, path=cd.iso, status=inserted\nboot: cdrom"))
        return _run_bochs(work, timeout, stop_marker)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _serve_com1(listener, path, typing):
    """COM1 over TCP: what Bochs sends goes to `path`, and the typing
    steps are typed back."""
    listener.settimeout(120)
    try:
        conn, _ = listener.accept()
    except OSError:
        return
    finally:
        listener.close()
    typist = qemu.Typist(typing, conn.sendall)
    with conn, open(path, "ab", buffering=0) as out:
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            out.write(data)
            typist.feed(data)


def _run_bochs(work, timeout, stop_marker=None):
    with open(os.path.join(work, "continue.rc"), "w") as f:
        f.write("c\n")  # the debugger is compiled in: start running at once
    with open(os.path.join(work, "stdout.txt"), "wb") as out:
        proc = subprocess.Popen(["bochs", "-q", "-f", "bochsrc", "-rc", "continue.rc"], cwd=work,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        started = time.time()
        marks = {}
        qemu.set_last_timeline(marks)
        serial = os.path.join(work, "serial.txt")
        while proc.poll() is None:
            if time.time() - started > timeout:
                os.killpg(proc.pid, signal.SIGKILL)  # a guest that never ends: Bochs ignores SIGTERM there
                proc.wait()
                break
            note_markers(serial, started, marks)
            if stop_marker and qemu.on_terminal(_read_bytes(serial)[-65536:], stop_marker):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.25)
        note_markers(serial, started, marks)
    output = _read(os.path.join(work, "serial.txt"))
    log = _read(os.path.join(work, "bochs.log"))
    status = 0 if "ACPI control: soft power off" in log else None
    # Log lines start with Bochs's tick count: at the power-off, the run's
    # length in emulated ticks (one per instruction, plus idle time).
    global last_power_off_ticks
    off = re.search(r"^(\d+)\w\[[^\]]*\].*soft power off", log, re.M)
    last_power_off_ticks = int(off.group(1)) if off else None
    panics = [l for l in log.splitlines() if ">>PANIC<<" in l and "soft power off" not in l]
    if panics:
        output += "\n[bochs] " + "\n[bochs] ".join(panics[-5:]) + "\n"
    return qemu.clean(output), status


def note_markers(serial, started, marks):
    """Records in marks when each timed marker first shows in COM1's file."""
    text = _read(serial)
    for marker in qemu.TIMED_MARKERS:
        if marker in text and marker not in marks:
            marks[marker] = time.time() - started


def _read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
