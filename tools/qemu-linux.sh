#!/bin/sh
# tools/qemu-linux.sh disk|isa|iso [IMG [ISO]]
# Boots the Linux guest images on plain QEMU (TCG, its own SeaBIOS; no
# Zazen) and checks the /init markers. Each console line is printed with
# the wall time since QEMU started. The disk is used as it is (its
# /zazen/written.txt changes): pass a copy to keep the original.
#   disk  the MBR disk (build/linux/linux.img) on the pc machine (PIIX IDE)
#   isa   the same on -machine isapc (no PCI, no ACPI: pata_legacy; the
#         guest halts at the end, so QEMU is stopped after "done")
#   iso   the CD (build/linux/linux.iso) booted with -boot d, the disk
#         attached as the first IDE disk
# Exit status 0 when the markers came in order and ended with "done".
# TIMEOUT (seconds, default 300) bounds a run.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-disk}
img=${2:-$top/build/linux/linux.img}
iso=${3:-$top/build/linux/linux.iso}
timeout=${TIMEOUT:-300}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log

set -- -accel tcg -m 512M -serial stdio -display none -no-reboot \
    -drive "file=$img,format=raw,if=ide"
case "$mode" in
disk) ;;
isa) set -- "$@" -machine isapc -cpu "${ISA_CPU:-qemu64,-apic}" ;;
iso) set -- "$@" -cdrom "$iso" -boot d ;;
*) echo "usage: $0 disk|isa|iso [IMG [ISO]]" >&2; exit 2 ;;
esac

start=$(date +%s%N)
stamp() {
    while IFS= read -r line; do
        now=$(date +%s%N)
        ms=$(( (now - start) / 1000000 ))
        printf '%4d.%02d %s\n' $((ms / 1000)) $((ms % 1000 / 10)) "$line" | tr -d '\r'
        # isapc has no ACPI: the guest halts after "done", QEMU stays.
        case "$line" in
        *"ZAZEN-LINUX: done"*|*"ZAZEN-LINUX: FAILED"*)
            [ "$mode" = isa ] && { sleep 2; kill "$qpid" 2>/dev/null || true; } ;;
        esac
    done
}
mkfifo "$tmp/out"
timeout "$timeout" qemu-system-x86_64 "$@" >"$tmp/out" 2>&1 </dev/null &
qpid=$!
stamp <"$tmp/out" | tee "$log"
wait "$qpid" || echo "qemu-linux: qemu ended with status $? (124: timeout; 143: stopped after done)"
end=$(date +%s%N)
echo "qemu-linux: $mode: $(( (end - start) / 1000000 )) ms wall in all"

want="userspace
kernel
disk via
xfer mode
data partition
known file: zazen-known-file-4b1d9e
written file read back: zazen-written-file-7c2a51
uptime
done"
got=$(sed -n 's/.*ZAZEN-LINUX: //p' "$log")
echo "$got" | grep -q '^FAILED' && { echo "qemu-linux: $mode: FAILED"; exit 1; }
i=0
echo "$want" | while IFS= read -r w; do
    i=$((i + 1))
    line=$(echo "$got" | sed -n "${i}p")
    case "$line" in
    "$w"*) ;;
    *) echo "qemu-linux: $mode: marker $i is \"$line\", expected \"$w...\""; exit 1 ;;
    esac
done || exit 1
grep -q 'SYSLINUX\|GRUB\|Booting' "$log" || [ "$mode" = iso ] || { echo "qemu-linux: $mode: no SYSLINUX banner"; exit 1; }
grep -q 'Linux version' "$log" || { echo "qemu-linux: $mode: no \"Linux version\""; exit 1; }
echo "qemu-linux: $mode: passed"
