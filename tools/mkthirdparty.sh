#!/bin/sh
# tools/mkthirdparty.sh quick|all
# Software nobody here wrote, as a new user would boot it under Zazen, made
# into files in build/thirdparty/ from Debian packages taken with
# `apt-get download` into build/thirdparty/debs (a cache) and unpacked with
# `dpkg-deb -x`: nothing is installed on this machine, nothing is committed.
#
#   quick (make test):
#     xen-4.17-amd64        the Xen hypervisor (xen-hypervisor-4.17-amd64),
#                           decompressed: a Multiboot v1 ELF kernel
#     ipxe.lkrn             iPXE as a Linux bzImage (ipxe)
#     memtest86+x64.bin     memtest86+ as a Linux bzImage (memtest86+)
#   all (make test-thirdparty), the quick ones and:
#     ipxe.iso              iPXE's own ISOLINUX CD (ipxe)
#     memtest-syslinux.img  memtest86+ from SYSLINUX on an MBR/FAT16 disk
#     memtest-grub.iso      memtest86+ from a GRUB CD (linux16, as Debian's
#                           /etc/grub.d/20_memtest86+ boots it)
#     com32.img             SYSLINUX's menu.c32 menu, whose entries run
#                           HDT (hdt.c32) and boot ipxe.lkrn
#     d-i/linux, d-i/initrd.gz   the Debian installer's netboot kernel and
#                           initrd (debian-installer-12-netboot-amd64)
#     d-i-grub.iso          both on a GRUB CD
#     d-i-isolinux.iso      both on an ISOLINUX CD
#     linux686/vmlinuz-686, linux686/initrd-686.gz   the 32-bit stock kernel
#                           (linux-image-686, i386) and an initramfs of
#                           busybox-static:i386 with tools/linux-init (which
#                           powers off at userspace with zazen.stop=userspace)
#                           The i386 packages are found with a private apt
#                           state in build/thirdparty/apt-i386 (apt-get -o
#                           APT::Architecture=i386 update): the machine's
#                           dpkg architectures stay as they are.
# Every kernel talks on COM1 (console=ttyS0,115200 and the like); menus and
# boot loaders on the BIOS screen, which the Zazen BIOS mirrors there.
set -eu
what=${1:-all}
case "$what" in quick|all) ;; *) echo "usage: $0 quick|all" >&2; exit 2 ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/thirdparty
debs=$out/debs
pkgs=$out/pkg
mkdir -p "$debs" "$pkgs"
exec 9>"$out/.lock"
flock 9

say() { echo "thirdparty: $*"; }
die() { echo "thirdparty: $*" >&2; exit 1; }

# unpack PACKAGE: prints the folder its .deb is unpacked in, downloading
# the candidate version into the cache first if it is not there.
unpack() {
    deb=$(ls "$debs/$1"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$deb" ]; then
        (cd "$debs" && apt-get download "$1" >/dev/null 2>&1) ||
            { apt-get update >/dev/null 2>&1 || true; (cd "$debs" && apt-get download "$1" >/dev/null); } ||
            die "apt-get download $1 failed"
        deb=$(ls "$debs/$1"_*.deb | sort -V | tail -n 1)
    fi
    dir=$pkgs/$(basename "$deb" .deb)
    if [ ! -d "$dir" ]; then
        dpkg-deb -x "$deb" "$dir.tmp"
        mv "$dir.tmp" "$dir"
    fi
    echo "$dir"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- quick ----
xen=$(unpack xen-hypervisor-4.17-amd64)
gzip -dc "$xen"/boot/xen-4.17-amd64.gz > "$tmp/xen" && mv "$tmp/xen" "$out/xen-4.17-amd64"
ipxe=$(unpack ipxe)
cp "$ipxe/boot/ipxe.lkrn" "$out/ipxe.lkrn"
memtest=$(unpack memtest86+)
cp "$memtest/boot/memtest86+x64.bin" "$out/memtest86+x64.bin"
{
    echo "xen-4.17-amd64: $(basename "$xen")"
    echo "ipxe.lkrn: $(basename "$ipxe")"
    echo "memtest86+x64.bin: $(basename "$memtest")"
} > "$out/VERSION.txt"
say "xen-4.17-amd64, ipxe.lkrn, memtest86+x64.bin in $out"
[ "$what" = quick ] && exit 0

# ---- all ----
export MTOOLS_SKIP_CHECK=1
mbr=/usr/lib/syslinux/mbr/mbr.bin
bios=/usr/lib/syslinux/modules/bios
isolinux=/usr/lib/ISOLINUX/isolinux.bin
for f in "$mbr" "$bios/menu.c32" "$bios/hdt.c32" "$isolinux"; do
    [ -f "$f" ] || die "$f missing (tools/need.sh thirdparty)"
done

# syslinux_disk OUT SYSLINUX.CFG FILE...: an MBR disk with one bootable
# 32 MiB FAT16 partition holding SYSLINUX, the config and the files.
syslinux_disk() {
    disk_out=$1 cfg=$2
    shift 2
    fat=$tmp/fat.img
    rm -f "$fat"
    mkfs.vfat -C -F 16 -n ZAZEN3P -h 2048 "$fat" 32768 >/dev/null
    syslinux --install "$fat"
    mcopy -o -i "$fat" "$cfg" ::/syslinux.cfg
    for f in "$@"; do mcopy -o -i "$fat" "$f" ::/; done
    img=$tmp/disk.img
    rm -f "$img"
    truncate -s $(((2048 + 65536) * 512)) "$img"
    printf 'label: dos\nstart=2048, size=65536, type=6, bootable\n' | sfdisk -q "$img"
    dd if="$mbr" of="$img" bs=440 count=1 conv=notrunc status=none
    dd if="$fat" of="$img" bs=512 seek=2048 conv=notrunc status=none
    mv "$img" "$disk_out"
}

# iPXE's own CD, as the package ships it.
cp "$ipxe/usr/lib/ipxe/ipxe.iso" "$out/ipxe.iso"

# memtest86+ from SYSLINUX: its .bin is a Linux boot-protocol image.
cat > "$tmp/syslinux.cfg" <<EOF
PROMPT 0
TIMEOUT 1
DEFAULT memtest
LABEL memtest
  LINUX /memtest.bin
  APPEND console=ttyS0,115200
EOF
cp "$out/memtest86+x64.bin" "$tmp/memtest.bin"
syslinux_disk "$out/memtest-syslinux.img" "$tmp/syslinux.cfg" "$tmp/memtest.bin"

# grub_cd OUT GRUB.CFG DIR: a GRUB rescue CD with DIR's contents.
grub_cd() {
    mkdir -p "$3/boot/grub"
    cp "$2" "$3/boot/grub/grub.cfg"
    grub-mkrescue --install-modules="normal linux linux16 iso9660 biosdisk echo part_acorn part_amiga part_apple part_bsd part_dfly part_dvh part_gpt part_msdos part_plan part_sun part_sunpc" --locales= --fonts= --themes= \
        -o "$1" "$3" >/dev/null 2>&1 || die "grub-mkrescue $1 failed"
}

# memtest86+ from GRUB, as Debian's /etc/grub.d/20_memtest86+ boots it.
mkdir -p "$tmp/mtcd/boot"
cp "$out/memtest86+x64.bin" "$tmp/mtcd/boot/memtest86+x64.bin"
cat > "$tmp/mtgrub.cfg" <<EOF
set timeout=0
set default=0
menuentry "Memory test (memtest86+x64.bin, serial console)" {
    linux16 /boot/memtest86+x64.bin console=ttyS0,115200
}
EOF
grub_cd "$out/memtest-grub.iso" "$tmp/mtgrub.cfg" "$tmp/mtcd"

# SYSLINUX com32 modules: menu.c32 shows a menu and, after its timeout,
# runs HDT in its command-line mode on a command (`auto=`), whose output
# is the proof it ran; a second entry boots ipxe.lkrn.
cat > "$tmp/syslinux.cfg" <<EOF
UI menu.c32
PROMPT 0
TIMEOUT 20
MENU TITLE Zazen com32 test menu
DEFAULT hdt
LABEL hdt
  MENU LABEL Hardware Detection Tool (hdt.c32)
  COM32 hdt.c32
  APPEND nomenu auto='show cpu;exit'
LABEL ipxe
  MENU LABEL iPXE (ipxe.lkrn)
  LINUX /ipxe.lkrn
EOF
syslinux_disk "$out/com32.img" "$tmp/syslinux.cfg" "$bios/menu.c32" "$bios/libutil.c32" "$bios/libcom32.c32" \
    "$bios/hdt.c32" "$bios/libmenu.c32" "$bios/libgpl.c32" "$out/ipxe.lkrn"

# The Debian installer (netboot): its kernel and initrd, on two CDs.
di=$(unpack debian-installer-12-netboot-amd64)
di_files=$di/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64
mkdir -p "$out/d-i"
cp "$di_files/linux" "$di_files/initrd.gz" "$out/d-i/"
echo "d-i: $(basename "$di")" >> "$out/VERSION.txt"
di_append="console=ttyS0,115200n8 ---"
mkdir -p "$tmp/dicd/install"
cp "$di_files/linux" "$di_files/initrd.gz" "$tmp/dicd/install/"
cat > "$tmp/digrub.cfg" <<EOF
set timeout=0
set default=0
menuentry "Install (Debian installer, serial console)" {
    linux /install/linux $di_append
    initrd /install/initrd.gz
}
EOF
grub_cd "$out/d-i-grub.iso" "$tmp/digrub.cfg" "$tmp/dicd"
rm -rf "$tmp/dicd/boot"
mkdir -p "$tmp/dicd/isolinux"
cp "$isolinux" "$bios/ldlinux.c32" "$tmp/dicd/isolinux/"
# TIMEOUT 0 and PROMPT 0, as a user writes "boot at once": the prompt that
# a held Shift or Alt would open must stay shut.
cat > "$tmp/dicd/isolinux/isolinux.cfg" <<EOF
PROMPT 0
TIMEOUT 0
DEFAULT install
LABEL install
  KERNEL /install/linux
  APPEND initrd=/install/initrd.gz $di_append
EOF
xorriso -as mkisofs -quiet -o "$out/d-i-isolinux.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
    -no-emul-boot -boot-load-size 4 -boot-info-table "$tmp/dicd"
# The 32-bit stock kernel, from i386 packages.
apt_i386=$out/apt-i386
mkdir -p "$apt_i386/lists/partial" "$apt_i386/cache/archives/partial"
touch "$apt_i386/status"
i386() { # apt-get/apt-cache with the private i386 state
    cmd=$1
    shift
    $cmd -o APT::Architecture=i386 -o APT::Architectures::=i386 -o Dir::State::Lists="$apt_i386/lists" \
        -o Dir::Cache="$apt_i386/cache" -o Dir::State::status="$apt_i386/status" "$@"
}
unpack_i386() { # PACKAGE: as unpack, for an i386 package
    deb=$(ls "$debs/$1"_*_i386.deb 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$deb" ]; then
        [ -n "$(ls "$apt_i386/lists" | grep -v partial || true)" ] || i386 apt-get update >/dev/null 2>&1 ||
            die "apt-get update (i386) failed"
        (cd "$debs" && i386 apt-get download "$1" >/dev/null 2>&1) || die "apt-get download $1 (i386) failed"
        deb=$(ls "$debs/$1"_*_i386.deb | sort -V | tail -n 1)
    fi
    dir=$pkgs/$(basename "$deb" .deb)
    [ -d "$dir" ] || { dpkg-deb -x "$deb" "$dir.tmp" && mv "$dir.tmp" "$dir"; }
    echo "$dir"
}
[ -n "$(ls "$apt_i386/lists" | grep -v partial || true)" ] || i386 apt-get update >/dev/null 2>&1 || true
image686=$(i386 apt-cache depends linux-image-686 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[ -n "$image686" ] || image686=$(ls "$debs" | sed -n 's/^\(linux-image-[0-9][^_]*-686\)_.*_i386\.deb$/\1/p' | sort -V | tail -n 1)
[ -n "$image686" ] || die "cannot resolve linux-image-686"
k686=$(unpack_i386 "$image686")
bb386=$(unpack_i386 busybox-static)
root=$tmp/root686
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/mnt" "$root/etc" "$out/linux686"
cp "$bb386/bin/busybox" "$root/bin/busybox"
for app in sh mount echo cat uname poweroff reboot halt sleep sync dmesg tail umount mkdir; do
    ln -s busybox "$root/bin/$app"
done
cp "$top/tools/linux-init" "$root/init"
chmod 755 "$root/init"
newc() { # NAME MODE(octal) RDEVMAJOR RDEVMINOR: a newc entry with no data
    nlen=$(( ${#1} + 1 ))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
        0 "$(( 0$2 ))" 0 0 1 0 0 0 0 "$3" "$4" "$nlen" 0 "$1"
    pad=$(( (4 - (110 + nlen) % 4) % 4 ))
    [ $pad -eq 0 ] || head -c $pad /dev/zero
}
{
    newc dev 040755 0 0
    newc dev/console 020600 5 1
    newc TRAILER!!! 0 0 0
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet)
} | gzip -9 -n > "$out/linux686/initrd-686.gz"
cp "$k686"/boot/vmlinuz-* "$out/linux686/vmlinuz-686"
echo "linux686: $(basename "$k686"), $(basename "$bb386")" >> "$out/VERSION.txt"
say "ipxe.iso, memtest-syslinux.img, memtest-grub.iso, com32.img, d-i/, d-i-grub.iso, d-i-isolinux.iso, linux686/ in $out"
