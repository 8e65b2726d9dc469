"""Integration scenarios: Zazen booted under an emulator with a config and
guests, and the console lines a user would see.

Platforms: "qemu-svm" (QEMU TCG, AMD-V, OVMF starting zazen.efi),
"bochs-vmx" (Bochs corei7_haswell_4770, VT-x) and "bochs-svm" (Bochs
ryzen, AMD-V with NRIP save), both from a GRUB ISO through multiboot2.

Each scenario yields one test per expectation. `lines` must appear exactly
(whole lines, after terminal escapes are removed), `in_order` lines must
appear in that order, `patterns` are regular expressions over whole lines,
`absent` text must not appear at all.
"""
import os
import re

from tests.harness import bochs, qemu

PLATFORMS = ("qemu-svm", "bochs-vmx", "bochs-svm")
GUESTS = os.path.join(qemu.BUILD, "guests")


def guest(name):
    return os.path.join(GUESTS, name + ".bin")


class Scenario:
    """cpu overrides the platform's CPU (a QEMU -cpu value or a Bochs
    model); status 0 expects Zazen to power the machine off."""

    def __init__(self, name, config, platform="qemu-svm", files=(), lines=(), in_order=(), patterns=(),
                 absent=(), shell=False, cpu=None, status=0, timeout=None, extra=None, memory="512M", typing=None,
                 checks=()):
        self.platform = platform
        self.name = platform + "/" + name
        self.config = config
        self.files = list(files)
        self.lines = list(lines)
        self.in_order = list(in_order)
        self.patterns = list(patterns)
        self.absent = list(absent)
        self.shell = shell
        self.cpu = cpu
        self.status = status
        self.timeout = timeout
        self.extra = extra
        self.memory = memory
        self.typing = typing
        self.checks = list(checks)  # (description, fn(lines) -> (ok, detail))

    def run(self):
        if self.platform == "qemu-svm":
            return qemu.run(self.config, self.files, shell=self.shell, cpu=self.cpu or qemu.SVM_CPU,
                            timeout=self.timeout or 120, memory=self.memory, extra=self.extra, typing=self.typing)
        return bochs.run(self.config, self.files, self.cpu or bochs.MODELS[self.platform],
                         timeout=self.timeout or 600, extra=self.extra, megs=int(self.memory.rstrip("M")),
                         typing=self.typing)

    def check(self, output, status):
        out_lines = [l.rstrip() for l in output.splitlines()]
        line_set = set(out_lines)
        for want in self.lines:
            yield "line %r" % want, want in line_set, "not on the console"
        pos = 0
        ok = True
        missing = ""
        for want in self.in_order:
            try:
                pos = out_lines.index(want, pos) + 1
            except ValueError:
                ok, missing = False, want
                break
        if self.in_order:
            yield "%d lines in order" % len(self.in_order), ok, "missing or out of order: %r" % missing
        for pat in self.patterns:
            rx = re.compile(pat)
            yield "line /%s/" % pat, any(rx.fullmatch(l) for l in out_lines), "no line matches"
        for bad in self.absent:
            yield "no %r" % bad, not any(bad in l for l in out_lines), "present"
        for what, fn in self.checks:
            ok, detail = fn(out_lines)
            yield what, ok, detail
        if self.status is not None:
            what = "QEMU exit status 0" if self.platform == "qemu-svm" else "ACPI power-off ends Bochs"
            yield what, status == self.status, "got %r" % (status,)


GUESTS_CFG = """\
# Every test guest, one domain each, run in this order.
[domain hello]
memory = 16M
firmware = hello.bin

[domain cpuid]
memory = 16M
firmware = cpuid.bin

[domain longmode]
memory = 64M
firmware = longmode.bin

[domain longmode-small]
memory = 6M              # the guest finds where RAM ends by itself
firmware = longmode.bin

[domain unbacked]
memory = 16M
firmware = unbacked.bin

[domain triple]
memory = 16M
firmware = triple.bin
trace = 8                # the exits that led to the fault, printed at its end
"""

BACKEND_LINES = {
    "qemu-svm": r"zazen: AMD-V: 16 ASIDs, nested paging, NRIP save no, decode assists no, "
                r"VMCB clean bits no, flush by ASID no",
    "bochs-svm": r"zazen: AMD-V: \d+ ASIDs, nested paging, NRIP save yes, .*",
    "bochs-vmx": r"zazen: VT-x: EPT \(2 MiB and 4 KiB pages\), VPID, unrestricted guest, controls .*",
}
ENTRY = {"qemu-svm": "UEFI", "bochs-vmx": "multiboot2", "bochs-svm": "multiboot2"}
# What the CPU underneath offers, as the cpuid guest reports it: RDTSCP with
# the guest's own IA32_TSC_AUX where the CPU has it (not qemu64), and leaf
# 15h giving the TSC rate (1 GHz crystal * EBX/EAX) on Intel only: Bochs's
# TSC runs at ips (bochs.IPS), as Zazen measured it against the PIT
# (within 1 kHz).
CPUID_LINES = {
    "qemu-svm": ["(cpuid) cpuid: no rdtscp", "(cpuid) cpuid: no leaf 15h"],
    "bochs-vmx": ["(cpuid) cpuid: rdtscp reads tsc_aux 00005a5a"],
    "bochs-svm": ["(cpuid) cpuid: rdtscp reads tsc_aux 00005a5a", "(cpuid) cpuid: no leaf 15h"],
}


def leaf15_is_measured_rate(lines):
    """The cpuid guest's leaf 15h rate is the TSC rate Zazen measured,
    and that is Bochs's ips within 0.1%."""
    host = [re.match(r"zazen: host TSC (\d+)\.(\d{3}) MHz", l) for l in lines]
    leaf = [re.fullmatch(r"\(cpuid\) cpuid: leaf 15h TSC ([0-9a-f]{8}) kHz", l) for l in lines]
    host = [int(m.group(1)) * 1000 + int(m.group(2)) for m in host if m]
    leaf = [int(m.group(1), 16) for m in leaf if m]
    if not host or not leaf:
        return False, "no 'host TSC' or no 'leaf 15h' line"
    ips_khz = bochs.IPS // 1000
    ok = leaf[0] == host[0] and abs(host[0] - ips_khz) * 1000 <= ips_khz
    return ok, "leaf 15h says %d kHz, Zazen measured %d kHz, Bochs runs %d kHz" % (leaf[0], host[0], ips_khz)


CPUID_CHECKS = {"bochs-vmx": [("leaf 15h reports the measured TSC rate", leaf15_is_measured_rate)]}

TRACE_LINE = re.compile(r"zazen:   exit (\d+) at rip ([0-9a-f]{16}): (.*)")


def triple_trace_shows_the_fault(lines):
    """trace = 8 on the triple domain: eight consecutive exits ending with
    the domain's last one (its number is the domain's exit total), the
    POST code the guest wrote to port 80h, and the fault at f000:1000."""
    head = "zazen: domain triple (id 6): its last 8 exits, oldest first:"
    if head not in lines:
        return False, "no trace header"
    at = lines.index(head) + 1
    found = [TRACE_LINE.fullmatch(l) for l in lines[at:at + 8]]
    if not all(found):
        return False, "not 8 trace lines after the header: %r" % lines[at:at + 8]
    seqs = [int(m.group(1)) for m in found]
    totals = [re.match(r"zazen: domain triple \(id 6\) exits: .*\((\d+) in all\)", l) for l in lines]
    total = [int(m.group(1)) for m in totals if m]
    what = [m.group(3) for m in found]
    post = "io out port 0080 size 1 value 5a (POST code 5ah)"
    last = found[-1]
    ok = (seqs == list(range(seqs[0], seqs[0] + 8)) and total == [seqs[-1]] and post in what
          and last.group(2) == "0000000000001000" and re.fullmatch(r"triple-fault|exception vector 8.*", last.group(3)))
    return bool(ok), "exits %s of %s: %s" % (seqs, total, what)


TRACE_CHECKS = [("the triple domain's trace ends with its fault", triple_trace_shows_the_fault)]


def guests_scenario(platform):
    """Every test guest, one domain each: the same lines on every platform."""
    return Scenario(
        "guests", GUESTS_CFG, platform=platform,
        files=[guest(n) for n in ("hello", "cpuid", "longmode", "unbacked", "triple")],
        lines=[
            "zazen: Zazen 0.1 hypervisor, started from " + ENTRY[platform],
            "(hello) hello from a Zazen guest in real mode",
            "zazen: domain hello (id 1) ended: halted with interrupts disabled",
            "(cpuid) cpuid: signature ZazenZazenZa",
            "(cpuid) cpuid: max hypervisor leaf 40000001",
            "(cpuid) cpuid: hypervisor bit set",
            "(cpuid) cpuid: monitor/mwait hidden",
            "(cpuid) cpuid: svm hidden",
        ] + CPUID_LINES[platform] + [
            "(cpuid) cpuid: unknown hypercall returns ffffffda",
            "(cpuid) cpuid: 1000 timer ticks while looping on CPUID",
            "(longmode) longmode: protected mode",
            "(longmode) longmode: 64-bit mode with 4-level paging",
            "(longmode) longmode: EFER.LMA set",
            "(longmode) longmode: first address past RAM reads ffffffffffffffff",
            "(longmode) longmode: RAM ends at 64 MiB; pattern written and verified from 1 MiB up",
            "(longmode-small) longmode: RAM ends at 6 MiB; pattern written and verified from 1 MiB up",
            "(unbacked) unbacked: read32 = ffffffff",
            "(unbacked) unbacked: read32 after a write = ffffffff",
            "(unbacked) unbacked: movzx read8 = 000000ff",
            "(unbacked) unbacked: rep movsd copied ffffffff",
            "(unbacked) unbacked: and with 0ff00ff0 = 0ff00ff0",
            "(unbacked) rom: after a write, low alias reads 600dc0de",
            "(unbacked) rom: high alias reads 600dc0de",
            "(triple) triple: about to fault at f000:1000",
            "zazen: domain triple (id 6) ended: triple fault at f000:00001000",
        ],
        in_order=[
            "zazen: domain hello (id 1) ended: halted with interrupts disabled",
            "zazen: domain cpuid (id 2) ended: halted with interrupts disabled",
            "zazen: domain longmode (id 3) ended: halted with interrupts disabled",
            "zazen: domain longmode-small (id 4) ended: halted with interrupts disabled",
            "zazen: domain unbacked (id 5) ended: halted with interrupts disabled",
            "zazen: domain triple (id 6) ended: triple fault at f000:00001000",
            "zazen: domain triple (id 6): its last 8 exits, oldest first:",
            "zazen: all domains ended",
        ],
        checks=CPUID_CHECKS.get(platform, []) + TRACE_CHECKS,
        patterns=[
            BACKEND_LINES[platform],
            # host timer exits (ext-intr: console polling, device deadlines) depend on host speed
            r"zazen: domain hello \(id 1\) exits: io 54 hlt 1( ext-intr \d+)? \(\d+ in all\)",
            r"zazen: domain longmode \(id 3\) exits: io \d+ rdmsr 2 wrmsr 1 hlt 1 npf \d+( ext-intr \d+)?( cr-access \d+)? "
            r"\(\d+ in all\)",
            # AMD-V sees the #DF first (exception), VT-x the triple fault itself
            # (counts print in the order of enum exit_reason: triple-fault, ext-intr, exception)
            r"zazen: domain triple \(id 6\) exits: io \d+( triple-fault 1( ext-intr \d+)?|( ext-intr \d+)? exception 1) "
            r"\(\d+ in all\)",
        ],
        absent=["ZAZEN PANIC", "[bochs]"],
    )


DEVICES_CFG = """\
# The device-model proof guest, with the test disk on the primary master.
[domain devices]
memory = 16M
firmware = devices.bin
disk0 = testdisk.img
"""


def devices_scenario(platform):
    """Every emulated chip driven by a guest, the same lines on every platform."""
    return Scenario(
        "devices", DEVICES_CFG, platform=platform,
        files=[guest("devices"), os.path.join(GUESTS, "testdisk.img")],
        in_order=[
            "(devices) devices: CMOS says 15360 KiB of memory above 1 MiB",
            "(devices) devices: 10 IRQ0 ticks from the PIT through the 8259",
            "(devices) devices: PIT rate of 100 Hz confirmed by the ACPI PM timer",
            "(devices) devices: LAPIC timer one-shot and periodic interrupts",
            "(devices) devices: 5 IRQ0 ticks through the I/O APIC",
            "(devices) devices: UART loopback sent and received 'Z' with THR-empty and receive interrupts",
            "(devices) devices: hello on COM1",
            "(devices) devices: 16 RTC periodic interrupts at 256 Hz",
            "(devices) devices: PCI IDE function at 00:01.01 70108086",
            "(devices) devices: IDE PIO read of sector 5 matches the disk",
            "(devices) devices: IDE bus-master DMA read of sectors 7-8 matches the disk",
            "(devices) devices: IDE write of sector 100 read back by DMA",
            "(devices) devices: DMA outside guest RAM refused with an ATA error",
            "(devices) devices: resetting through the keyboard controller",
            "zazen: domain devices (id 1) reset by the guest",
            "(devices) devices: back from a reset through port 64h",
            "zazen: domain devices (id 1) reset by the guest",
            "(devices) devices: back from a reset through port 92h",
            "(devices) devices: all device tests done",
            "zazen: domain devices (id 1) ended: halted with interrupts disabled",
        ],
        # the wall clock: the host's on QEMU, Bochs's time0 (2000-01-01) plus boot time there
        patterns=[r"\(devices\) devices: RTC date 20\d\d-[01]\d-[0-3]\d [0-2]\d:[0-5]\d:[0-5]\d",
                  # the same guest work on every backend: the same port and MMIO
                  # accesses; how often it sleeps (HLT) and waits for an interrupt
                  # window depends on when owed timer ticks arrive, host timer
                  # exits on the host's speed
                  r"zazen: domain devices \(id 1\) exits: io 1190 hlt 3\d npf 26( ext-intr \d+)?( irq-window \d)? \(\d+ in all\)"],
        absent=["ZAZEN PANIC", "[bochs]", "FAILED", "NOT refused", "unexpected"],
    )


LINUX = os.path.join(qemu.BUILD, "linux")
DMI_LINE = "(linux) ZAZEN-LINUX: dmi: Zazen / Zazen virtual machine / Zazen 0.1"
EDD_LINES = {
    "pc": "(linux) ZAZEN-LINUX: edd 80: PCI 00:01.1 channel: 0; ATA device: 0",
    "isa": "(linux) ZAZEN-LINUX: edd 80: ISA base_address: 1f0; ATA device: 0",
    "cdrom": "(linux) ZAZEN-LINUX: edd: none",
}


def linux_scenario(platform, variant):
    """A stock Debian kernel from an IDE disk (or the GRUB CD) through the
    Zazen BIOS, to a userspace disk test, then ACPI power-off."""
    cfg = "[domain linux]\nmemory = 256M\ndisk0 = linux.img\n"
    files = [os.path.join(LINUX, "linux.img")]
    lines = ["(linux) Zazen BIOS 0.1", "(linux) Memory: 256 MiB", "(linux) ide0: hard disk, 41 MiB"]
    if variant == "isa":
        cfg += "platform = isa\n"
    if variant == "cdrom":
        cfg += "cdrom = linux.iso\nboot = cdrom\n"
        files.append(os.path.join(LINUX, "linux.iso"))
        lines += ["(linux) ide2: CD-ROM", "(linux) Booting from CD-ROM..."]
    else:
        lines += ["(linux) Booting from hard disk..."]
    driver = "pata_legacy" if variant == "isa" else "ata_piix"
    mode = "PIO0 (PIO)" if variant == "isa" else "MWDMA2 (bus-master DMA)"
    # the BIOS's tables as Linux reads them: SMBIOS through dmidecode, and
    # the EDD 3.0 device path of disk 80h (the kernel's real-mode setup
    # asks INT 13h AH=48h; GRUB starts the kernel in protected mode)
    lines += [DMI_LINE, EDD_LINES[variant]]
    return Scenario(
        "linux" if variant == "pc" else "linux-" + variant, cfg, platform=platform, files=files, memory="512M",
        timeout=1500 if platform != "qemu-svm" else 300,
        lines=lines,
        patterns=[r"\(linux\) SYSLINUX 6\.\d+ .*" if variant != "cdrom" else r"\(linux\) Zazen Linux guest: loading .*",
                  r"\(linux\) \[ *[0-9.]+\] Linux version 6\.1\.\d+.*",
                  r"zazen: domain linux \(id 1\) exits: .*\(\d+ in all\)"],
        in_order=[
            "(linux) ZAZEN-LINUX: userspace",
            "(linux) ZAZEN-LINUX: disk via " + driver,
            "(linux) ZAZEN-LINUX: xfer mode " + mode,
            "(linux) ZAZEN-LINUX: known file: zazen-known-file-4b1d9e",
            "(linux) ZAZEN-LINUX: written file read back: zazen-written-file-7c2a51 run 1",
            "(linux) ZAZEN-LINUX: done",
            "zazen: domain linux (id 1) ended: powered off",
            "zazen: all domains ended",
        ],
        absent=["ZAZEN PANIC", "ZAZEN-LINUX: FAILED", "[bochs]", "Kernel panic", "unchecked MSR access"],
    )


def console_input_scenario(platform):
    """Prompts show before the user answers them, and typed keys go to
    the keyboard until the guest programs COM1, then to COM1 alone."""
    return Scenario(
        "console-input", "[domain echo]\nmemory = 2M\nfirmware = echo.bin\n", platform=platform,
        files=[guest("echo")], timeout=None if platform == "qemu-svm" else 300,
        # each prompt must show before its line ends, or nothing is typed
        typing=[("echo: keys> ", "hi "), ("echo> ", "hi there\r")],
        in_order=[
            # set 1 (translated) make and break codes of h, i, space, on
            # the prompt's line: its prefix once
            "(echo) echo: keys> 23 a3 17 97 39 b9",
            "(echo) echo: COM1 got nothing",
            "(echo) echo> hi there",
            "(echo) echo: COM1 got 'hi there'",
            "(echo) echo: keyboard got nothing",
        ],
    )


BIOS_VARIANTS = {
    # boot device, its drive as the guest sees it, the config
    "disk": ("80", "disk0 = bioscalls.bin\n", ["bioscalls.bin"]),
    "floppy-cd": ("00", "cdrom = bioscalls-floppy.iso\nboot = cdrom\n", ["bioscalls-floppy.iso"]),
    "harddisk-cd": ("80", "disk0 = bioscalls.bin\ncdrom = bioscalls-harddisk.iso\nboot = cdrom\n",
                    ["bioscalls.bin", "bioscalls-harddisk.iso"]),
}


def bios_scenario(platform, variant):
    """The Zazen BIOS's services as a boot loader sees them (bioscalls.asm),
    booted from a disk, a floppy-emulation CD or a hard-disk-emulation CD:
    every value is what the BIOS returned."""
    drive, cfg, files = BIOS_VARIANTS[variant]
    lines = [
        "(bios) bios: booted from drive " + drive,
        # no key held: AH (extended flags) 00h, not the function number
        "(bios) bios: int16 12h ax=0000 09h al=3f 0ah bx=41ab",
        "(bios) bios: int16 05h 48e0 al=00 01h 4800 00h 4800 11h 48e0 10h 48e0 then empty",
        "(bios) bios: int16 f11 then 1e61: 01h, 00h give 1e61 1e61",
        "(bios) bios: int16 16th key al=01 keys read back 0f",
        "(bios) bios: int16 0306h bx=020c",
        # what 09h/0Ah wrote is mirrored too, a line once the cursor leaves the row
        "(bios) AB",
        "(bios) bios: int10 0ah over 09h keeps the attribute: 1e42",
        "(bios) Y",
        "(bios) X",
        "(bios) bios: int10 window scrolls: 0758 1720 0758 0759",
        "(bios) bios: int10 0fh ax bh 5003 00 03h ax cx dx 0000 0607 0a14",
        "(bios) hi",
        "(bios) bios: int10 13h pairs 1f68 2f69",
        # a program that scrolls the screen itself: two lines, not one
        "(bios) bios: a line, then the screen scrolls",
        "(bios) bios: the next line, on the same row",
        "(bios) bios: int13 15h on 83h ah=00 cf=0",
        "(bios) bios: int13 02h of sector 0 ah=04 04 cf=1",
        "(bios) bios: int13 02h of sector 2 cf=0: the image's",
        "(bios) bios: int15 c0h cf=0 fc7440 c1h cf=0 9f00",
        "(bios) bios: int1a 03h 12:34:56 cf=0 cf=0 1234",
        "(bios) bios: SMBIOS entry point at f000:f030 0208 0009 sum ok",
        "(bios) bios: RSDP at f000:f000 sum ok",
        # typed while COM1 has no baud rate: the keyboard, through IRQ1
        "(bios) bios: keys> 2368 1749 1c0d",
        "(bios) bios: int16 12h after them ax=0000",
        "(bios) bios: INT 10h mirrored while COM1 has no baud rate",
        # INT 14h: line status 60h (THR and transmitter empty), modem status
        # B0h (DCD, DSR, CTS); COM3 is not there: 80h
        "(bios) bios: int14 00h e3 ax=60b0 80",
        "(bios) bios: on COM1",
        "(bios) bios: COM1 got ok, the keyboard nothing",
    ]
    if variant == "floppy-cd":
        lines += [
            # 1.44 MB: 80 cylinders (last 4Fh), 18 sectors, 2 heads, 1 drive; CMOS type 04h
            "(bios) bios: int13 08h cx dx ax 4f12 0101 0000 04 12",
            # packet: size 13h, media 02h (1.44 MB), drive 00h, 1 sector, geometry as 08h
            "(bios) bios: int13 4b01h cf=0 13 02 00 0001 4f1201",
            # terminated: drive 00h is gone
            "(bios) bios: int13 4b00h cf=0 cf=1 0000",
        ]
    else:
        edd = ["(bios) bios: int13 41h cf=0 aa55 30 0005",
               "(bios) bios: int13 48h cf=0 004a bedd 2c PCI ATA      000101000000000000 sum ok",
               "(bios) bios: int13 48h cf=0 0042 bedd 24 PCI ATA      000101000000000000 sum ok",
               "(bios) bios: dpte 01f0 03f6 e0 0e 11 sum ok"]
        lines += edd
    if variant == "disk":
        # 16 heads, 63 sectors, 1 cylinder (the last: 0), one hard disk
        lines += ["(bios) bios: int13 08h cx dx ax 003f 0f01 0000",
                  "(bios) bios: int13 4b01h cf=1"]
    if variant == "harddisk-cd":
        lines += [
            # the image's geometry from its partition table: 1 cylinder, 1 head,
            # 16 sectors; two hard disks now (the image and the IDE disk)
            "(bios) bios: int13 08h cx dx ax 0010 0002 0000",
            "(bios) bios: int13 4b01h cf=0 13 04 80 0001 001000",
            # terminated: 80h is the IDE disk again (16 heads), one disk
            "(bios) bios: int13 4b00h cf=0 cf=0 0f01",
            "(bios) bios: int13 02h of sector 0 ah=04 04 cf=1",
        ]
    return Scenario(
        "bios-" + variant, "[domain bios]\nmemory = 32M\n" + cfg, platform=platform,
        files=[os.path.join(GUESTS, f) for f in files], timeout=None if platform == "qemu-svm" else 400,
        typing=[("bios: keys> ", "hI\r"), ("bios: com1> ", "ok\r")],
        lines=lines,
        absent=["NOT to be seen", "DIFFERS", "BAD", "ZAZEN PANIC", "[bochs]", "cannot load"],
        in_order=["(bios) bios: on COM1", "zazen: domain bios (id 1) ended: halted with interrupts disabled"],
    )


# ---- boot loaders as their users configure them ----

def syslinux_scenario(platform, style):
    """SYSLINUX from the Linux disk with a syslinux.cfg as people write one
    for a serial console (tools/mklinuxdisk.sh SYSLINUX_STYLE): `serial`
    (SERIAL, TIMEOUT 0, no PROMPT, KERNEL/APPEND) boots by itself; `prompt`
    (PROMPT 1, TIMEOUT 0) waits at boot: until a label is typed; `menu`
    (UI menu.c32) waits in its menu until an entry is picked with the
    cursor keys."""
    image = "linux-syslinux-%s.img" % style
    typing, lines, in_order, patterns = None, [], [], [r"\(linux\) SYSLINUX 6\.\d+ .*"]
    if style == "serial":
        lines = [DMI_LINE, EDD_LINES["pc"]]
        in_order = ["(linux) ZAZEN-LINUX: userspace", "(linux) ZAZEN-LINUX: done"]
    elif style == "prompt":
        # boot: shows before anything is typed; SYSLINUX echoes the label
        typing = [("boot:", "linux zazen.stop=userspace\r")]
        # (the terminal escape SYSLINUX sends next shows as "?[...": Zazen
        # passes no control characters of a guest to its console)
        patterns.append(r"\(linux\) boot: linux zazen\.stop=userspace(\?\[.*)?")
        in_order = ["(linux) ZAZEN-LINUX: userspace", "(linux) ZAZEN-LINUX: stopping at userspace (zazen.stop=userspace)"]
    else:
        # down, down (VT100 cursor keys on the serial line), Enter: the
        # third entry, which stops at userspace
        typing = [("SYSLINUX menu", "\x1b[B\x1b[B\r")]
        in_order = ["(linux) ZAZEN-LINUX: userspace", "(linux) ZAZEN-LINUX: stopping at userspace (zazen.stop=userspace)"]
    return Scenario(
        "syslinux-" + style, "[domain linux]\nmemory = 256M\ndisk0 = %s\n" % image, platform=platform,
        files=[os.path.join(LINUX, image)], timeout=300 if platform == "qemu-svm" else 1500, typing=typing,
        lines=lines, patterns=patterns,
        in_order=in_order + ["zazen: domain linux (id 1) ended: powered off"],
        absent=["ZAZEN PANIC", "ZAZEN-LINUX: FAILED", "[bochs]", "Kernel panic"],
    )


def grub_serial_scenario(platform, boot_linux):
    """GRUB's menu and command line on a serial terminal (grub.cfg:
    serial, terminal_input/terminal_output serial console, no timeout),
    driven by keystrokes: `c` for the command line, an echo, then either
    Escape back to the menu and Enter (Linux to userspace) or GRUB's own
    halt (ACPI S5 through the FADT and the DSDT's \\_S5)."""
    steps = [("command-line", "c"), ("grub> ", "echo zazen grub command line\r")]
    if boot_linux:
        steps += [("grub> ", "\x1b"), ("command-line", "\r")]
        ending = ["(linux) ZAZEN-LINUX: userspace",
                  "(linux) ZAZEN-LINUX: stopping at userspace (zazen.stop=userspace)"]
    else:
        steps += [("grub> ", "halt\r")]
        ending = []
    return Scenario(
        "grub-serial" + ("-linux" if boot_linux else ""),
        "[domain linux]\nmemory = 256M\ncdrom = linux-grub-serial.iso\nboot = cdrom\n", platform=platform,
        files=[os.path.join(LINUX, "linux-grub-serial.iso")],
        timeout=300 if platform == "qemu-svm" else 900, typing=steps,
        lines=["(linux) zazen grub command line"],
        in_order=ending + ["zazen: domain linux (id 1) ended: powered off"],
        absent=["ZAZEN PANIC", "ZAZEN-LINUX: FAILED", "[bochs]", "Kernel panic"],
    )


def syslinux_floppy_scenario(platform, kib):
    """A SYSLINUX rescue floppy (mkfs.fat + syslinux --install) on an El
    Torito floppy-emulation CD: SYSLINUX runs from drive 00h, says its
    marker and chain-loads hd0 (chain.c32), the bioscalls disk."""
    sc = bios_scenario(platform, "disk")
    sc.name = "%s/syslinux-floppy-%d" % (platform, kib)
    iso = "syslinux-floppy-%d.iso" % kib
    sc.config = "[domain bios]\nmemory = 32M\ndisk0 = bioscalls.bin\ncdrom = %s\nboot = cdrom\n" % iso
    sc.files.append(os.path.join(GUESTS, iso))
    sc.lines.append("(bios) ZAZEN-FLOPPY: SYSLINUX from a %d KiB El Torito floppy image, chain-loading hd0" % kib)
    sc.patterns.append(r"\(bios\) SYSLINUX 6\.\d+ .*")
    return sc


def harddisk_eltorito_scenario(platform):
    """The Linux disk as the boot image of a hard-disk-emulation CD: its
    MBR and SYSLINUX run from the emulated drive 80h (the IDE disk, also
    attached, becomes 81h), Linux to its disk test."""
    return Scenario(
        "linux-harddisk-eltorito",
        "[domain linux]\nmemory = 256M\ndisk0 = linux.img\ncdrom = linux-harddisk-eltorito.iso\nboot = cdrom\n",
        platform=platform, files=[os.path.join(LINUX, "linux.img"), os.path.join(LINUX, "linux-harddisk-eltorito.iso")],
        timeout=300 if platform == "qemu-svm" else 1500,
        lines=["(linux) Booting from CD-ROM...", DMI_LINE, "(linux) ZAZEN-LINUX: edd 80: no device path"],
        patterns=[r"\(linux\) SYSLINUX 6\.\d+ .*"],
        in_order=["(linux) ZAZEN-LINUX: userspace", "(linux) ZAZEN-LINUX: disk via ata_piix",
                  "(linux) ZAZEN-LINUX: done", "zazen: domain linux (id 1) ended: powered off"],
        absent=["ZAZEN PANIC", "ZAZEN-LINUX: FAILED", "[bochs]", "Kernel panic"],
    )


def linux_shell_scenario():
    """What the README shows `make run` doing: a shell on the guest's COM1,
    where the user types uname -a, cat /proc/interrupts and poweroff."""
    return Scenario(
        "linux-shell", "[domain linux]\nmemory = 256M\ndisk0 = linux-shell.img\n",
        files=[os.path.join(LINUX, "linux-shell.img")], timeout=300,
        typing=[("ZAZEN-LINUX: shell", "uname -a\r"), ("GNU/Linux", "cat /proc/interrupts\r"),
                ("Posted-interrupt wakeup", "poweroff\r")],
        patterns=[r"\(linux\) .*Linux \S+ 6\.1\.0-\d+-amd64 #1 SMP PREEMPT_DYNAMIC Debian .* x86_64.*",
                  r"\(linux\) +0: +\d+ +IO-APIC +2-edge +timer",
                  r"\(linux\) +4: +\d+ +IO-APIC +4-edge +ttyS0"],
        in_order=["(linux) ZAZEN-LINUX: shell (type poweroff to end)",
                  "zazen: domain linux (id 1) ended: powered off"],
    )


# The UEFI shell shows an application's EFI_STATUS in %lasterror% without
# the error bit: EFI_NOT_FOUND (0x800000000000000E) as 0xE, and so on.
EFI_NOT_FOUND = "0xE"
EFI_LOAD_ERROR = "0x1"
EFI_UNSUPPORTED = "0x3"

# Linux on every backend: AMD-V on QEMU (PC, ISA, CD-ROM), VT-x on Bochs (PC,
# ISA) and AMD-V on Bochs ryzen (PC; it needs MONITORX and SEV hidden).
LINUX_RUNS = [("qemu-svm", "pc"), ("qemu-svm", "isa"), ("qemu-svm", "cdrom"), ("bochs-vmx", "pc"), ("bochs-vmx", "isa"),
              ("bochs-svm", "pc")]

ALL = [guests_scenario(p) for p in PLATFORMS] + [devices_scenario(p) for p in PLATFORMS] + [
    console_input_scenario(p) for p in PLATFORMS] + [
    bios_scenario(p, v) for p in PLATFORMS for v in BIOS_VARIANTS] + [
    linux_scenario(p, v) for p, v in LINUX_RUNS] + [linux_shell_scenario()] + [
    syslinux_scenario("qemu-svm", s) for s in ("serial", "prompt", "menu")] + [
    grub_serial_scenario("qemu-svm", True)] + [grub_serial_scenario(p, False) for p in ("bochs-vmx", "bochs-svm")] + [
    syslinux_floppy_scenario("qemu-svm", kib) for kib in (1200, 1440, 2880)] + [
    Scenario(
        "bad-domains-alone",
        "[domain huge]\nmemory = 3G\nfirmware = hello.bin\n\n[domain after]\nmemory = 2M\nfirmware = hello.bin\n",
        files=[guest("hello")], memory="256M",
        patterns=[r"zazen: domain huge \(id 1\) ended: not started: not enough host memory for 3G of RAM "
                  r"\(largest free block \d+ MiB\)"],
        lines=["(after) hello from a Zazen guest in real mode",
               "zazen: domain after (id 2) ended: halted with interrupts disabled",
               "zazen: all domains ended"],
    ),
    Scenario(
        "uefi-shell-start",
        "[domain hello]\nfirmware = hello.bin\n", files=[guest("hello")], shell=True,
        lines=["zazen: \\zazen\\zazen.cfg: 1 file(s) loaded; exiting boot services",
               "(hello) hello: cli; hlt", "zazen: all domains ended"],
    ),
    Scenario(
        "error-missing-file",
        "[domain a]\nmemory = 16M\nfirmware = missing.bin\n", shell=True,
        lines=["zazen: \\zazen\\zazen.cfg:3: cannot load firmware 'missing.bin' from \\zazen\\: Not Found",
               "zazen: not starting; returning to the firmware (status Not Found)",
               "zazen returned " + EFI_NOT_FOUND],
        absent=["exiting boot services"],
    ),
    Scenario(
        "error-bad-key",
        "[domain a]\nmemory = 16M\nfirmware = hello.bin\ncolour = blue\n", files=[guest("hello")], shell=True,
        lines=["zazen: \\zazen\\zazen.cfg:4: unknown key 'colour'",
               "zazen returned " + EFI_LOAD_ERROR],
        absent=["exiting boot services"],
    ),
    Scenario(
        "error-no-config", None, shell=True,
        lines=["zazen: \\zazen\\zazen.cfg: cannot open: Not Found", "zazen returned " + EFI_NOT_FOUND],
    ),
    Scenario(
        "error-firmware-too-big",
        "[domain a]\nfirmware = big.rom\n", shell=True, extra={"big.rom": b"\xff" * (1024 * 1024 + 1)},
        lines=["zazen: \\zazen\\zazen.cfg:2: firmware 'big.rom' is 1048577 bytes: at most 1M "
               "(it ends at 1 MiB, as a PC's BIOS ROM)",
               "zazen returned " + EFI_LOAD_ERROR],
    ),
    Scenario(
        "error-no-svm",
        "[domain a]\nfirmware = hello.bin\n", files=[guest("hello")], shell=True, cpu="qemu64,-svm",
        lines=["zazen: this CPU has neither AMD-V (CPUID 8000_0001h ECX.SVM) nor Intel VT-x (CPUID 1 ECX.VMX)",
               "zazen returned " + EFI_UNSUPPORTED],
        absent=["exiting boot services"],
    ),
    Scenario(
        "error-no-npt",
        "[domain a]\nfirmware = hello.bin\n", files=[guest("hello")], shell=True, cpu="qemu64,+svm,-npt",
        lines=["zazen: AMD-V without nested paging (CPUID 8000_000Ah EDX.NP): Zazen needs NPT",
               "zazen returned " + EFI_UNSUPPORTED],
    ),
    # The GRUB path: errors are found after the machine is taken, so Zazen
    # reports them on its console and powers off without running anything.
    Scenario(
        "error-missing-module", "[domain a]\nmemory = 16M\nfirmware = missing.bin\n", platform="bochs-vmx",
        lines=["zazen: zazen.cfg:3: firmware 'missing.bin' was not loaded by the boot loader"],
        absent=["zazen: domain a"],
    ),
    Scenario(
        "error-bad-key", "[domain a]\nfirmware = hello.bin\ncolour = blue\n", platform="bochs-vmx",
        files=[guest("hello")], lines=["zazen: zazen.cfg:3: unknown key 'colour'"], absent=["zazen: domain a"],
    ),
    Scenario(
        "error-no-ept", "[domain a]\nfirmware = hello.bin\n", platform="bochs-vmx", cpu="core2_penryn_t9600",
        files=[guest("hello")],
        lines=["zazen: VT-x without EPT (IA32_VMX_PROCBASED_CTLS2): Zazen needs it"], absent=["zazen: domain a"],
    ),
    Scenario(
        "error-no-unrestricted-guest", "[domain a]\nfirmware = hello.bin\n", platform="bochs-vmx",
        cpu="corei5_lynnfield_750", files=[guest("hello")],
        lines=["zazen: VT-x without unrestricted guest (IA32_VMX_PROCBASED_CTLS2): Zazen needs it"],
        absent=["zazen: domain a"],
    ),
]


# Third-party software whose runs cost minutes: `make test-thirdparty`
# (tests/run.py --thirdparty). A list of scenarios; add to it.
THIRDPARTY = [harddisk_eltorito_scenario("qemu-svm"), harddisk_eltorito_scenario("bochs-vmx")] + [
    syslinux_scenario("bochs-vmx", s) for s in ("serial", "prompt", "menu")] + [
    grub_serial_scenario("bochs-vmx", True)] + [
    syslinux_floppy_scenario(p, kib) for p in ("bochs-vmx", "bochs-svm") for kib in (1200, 1440, 2880)]
