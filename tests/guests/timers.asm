; Timers whose interrupts nobody can take must not keep the host busy:
; the PIT runs at 1 kHz with IRQ0 masked at both 8259s and the I/O APIC,
; the local APIC timer is periodic at 10 kHz with its LVT entry masked,
; and the guest spins for 200 ms (RDTSC, calibrated against the ACPI PM
; timer). The counters stay readable and keep moving. Zazen's exit counts
; then show how often the host timer interrupted the guest: a few console
; polls, not thousands of timer ticks (the scenario checks the range).
%include "lib.inc"
%include "long64.inc"
ROM_BEGIN

%define APIC_SVR      r15 + 0xf0
%define APIC_LVT_TIMER r15 + 0x320
%define APIC_INITIAL  r15 + 0x380
%define APIC_CURRENT  r15 + 0x390
%define APIC_DIVIDE   r15 + 0x3e0
%define PM_TMR        0xb008    ; ACPI PM timer, 3.579545 MHz, 32 bits
%define CALIBRATION_TICKS 35795 ; 10 ms of it
%define SPIN_MS       200
%define LAPIC_COUNT   100000    ; 100 us at 1 GHz

start:
    LONG_MODE_ENTER main64

bits 64
main64:
    mov r15d, 0xfee00000
    mov al, 0xff                ; every 8259 input masked
    out 0x21, al
    out 0xa1, al
    mov al, 0x34                ; PIT counter 0: mode 2, lo/hi byte
    out 0x43, al
    mov ax, 1193                ; 1 kHz
    out 0x40, al
    mov al, ah
    out 0x40, al
    mov dword [APIC_SVR], 0x1ff
    mov dword [APIC_DIVIDE], 0xb
    mov dword [APIC_LVT_TIMER], (1 << 17) | (1 << 16) | 0x40 ; periodic, masked
    mov dword [APIC_INITIAL], LAPIC_COUNT
    SAY msg_armed

    ; TSC ticks in 10 ms of the PM timer (a few hundred port exits), then
    ; 200 ms by RDTSC alone: no exit but what the host timer causes
    mov dx, PM_TMR
    in eax, dx
    mov r12d, eax
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov rbx, rax
.calibrate:
    mov dx, PM_TMR
    in eax, dx
    sub eax, r12d
    cmp eax, CALIBRATION_TICKS
    jb .calibrate
    rdtsc
    shl rdx, 32
    or rax, rdx
    sub rax, rbx                ; TSC ticks per 10 ms
    imul rax, rax, SPIN_MS / 10
    mov rbx, rax
    call pit_count
    mov r13d, eax
    mov r14d, [APIC_CURRENT]
    rdtsc
    shl rdx, 32
    or rax, rdx
    add rbx, rax                ; the TSC at the end of the spin
    sti                         ; RFLAGS.IF set, every source masked (Bochs 2.7 takes
                                ; no host interrupt while a guest runs with IF clear)
.spin:
    rdtsc
    shl rdx, 32
    or rax, rdx
    cmp rax, rbx
    jb .spin
    cli

    call pit_count
    mov rsi, ROM(msg_pit_moves)
    cmp eax, r13d
    jne .pit
    ; The same count: the spin may have lasted a whole number of periods
    ; (on a deterministic platform it depends on the exact path lengths
    ; of the exits in between). A moving counter differs a few tens of
    ; microseconds later, well within one period; a stuck one does not.
    mov ecx, 2000
.later:
    dec ecx
    jnz .later
    call pit_count
    cmp eax, r13d
    jne .pit
    mov rsi, ROM(msg_pit_stuck)
.pit:
    call print64
    mov eax, [APIC_CURRENT]
    mov rsi, ROM(msg_lapic_moves)
    cmp eax, r14d
    je .lapic_stuck
    test eax, eax
    jz .lapic_stuck
    cmp eax, LAPIC_COUNT
    jbe .lapic
.lapic_stuck:
    mov rsi, ROM(msg_lapic_stuck)
.lapic:
    call print64
    SAY msg_done
    cli
    hlt

; pit_count: counter 0 latched and read, in EAX.
pit_count:
    mov al, 0x00                ; counter latch, counter 0
    out 0x43, al
    in al, 0x40
    mov ah, al
    in al, 0x40
    xchg al, ah
    movzx eax, ax
    ret

LIB64
LIB_LONG64
msg_armed:        db "timers: PIT at 1 kHz and LAPIC timer at 10 kHz, every interrupt masked; spinning 200 ms", 10, 0
msg_pit_moves:    db "timers: the PIT counter moved", 10, 0
msg_pit_stuck:    db "timers: the PIT counter did NOT move", 10, 0
msg_lapic_moves:  db "timers: the LAPIC current count moved and stays within its initial count", 10, 0
msg_lapic_stuck:  db "timers: the LAPIC current count is wrong", 10, 0
msg_done:         db "timers: done", 10, 0

ROM_END
