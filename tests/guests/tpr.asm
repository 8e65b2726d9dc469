; The task priority as a guest sees it (SDM 3A 11.8.6): CR8 and the
; local APIC's TPR register are one value (TPR[7:4] = CR8[3:0]); a CR8
; of 15 holds a timer interrupt back and lowering it delivers the
; interrupt before the next instruction; HLT is woken by the LAPIC timer.
; It leaves with CR8 = 15: run twice in a row, the second run must start
; with CR8 = 0 and still get its timer interrupts (a guest that could
; write the real TPR would block the host's own timer, and hang Zazen).
%include "lib.inc"
%include "long64.inc"
ROM_BEGIN

; Local APIC registers, from R15 = its base (a 32-bit absolute address
; above 2 GiB would be sign-extended in 64-bit code).
%define APIC          0xfee00000
%define APIC_TPR      r15 + 0x80
%define APIC_EOI      r15 + 0xb0
%define APIC_SVR      r15 + 0xf0
%define APIC_LVT_TIMER r15 + 0x320
%define APIC_INITIAL  r15 + 0x380
%define APIC_CURRENT  r15 + 0x390
%define APIC_DIVIDE   r15 + 0x3e0
%define VECTOR        0x40      ; priority class 4
%define TICKS         0x5100

start:
    LONG_MODE_ENTER main64

bits 64
main64:
    mov r15d, APIC
    GATE VECTOR, timer_isr, 0
    mov dword [APIC_SVR], 0x1ff         ; APIC on, spurious vector FFh
    mov dword [APIC_DIVIDE], 0xb        ; divide by 1
    mov qword [TICKS], 0

    SAY msg_start
    mov rax, cr8
    call dec64
    NEWLINE

    mov eax, 5
    mov cr8, rax
    SAY msg_cr8_to_tpr
    mov eax, [APIC_TPR]
    call hex8_64
    NEWLINE

    mov dword [APIC_TPR], 0x9c
    SAY msg_tpr_to_cr8
    mov rax, cr8
    call dec64
    SAY msg_tpr_too
    mov eax, [APIC_TPR]
    call hex8_64
    NEWLINE

    ; a one-shot timer interrupt (class 4) while CR8 = 15
    mov eax, 15
    mov cr8, rax
    sti
    mov dword [APIC_LVT_TIMER], VECTOR
    mov dword [APIC_INITIAL], 1000      ; 1 us
.wait_expiry:
    cmp dword [APIC_CURRENT], 0
    jne .wait_expiry
    mov ecx, 20                         ; more exits: it is due and requested by now
.settle:
    mov eax, [APIC_CURRENT]
    loop .settle
    mov rsi, ROM(msg_held)
    cmp qword [TICKS], 0
    je .held
    mov rsi, ROM(msg_not_held)
.held:
    call print64
    mov eax, 3
    mov cr8, rax                        ; class 4 > 3: deliverable now
    mov rbx, [TICKS]                    ; the very next instruction
    cli
    mov rsi, ROM(msg_released)
    cmp rbx, 1
    je .released
    mov rsi, ROM(msg_not_released)
.released:
    call print64

    ; HLT until the LAPIC timer (10 ms) interrupts
    xor eax, eax
    mov cr8, rax
    mov qword [TICKS], 0
    mov dword [APIC_INITIAL], 10000000
    sti
    hlt
    cli
    mov rsi, ROM(msg_woken)
    cmp qword [TICKS], 1
    je .woken
    mov rsi, ROM(msg_not_woken)
.woken:
    call print64

    SAY msg_leaving
    mov eax, 15
    mov cr8, rax
    cli
    hlt

timer_isr:
    inc qword [TICKS]
    mov dword [APIC_EOI], 0
    iretq

LIB64
LIB_LONG64
msg_start:          db "tpr: CR8 at start ", 0
msg_cr8_to_tpr:     db "tpr: mov cr8, 5 -> the APIC's TPR reads ", 0
msg_tpr_to_cr8:     db "tpr: the APIC's TPR set to 9c -> CR8 reads ", 0
msg_tpr_too:        db ", the TPR ", 0
msg_held:           db "tpr: CR8 15 held the timer interrupt back", 10, 0
msg_not_held:       db "tpr: CR8 15 did NOT hold the timer interrupt back", 10, 0
msg_released:       db "tpr: mov cr8, 3 delivered it before the next instruction", 10, 0
msg_not_released:   db "tpr: mov cr8, 3 did NOT deliver it at once", 10, 0
msg_woken:          db "tpr: woken from HLT by the LAPIC timer", 10, 0
msg_not_woken:      db "tpr: HLT ended without the LAPIC timer", 10, 0
msg_leaving:        db "tpr: leaving with CR8 = 15", 10, 0

ROM_END
