; `make bench`: the round trip of an IPI between two vCPUs (vcpus = 2) in
; x2APIC mode (SDM 3A 11.12). The BSP starts the AP (INIT, SIPI through
; the ICR), which halts with interrupts on; then, ITERATIONS times, the
; BSP reads the TSC, sends vector 41h to x2APIC ID 1 (one WRMSR to the
; ICR, 830H) and spins until the AP's handler has answered with vector
; 42h, whose handler on the BSP sets a flag; both handlers end with an
; EOI WRMSR. The figure is TSC ticks from the send to the answer: under
; Bochs with `clock: sync=none`, emulated instructions, the hypervisor's
; included (exit, ICR emulation, kicking the other CPU, its wake-up from
; HLT, injection, and the same back).
; Output on the debug console:
;   bench: ipi-round-trip min MIN mean MEAN
;   bench: done
%include "lib.inc"
%include "long64.inc"
ROM_BEGIN

%define MSR_APIC_BASE 0x1b
%define MSR_EOI       0x80b
%define MSR_SVR       0x80f
%define MSR_ICR       0x830
%define BASE_EN_EXTD  ((1 << 11) | (1 << 10))
%define PING          0x41
%define PONG          0x42
%define SIPI_PAGE     0x8000
%define AP_READY      0x5100    ; dword: 1 once the AP idles
%define ANSWERED      0x5104    ; dword: set by the BSP's PONG handler
%define STAT_MIN      0x5108    ; dword
%define STAT_SUM      0x5110    ; qword
%define AP_STACK      0x20000
%define ITERATIONS    200
%define WAIT_LOOPS    20000000

start:
    LONG_MODE_ENTER main64

bits 64
main64:
    GATE PING, ping_isr, 0
    GATE PONG, pong_isr, 0
    mov dword [AP_READY], 0
    mov byte [SIPI_PAGE], 0xea          ; JMP F000:ap_entry16
    mov word [SIPI_PAGE + 1], ap_entry16
    mov word [SIPI_PAGE + 3], 0xf000
    call x2apic_on
    WRMSR MSR_ICR, 1, 0x4500            ; INIT to x2APIC ID 1
    WRMSR MSR_ICR, 1, 0x4600 | (SIPI_PAGE >> 12)
    mov ecx, WAIT_LOOPS
.wait_ap:
    cmp dword [AP_READY], 1
    je .ap_up
    pause
    loop .wait_ap
    SAY msg_no_ap
    jmp off
.ap_up:
    sti
    mov dword [STAT_MIN], 0xffffffff
    mov qword [STAT_SUM], 0
    mov edi, ITERATIONS
.again:
    mov dword [ANSWERED], 0
    rdtsc
    mov r8d, eax
    WRMSR MSR_ICR, 1, 0x4000 | PING     ; fixed, physical, to x2APIC ID 1
    mov ecx, WAIT_LOOPS
.spin:
    cmp dword [ANSWERED], 0
    jne .answered
    pause
    loop .spin
    SAY msg_lost
    jmp off
.answered:
    rdtsc
    sub eax, r8d
    cmp eax, [STAT_MIN]
    jae .sum
    mov [STAT_MIN], eax
.sum:
    add [STAT_SUM], rax
    dec edi
    jnz .again
    SAY msg_result
    mov eax, [STAT_MIN]
    call dec64
    SAY msg_mean
    mov rax, [STAT_SUM]
    xor edx, edx
    mov ecx, ITERATIONS
    div rcx
    call dec64
    NEWLINE
off:
    SAY msg_done
    ACPI_POWER_OFF

x2apic_on:
    mov ecx, MSR_APIC_BASE
    rdmsr
    or eax, BASE_EN_EXTD
    wrmsr
    WRMSR MSR_SVR, 0, 0x1ff
    ret

; The AP: answers each PING with a PONG to the BSP (x2APIC ID 0).
ping_isr:
    push rax
    push rcx
    push rdx
    WRMSR MSR_EOI, 0, 0
    WRMSR MSR_ICR, 0, 0x4000 | PONG
    pop rdx
    pop rcx
    pop rax
    iretq

; The BSP: the answer came.
pong_isr:
    push rax
    push rcx
    push rdx
    mov dword [ANSWERED], 1
    WRMSR MSR_EOI, 0, 0
    pop rdx
    pop rcx
    pop rax
    iretq

bits 16
ap_entry16:
    cli
    xor ax, ax
    mov ds, ax
    AP_LONG_MODE_ENTER
    call x2apic_on
    mov dword [AP_READY], 1
    sti
.idle:
    hlt
    jmp .idle

LIB64
LIB_LONG64
msg_result: db "bench: ipi-round-trip min ", 0
msg_mean:   db " mean ", 0
msg_no_ap:  db "bench: ipi-round-trip: the AP did not start", 10, 0
msg_lost:   db "bench: ipi-round-trip: no answer", 10, 0
msg_done:   db "bench: done", 10, 0
ROM_END
