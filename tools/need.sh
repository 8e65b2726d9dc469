#!/bin/sh
# tools/need.sh GROUP: make sure the Debian packages a make target needs are
# installed, and say what gets installed. Each entry is "test-path:package";
# a package is installed when its test path (a command or a file) is missing.
set -eu

case "${1:-}" in
build) want="gcc:gcc nasm:nasm /usr/lib/crt0-efi-x86_64.o:gnu-efi ld:binutils python3:python3 xz:xz-utils" ;;
qemu)  want="qemu-system-x86_64:qemu-system-x86 /usr/share/OVMF/OVMF_CODE_4M.fd:ovmf mcopy:mtools mkfs.vfat:dosfstools fsck.vfat:dosfstools e2fsck:e2fsprogs debugfs:e2fsprogs sfdisk:fdisk" ;;
grub)  want="grub-mkrescue:grub-common /usr/lib/grub/i386-pc/multiboot2.mod:grub-pc-bin xorriso:xorriso mcopy:mtools" ;;
bochs) want="bochs:bochs /usr/share/bochs/BIOS-bochs-latest:bochsbios /usr/share/vgabios/vgabios.bin:vgabios /usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_term_gui.so:bochs-term" ;;
linux) want="syslinux:syslinux /usr/lib/syslinux/mbr/mbr.bin:syslinux-common mkfs.vfat:dosfstools mke2fs:e2fsprogs mcopy:mtools sfdisk:fdisk cpio:cpio xz:xz-utils gzip:gzip modinfo:kmod grub-mkrescue:grub-common /usr/lib/grub/i386-pc/linux.mod:grub-pc-bin xorriso:xorriso dpkg-deb:dpkg apt-get:apt" ;;
thirdparty) want="syslinux:syslinux /usr/lib/syslinux/mbr/mbr.bin:syslinux-common /usr/lib/ISOLINUX/isolinux.bin:isolinux mkfs.vfat:dosfstools mcopy:mtools sfdisk:fdisk grub-mkrescue:grub-common /usr/lib/grub/i386-pc/linux16.mod:grub-pc-bin xorriso:xorriso dpkg-deb:dpkg apt-get:apt gzip:gzip cpio:cpio" ;;
bench) want="gnuplot:gnuplot-nox" ;;
fuzz)  want="clang:clang /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev" ;;
*) echo "usage: $0 build|qemu|grub|bochs|linux|thirdparty|bench|fuzz" >&2; exit 2 ;;
esac

find_missing() {
    missing=""
    for entry in $want; do
        path=${entry%%:*}
        pkg=${entry#*:}
        case "$path" in
        /*) [ -e "$path" ] && continue ;;
        *)  command -v "$path" >/dev/null 2>&1 && continue ;;
        esac
        case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
    done
}
find_missing
[ -z "$missing" ] && exit 0

# make -j runs several of us at once, and dpkg takes one installer at a
# time: wait for the others (flock is util-linux, an essential package),
# then look again, since they may have installed what we want.
if [ "$(id -u)" = 0 ] && command -v flock >/dev/null 2>&1; then
    exec 9>/tmp/zazen-need.lock
    flock 9
    find_missing
    [ -z "$missing" ] && exit 0
fi

echo "zazen: installing Debian packages:$missing"
if [ "$(id -u)" != 0 ]; then
    echo "zazen: need root to install$missing (run: sudo apt-get install$missing)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
    apt-get update >/dev/null 2>&1
    apt-get install -y --no-install-recommends $missing >/dev/null
}
echo "zazen: installed:$missing"
