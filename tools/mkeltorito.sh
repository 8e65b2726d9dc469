#!/bin/sh
# tools/mkeltorito.sh floppy|floppy1200|floppy2880|harddisk IMAGE OUT.iso [FILE...]
# An El Torito CD (xorriso, as mkisofs) whose boot image is IMAGE in
# floppy emulation (padded to 1.44 MB, or 1.2 MB / 2.88 MB; xorriso picks
# the emulation from the size) or hard-disk emulation (IMAGE must be a
# disk with an MBR partition table). FILEs go on the CD beside it.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 floppy|floppy1200|floppy2880|harddisk IMAGE OUT.iso [FILE...]" >&2; exit 2; }
mode=$1 image=$2 out=$3
shift 3
command -v xorriso >/dev/null || { echo "mkeltorito: xorriso missing (tools/need.sh grub)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/boot"
cp "$image" "$tmp/boot/image.img"
for f in "$@"; do cp "$f" "$tmp/"; done
case "$mode" in
floppy) size=1474560 ;;
floppy1200) size=1228800 ;;
floppy2880) size=2949120 ;;
harddisk) size= ;;
*) echo "mkeltorito: unknown mode $mode" >&2; exit 2 ;;
esac
if [ -n "$size" ]; then
    [ "$(stat -c %s "$image")" -le "$size" ] || { echo "mkeltorito: $image is larger than $size bytes" >&2; exit 1; }
    truncate -s "$size" "$tmp/boot/image.img"
    emulation=
else
    emulation=-hard-disk-boot
fi
mkdir -p "$(dirname "$out")"
xorriso -as mkisofs -quiet -o "$out.tmp" -V ZAZEN_ELTORITO -b boot/image.img -c boot/boot.cat $emulation "$tmp"
mv "$out.tmp" "$out"
