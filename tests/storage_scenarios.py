"""Storage scenarios: guest disks that persist (docs/storage.md).

QEMU -machine q35 boots Zazen from a real FAT32 image (not the vvfat
folder of the other scenarios) attached as a SATA disk on the ICH9 AHCI
controller. The Linux guest's disk test (tools/linux-init) writes
/zazen/written.txt with a run count ("run N": one more than the file it
found), syncs, reads it back after a remount and powers off. Boots of the
same image then show what the earlier ones left, and the host checks the
image afterwards with fsck.vfat, e2fsck and debugfs. Each scenario's
console log holds every boot, each after a "==== boot N" line, and the
host's checks as "HOST ..." lines.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import zlib

from tests.harness import bochs, qemu
from tests.scenarios import LINUX, Scenario, guest

WRITTEN = "(linux) ZAZEN-LINUX: written file read back: zazen-written-file-7c2a51 run %d"
ESP_MIB = 96  # FAT32 needs 65525 clusters: 33 MiB or more with 512-byte clusters


def mtools_env():
    env = dict(os.environ)
    env["MTOOLS_SKIP_CHECK"] = "1"
    return env


def make_esp_image(path, config_text, files, size=ESP_MIB << 20, mkfs_args=()):
    """A FAT32 volume without a partition table (as a USB stick often is)
    holding \\EFI\\BOOT\\BOOTX64.EFI, zazen.cfg and the files. The image
    is sparse: only what mkfs and mcopy write takes room on the host."""
    with open(path, "wb") as f:
        f.truncate(size)
    subprocess.run(["mkfs.vfat", "-F", "32", "-n", "ZAZENESP"] + list(mkfs_args) + [path], check=True,
                   capture_output=True)
    env = mtools_env()
    subprocess.run(["mmd", "-i", path, "::/EFI", "::/EFI/BOOT"], check=True, env=env)
    subprocess.run(["mcopy", "-i", path, os.path.join(qemu.BUILD, "zazen.efi"), "::/EFI/BOOT/BOOTX64.EFI"],
                   check=True, env=env)
    cfg = path + ".cfg"
    with open(cfg, "w") as f:
        f.write(config_text)
    subprocess.run(["mcopy", "-i", path, cfg, "::/EFI/BOOT/zazen.cfg"], check=True, env=env)
    os.unlink(cfg)
    for src in files:  # a path, or (path, name on the ESP)
        src, name = src if isinstance(src, tuple) else (src, os.path.basename(src))
        subprocess.run(["mcopy", "-i", path, src, "::/EFI/BOOT/" + name], check=True, env=env)


PARTLABEL = "zazen-linux"
PARTUUID = "5a2e4c1b-7d3f-4e8a-9b61-c0ffee0d15c5"  # its unique GUID, as blkid prints it
DATA_START = 2048  # the data disk's partition, in sectors


def make_data_disk(path, linux_img, round_to=512):
    """A GPT disk whose partition PARTLABEL holds the Linux test disk
    (its MBR, boot and ext2 partitions) sector for sector; its size a
    multiple of round_to bytes (Bochs wants whole cylinders)."""
    sectors = os.path.getsize(linux_img) // 512
    size = (DATA_START + sectors + 2048) * 512
    with open(path, "wb") as f:
        f.truncate(-(-size // round_to) * round_to)
    table = 'label: gpt\nstart=%d, size=%d, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="%s", uuid=%s\n' % (
        DATA_START, sectors, PARTLABEL, PARTUUID)
    subprocess.run(["sfdisk", "-q", path], input=table, text=True, check=True, capture_output=True)
    with open(linux_img, "rb") as src, open(path, "r+b") as dst:
        dst.seek(DATA_START * 512)
        shutil.copyfileobj(src, dst)


def boot(image, vars_path, timeout, kill_on=None, device="ahci", data=None, typing=None):
    """One boot of the image as an AHCI disk (or an NVMe namespace);
    returns (console, status).
    kill_on: console text after which QEMU is killed with SIGKILL, as a
    power cut (status None). typing: what a user types on the console, and
    when (qemu.Typist)."""
    cmd = ["qemu-system-x86_64", "-machine", "q35"] + qemu.accel_args(1, False) + [
        "-cpu", qemu.SVM_CPU, "-m", "512M", "-display", "none", "-no-reboot", "-net", "none",
        "-drive", "if=pflash,format=raw,readonly=on,file=" + qemu.OVMF_CODE,
        "-drive", "if=pflash,format=raw,file=" + vars_path,
        "-drive", "file=%s,format=raw,if=none,id=esp" % image,
        "-device", "ide-hd,drive=esp,bus=ide.0" if device == "ahci" else "nvme,drive=esp,serial=zazen-esp",
        "-serial", "stdio"]
    if data:  # a second disk on the next AHCI port
        cmd += ["-drive", "file=%s,format=raw,if=none,id=data" % data, "-device", "ide-hd,drive=data,bus=ide.1"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if typing else subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    chunks = []
    killed = []

    def send(keys):
        proc.stdin.write(keys)
        proc.stdin.flush()

    typist = qemu.Typist(typing, send) if typing else None

    def reader():
        while True:
            data = proc.stdout.read1(4096)
            if not data:
                return
            chunks.append(data)
            if typist:
                typist.feed(data)
            # the console as a terminal shows it: Zazen redraws a line cut
            # by the shell's prompt with escapes that split the raw bytes
            tail = qemu.unsplit(b"".join(chunks[-256:])[-16384:]).decode("utf-8", "replace")
            if kill_on and not killed and kill_on in qemu.clean(tail):
                killed.append(True)
                proc.send_signal(signal.SIGKILL)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    status = None
    try:
        status = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    t.join(5)
    text = qemu.clean(b"".join(chunks).decode("utf-8", "replace"))
    if killed:
        text += "\nHOST killed QEMU (SIGKILL) after %r\n" % kill_on
        status = None
    return text, status


def data_partition(image, workdir, data=None):
    """The Linux disk's ext2 data partition (its second), copied out of
    the ESP image (or out of the data disk's GPT partition); None if it
    cannot be."""
    disk = os.path.join(workdir, "linux-out.img")
    if data:
        with open(data, "rb") as src, open(disk, "wb") as dst:
            src.seek(DATA_START * 512)
            dst.write(src.read(os.path.getsize(LINUX_IMG)))
    else:
        r = subprocess.run(["mcopy", "-o", "-i", image, "::/EFI/BOOT/linux.img", disk], env=mtools_env(),
                           capture_output=True)
        if r.returncode != 0:
            return None
    out = subprocess.run(["sfdisk", "-J", disk], capture_output=True, text=True)
    parts = json.loads(out.stdout)["partitiontable"]["partitions"]
    part = os.path.join(workdir, "data.ext2")
    with open(disk, "rb") as src, open(part, "wb") as dst:
        src.seek(parts[1]["start"] * 512)
        dst.write(src.read(parts[1]["size"] * 512))
    return part


def host_checks(image, workdir, data=None):
    """What the host sees on the image after the boots, as HOST lines
    (image None: no ESP image, the disk is the data disk alone)."""
    lines = []
    if image:
        r = subprocess.run(["fsck.vfat", "-n", image], capture_output=True, text=True)
        lines.append("HOST fsck.vfat -n: exit %d" % r.returncode)
        if r.returncode != 0:
            lines += ["HOST   " + l for l in (r.stdout + r.stderr).splitlines()[-10:]]
    part = data_partition(image, workdir, data)
    if part is None:
        return lines + ["HOST cannot copy linux.img out of the ESP"]
    r = subprocess.run(["e2fsck", "-n", "-f", part], capture_output=True, text=True)
    lines.append("HOST e2fsck -n -f: exit %d" % r.returncode)
    if r.returncode != 0:
        lines += ["HOST   " + l for l in (r.stdout + r.stderr).splitlines()[-10:]]
    r = subprocess.run(["debugfs", "-R", "cat /zazen/written.txt", part], capture_output=True)
    content = r.stdout
    if content:
        lines.append("HOST written.txt: %s" % content.decode("utf-8", "replace").strip())
        lines.append("HOST written.txt md5: %s" % hashlib.md5(content).hexdigest())
    else:
        lines.append("HOST written.txt: absent")
    return lines


class StorageScenario(Scenario):
    """Boots the same ESP image `boots` times, then checks it on the host.
    On Bochs (platform bochs-*) there is no ESP image: Zazen comes from the
    GRUB ISO (bochs.run) and the data disk is a flat image on ata0-slave,
    beside the ISO's CD-ROM on ata0-master. gpt_damage(path): what to do to
    the data disk's GPT before the first boot."""

    def __init__(self, name, config, boots=2, kill_on=None, host=True, device="ahci", data_disk=False,
                 platform="qemu-svm", gpt_damage=None, check_after_cut=False, typing=None, **kw):
        super().__init__(name, config, platform=platform, **kw)
        self.device = device
        self.data_disk = data_disk
        self.boots = boots
        self.kill_on = kill_on
        self.host = host
        self.gpt_damage = gpt_damage
        self.check_after_cut = check_after_cut
        self.typing = typing

    def run(self):
        workdir = tempfile.mkdtemp(prefix="zazen-storage-", dir=qemu.BUILD)
        on_bochs = self.platform != "qemu-svm"
        try:
            image = None if on_bochs else os.path.join(workdir, "esp.img")
            if image:
                make_esp_image(image, self.config, self.files)
            data = None
            if self.data_disk:
                data = os.path.join(workdir, "data.img")
                make_data_disk(data, LINUX_IMG, bochs.CYLINDER_BYTES if on_bochs else 512)
                if self.gpt_damage:
                    self.gpt_damage(data)
            data_md5 = file_md5(data) if data else None
            vars_path = os.path.join(workdir, "vars.fd")
            shutil.copy(qemu.OVMF_VARS, vars_path)
            text, status = "", None
            for n in range(1, self.boots + 1):
                if on_bochs:
                    out, status = bochs.run(self.config, self.files, bochs.MODELS[self.platform],
                                            timeout=self.timeout or 1500, megs=int(self.memory.rstrip("M")),
                                            disks=[("ata0-slave", data)])
                else:
                    out, status = boot(image, vars_path, self.timeout or 300, kill_on=self.kill_on,
                                       device=self.device, data=data, typing=self.typing)
                text += "==== boot %d\n%s\n==== boot %d ended: status %s\n" % (n, out, n, status)
                if self.check_after_cut and "HOST killed QEMU" in out:
                    text += "".join(l.replace("HOST ", "HOST after the cut: ", 1) + "\n"
                                    for l in host_checks(image, workdir, data))
            if self.host:
                text += "\n".join(host_checks(image, workdir, data)) + "\n"
            if data:
                text += "HOST data disk %s\n" % ("unchanged" if file_md5(data) == data_md5 else "changed")
                text += "HOST primary GPT header %s\n" % ("valid" if gpt_header_valid(data, 1) else "corrupt")
            return text, status
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def gpt_header_valid(path, lba):
    """The GPT header at lba passes its CRC32 (UEFI 2.10 5.3.2), checked
    here with Python's zlib.crc32."""
    with open(path, "rb") as f:
        f.seek(lba * 512)
        hdr = bytearray(f.read(512))
    size = int.from_bytes(hdr[12:16], "little")
    if hdr[:8] != b"EFI PART" or not 92 <= size <= 512:
        return False
    want = int.from_bytes(hdr[16:20], "little")
    hdr[16:20] = bytes(4)
    return zlib.crc32(bytes(hdr[:size])) == want


def file_md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def written_md5_matches(lines):
    """The file the host reads back is the one the last boot read back,
    byte for byte (its md5 against that of the guest's line)."""
    guest = [l for l in lines if l.startswith("(linux) ZAZEN-LINUX: written file read back: ")]
    host = [l for l in lines if l.startswith("HOST written.txt md5: ")]
    if not guest or not host:
        return False, "guest or host line missing"
    want = hashlib.md5((guest[-1].split(": ", 2)[2] + "\n").encode()).hexdigest()
    got = host[-1].split(": ", 1)[1]
    return want == got, "host %s, guest's last read-back %s" % (got, want)


LINUX_IMG = os.path.join(LINUX, "linux.img")


def linux_img_sectors():
    """The Linux disk's size in sectors, for the partition scenarios'
    expected lines; 0 before `make test` built it (`tests/run.py --only
    unit` imports this module without running a scenario)."""
    return os.path.getsize(LINUX_IMG) // 512 if os.path.exists(LINUX_IMG) else 0
BASE_ABSENT = ["ZAZEN PANIC", "ZAZEN-LINUX: FAILED", "Kernel panic", "kept in RAM"]


DEVICE_PATTERNS = {
    "ahci": [r"zazen: storage: ahci 00:1f\.2 port 0: QEMU HARDDISK, 196608 sectors \(96 MiB\)",
             r"zazen: storage: disk0 'linux\.img' in place on ahci 00:1f\.2 port 0, 1 piece from sector \d+"],
    # OVMF puts the NVMe controller's 64-bit BAR far above RAM (storage_map_registers)
    "nvme": [r"zazen: storage: nvme 00:0[0-9a-f]\.0 namespace 1: QEMU NVMe Ctrl, 196608 sectors \(96 MiB\)",
             r"zazen: storage: disk0 'linux\.img' in place on nvme 00:0[0-9a-f]\.0 namespace 1, 1 piece from "
             r"sector \d+"],
}


def two_boots_persist(name, config, files, device, boot1_first=(), patterns=()):
    """Boot 1 writes, boot 2 reads it back, the host checks the image:
    the persistence proof, for a disk reached through IDE or blkfront."""
    return StorageScenario(
        name, config, files=files, timeout=400, device=device, patterns=DEVICE_PATTERNS[device] + list(patterns),
        in_order=["==== boot 1"] + list(boot1_first) + [
                  WRITTEN % 1, "(linux) ZAZEN-LINUX: done", "zazen: all domains ended",
                  "==== boot 1 ended: status 0",
                  "==== boot 2", WRITTEN % 2, "(linux) ZAZEN-LINUX: done", "zazen: all domains ended",
                  "==== boot 2 ended: status 0",
                  "HOST fsck.vfat -n: exit 0", "HOST e2fsck -n -f: exit 0",
                  "HOST written.txt: zazen-written-file-7c2a51 run 2"],
        checks=[("the host reads the guest's file back byte for byte", written_md5_matches)],
        absent=BASE_ABSENT)


def persist_scenario(device):
    return two_boots_persist("storage-%s-persist" % device, "[domain linux]\nmemory = 256M\ndisk0 = linux.img\n",
                             [LINUX_IMG], device)


def pvh_persist_scenario():
    """The same disk test as a Xen PVH domain: xen-blkfront's requests
    reach the file in place on the host's AHCI disk through the same store
    as the IDE device's (one block layer, issue 16), so what boot 1 wrote
    boot 2 reads, and the host finds it."""
    cfg = ("[domain linux]\ntype = pvh\nmemory = 256M\nkernel = vmlinuz\nramdisk = initrd.gz\n"
           "cmdline = console=hvc0\ndisk0 = linux.img\n")
    return two_boots_persist("storage-pvh-persist", cfg,
                             [LINUX_IMG] + [os.path.join(LINUX, n) for n in ("vmlinuz", "initrd.gz")], "ahci",
                             boot1_first=["(linux) ZAZEN-LINUX: data partition /dev/xvda2"],
                             # requests answered from the poll timer: the vCPU went on while the host disk worked
                             patterns=[r"zazen: domain linux \(id 1\): xvda: \d+ requests, \d+ sectors read, \d+ "
                                       r"written, [1-9]\d* answered after the kick returned"])


def partlabel_scenario():
    """disk0 = partlabel:NAME: a GPT partition of a second disk (on the
    next AHCI port) is the guest's disk, read and written in place."""
    return StorageScenario(
        "storage-partlabel", "[domain linux]\nmemory = 256M\ndisk0 = partlabel:%s\n" % PARTLABEL, files=[],
        timeout=400, data_disk=True,
        patterns=[r"zazen: storage: disk0 'partlabel:%s' is partition '%s' of ahci 00:1f\.2 port 1, sectors %d-%d" % (
            PARTLABEL, PARTLABEL, DATA_START, DATA_START + linux_img_sectors() - 1)],
        in_order=["==== boot 1", WRITTEN % 1, "(linux) ZAZEN-LINUX: done", "==== boot 1 ended: status 0",
                  "==== boot 2", WRITTEN % 2, "(linux) ZAZEN-LINUX: done", "==== boot 2 ended: status 0",
                  "HOST fsck.vfat -n: exit 0", "HOST e2fsck -n -f: exit 0",
                  "HOST written.txt: zazen-written-file-7c2a51 run 2"],
        checks=[("the host reads the guest's file back byte for byte", written_md5_matches)],
        absent=BASE_ABSENT)


def partuuid_scenario():
    """disk0 = partuuid:UUID, written in capitals (blkid prints small
    letters; either case is the same GUID): the partition sfdisk made
    with that uuid= is found at its sectors, so Zazen reads the GUID's
    mixed-endian bytes as the GPT tools write them."""
    return StorageScenario(
        "storage-partuuid", "[domain linux]\nmemory = 256M\ndisk0 = partuuid:%s\n" % PARTUUID.upper(), files=[],
        timeout=400, data_disk=True, boots=1,
        lines=["zazen: storage: disk0 'partuuid:%s' is partition %s of ahci 00:1f.2 port 1, sectors %d-%d" % (
            PARTUUID.upper(), PARTUUID.upper(), DATA_START, DATA_START + linux_img_sectors() - 1)],
        in_order=["==== boot 1", WRITTEN % 1, "(linux) ZAZEN-LINUX: done", "==== boot 1 ended: status 0",
                  "HOST e2fsck -n -f: exit 0", "HOST written.txt: zazen-written-file-7c2a51 run 1"],
        checks=[("the host reads the guest's file back byte for byte", written_md5_matches)],
        absent=BASE_ABSENT)


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([b ^ 0xFF]))


def damage_primary_header(path):
    flip_byte(path, 512 + 40)  # FirstUsableLBA's low byte: inside the header's CRC


def damage_both_headers(path):
    damage_primary_header(path)
    flip_byte(path, os.path.getsize(path) - 512 + 40)  # the backup header, at the last sector


ATA_SLAVE = "ata 00:01.1 channel 0 device 1"  # Bochs's ata0-slave, as the ATA driver names it


def gpt_backup_scenario(platform):
    """The primary GPT header is corrupt (a byte changed behind its
    CRC32): Zazen says so and uses the backup at the disk's last sector,
    as firmware does; the guest runs from the partition, and the primary
    is still corrupt afterwards (Zazen never writes a GPT). On Bochs: OVMF
    restores a bad primary from the backup before Zazen starts (EDK2's
    partition driver does), so QEMU cannot show the fallback; Bochs's
    BIOS leaves the disk alone."""
    return StorageScenario(
        "storage-gpt-backup", "[domain linux]\nmemory = 256M\ndisk0 = partlabel:%s\n" % PARTLABEL, files=[],
        platform=platform, timeout=3000, data_disk=True, boots=1, gpt_damage=damage_primary_header,
        lines=["zazen: storage: disk0 'partlabel:%s' is partition '%s' of %s, sectors %d-%d" % (
            PARTLABEL, PARTLABEL, ATA_SLAVE, DATA_START, DATA_START + linux_img_sectors() - 1)],
        patterns=[r"zazen: storage: %s: the GPT's primary header or entries are corrupt: its backup at "
                  r"sector \d+ was used \(repair it with a GPT tool, e\.g\. gdisk's recovery menu\)" % re.escape(ATA_SLAVE)],
        in_order=["==== boot 1", WRITTEN % 1, "(linux) ZAZEN-LINUX: done", "==== boot 1 ended: status 0",
                  "HOST e2fsck -n -f: exit 0", "HOST written.txt: zazen-written-file-7c2a51 run 1",
                  "HOST primary GPT header corrupt"],
        checks=[("the host reads the guest's file back byte for byte", written_md5_matches)],
        absent=BASE_ABSENT + ["[bochs]"])


def gpt_both_bad_scenario():
    """Both GPT headers corrupt: an error naming zazen.cfg's line, the
    disk and both faults; no domain runs and the disk is not written."""
    return StorageScenario(
        "storage-gpt-both-bad", "[domain linux]\nmemory = 256M\ndisk0 = partlabel:%s\n" % PARTLABEL, files=[],
        timeout=120, data_disk=True, boots=1, host=False, gpt_damage=damage_both_headers,
        patterns=[r"zazen: \\EFI\\BOOT\\zazen\.cfg:3: disk0 'partlabel:%s': ahci 00:1f\.2 port 1: corrupt GPT: "
                  r"primary header \(sector 1\): header CRC32 [0-9a-f]{8}, computed [0-9a-f]{8}; "
                  r"backup header \(sector \d+\): header CRC32 [0-9a-f]{8}, computed [0-9a-f]{8}" % PARTLABEL],
        lines=["HOST data disk unchanged", "HOST primary GPT header corrupt"],
        absent=["ZAZEN PANIC", "zazen: domain linux (id 1)", "(linux) "])


def bochs_ata_scenario(platform):
    """Bochs (GRUB ISO, no UEFI volume): the guest's disk is a GPT
    partition of a flat disk image on the machine's ata0-slave, which
    Zazen reaches with its legacy ATA driver (vmm/storage/ata.c). Boot 2
    of the same image reads back what boot 1 wrote; the host then checks
    the image file's bytes."""
    return StorageScenario(
        "storage-ata-partlabel", "[domain linux]\nmemory = 256M\ndisk0 = partlabel:%s\n" % PARTLABEL, files=[],
        platform=platform, timeout=3000, data_disk=True,
        patterns=[r"zazen: storage: ata 00:01\.1 channel 0 device 1: .+, \d+ sectors \(\d+ MiB\)"],
        lines=["zazen: storage: disk0 'partlabel:%s' is partition '%s' of %s, sectors %d-%d" % (
            PARTLABEL, PARTLABEL, ATA_SLAVE, DATA_START, DATA_START + linux_img_sectors() - 1)],
        in_order=["==== boot 1", WRITTEN % 1, "(linux) ZAZEN-LINUX: done", "==== boot 1 ended: status 0",
                  "==== boot 2", WRITTEN % 2, "(linux) ZAZEN-LINUX: done", "==== boot 2 ended: status 0",
                  "HOST e2fsck -n -f: exit 0", "HOST written.txt: zazen-written-file-7c2a51 run 2",
                  "HOST data disk changed"],
        checks=[("the host reads the guest's file back byte for byte", written_md5_matches)],
        absent=BASE_ABSENT + ["[bochs]", "timed out", "failed: status"])


# Without the "(linux) " prefix: the kill looks at the console with Zazen's
# cut lines joined again (qemu.unsplit), which takes out every "\n(linux) ".
CUT_MARK = ("ZAZEN-LINUX: waiting for the power cut: sync returned for \"zazen-written-file-7c2a51 run 1\", "
            "/dev/sda2 still mounted")


def power_cut_scenario():
    """QEMU is killed with SIGKILL right after the guest prints that the
    sync(2) following its write returned, its partition still mounted
    (linux-cut.img: zazen.cut=mounted): no unmount, power-off or flush
    path of the guest's or Zazen's runs after it. On the host the image
    then holds the file and a filesystem e2fsck finds consistent (marked
    not cleanly unmounted, which -f checks through); the next boot reads
    the file (run 1, so it writes run 2), ends cleanly, and the image
    checks clean again."""
    return StorageScenario(
        "storage-ahci-power-cut", "[domain linux]\nmemory = 256M\ndisk0 = linux.img\n",
        files=[(os.path.join(LINUX, "linux-cut.img"), "linux.img")], timeout=400, kill_on=CUT_MARK, boots=2,
        check_after_cut=True,
        in_order=["==== boot 1", "(linux) " + CUT_MARK,
                  "HOST killed QEMU (SIGKILL) after %r" % CUT_MARK,
                  "HOST after the cut: fsck.vfat -n: exit 0", "HOST after the cut: e2fsck -n -f: exit 0",
                  "HOST after the cut: written.txt: zazen-written-file-7c2a51 run 1",
                  "==== boot 2", WRITTEN % 2, "(linux) ZAZEN-LINUX: done", "==== boot 2 ended: status 0",
                  "HOST fsck.vfat -n: exit 0", "HOST e2fsck -n -f: exit 0",
                  "HOST written.txt: zazen-written-file-7c2a51 run 2"],
        checks=[("the host reads the guest's file back byte for byte", written_md5_matches),
                ("boot 1 was cut, not powered off", cut_before_the_end)],
        absent=BASE_ABSENT)


def cut_before_the_end(lines):
    boot1 = lines[lines.index("==== boot 1"):lines.index("==== boot 2")] if "==== boot 2" in lines else lines
    ended = [l for l in boot1 if "powered off" in l or "all domains ended" in l]
    return not ended, "boot 1 went on to %r" % (ended[:1],)


def volatile_scenario():
    """,volatile: both boots start from the image as it was; nothing the
    guest wrote reaches it. The file is read in place and the guest's
    writes go to an overlay in RAM: the host disk's counts show reads and
    not one write or flush."""
    return StorageScenario(
        "storage-volatile", "[domain linux]\nmemory = 256M\ndisk0 = linux.img,volatile\n", files=[LINUX_IMG],
        timeout=400,
        patterns=[r"zazen: storage: disk0 'linux\.img' in place on ahci 00:1f\.2 port 0, 1 piece from sector \d+, "
                  r"volatile: its writes go to an overlay in RAM \(at most 32 MiB\)",
                  r"zazen: storage: ahci 00:1f\.2 port 0: [1-9]\d* reads, 0 writes, 0 flushes, 0 errors, .*"],
        in_order=["==== boot 1", WRITTEN % 1, "(linux) ZAZEN-LINUX: done", "==== boot 1 ended: status 0",
                  "==== boot 2", WRITTEN % 1, "(linux) ZAZEN-LINUX: done", "==== boot 2 ended: status 0",
                  "HOST fsck.vfat -n: exit 0", "HOST e2fsck -n -f: exit 0", "HOST written.txt: absent"],
        absent=BASE_ABSENT + [WRITTEN % 2])


def same_file_twice_scenario():
    """Two writable uses of one file under two spellings (the config's
    own check compares names; the FAT is case-blind): a clear error, no
    domain runs, the image is untouched."""
    cfg = ("[domain a]\nmemory = 64M\ndisk0 = linux.img\n"
           "[domain b]\nmemory = 64M\ndisk0 = LINUX.IMG\n")
    return StorageScenario(
        "storage-same-file-twice", cfg, files=[LINUX_IMG], boots=1, timeout=120,
        lines=["zazen: \\EFI\\BOOT\\zazen.cfg:6: disk0 'LINUX.IMG': the same file as disk0 'linux.img' (line 3): "
               "give each its own image, or add ,ro",
               "HOST fsck.vfat -n: exit 0", "HOST written.txt: absent"],
        absent=["ZAZEN PANIC", "zazen: domain a (id 1)", "(a) "])


def partlabel_missing_scenario():
    """A partition no disk has: an error naming the line, no domain runs."""
    return StorageScenario(
        "storage-partlabel-missing", "[domain linux]\nmemory = 256M\ndisk0 = partlabel:nowhere\n", files=[],
        boots=1, host=False, timeout=120,
        lines=["zazen: \\EFI\\BOOT\\zazen.cfg:3: disk0 'partlabel:nowhere': no GPT partition named 'nowhere' on "
               "the 1 disk the host drivers found"],
        absent=["ZAZEN PANIC", "zazen: domain linux (id 1)"])


SPIN_WINDOW = re.compile(r"\(spin\) spin: window (\d+): (\d+) units")
STATS = re.compile(r"zazen: storage: ahci 00:1f\.2 port 0: (\d+) reads, (\d+) writes, (\d+) flushes, (\d+) errors, "
                   r"(\d+) requests queued at most, (\d+) looks at a running command")


def spinner_during_disk_test(lines):
    """The spinner's windows while Linux ran (from its first console line
    to its disk test's "done": the BIOS and SYSLINUX reading the kernel and
    initramfs, Linux probing and mounting, the test reading, writing,
    syncing and reading back, every request through the host's AHCI disk).
    Linux has 16 times the spinner's weight, so while Linux runs the
    spinner gets less than a window's worth; it gets more only while
    Linux's vCPU is blocked in HLT waiting for its requests. One of those
    windows must be above the run's median window: with the vCPU waiting
    inside Zazen for the host disk none could. (Not a multiple of it, nor
    only the disk test's own windows: a window is host time, and at load
    the spinner's share outside was half a window, or the disk test shorter
    than one window.)"""
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith("(linux) "))
        end = lines.index("(linux) ZAZEN-LINUX: done")
    except (StopIteration, ValueError):
        return False, "no Linux lines or no done marker"
    units = sorted(int(m.group(2)) for m in map(SPIN_WINDOW.fullmatch, lines) if m)
    during = [int(m.group(2)) for m in map(SPIN_WINDOW.fullmatch, lines[start:end]) if m]
    median = units[len(units) // 2] if units else 0
    ok = bool(during) and max(during) > max(median, 1)
    return ok, "spinner units per window while Linux ran %r, the run's median window %d" % (during, median)


def requests_went_on_while_the_guest_ran(lines):
    """The host disk's counts: the guest's I/O went through the queue, and
    polls found commands still running (the vCPU had gone back to its
    guest or halted rather than wait on the device)."""
    m = next((m for m in map(STATS.fullmatch, lines) if m), None)
    if not m:
        return False, "no storage stats line"
    reads, writes, flushes, errors, depth, looks = (int(x) for x in m.groups())
    ok = reads > 100 and writes > 0 and flushes > 0 and errors == 0 and depth >= 1 and looks > 0
    return ok, "reads %d writes %d flushes %d errors %d depth %d looks %d" % (reads, writes, flushes, errors, depth,
                                                                           looks)


def io_beside_spinner_scenario():
    """Linux's disk test in place on the host's AHCI disk, and a CPU-bound
    guest, on one host CPU: while Linux's requests are outstanding its vCPU
    waits for the IDE interrupt (HLT) and the spinner runs; the run ends
    (QEMU killed) once Linux has powered off and Zazen printed the disk's
    counts."""
    cfg = ("[domain linux]\nmemory = 256M\ndisk0 = linux.img\nweight = 4096\n\n"
           "[domain spin]\nmemory = 4M\nfirmware = spinio.bin\n")
    return StorageScenario(
        "storage-io-beside-spinner", cfg, files=[LINUX_IMG, guest("spinio")], boots=1, timeout=600,
        kill_on="looks at a running command", host=False,
        in_order=["(linux) ZAZEN-LINUX: disk via ata_piix", WRITTEN % 1, "(linux) ZAZEN-LINUX: done",
                  "zazen: domain linux (id 1) ended: powered off"],
        checks=[("the spinner had whole windows while Linux ran, its vCPU blocked", spinner_during_disk_test),
                ("the host disk's requests were polled while the guest ran", requests_went_on_while_the_guest_ran)],
        status=None, absent=BASE_ABSENT)


def disk_bench_scenario():
    """The shell's disk-bench (docs/management.md): Zazen's own reads of a
    guest disk's store on the host's AHCI disk, as make bench uses it; a
    name no store has is refused with the reason. The idle guest never
    touches its disk, so what is read is the file as the host wrote it."""
    cfg = "[domain idle]\nmemory = 2M\nfirmware = idleforever.bin\ndisk0 = linux.img\n"
    whole_mib = linux_img_sectors() * 512 >> 20 << 20  # the sequential passes read whole MiB
    return StorageScenario(
        "storage-disk-bench", cfg, files=[LINUX_IMG, guest("idleforever")], boots=1, timeout=300,
        typing=[("in place on ahci", "\x01\x01\x01"), ("zazen> ", "disk-bench nosuch.img\r"),
                ("in place on a host disk", "disk-bench linux.img\r"), ("random 4 KiB reads", "destroy idle\r")],
        lines=["zazen: disk-bench nosuch.img: no disk of zazen.cfg by that name is in place on a host disk",
               "disk                    : linux.img (the host's reads of its store)"],
        patterns=[r"sequential 1 MiB reads  : \d+\.\d\d MB/s \(%d bytes in \d+ us\)" % whole_mib,
                  r"sequential 4 KiB reads  : \d+\.\d\d MB/s \(%d bytes in \d+ us\)" % whole_mib,
                  r"random 4 KiB reads      : \d+\.\d\d MB/s \(819200 bytes in \d+ us\)"],
        in_order=["zazen: domain idle (id 1) ended: destroyed", "zazen: all domains ended"],
        absent=BASE_ABSENT + ["a read failed"])


ALL = [persist_scenario("ahci"), persist_scenario("nvme"), pvh_persist_scenario(), partlabel_scenario(),
       power_cut_scenario(),
       volatile_scenario(), same_file_twice_scenario(), partlabel_missing_scenario(), partuuid_scenario(),
       gpt_both_bad_scenario(), io_beside_spinner_scenario(), bochs_ata_scenario("bochs-vmx"),
       gpt_backup_scenario("bochs-vmx"), disk_bench_scenario()]


# ---- a disk larger than the host's RAM (issue 17: 4 GiB on 512 MiB) ----

# FAT32's largest file is 4 GiB - 1 byte, 4 GiB - 512 in whole sectors; one cluster less (4 GiB - 4 KiB)
# because fsck.fat (dosfstools 4.2) adds up a chain's length in 32 bits: a chain of 4 GiB reads as 0 bytes
BIG_BYTES = (4 << 30) - 4096
BIG_SECTORS = BIG_BYTES // 512
BIG_ESP_BYTES = (4 << 30) + (64 << 20)
BIG_MARKER = "ZAZEN-BIGDISK-HOST-MARKER-7f3e"  # the host's text, 2048 sectors before the end
BIG_HEAD = b"ZAZEN-BIGDISK-HEAD"
BIG_FILL_LBA = 0x100000  # bigfill.asm's first 64 KiB write


class Fat32:
    """The little of a FAT32 volume's layout the big-disk scenario needs
    (FAT spec 1.03, 3.1-3.6): where the FATs and the data area are."""

    def __init__(self, image):
        with open(image, "rb") as f:
            b = f.read(512)
        u16 = lambda o: int.from_bytes(b[o:o + 2], "little")
        u32 = lambda o: int.from_bytes(b[o:o + 4], "little")
        self.spc = b[13]
        self.reserved = u16(14)
        self.fats = b[16]
        self.fat_sectors = u32(36)
        self.fsinfo = u16(48)
        self.cluster_bytes = self.spc * 512
        self.data = (self.reserved + self.fats * self.fat_sectors) * 512
        self.clusters = (u32(32) - self.data // 512) // self.spc

    def cluster_offset(self, cluster):
        return self.data + (cluster - 2) * self.cluster_bytes


def first_cluster(image, path):
    out = subprocess.run(["mshowfat", "-i", image, path], env=mtools_env(), capture_output=True, text=True,
                         check=True).stdout
    return int(re.search(r"<(\d+)", out).group(1))


def add_big_file(image, name, size):
    """\\EFI\\BOOT\\name of size bytes without writing its data: mcopy puts
    a one-cluster file there (the last file on a fresh volume, so the
    clusters after it are free), then its cluster chain is lengthened over
    them in both FATs, its directory entry given the size and FSInfo's
    free count lowered. The data area stays a hole in the sparse image
    (zeros), so a 4 GiB disk costs a few MiB of the host's disk."""
    v = Fat32(image)
    head = os.path.join(os.path.dirname(image), "head.bin")
    with open(head, "wb") as f:
        f.write(BIG_HEAD.ljust(v.cluster_bytes, b"\0"))
    subprocess.run(["mcopy", "-i", image, head, "::/EFI/BOOT/" + name], check=True, env=mtools_env())
    os.unlink(head)
    first = first_cluster(image, "::/EFI/BOOT/" + name)
    boot_dir = first_cluster(image, "::/EFI/BOOT")
    count = -(-size // v.cluster_bytes)
    assert first + count <= v.clusters + 2, "the volume is too small for the file"
    entries = bytearray()
    for c in range(first, first + count):
        entries += ((c + 1) if c + 1 < first + count else 0x0FFFFFFF).to_bytes(4, "little")
    with open(image, "r+b") as f:
        for n in range(v.fats):
            fat = (v.reserved + n * v.fat_sectors) * 512
            f.seek(fat + (first + 1) * 4)
            assert f.read(4) == bytes(4), "the clusters after the file are not free"
            f.seek(fat + first * 4)
            f.write(entries)
        f.seek(v.cluster_offset(boot_dir))
        d = bytearray(f.read(v.cluster_bytes))
        short = name.upper().split(".")
        at = d.find(short[0].ljust(8).encode() + short[1].ljust(3).encode())
        assert at >= 0 and at % 32 == 0, "no directory entry for %s" % name
        f.seek(v.cluster_offset(boot_dir) + at + 28)
        f.write(size.to_bytes(4, "little"))
        f.seek(v.fsinfo * 512 + 488)  # FSI_Free_Count, then FSI_Nxt_Free (FAT spec 5)
        free = int.from_bytes(f.read(4), "little")
        f.seek(v.fsinfo * 512 + 488)
        f.write((free - (count - 1)).to_bytes(4, "little") + (first + count).to_bytes(4, "little"))
    return first


def big_file_offset(image, first, sector):
    """Where the big file's sector is in the image (its clusters are one run)."""
    v = Fat32(image)
    return v.cluster_offset(first) + sector * 512


def big_sector_text(image, first, sector):
    with open(image, "rb") as f:
        f.seek(big_file_offset(image, first, sector))
        text = f.read(512).split(b"\0")[0]
    return text.decode("ascii", "replace") or "zeros"


class BigDiskScenario(StorageScenario):
    """Boots an ESP of 4 GiB + 64 MiB holding a 4 GiB - 512 byte disk
    file on QEMU with 512 MiB of RAM, `boots` times, then reads the file's
    sectors on the host."""

    def run(self):
        workdir = tempfile.mkdtemp(prefix="zazen-bigdisk-", dir=qemu.BUILD)
        try:
            image = os.path.join(workdir, "esp.img")
            make_esp_image(image, self.config, self.files, size=BIG_ESP_BYTES, mkfs_args=["-s", "8"])
            first = add_big_file(image, "big.img", BIG_BYTES)
            with open(image, "r+b") as f:
                f.seek(big_file_offset(image, first, BIG_SECTORS - 2048))
                f.write(BIG_MARKER.encode() + b"\0")
            vars_path = os.path.join(workdir, "vars.fd")
            shutil.copy(qemu.OVMF_VARS, vars_path)
            text, status = "", None
            for n in range(1, self.boots + 1):
                out, status = boot(image, vars_path, self.timeout or 300, device=self.device)
                text += "==== boot %d\n%s\n==== boot %d ended: status %s\n" % (n, out, n, status)
            r = subprocess.run(["fsck.vfat", "-n", image], capture_output=True, text=True)
            text += "HOST fsck.vfat -n: exit %d\n" % r.returncode
            if r.returncode != 0:
                text += "".join("HOST   %s\n" % l for l in (r.stdout + r.stderr).splitlines()[-10:])
            text += "HOST sector %d of big.img: %s\n" % (BIG_SECTORS - 8, big_sector_text(image, first,
                                                                                          BIG_SECTORS - 8))
            text += "HOST sector 0 of big.img: %s\n" % big_sector_text(image, first, 0)
            text += "HOST sector %d of big.img: %s\n" % (BIG_FILL_LBA, big_sector_text(image, first, BIG_FILL_LBA))
            text += "HOST image takes %d MiB of the host's disk\n" % (os.stat(image).st_blocks * 512 >> 20)
            return text, status
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def big_disk_scenario(volatile):
    """Issue 17's 4 GiB disk on a 512 MiB host: the disk file is four
    times the host's RAM, so it works only if nothing loads it whole. The
    guest reads the host's marker and writes a sector beyond 3.5 GiB.
    In place (AHCI): boot 2 finds what boot 1 wrote and the host finds it
    in the image. ,volatile (NVMe): the writes go to the overlay in RAM;
    each boot reads back its own write, finds none from the boot before,
    and the image is unchanged; then the guest (bigfill.asm) writes 64 KiB
    at a time to fresh sectors: the 32 MiB overlay (65536 sectors, one
    taken by the run sector) holds 511 of them, the 512th fails with an
    I/O error in the guest (Zazen says why and carries on), and a rewrite
    of sectors it holds still works."""
    name = "storage-bigdisk-%s" % ("volatile" if volatile else "persist")
    bin_name = "bigfill" if volatile else "bigdisk"
    cfg = "[domain big]\nmemory = 16M\nfirmware = %s.bin\ndisk0 = big.img%s\n" % (bin_name,
                                                                             ",volatile" if volatile else "")
    device = "nvme" if volatile else "ahci"
    where = (r"ahci 00:1f\.2 port 0" if device == "ahci" else r"nvme 00:0[0-9a-f]\.0 namespace 1")
    boot_lines = lambda n: [
        "==== boot %d" % n,
        "zazen: \\EFI\\BOOT\\zazen.cfg: 1 file(s) loaded, 1 disk(s) left in place on the %s boot disk; "
        "exiting boot services" % ("SATA" if device == "ahci" else "NVMe"),
        "(big) bigdisk: disk0 has %d sectors" % BIG_SECTORS,
        "(big) bigdisk: host marker: " + BIG_MARKER,
        "(big) bigdisk: found run %d" % (0 if volatile else n - 1),
        "(big) bigdisk: read back BIGRUN%d" % (1 if volatile else n)] + (
        ["(big) bigdisk: a write failed (ERR) after 511 writes of 64 KiB",
         "(big) bigdisk: rewriting the first 64 KiB still works"] if volatile else []) + [
        "(big) bigdisk: done",
        "zazen: all domains ended",
        "==== boot %d ended: status 0" % n]
    return BigDiskScenario(
        name, cfg, files=[guest(bin_name)], timeout=300, device=device,
        patterns=[r"zazen: storage: disk0 'big\.img' in place on %s, 1 piece from sector \d+%s" % (
            where, r", volatile: its writes go to an overlay in RAM \(at most 32 MiB\)" if volatile else "")] + (
            [r"zazen: storage: disk0 'big\.img' \(,volatile\): its 32 MiB of changes in RAM are used up or no "
             r"memory is left: the guest's writes to new sectors fail \(I/O error\)"] if volatile else []),
        in_order=boot_lines(1) + boot_lines(2) + [
            "HOST fsck.vfat -n: exit 0",
            "HOST sector %d of big.img: %s" % (BIG_SECTORS - 8, "zeros" if volatile else "BIGRUN2"),
            "HOST sector 0 of big.img: " + BIG_HEAD.decode(),
            "HOST sector %d of big.img: zeros" % BIG_FILL_LBA],
        absent=["ZAZEN PANIC", "bigdisk: FAILED", "kept in RAM", "Out of Resources"])


ALL += [big_disk_scenario(False), big_disk_scenario(True)]
