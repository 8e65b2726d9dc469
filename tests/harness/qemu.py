"""Running Zazen under QEMU TCG with OVMF, as the AMD-V test platform.

An ESP is a plain folder that QEMU presents as a FAT disk (vvfat). Zazen
goes either to \\EFI\\BOOT\\BOOTX64.EFI (the firmware's boot manager starts
it) or to \\zazen\\zazen.efi with a startup.nsh, so the UEFI shell starts it
and prints the status it returns to the firmware.
"""
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
SVM_CPU = "qemu64,+svm,+npt,+vgif"
ANSI = re.compile(r"\x1b\[[0-9;?=]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\r")


def clean(text):
    """Console text without terminal escapes and carriage returns."""
    return ANSI.sub("", text)


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
    same run every time (a deterministic platform)."""
    if icount:
        return ["-accel", "tcg,thread=single", "-icount", "shift=0,sleep=off"]
    return ["-accel", "tcg,thread=multi" if smp > 1 else "tcg"]


def qemu_command(esp, vars_path, cpu=SVM_CPU, memory="512M", serial="stdio", smp=1, icount=False):
    return [
        "qemu-system-x86_64", "-machine", "q35"] + accel_args(smp, icount) + ["-cpu", cpu,
        "-m", memory, "-smp", str(smp), "-display", "none", "-no-reboot", "-net", "none",
        "-drive", "if=pflash,format=raw,readonly=on,file=" + OVMF_CODE,
        "-drive", "if=pflash,format=raw,file=" + vars_path,
        "-drive", "file=fat:rw:" + esp + ",format=raw",
        "-serial", serial,
    ]


def run(config_text, files, shell=False, cpu=SVM_CPU, timeout=120, memory="512M", extra=None, typing=None, smp=1,
        icount=False):
    """Boots Zazen; returns (console text, exit status or None on timeout).
    typing = [(marker, text), ...]: once each marker appears on the console
    (after the previous step's typing), its text is typed on it, one
    character at a time, as a user would.

    QEMU ends by itself when Zazen powers off (ACPI S5) or when the shell
    runs `reset -s`. The shell's five-second startup.nsh countdown is cut
    short by answering its prompt with a key press on the serial line."""
    esp, _ = make_esp(config_text, files, shell=shell, extra=extra)
    vars_path = esp + "-vars.fd"
    shutil.copy(OVMF_VARS, vars_path)
    proc = subprocess.Popen(qemu_command(esp, vars_path, cpu, memory, smp=smp, icount=icount), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    chunks = []
    arrivals = []  # (seconds since start, total bytes so far): when output came
    started = time.time()
    countdown = threading.Event()
    done = threading.Event()
    typing_busy = threading.Event()
    step = [0, 0]  # the typing step, and the chunk its marker is searched from

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
            if step[0] < len(typing or ()) and not typing_busy.is_set():
                since = b"".join(chunks[step[1]:])
                if typing[step[0]][0].encode() in since:
                    typing_busy.set()
                    threading.Thread(target=type_slowly, args=(typing[step[0]][1],), daemon=True).start()

    def type_slowly(text):
        for ch in text:
            try:
                proc.stdin.write(ch.encode())
                proc.stdin.flush()
            except OSError:
                return
            time.sleep(0.02)
        step[0] += 1
        step[1] = len(chunks)  # the next marker must come after this typing
        typing_busy.clear()

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

    if shell:
        threading.Thread(target=presser, daemon=True).start()
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    status = None
    try:
        status = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    t.join(5)
    shutil.rmtree(esp, ignore_errors=True)
    os.unlink(vars_path)
    raw = b"".join(chunks)
    global last_timeline
    last_timeline = timeline(raw, arrivals)
    return clean(raw.decode("utf-8", "replace")), status


# Wall-clock seconds at which each marker first appeared in the last run.
TIMED_MARKERS = ("zazen: Zazen 0.1 hypervisor", "ZAZEN-LINUX: userspace", "ZAZEN-LINUX: done", "all domains ended")
last_timeline = {}


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
        # mon:stdio: the console is this terminal, and Ctrl-A X quits QEMU.
        return subprocess.call(qemu_command(esp, vars_path, cpu, memory, serial="mon:stdio"))
    finally:
        shutil.rmtree(esp, ignore_errors=True)
        os.unlink(vars_path)
