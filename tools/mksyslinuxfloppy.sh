#!/bin/sh
# tools/mksyslinuxfloppy.sh KIB OUT.img
# A SYSLINUX rescue floppy as people make one (Debian's dosfstools,
# syslinux, syslinux-common, mtools): mkfs.fat of KIB KiB (1200, 1440 or
# 2880: FAT12 with that floppy's geometry), syslinux --install, and a
# syslinux.cfg that says a marker and chain-loads the first hard disk
# (chain.c32 hd0). No prompt, no timeout: it boots at once unless Shift
# or Alt is held.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 KIB OUT.img" >&2; exit 2; }
kib=$1 out=$2
mods=/usr/lib/syslinux/modules/bios
[ -f "$mods/chain.c32" ] || { echo "mksyslinuxfloppy: $mods/chain.c32 missing (tools/need.sh linux)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
img=$tmp/floppy.img
mkfs.fat -C -n ZAZENFLOPPY -i 5a5a1440 "$img" "$kib" >/dev/null
syslinux --install "$img"
cat > "$tmp/syslinux.cfg" <<CFG
PROMPT 0
TIMEOUT 0
SAY ZAZEN-FLOPPY: SYSLINUX from a $kib KiB El Torito floppy image, chain-loading hd0
DEFAULT hd
LABEL hd
  COM32 chain.c32
  APPEND hd0
CFG
export MTOOLS_SKIP_CHECK=1
mcopy -o -i "$img" "$tmp/syslinux.cfg" ::/syslinux.cfg
for m in chain.c32 libcom32.c32 libutil.c32; do
    mcopy -o -i "$img" "$mods/$m" "::/$m"
done
mkdir -p "$(dirname "$out")"
mv "$img" "$out"
