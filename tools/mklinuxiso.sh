#!/bin/sh
# tools/mklinuxiso.sh OUT.iso
# A GRUB (BIOS, El Torito) rescue CD with the same stock Debian kernel and
# initramfs as tools/mklinuxdisk.sh, from tools/mklinuxinitrd.sh. GRUB
# talks on COM1 at 115200 as well as on the screen, waits for nothing, and
# boots the kernel with the disk image's command line. The test data lives
# on the disk image (build/linux/linux.img), attached alongside as the
# first IDE disk when the CD boots: /init reads and writes its sda2.
#
# Environment: LINUX_APPEND="..." adds kernel arguments (e.g. zazen.shell=1).
# GRUB_STYLE=serial: GRUB as people set it up for a serial console: its
# own serial terminal (115200) beside the screen, for input and output,
# and a menu that waits (no timeout); the first entry stops at userspace.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUT.iso" >&2; exit 2; }
out=$1
top=$(cd "$(dirname "$0")/.." && pwd)
bdir=$top/build/linux
"$top/tools/mklinuxinitrd.sh" "$bdir"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/boot/grub"
cp "$bdir/vmlinuz" "$tmp/boot/vmlinuz"
cp "$bdir/initrd.gz" "$tmp/boot/initrd.gz"
cp "$bdir/VERSION.txt" "$tmp/VERSION.txt"
cp "$bdir/README.txt" "$tmp/README.txt"
kline="console=ttyS0,115200 loglevel=6${LINUX_APPEND:+ $LINUX_APPEND}"
kernel=$(sed -n 's/^kernel: \([^ ]*\) \([^ ]*\) .*/\1 \2/p' "$bdir/VERSION.txt")
# By default GRUB's console is the BIOS's screen, which the Zazen BIOS
# mirrors to the domain's console, and GRUB waits for nothing.
if [ "${GRUB_STYLE:-}" = serial ]; then
    cat > "$tmp/boot/grub/grub.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set default=0
menuentry "Zazen Linux guest, stopping at userspace ($kernel)" {
    linux /boot/vmlinuz $kline zazen.stop=userspace
    initrd /boot/initrd.gz
}
EOF
else
    echo "set timeout=0" > "$tmp/boot/grub/grub.cfg"
fi
cat >> "$tmp/boot/grub/grub.cfg" <<EOF
set default=0
menuentry "Zazen Linux guest ($kernel)" {
    echo "Zazen Linux guest: loading /boot/vmlinuz and /boot/initrd.gz"
    linux /boot/vmlinuz $kline
    initrd /boot/initrd.gz
}
# A machine without PCI: only pata_legacy, and no I/O APIC.
menuentry "Zazen Linux guest, ISA ($kernel)" {
    linux /boot/vmlinuz $kline noapic zazen.driver=pata_legacy
    initrd /boot/initrd.gz
}
EOF
mkdir -p "$(dirname "$out")"
# Only the modules this grub.cfg needs (as tools/mkiso.sh does): a small
# image that GRUB boots quickly.
mkrescue() {
    grub-mkrescue --install-modules="normal linux iso9660 biosdisk serial terminal echo halt" \
        --locales= --fonts= --themes= -o "$out" "$tmp"
}
mkrescue >/dev/null 2>&1 || {
    echo "linux: grub-mkrescue failed:" >&2
    mkrescue
    exit 1
}
echo "linux: $out ($(stat -c %s "$out") bytes): $kernel; GRUB El Torito CD"
