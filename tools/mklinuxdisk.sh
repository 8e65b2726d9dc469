#!/bin/sh
# tools/mklinuxdisk.sh OUT.img
# A bootable MBR disk with stock Debian Linux for the Zazen Linux guest,
# built from Debian packages without loop mounts or root-only tricks:
#   MBR      SYSLINUX's mbr.bin (syslinux-common) and an sfdisk table
#   part 1   FAT16, bootable, 32 MiB: SYSLINUX (syslinux --install),
#            syslinux.cfg, vmlinuz, initrd.gz, VERSION.txt, README.txt
#   part 2   ext2, 8 MiB (mke2fs -d): /zazen/known.txt, whose first line is
#            "zazen-known-file-4b1d9e"; /init writes /zazen/written.txt
# The kernel and initramfs come from tools/mklinuxinitrd.sh.
#
# Environment:
#   LINUX_APPEND="..."  more kernel arguments for every label (for example
#                       zazen.shell=1 for an interactive shell at the end)
#   LINUX_DEFAULT=isa   boot the `isa` label (pata_legacy only) by default
#   SYSLINUX_STYLE=     how syslinux.cfg talks to its user, as people write it:
#     (unset)  no prompt, no serial console of its own: the BIOS's screen
#     serial   SERIAL 0 115200, TIMEOUT 0, no PROMPT: boots at once unless
#              Shift or Alt is held (INT 16h AH=02h/12h); the default label
#              in the older KERNEL/APPEND initrd= spelling
#     prompt   SERIAL 0 115200, PROMPT 1, TIMEOUT 0: waits at boot: forever
#     menu     SERIAL 0 115200, UI menu.c32 (com32), TIMEOUT 0: waits in the
#              menu forever; a second entry stops at userspace
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUT.img" >&2; exit 2; }
out=$1
top=$(cd "$(dirname "$0")/.." && pwd)
bdir=$top/build/linux
"$top/tools/mklinuxinitrd.sh" "$bdir"

mbr=/usr/lib/syslinux/mbr/mbr.bin
[ -f "$mbr" ] || { echo "linux: $mbr missing (tools/need.sh linux)" >&2; exit 1; }

# Layout in 512-byte sectors.
p1_start=2048 p1_size=65536     # 32 MiB FAT16
p2_start=$((p1_start + p1_size)) p2_size=16384   # 8 MiB ext2
total=$((p2_start + p2_size))

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
kline="console=ttyS0,115200 loglevel=6${LINUX_APPEND:+ $LINUX_APPEND}"
kernel=$(sed -n 's/^kernel: \([^ ]*\) \([^ ]*\) .*/\1 \2/p' "$bdir/VERSION.txt")

# Without SYSLINUX_STYLE: no SERIAL line (the Zazen BIOS mirrors the
# screen to the domain's console), PROMPT 0: no boot prompt (unless Shift
# or Alt is held); TIMEOUT only applies then.
modules=
default=${LINUX_DEFAULT:-linux}
case "${SYSLINUX_STYLE:-}" in
"") head="PROMPT 0
TIMEOUT 1" ;;
serial) head="SERIAL 0 115200
TIMEOUT 0"
    default=${LINUX_DEFAULT:-old} ;;
prompt) head="SERIAL 0 115200
PROMPT 1
TIMEOUT 0" ;;
menu) head="SERIAL 0 115200
UI menu.c32
MENU TITLE Zazen Linux guest (SYSLINUX menu)
TIMEOUT 0"
    modules="menu.c32 libutil.c32 libcom32.c32" ;;
*) echo "linux: unknown SYSLINUX_STYLE ${SYSLINUX_STYLE}" >&2; exit 2 ;;
esac
cat > "$tmp/syslinux.cfg" <<EOF
$head
DEFAULT $default

LABEL linux
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND $kline

# The same for a machine without PCI: only pata_legacy is tried, and no
# I/O APIC (QEMU isapc: SeaBIOS lists one in its MP table though the machine
# has none, and setup_IO_APIC oopses).
LABEL isa
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND $kline noapic zazen.driver=pata_legacy
EOF
case "${SYSLINUX_STYLE:-}" in
serial) # the older spelling many configs keep: KERNEL, and APPEND initrd=
    cat >> "$tmp/syslinux.cfg" <<EOF

LABEL old
  KERNEL /vmlinuz
  APPEND initrd=/initrd.gz $kline
EOF
    ;;
menu)
    cat >> "$tmp/syslinux.cfg" <<EOF

LABEL userspace
  MENU LABEL Linux, stopping at userspace
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND $kline zazen.stop=userspace
EOF
    ;;
esac

# Partition 1: FAT16 with SYSLINUX. Hidden sectors = its start LBA.
fat=$tmp/fat.img
rm -f "$fat"
mkfs.vfat -C -F 16 -n ZAZENBOOT -i 5a5a2e4e -h $p1_start "$fat" $((p1_size / 2)) >/dev/null
syslinux --install "$fat"
export MTOOLS_SKIP_CHECK=1
mcopy -o -i "$fat" "$tmp/syslinux.cfg" ::/syslinux.cfg
for m in $modules; do
    mcopy -o -i "$fat" "/usr/lib/syslinux/modules/bios/$m" "::/$m"
done
mcopy -o -i "$fat" "$bdir/vmlinuz" ::/vmlinuz
mcopy -o -i "$fat" "$bdir/initrd.gz" ::/initrd.gz
mcopy -o -i "$fat" "$bdir/VERSION.txt" ::/VERSION.txt
mcopy -o -i "$fat" "$bdir/README.txt" ::/README.txt

# Partition 2: ext2 from a directory.
mkdir -p "$tmp/data/zazen"
{
    echo "zazen-known-file-4b1d9e"
    echo "A known file on the Zazen Linux guest's ext2 partition (tools/mklinuxdisk.sh)."
} > "$tmp/data/zazen/known.txt"
ext=$tmp/ext2.img
rm -f "$ext"
truncate -s $((p2_size * 512)) "$ext"
mke2fs -q -F -t ext2 -b 1024 -m 0 -L zazen-data -U 5a5a2e4e-0000-4000-8000-000000000002 \
    -E root_owner=0:0 -d "$tmp/data" "$ext" $((p2_size / 2))

# The disk: partition table, SYSLINUX's MBR code, then both partitions.
img=$tmp/disk.img
truncate -s $((total * 512)) "$img"
sfdisk -q "$img" <<EOF
label: dos
label-id: 0x5a5a2e4e
start=$p1_start, size=$p1_size, type=6, bootable
start=$p2_start, size=$p2_size, type=83
EOF
dd if="$mbr" of="$img" bs=440 count=1 conv=notrunc status=none
dd if="$fat" of="$img" bs=512 seek=$p1_start conv=notrunc status=none
dd if="$ext" of="$img" bs=512 seek=$p2_start conv=notrunc status=none
mkdir -p "$(dirname "$out")"
mv "$img" "$out"
echo "linux: $out ($(stat -c %s "$out") bytes): $kernel; FAT16 boot partition + ext2 data partition"
