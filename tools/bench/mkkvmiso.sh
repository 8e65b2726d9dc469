#!/bin/sh
# tools/bench/mkkvmiso.sh OUT.iso KVM-BENCH BENCH.IMG [KERNEL ARGS...]
# The KVM bench host: a GRUB (BIOS) CD with Debian's stock kernel (the one
# tools/mklinuxinitrd.sh takes, from build/linux/pkg) and a tiny initramfs:
# busybox-static, kvm.ko with kvm-intel.ko and kvm-amd.ko and what they
# depend on, tools/bench/kvm-init as /init, the static kvm-bench runner
# and the bench guest image. KERNEL ARGS go on the kernel command line
# (e.g. mitigations=off). Nothing is installed on this machine.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 OUT.iso KVM-BENCH BENCH.IMG [KERNEL ARGS...]" >&2; exit 2; }
out=$1 runner=$2 image=$3
shift 3
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=$top/build/linux
[ -f "$bdir/VERSION.txt" ] || "$top/tools/mklinuxinitrd.sh" "$bdir"
kver=$(sed -n 's/^kernel: [^ ]* [^ ]* (\(.*\))$/\1/p' "$bdir/VERSION.txt")
kdir=$(ls -d "$bdir"/pkg/linux-image-"$kver"_* | head -n 1)
bdir_bb=$(ls -d "$bdir"/pkg/busybox-static_* | head -n 1)
mods=$kdir/lib/modules/$kver
[ -d "$mods" ] || { echo "kvm-bench: no $mods (make linux-disk first)" >&2; exit 1; }
[ -f "$mods/modules.dep" ] || depmod -b "$kdir" "$kver"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root/etc/kvm-bench" "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
for vendor in intel amd; do
    modprobe -d "$kdir" -S "$kver" --show-depends "kvm_$vendor" | awk '$1 == "insmod" { print $2 }' |
        sed "s|^$mods/||" > "$root/etc/kvm-bench/modules.$vendor"
    while read -r ko; do
        mkdir -p "$root/lib/modules/$kver/$(dirname "$ko")"
        cp "$mods/$ko" "$root/lib/modules/$kver/$ko"
    done < "$root/etc/kvm-bench/modules.$vendor"
done
cp "$bdir_bb/bin/busybox" "$root/bin/busybox"
for app in sh mount cat grep insmod poweroff printf uname sleep; do ln -s busybox "$root/bin/$app"; done
cp "$runner" "$root/bin/kvm-bench"
cp "$image" "$root/bench.img"
cp "$top/tools/bench/kvm-init" "$root/init"
chmod 755 "$root/init" "$root/bin/kvm-bench"
find "$root" -exec touch -h -d @1577836800 {} +
newc() { # NAME MODE(octal) RDEVMAJOR RDEVMINOR: one entry with no data
    nlen=$(( ${#1} + 1 ))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
        0 "$(( 0$2 ))" 0 0 1 0 0 0 0 "$3" "$4" "$nlen" 0 "$1"
    pad=$(( (4 - (110 + nlen) % 4) % 4 ))
    [ $pad -eq 0 ] || head -c $pad /dev/zero
}
mkdir -p "$tmp/iso/boot/grub"
{
    newc dev 040755 0 0
    newc dev/console 020600 5 1
    newc TRAILER!!! 0 0 0
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet)
} | gzip -6 -n > "$tmp/iso/boot/initrd.gz"
cp "$kdir/boot/vmlinuz-$kver" "$tmp/iso/boot/vmlinuz"
cat > "$tmp/iso/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "KVM bench host ($kver)" {
    linux /boot/vmlinuz console=ttyS0,115200 loglevel=4 $*
    initrd /boot/initrd.gz
}
CFG
mkdir -p "$(dirname "$out")"
grub-mkrescue --install-modules="normal linux iso9660 biosdisk" --locales= --fonts= --themes= \
    -o "$out" "$tmp/iso" >/dev/null 2>&1 || { echo "kvm-bench: grub-mkrescue failed" >&2; exit 1; }
echo "kvm-bench: $out ($(stat -c %s "$out") bytes): kernel $kver, initrd $(stat -c %s "$tmp/iso/boot/initrd.gz") bytes, args: $*"
