; Reloads its x87 environment (FLDENV) in a loop, forever. Harmless on a
; CPU; under QEMU 7.2's multi-threaded TCG every FLDENV, FRSTOR, FXRSTOR
; and XRSTOR runs cpu_clear_ignne(), an unlocked read-modify-write of the
; first CPU's hflags2 from the thread of the CPU that executes it. On a
; CPU other than 0, beside a guest that makes CPU 0 exit often, it soon
; undoes one of CPU 0's own updates at VMRUN or #VMEXIT and the machine
; stops (tools/repro-host-stop.py; docs/smp.md, Known problems). A guest
; can do this; Zazen cannot stop it. Not part of make test.
%include "lib.inc"

%define ENV 0x500               ; the 14-byte real-mode environment, in RAM

ROM_BEGIN

start:
    cli
    PUTS16 msg_start
    xor ax, ax
    mov ds, ax
    fninit                      ; FSW 0: ES clear, so each FLDENV clears IGNNE
    fnstenv [ENV]
.again:
    fldenv [ENV]
    jmp .again

LIB16
msg_start: db "fpstorm: FLDENV in a loop", 10, 0

ROM_END
