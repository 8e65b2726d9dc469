#!/bin/sh
# tools/kvm-unit-tests.sh KUT_DIR [--platforms bare,zazen-tcg,zazen-bochs] [--markdown] [TEST...]
# Runs the x86 tests of a built kvm-unit-tests tree bare on QEMU TCG and
# as Zazen guests (GRUB CD, Multiboot) on QEMU TCG and Bochs haswell, and
# prints pass/fail/skip per test (tools/kvm_unit_tests.py; docs/kvm-unit-tests.md).
# Needs build/zazen.elf (make all), QEMU, Bochs and GRUB (tools/need.sh).
set -eu
[ $# -ge 1 ] || { echo "usage: $0 KUT_DIR [--platforms LIST] [--markdown] [TEST...]" >&2; exit 2; }
[ -f "$1/x86/unittests.cfg" ] || { echo "$0: $1 is not a kvm-unit-tests tree (no x86/unittests.cfg)" >&2; exit 2; }
ls "$1"/x86/*.flat >/dev/null 2>&1 || { echo "$0: $1 is not built (no x86/*.flat): ./configure --arch=x86_64 && make" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$top/build/zazen.elf" ] || { echo "$0: build/zazen.elf is missing: make all" >&2; exit 2; }
exec python3 "$top/tools/kvm_unit_tests.py" "$@"
