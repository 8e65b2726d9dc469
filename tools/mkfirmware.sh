#!/bin/sh
# tools/mkfirmware.sh OUTDIR
# Third-party PC firmware for `firmware =`, from Debian packages taken with
# `apt-get download` into build/firmware/debs (a cache) and unpacked with
# `dpkg-deb -x` (never installed):
#   OUTDIR/bios-256k.bin  SeaBIOS for QEMU (package seabios), 256 KiB
#   OUTDIR/bios.bin       the same, 128 KiB
#   OUTDIR/u-boot.rom     U-Boot's 32-bit x86 QEMU build (package u-boot-qemu), 1 MiB
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
top=$(cd "$(dirname "$0")/.." && pwd)
debs=$top/build/firmware/debs
mkdir -p "$out" "$debs"

say() { echo "firmware: $*"; }
die() { echo "firmware: $*" >&2; exit 1; }

# fetch PACKAGE: the path of its .deb in the cache, downloaded once.
fetch() {
    deb=$(ls "$debs/${1}_"*.deb 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$deb" ]; then
        say "apt-get download $1" >&2
        # As root apt warns that its sandbox user cannot write here.
        (cd "$debs" && apt-get download -q "$1" 2>&1 | grep -v -e '^W: Download is performed unsandboxed' -e '^Get:' -e '^Fetched' >&2) || true
        if ! ls "$debs/${1}_"*.deb >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
            say "apt lists know no $1: apt-get update" >&2
            apt-get update >/dev/null 2>&1 || true
            (cd "$debs" && apt-get download -q "$1" >/dev/null 2>&1) || true
        fi
        deb=$(ls "$debs/${1}_"*.deb 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    [ -n "$deb" ] || die "no .deb for $1"
    echo "$deb"
}

# take PACKAGE PATH-IN-PACKAGE NAME: copies one file of the package to OUTDIR/NAME.
take() {
    tmp=$(mktemp -d)
    dpkg-deb -x "$(fetch "$1")" "$tmp"
    [ -f "$tmp/$2" ] || { rm -rf "$tmp"; die "$1 has no $2"; }
    cp "$tmp/$2" "$out/$3"
    rm -rf "$tmp"
    say "$out/$3 from $1"
}

take seabios usr/share/seabios/bios-256k.bin bios-256k.bin
take seabios usr/share/seabios/bios.bin bios.bin
take u-boot-qemu usr/lib/u-boot/qemu-x86/u-boot.rom u-boot.rom
