; The local APIC timer re-armed on Zazen's fast way: a write of
; IA32_TSC_DEADLINE (MSR 6E0H, SDM 3A 11.5.4.1) or of the xAPIC timer's
; initial count (380H, 11.5.4) moves the timer's deadline, and Zazen
; carries it out without the run loop, arming its host timer again in
; place (vmm/platform_time.h, platform_timer_written). What a guest must
; see, whatever way the write takes:
; 1. TSC-deadline mode, 20 deadlines 200 us ahead, each waited for in
;    HLT: every interrupt comes, none before its deadline, and the MSR
;    reads 0 once it fired (the timer disarms itself, 11.5.4.1);
; 2. a deadline 1 s ahead replaced by one 200 us ahead while the guest
;    spins with interrupts enabled and makes no exit: the interrupt comes
;    within 2 ms of the near one (only the host timer, armed for it, can
;    bring the guest out in time: the guest first waits 50 ms for Zazen's
;    own lines to leave, prints nothing until the end, and the console's
;    poll comes every 10 ms);
; 3. a deadline already passed: the interrupt comes at once;
; 4. a deadline written 0 before it comes: no interrupt in 4 ms, and the
;    MSR reads 0;
; 5. one-shot mode through the xAPIC page: an initial count 1 s long
;    replaced by one 200 us long while the guest spins: the interrupt
;    comes within 2 ms of the short one.
; The TSC is calibrated against the ACPI PM timer, the local APIC timer
; against the TSC. Each case prints what it saw; the scenario checks.
%include "lib.inc"
%include "long64.inc"
ROM_BEGIN

%define APIC_BASE      0xfee00000   ; in RBP throughout (above 2 GiB: no disp32)
%define APIC_EOI       rbp + 0xb0
%define APIC_SVR       rbp + 0xf0
%define APIC_LVT_TIMER rbp + 0x320
%define APIC_INITIAL   rbp + 0x380
%define APIC_CURRENT   rbp + 0x390
%define APIC_DIVIDE    rbp + 0x3e0
%define LVT_TSC_DEADLINE (2 << 17)  ; 11.5.1: timer mode bits 18:17
%define MSR_TSC_DEADLINE 0x6e0
%define PM_TMR         0xb008       ; ACPI PM timer, 3.579545 MHz
%define CALIBRATION_TICKS 35795     ; 10 ms of it
%define VECTOR         0x41
%define ROUNDS         20
%define TAKEN          0x5100       ; dword: interrupts taken
%define TAKEN_TSC      0x5108       ; qword: the TSC as the last one came
; What each case saw, printed at the end (a line printed while a case
; runs would keep Zazen's host timer busy draining it, and could bring
; the guest out in time when nothing else would):
%define SEEN_ROUNDS    0x5200       ; dwords: interrupts, early ones, left armed
%define HAS_DEADLINE   0x520c       ; dword: CPUID offers TSC-deadline mode
%define SAID_MOVED     0x5210       ; qwords: the line for cases 2 to 5
%define SAID_PASSED    0x5218
%define SAID_CLEARED   0x5220
%define SAID_COUNT     0x5228

; Registers kept throughout: RBP the local APIC's page, R15 TSC ticks in
; 10 ms, R14 in 200 us, R13 in 2 ms.

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
    mov rax, r15
    xor edx, edx
    mov ecx, 50
    div rcx
    mov r14, rax
    mov rax, r15
    xor edx, edx
    mov ecx, 5
    div rcx
    mov r13, rax

    call settle
    mov dword [HAS_DEADLINE], 0
    mov eax, 1
    cpuid
    bt ecx, 24                  ; CPUID.1:ECX.TSC_DEADLINE
    jnc oneshot_case
    mov dword [HAS_DEADLINE], 1

deadline_cases:
    mov dword [APIC_LVT_TIMER], LVT_TSC_DEADLINE | VECTOR

    ; 1. deadlines waited for in HLT
    xor ebx, ebx                ; interrupts that came
    xor r12d, r12d              ; ...before their deadline
    xor r10d, r10d              ; ...with the MSR not 0 after
    mov r9d, ROUNDS
.round:
    mov dword [TAKEN], 0
    call tsc_now
    add rax, r14
    mov r11, rax
    call write_deadline
.sleep:
    sti
    hlt
    cli
    cmp dword [TAKEN], 0
    je .sleep
    inc ebx
    cmp [TAKEN_TSC], r11
    jae .on_time
    inc r12d
.on_time:
    mov ecx, MSR_TSC_DEADLINE
    rdmsr
    or eax, edx
    jz .cleared
    inc r10d
.cleared:
    dec r9d
    jnz .round
    mov [SEEN_ROUNDS], ebx
    mov [SEEN_ROUNDS + 4], r12d
    mov [SEEN_ROUNDS + 8], r10d

    ; 2. a far deadline moved near while the guest spins
    mov dword [TAKEN], 0
    call tsc_now
    imul rcx, r15, 100          ; 1 s
    add rax, rcx
    call write_deadline
    call tsc_now
    add rax, r14
    mov r11, rax
    call write_deadline
    call wait_spinning
    mov rsi, ROM(msg_moved_near)
    mov edi, SAID_MOVED
    call judge

    ; 3. a deadline already passed
    mov dword [TAKEN], 0
    call tsc_now
    sub rax, r14
    sti
    call write_deadline
    mov ecx, 1000
.at_once:
    cmp dword [TAKEN], 0
    jne .came
    dec ecx
    jnz .at_once
.came:
    cli
    mov rsi, ROM(msg_passed)
    cmp dword [TAKEN], 0
    jne .passed_ok
    mov rsi, ROM(msg_passed_not)
.passed_ok:
    mov [SAID_PASSED], rsi

    ; 4. written 0 before it comes
    mov dword [TAKEN], 0
    call tsc_now
    add rax, r14
    call write_deadline
    xor eax, eax
    call write_deadline
    call tsc_now
    lea r11, [rax + 2 * r13]
    sti
.quiet:
    call tsc_now
    cmp rax, r11
    jb .quiet
    cli
    mov ecx, MSR_TSC_DEADLINE
    rdmsr
    or eax, edx
    or eax, [TAKEN]
    mov rsi, ROM(msg_disarmed)
    jz .disarmed_ok
    mov rsi, ROM(msg_disarmed_not)
.disarmed_ok:
    mov [SAID_CLEARED], rsi

oneshot_case:
    ; 5. one-shot through the xAPIC page; the timer's rate first: ticks
    ; in 10 ms of the TSC, divide by 1 (11.5.4: divide configuration 1011b)
    mov dword [APIC_DIVIDE], 0xb
    mov dword [APIC_LVT_TIMER], VECTOR | (1 << 16) ; one-shot, masked
    mov dword [APIC_INITIAL], 0xffffffff
    call tsc_now
    lea r11, [rax + r15]
.count:
    call tsc_now
    cmp rax, r11
    jb .count
    mov ebx, 0xffffffff
    sub ebx, [APIC_CURRENT]     ; timer ticks in 10 ms
    mov dword [APIC_INITIAL], 0 ; stopped
    mov dword [APIC_LVT_TIMER], VECTOR ; one-shot, unmasked
    mov dword [TAKEN], 0
    mov eax, ebx
    mov ecx, 100                ; 1 s
    mul ecx
    jno .far
    mov eax, 0xffffffff         ; a timer faster than 4.29 GHz: as far as it goes
.far:
    mov [APIC_INITIAL], eax
    mov eax, ebx
    xor edx, edx
    mov ecx, 50                 ; 200 us
    div ecx
    mov ebx, eax
    call tsc_now
    lea r11, [rax + r14]
    mov [APIC_INITIAL], ebx     ; a new count starts again (11.5.4)
    call wait_spinning
    mov rsi, ROM(msg_count_near)
    mov edi, SAID_COUNT
    call judge

    cmp dword [HAS_DEADLINE], 0
    jne .report_deadline
    SAY msg_no_deadline
    jmp .report_count
.report_deadline:
    SAY msg_rounds_a
    mov eax, [SEEN_ROUNDS]
    call dec64
    SAY msg_rounds_b
    mov eax, [SEEN_ROUNDS + 4]
    call dec64
    SAY msg_rounds_c
    mov eax, [SEEN_ROUNDS + 8]
    call dec64
    SAY msg_rounds_d
    mov rsi, [SAID_MOVED]
    call print64
    mov rsi, [SAID_PASSED]
    call print64
    mov rsi, [SAID_CLEARED]
    call print64
.report_count:
    mov rsi, [SAID_COUNT]
    call print64
    SAY msg_done
    cli
    hlt

; settle (RBX, RAX, RDX): 50 ms with nothing armed, so that the lines
; Zazen printed as the domain started have left the serial line: while
; output drains, Zazen's host timer fires for each burst and would bring
; the guest out in time anyway.
settle:
    call tsc_now
    imul rbx, r15, 5
    add rbx, rax
    sti
.wait:
    call tsc_now
    cmp rax, rbx
    jb .wait
    cli
    ret

; wait_spinning: with interrupts enabled and no exit (RDTSC runs in the
; guest), until the interrupt came or 100 ms passed the deadline R11.
wait_spinning:
    lea rbx, [r15 * 8]
    lea rbx, [rbx + r15 * 2]
    add rbx, r11
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

; judge: keeps at [RDI] the line at RSI if the interrupt came, not before
; the deadline R11 less 100 us and within 2 ms after it; else what it saw.
judge:
    cmp dword [TAKEN], 0
    je .missed
    mov rax, [TAKEN_TSC]
    sub rax, r11
    mov rcx, r14
    shr rcx, 1
    add rcx, rax                ; 100 us of slack for the timer's rate
    js .early
    cmp rax, r13
    jg .late
    mov [rdi], rsi
    ret
.missed:
    mov rsi, ROM(msg_missed)
    mov [rdi], rsi
    ret
.early:
    mov rsi, ROM(msg_early)
    mov [rdi], rsi
    ret
.late:
    mov rsi, ROM(msg_late)
    mov [rdi], rsi
    ret

TSC_DEADLINE_LIB

timer_isr:
    push rax
    push rdx
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [TAKEN_TSC], rax
    inc dword [TAKEN]
    mov dword [APIC_EOI], 0
    pop rdx
    pop rax
    iretq

LIB64
LIB_LONG64
msg_no_deadline:  db "deadline: CPUID offers NO TSC-deadline mode", 10, 0
msg_rounds_a:     db "deadline: 20 deadlines 200 us ahead: ", 0
msg_rounds_b:     db " interrupts, ", 0
msg_rounds_c:     db " before their deadline, ", 0
msg_rounds_d:     db " left armed", 10, 0
msg_moved_near:   db "deadline: a deadline 1 s ahead moved to 200 us: the interrupt came within 2 ms of it", 10, 0
msg_passed:       db "deadline: a deadline already passed: the interrupt came at once", 10, 0
msg_passed_not:   db "deadline: a deadline already passed: the interrupt did NOT come", 10, 0
msg_disarmed:     db "deadline: a deadline written 0: no interrupt in 4 ms, the MSR reads 0", 10, 0
msg_disarmed_not: db "deadline: a deadline written 0: an interrupt came or the MSR is NOT 0", 10, 0
msg_count_near:   db "deadline: a one-shot count 1 s long replaced by 200 us: the interrupt came within 2 ms of it", 10, 0
msg_missed:       db "deadline: the interrupt did NOT come within 100 ms", 10, 0
msg_early:        db "deadline: the interrupt came too early: NOT before its deadline", 10, 0
msg_late:         db "deadline: the interrupt came more than 2 ms late: NOT in time", 10, 0
msg_done:         db "deadline: done", 10, 0

ROM_END
