; IA32_TSC_ADJUST (MSR 3BH, SDM 3B 17.17.3), as Zazen keeps it for each
; vCPU (vmm/msr.c, vcpu.h tsc_adjust). What a guest must see:
; 1. CPUID.(EAX=7,ECX=0):EBX[1] offers the MSR, and it reads 0 at first;
; 2. a WRMSR that moves IA32_TSC_ADJUST by X moves the TSC by X: after
;    adding 2^40 the TSC read next is 2^40 ahead, less nothing and plus
;    no more than the instructions in between (under 2^32 ticks);
; 3. a WRMSR that moves the TSC (MSR 10H) by Y moves IA32_TSC_ADJUST by
;    Y: writing the TSC 2^36 back leaves the MSR at 2^40 - 2^36, give or
;    take the ticks between the read and the write (printed rounded to
;    2^34: 3c);
; 4. the TSC-deadline timer compares with the TSC as moved (11.5.4.1): a
;    deadline 1 ms ahead of the moved TSC comes within 100 ms, and one
;    already passed in the moved TSC's terms (though 2^40 - 2^36 ticks
;    in the future of the TSC before the moves) comes at once;
; 5. IA32_TSC_ADJUST written 0 takes the TSC back to within 2^32 ticks of
;    where it would have been without the moves (2^36 ticks: half a
;    minute at 2 GHz, for a host under load; a move left behind is 2^40).
; Each line says what it saw; the scenario (tscadjust_scenario) checks.
%include "lib.inc"
%include "long64.inc"
ROM_BEGIN

%define APIC_BASE      0xfee00000   ; in RBP throughout (above 2 GiB: no disp32)
%define APIC_EOI       rbp + 0xb0
%define APIC_SVR       rbp + 0xf0
%define APIC_LVT_TIMER rbp + 0x320
%define LVT_TSC_DEADLINE (2 << 17)  ; 11.5.1: timer mode bits 18:17
%define MSR_TSC        0x10
%define MSR_TSC_ADJUST 0x3b
%define MSR_TSC_DEADLINE 0x6e0
%define PM_TMR         0xb008       ; ACPI PM timer, 3.579545 MHz
%define CALIBRATION_TICKS 3580      ; 1 ms of it
%define VECTOR         0x41
%define TAKEN          0x5100       ; dword: interrupts taken

; Registers kept: RBP the local APIC's page, R15 TSC ticks in 1 ms, R12
; the TSC before the moves.

start:
    LONG_MODE_ENTER main64

bits 64
main64:
    mov ebp, APIC_BASE
    GATE VECTOR, timer_isr, 0
    mov al, 0xff                ; every 8259 input masked
    out 0x21, al
    out 0xa1, al
    mov dword [APIC_SVR], 0x1ff
    call calibrate_tsc

    ; 1. offered, and 0 at first
    mov eax, 7
    xor ecx, ecx
    cpuid
    SAY msg_cpuid
    mov eax, ebx
    shr eax, 1
    and eax, 1
    call dec64
    SAY msg_first
    mov ecx, MSR_TSC_ADJUST
    rdmsr
    shl rdx, 32
    or rax, rdx
    call hex64
    NEWLINE

    ; 2. the MSR moved by 2^40: the TSC with it
    call tsc_now
    mov r12, rax
    WRMSR MSR_TSC_ADJUST, 0x100, 0
    call tsc_now
    sub rax, r12
    mov rbx, 1 << 40
    sub rax, rbx                ; ticks between the reads, if it moved
    SAY msg_moved
    mov rsi, ROM(msg_yes)
    mov rcx, 1 << 32
    cmp rax, rcx                ; unsigned: fails if it moved less (wraps)
    jb .moved_ok
    mov rsi, ROM(msg_no)
.moved_ok:
    call print64

    ; 3. the TSC moved back by 2^36: the MSR with it
    call tsc_now
    mov rbx, 1 << 36
    sub rax, rbx
    mov rdx, rax
    shr rdx, 32
    mov ecx, MSR_TSC
    wrmsr
    mov ecx, MSR_TSC_ADJUST
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov rbx, 1 << 33
    add rax, rbx
    shr rax, 34                 ; rounded to 2^34
    SAY msg_adjust_after
    call hex64
    NEWLINE

    ; 4. the TSC-deadline timer on the moved TSC
    mov dword [APIC_LVT_TIMER], LVT_TSC_DEADLINE | VECTOR
    mov dword [TAKEN], 0
    call tsc_now
    add rax, r15
    call write_deadline
    mov rbx, r15
    imul rbx, rbx, 100
    call wait_taken
    SAY msg_deadline_near
    call said_taken

    mov dword [TAKEN], 0
    mov rax, r12                ; passed for the moved TSC, far ahead for the one before
    mov rbx, 1 << 39
    add rax, rbx
    call write_deadline
    mov rbx, r15                ; at once: within 1 ms
    call wait_taken
    SAY msg_deadline_passed
    call said_taken

    ; 5. back to 0: the TSC where it would be
    WRMSR MSR_TSC_ADJUST, 0, 0
    call tsc_now
    sub rax, r12
    SAY msg_back
    mov rsi, ROM(msg_yes)
    mov rcx, 1 << 36
    cmp rax, rcx
    jb .back_ok
    mov rsi, ROM(msg_no)
.back_ok:
    call print64
    SAY msg_done
    cli
    hlt

; wait_taken: with interrupts enabled, until the timer's interrupt came
; or RBX more TSC ticks passed (the TSC as it reads now).
wait_taken:
    call tsc_now
    add rbx, rax
    sti
.spin:
    cmp dword [TAKEN], 0
    jne .out
    call tsc_now
    cmp rax, rbx
    jb .spin
.out:
    cli
    ret

said_taken:
    mov rsi, ROM(msg_came)
    cmp dword [TAKEN], 0
    jne .came
    mov rsi, ROM(msg_not_came)
.came:
    jmp print64

TSC_DEADLINE_LIB

timer_isr:
    inc dword [TAKEN]
    mov dword [APIC_EOI], 0
    iretq

LIB64
LIB_LONG64
msg_cpuid:           db "tscadjust: CPUID.7.0:EBX.TSC_ADJUST ", 0
msg_first:           db 10, "tscadjust: IA32_TSC_ADJUST at first ", 0
msg_moved:           db "tscadjust: IA32_TSC_ADJUST += 2^40 moved the TSC by 2^40: ", 0
msg_adjust_after:    db "tscadjust: the TSC written 2^36 back: IA32_TSC_ADJUST / 2^34 ", 0
msg_deadline_near:   db "tscadjust: a deadline 1 ms ahead of the moved TSC: ", 0
msg_deadline_passed: db "tscadjust: a deadline passed for the moved TSC: ", 0
msg_back:            db "tscadjust: IA32_TSC_ADJUST = 0 took the TSC back: ", 0
msg_yes:             db "yes", 10, 0
msg_no:              db "NO", 10, 0
msg_came:            db "the interrupt came", 10, 0
msg_not_came:        db "the interrupt did NOT come", 10, 0
msg_done:            db "tscadjust: done", 10, 0

ROM_END
