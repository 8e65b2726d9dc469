#!/bin/sh
# tools/mkiso.sh CONFIG OUT.iso [FILE...]
# A GRUB (BIOS) rescue ISO that boots build/zazen.elf through multiboot2,
# with CONFIG as the module "zazen.cfg" and each FILE as a module named by
# its base name, which is how zazen.cfg refers to it.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 CONFIG OUT.iso [FILE...]" >&2; exit 2; }
config=$1 out=$2
shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/boot/grub"
# Without its debug sections (2 MB of the 2.5 MB file, kept in
# build/zazen.elf): GRUB's multiboot2 loader reads every section of the
# ELF, allocated or not, which costs about 10 instructions per byte
# under Bochs (docs/exit-paths.md, "Whole-guest boot").
objcopy --strip-debug "$top/build/zazen.elf" "$tmp/boot/zazen.elf"
cp "$config" "$tmp/boot/zazen.cfg"
{
    echo "set timeout=0"
    echo "set default=0"
    echo "menuentry \"Zazen\" {"
    echo "    multiboot2 /boot/zazen.elf"
    echo "    module2 /boot/zazen.cfg zazen.cfg"
    for f in "$@"; do
        name=$(basename "$f")
        cp "$f" "$tmp/boot/$name"
        echo "    module2 /boot/$name $name"
    done
    echo "    boot"
    echo "}"
} > "$tmp/boot/grub/grub.cfg"
# Only the modules this grub.cfg needs: an 0.8 MB image that GRUB boots in
# about half the instructions of a full one (which matters under Bochs).
mkrescue() {
    grub-mkrescue --install-modules="normal multiboot2 iso9660 biosdisk" --locales= --fonts= --themes= \
        -o "$out" "$tmp"
}
mkrescue >/dev/null 2>&1 || {
    echo "mkiso: grub-mkrescue failed:" >&2
    mkrescue
    exit 1
}
