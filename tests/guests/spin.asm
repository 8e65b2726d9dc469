; A CPU-bound guest for the scheduler's tests: it does units of work (a
; countdown loop) and counts them per window of the ACPI PM timer
; (3.579545 MHz, PIIX4 layout at B008h), which runs on real time whether
; or not the vCPU does. What it gets of a CPU shows as units per window:
;
;     spin: window 3: 1234 units
;
; WINDOWS windows of WINDOW_TICKS (2^20 ticks, 0.293 s) each, then
; "spin: done" and cli; hlt. It never enables interrupts: only the host
; timer's preemption lets another vCPU have the CPU.
%include "lib.inc"

%ifndef WINDOWS
%define WINDOWS 12
%endif
%define WINDOW_TICKS 0x100000
%define UNIT_LOOPS 10000
%define PM_TMR 0xb008

ROM_BEGIN

start:
    cli
    PUTS16 msg_start
    xor ebx, ebx                ; the window number
    xor edi, edi                ; units done in this window
    mov dx, PM_TMR
    in eax, dx
    mov ebp, eax                ; the window's start, in PM timer ticks
.unit:
    mov ecx, UNIT_LOOPS
.loop:
    dec ecx
    jnz .loop
    inc edi
    mov dx, PM_TMR
    in eax, dx
    sub eax, ebp                ; ticks since the window began (mod 2^32)
    cmp eax, WINDOW_TICKS
    jb .unit
    add ebp, WINDOW_TICKS       ; windows keep their phase
    PUTS16 msg_window
    mov eax, ebx
    call dec16_32
    PUTS16 msg_colon
    mov eax, edi
    call dec16_32
    PUTS16 msg_units
    xor edi, edi
    inc ebx
    cmp ebx, WINDOWS
    jb .unit
    PUTS16 msg_done
    cli
    hlt
    jmp $

LIB16
msg_start:  db "spin: counting units of work per PM timer window", 10, 0
msg_window: db "spin: window ", 0
msg_colon:  db ": ", 0
msg_units:  db " units", 10, 0
msg_done:   db "spin: done", 10, 0

ROM_END
