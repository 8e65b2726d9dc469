; A guest that never gives the CPU back: interrupts off, a tight loop, no
; HLT and (but for a PM timer read every few million instructions, to
; know when to stop) no exit. Only the host timer's preemption lets
; others run on its CPU. After SECONDS of PM timer time it ends.
%include "lib.inc"

%define SECONDS 3
%define PM_HZ 3579545
%define PM_TMR 0xb008

ROM_BEGIN

start:
    cli
    PUTS16 msg_start
    mov dx, PM_TMR
    in eax, dx
    mov ebp, eax
.spin:
    mov ecx, 1000000
.loop:
    dec ecx
    jnz .loop
    in eax, dx
    sub eax, ebp
    cmp eax, SECONDS * PM_HZ
    jb .spin
    PUTS16 msg_done
    hlt
    jmp $

LIB16
msg_start: db "cliloop: looping with interrupts off", 10, 0
msg_done:  db "cliloop: 3 s with interrupts off, done", 10, 0

ROM_END
