#!/bin/sh
# tools/mklinuxinitrd.sh [OUTDIR]
# The stock Debian kernel and a small initramfs for the Linux guest images
# (tools/mklinuxdisk.sh, tools/mklinuxiso.sh). Writes into OUTDIR (default
# build/linux): vmlinuz, initrd.gz, VERSION.txt and README.txt.
#
# Everything comes from Debian packages taken with `apt-get download` into
# build/linux/debs/ (a cache) and unpacked with `dpkg-deb -x`; nothing is
# installed on this machine. The kernel is what linux-image-amd64 depends on
# now (override with LINUX_IMAGE=linux-image-6.1.0-NN-amd64).
#
# The initramfs (newc cpio, gzip): busybox-static, /init from
# tools/linux-init, dmidecode (with the libc it needs, from libc6), and
# the IDE/SCSI-disk/ext4/EDD modules with their dependencies as modprobe
# resolves them from the package's own modules (depmod on the unpacked
# tree), in load order, listed for /init in /etc/zazen/modules.<target>.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/linux}
mkdir -p "$out"
out=$(cd "$out" && pwd)
debs=$top/build/linux/debs
pkgs=$top/build/linux/pkg
mkdir -p "$debs" "$pkgs"
# One at a time (make -j2 linux-disk linux-iso runs two of us).
exec 9>"$top/build/linux/.lock"
flock 9

say() { echo "linux: $*"; }
die() { echo "linux: $*" >&2; exit 1; }

# The candidate version apt would take for a package ("" if unknown).
candidate() {
    apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2; exit }' | sed 's/(none)//'
}

# Which linux-image-6.1.0-NN-amd64 linux-image-amd64 stands for today.
resolve_kernel() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

image=${LINUX_IMAGE:-}
if [ -z "$image" ]; then
    image=$(resolve_kernel)
    if [ -z "$image" ] && [ "$(id -u)" = 0 ]; then
        say "apt lists know no linux-image-amd64: apt-get update"
        apt-get update >/dev/null 2>&1 || true
        image=$(resolve_kernel)
    fi
    if [ -z "$image" ]; then
        # Offline: the newest kernel already in the cache.
        image=$(ls "$debs" 2>/dev/null | sed -n 's/^\(linux-image-[0-9][^_]*-amd64\)_.*\.deb$/\1/p' | sort -V | tail -n 1)
    fi
    [ -n "$image" ] || die "cannot resolve linux-image-amd64 (no apt lists, nothing cached)"
fi
kver=${image#linux-image-}

# fetch PACKAGE: print the path of its .deb in the cache, downloading the
# candidate version if it is not there yet.
fetch() {
    pkg=$1
    ver=$(candidate "$pkg")
    if [ -n "$ver" ]; then
        fver=$(printf '%s' "$ver" | sed 's/:/%3a/')
        deb=$(ls "$debs/${pkg}_${fver}_"*.deb 2>/dev/null | head -n 1 || true)
        if [ -z "$deb" ]; then
            say "apt-get download $pkg=$ver" >&2
            # As root apt warns that its sandbox user cannot write here.
            (cd "$debs" && apt-get download -q "$pkg=$ver" 2>&1 | grep -v -e '^W: Download is performed unsandboxed' -e '^Get:' -e '^Fetched' >&2) || true
            deb=$(ls "$debs/${pkg}_${fver}_"*.deb 2>/dev/null | head -n 1 || true)
        fi
        # Offline: take what the cache has.
        [ -n "$deb" ] || deb=$(ls "$debs/${pkg}_"*.deb 2>/dev/null | sort -V | tail -n 1 || true)
    else
        deb=$(ls "$debs/${pkg}_"*.deb 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    [ -n "$deb" ] && [ -f "$deb" ] || die "no .deb for $pkg"
    echo "$deb"
}

# unpack DEB: print the directory it is unpacked in (once per .deb).
unpack() {
    dir=$pkgs/$(basename "$1" .deb)
    if [ ! -e "$dir/.unpacked" ]; then
        rm -rf "$dir"
        mkdir -p "$dir"
        dpkg-deb -x "$1" "$dir"
        touch "$dir/.unpacked"
    fi
    echo "$dir"
}

kdeb=$(fetch "$image")
bdeb=$(fetch busybox-static)
ddeb=$(fetch dmidecode)
cdeb=$(fetch libc6)
kdir=$(unpack "$kdeb")
bdir=$(unpack "$bdeb")
ddir=$(unpack "$ddeb")
cdir=$(unpack "$cdeb")
kpkgver=$(dpkg-deb -f "$kdeb" Version)
bpkgver=$(dpkg-deb -f "$bdeb" Version)
dpkgver=$(dpkg-deb -f "$ddeb" Version)
cpkgver=$(dpkg-deb -f "$cdeb" Version)
mods=$kdir/lib/modules/$kver
[ -f "$kdir/boot/vmlinuz-$kver" ] || die "$kdeb has no boot/vmlinuz-$kver"
[ -d "$mods/kernel" ] || die "$kdeb has no lib/modules/$kver"
# The package ships no modules.dep (its postinst runs depmod): make one in
# the unpacked tree, never in this machine's /lib/modules.
[ -f "$mods/modules.dep" ] || depmod -b "$kdir" "$kver"

# The modules /init loads, per target, in dependency order (softdeps
# included). CPU-specific crypto (crc32c-intel, crct10dif-pclmul) is left
# out: the generic ones work on any CPU an emulator or hypervisor offers.
# crc64_rocksoft_generic is no declared dependency, but without it
# crc64-rocksoft asks the kernel's module loader for it at init time.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
mkdir -p "$root/etc/zazen" "$root/lib/modules/$kver"
showdeps() {
    for m in "$@"; do
        modprobe -d "$kdir" -S "$kver" --show-depends "$m" || die "modprobe cannot resolve $m"
    done | awk '$1 == "insmod" { print $2 }' | sed "s|^$mods/||" |
        grep -v '^kernel/arch/x86/crypto/' | awk '!seen[$0]++'
}
targets="disk:crc64_rocksoft_generic,sd_mod fs:crc32c_generic,ext4 ata_piix:ata_piix pata_legacy:pata_legacy ata_generic:ata_generic events:button,evdev edd:edd xen:xen_blkfront"
for t in $targets; do
    name=${t%%:*}
    # shellcheck disable=SC2046
    showdeps $(echo "${t#*:}" | tr , ' ') > "$root/etc/zazen/modules.$name"
    while read -r ko; do
        mkdir -p "$root/lib/modules/$kver/$(dirname "$ko")"
        # Debian 12 ships them uncompressed; busybox insmod reads no .xz.
        case "$ko" in
        *.ko.xz) xz -dc "$mods/$ko" > "$root/lib/modules/$kver/${ko%.xz}" ;;
        *) cp "$mods/$ko" "$root/lib/modules/$kver/$ko" ;;
        esac
    done < "$root/etc/zazen/modules.$name"
    sed -i 's/\.ko\.xz$/.ko/' "$root/etc/zazen/modules.$name"
done
cp "$mods/modules.order" "$mods/modules.builtin" "$mods/modules.builtin.modinfo" "$root/lib/modules/$kver/"
# So that busybox modprobe works in the shell (and for the kernel's own
# request_module calls).
depmod -b "$root" "$kver"

# busybox-static and its applets as symlinks.
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin"
cp "$bdir/bin/busybox" "$root/bin/busybox"
"$root/bin/busybox" --list-full | while read -r app; do
    [ "$app" = bin/busybox ] && continue
    [ -e "$root/$app" ] || ln -s /bin/busybox "$root/$app"
done
# dmidecode, and what the dynamic linker loads for it (its NEEDED
# libraries and its interpreter), from the unpacked libc6.
mkdir -p "$root/usr/sbin"
cp "$ddir/usr/sbin/dmidecode" "$root/usr/sbin/dmidecode"
interp=$(readelf -l "$ddir/usr/sbin/dmidecode" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
for lib in $(readelf -d "$ddir/usr/sbin/dmidecode" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p') "$(basename "$interp")"; do
    src=$(find "$cdir/lib" "$cdir/usr/lib" -name "$lib" \( -type f -o -type l \) 2>/dev/null | head -n 1)
    [ -n "$src" ] || die "libc6 has no $lib for dmidecode"
    mkdir -p "$root/lib/x86_64-linux-gnu"
    cp -L "$src" "$root/lib/x86_64-linux-gnu/$lib"
done
mkdir -p "$root$(dirname "$interp")"
[ -e "$root$interp" ] || ln -s "/lib/x86_64-linux-gnu/$(basename "$interp")" "$root$interp"
mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/mnt" "$root/tmp" "$root/run" "$root/root"
cp "$top/tools/linux-init" "$root/init"
chmod 755 "$root/init"
{
    echo "kernel: $image $kpkgver ($kver)"
    echo "busybox: busybox-static $bpkgver"
    echo "dmidecode: dmidecode $dpkgver (libc6 $cpkgver)"
} > "$root/etc/zazen/version"

# The archive: first a tiny hand-made newc segment with /dev/console (so the
# kernel opens the console for /init without anyone running mknod as root),
# then the tree. Both go through one gzip stream; the kernel unpacks
# concatenated archives.
newc() { # NAME MODE(octal) RDEVMAJOR RDEVMINOR: one entry with no data
    nlen=$(( ${#1} + 1 ))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
        0 "$(( 0$2 ))" 0 0 1 0 0 0 0 "$3" "$4" "$nlen" 0 "$1"
    # header (110 bytes) + name + NUL padded to a multiple of 4
    pad=$(( (4 - (110 + nlen) % 4) % 4 ))
    [ $pad -eq 0 ] || head -c $pad /dev/zero
}
# Same inputs, same archive: fixed times, no inode numbers.
find "$root" -exec touch -h -d @1577836800 {} +
{
    newc dev 040755 0 0
    newc dev/console 020600 5 1
    newc TRAILER!!! 0 0 0
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet)
} | gzip -9 -n > "$out/.initrd.gz.tmp"
mv "$out/.initrd.gz.tmp" "$out/initrd.gz"
cp "$kdir/boot/vmlinuz-$kver" "$out/.vmlinuz.tmp"
mv "$out/.vmlinuz.tmp" "$out/vmlinuz"
cp "$root/etc/zazen/version" "$out/VERSION.txt"

nmods=$(cat "$root"/etc/zazen/modules.* | sort -u | wc -l)
{
    echo "Zazen Linux guest: kernel and initramfs (made by tools/mklinuxinitrd.sh)"
    echo
    cat "$root/etc/zazen/version"
    echo "vmlinuz: $(stat -c %s "$out/vmlinuz") bytes (boot/vmlinuz-$kver from $(basename "$kdeb"))"
    echo "initrd.gz: $(stat -c %s "$out/initrd.gz") bytes (newc cpio, gzip -9)"
    echo
    echo "Recipe:"
    echo "  apt-cache depends linux-image-amd64 -> $image"
    echo "  apt-get download $image busybox-static dmidecode libc6   (into build/linux/debs)"
    echo "  dpkg-deb -x each (into build/linux/pkg); depmod -b on the unpacked kernel tree"
    echo "  modprobe -d TREE -S $kver --show-depends for each target below -> load order"
    echo "  initramfs: /init = tools/linux-init, busybox + applet symlinks, dmidecode + libc, $nmods modules,"
    echo "             /dev/console node, /etc/zazen/modules.<target>"
    echo
    echo "  disk (tools/mklinuxdisk.sh, make linux-disk -> build/linux/linux.img, 41 MiB):"
    echo "    sfdisk MBR table, SYSLINUX mbr.bin in sector 0;"
    echo "    part 1 (LBA 2048, 32 MiB, type 6, bootable): mkfs.vfat -F 16 -h 2048,"
    echo "      syslinux --install, mcopy syslinux.cfg vmlinuz initrd.gz VERSION.txt README.txt;"
    echo "    part 2 (LBA 67584, 8 MiB, type 83): mke2fs -t ext2 -d with /zazen/known.txt."
    echo "  CD (tools/mklinuxiso.sh, make linux-iso -> build/linux/linux.iso): grub-mkrescue,"
    echo "    /boot/vmlinuz and /boot/initrd.gz, serial console, timeout 0."
    echo "  Kernel command line: console=ttyS0,115200 loglevel=6 (label/entry isa adds"
    echo "    noapic zazen.driver=pata_legacy). tools/linux-init documents zazen.* options."
    echo "  Boot on QEMU: tools/qemu-linux.sh disk|isa|iso"
    echo
    echo "Module load order per target (/etc/zazen/modules.<target>):"
    for t in $targets; do
        name=${t%%:*}
        echo "  $name: $(sed 's|.*/||; s|\.ko$||' "$root/etc/zazen/modules.$name" | tr '\n' ' ')"
    done
} > "$out/.README.txt.tmp"
mv "$out/.README.txt.tmp" "$out/README.txt"
say "kernel $image $kpkgver; vmlinuz $(stat -c %s "$out/vmlinuz") bytes, initrd.gz $(stat -c %s "$out/initrd.gz") bytes ($nmods modules)"
