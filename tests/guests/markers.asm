; Register isolation under the scheduler. Two copies of this guest (built
; with different MARKs) run on one host CPU, preempting each other. Each
; round puts markers in registers only the CPU holds between exits (the
; SSE registers, the x87 stack, DR0-DR3, CR2) and in its general
; registers, spins about 100 ms on the PM timer (long enough to be
; preempted many times), and checks every register still holds its
; marker: a hypervisor that does not switch one of them per vCPU shows
; the other domain's value here.
;
;     markers: 20 rounds, every register kept its marker
;     markers: XMM3 lost its marker in round 2: 5a5a0333
%include "lib.inc"

%ifndef MARK
%define MARK 0xa5a50000
%endif
%define ROUNDS 20
%define PM_TMR 0xb008
%define WAIT_TICKS 358000       ; 100 ms of the 3.579545 MHz PM timer
%define PATTERN 0x1000          ; RAM: 8 XMM values of 16 bytes, then x87 and DRs
%define READBACK 0x2000
%define ROUND 0x3000
%define FAILED 0x3004
%define GPRS 0x3010             ; RAM: what EBX, ESI, EDI, EBP must hold

ROM_BEGIN

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000
    ; SSE in real mode: CR0.EM clear, MP set; CR4.OSFXSR (SDM 3A 13.1.3)
    mov eax, cr0
    and eax, ~4
    or eax, 2
    mov cr0, eax
    mov eax, cr4
    or eax, 0x600
    mov cr4, eax
    mov dword [ROUND], 0
    mov dword [FAILED], 0
    mov dword [GPRS + 0], MARK + 0x0b0b
    mov dword [GPRS + 4], MARK + 0x05105
    mov dword [GPRS + 8], MARK + 0x0d1d1
    mov dword [GPRS + 12], MARK + 0x0b9b9
    PUTS16 msg_start
.round:
    call fill_pattern
    call load_markers
    mov ebx, MARK + 0x0b0b
    mov esi, MARK + 0x05105
    mov edi, MARK + 0x0d1d1
    mov ebp, MARK + 0x0b9b9
    call wait_100ms
    call check_markers
    inc dword [ROUND]
    cmp dword [ROUND], ROUNDS
    jb .round
    cmp dword [FAILED], 0
    jne .end
    PUTS16 msg_ok
.end:
    cli
    hlt
    jmp $

; PATTERN[i] (dwords): MARK | (round << 8) | i, for 8*4 + 4 + 5 dwords.
fill_pattern:
    mov di, PATTERN
    xor ecx, ecx
.f:
    mov eax, [ROUND]
    shl eax, 8
    or eax, ecx
    or eax, MARK
    mov [di], eax
    add di, 4
    inc ecx
    cmp ecx, 8 * 4 + 4 + 5
    jb .f
    ret

load_markers:
    movdqu xmm0, [PATTERN + 0 * 16]
    movdqu xmm1, [PATTERN + 1 * 16]
    movdqu xmm2, [PATTERN + 2 * 16]
    movdqu xmm3, [PATTERN + 3 * 16]
    movdqu xmm4, [PATTERN + 4 * 16]
    movdqu xmm5, [PATTERN + 5 * 16]
    movdqu xmm6, [PATTERN + 6 * 16]
    movdqu xmm7, [PATTERN + 7 * 16]
    fninit
    fild dword [PATTERN + 128 + 0]      ; pushed last: ST0 = dword 3
    fild dword [PATTERN + 128 + 4]
    fild dword [PATTERN + 128 + 8]
    fild dword [PATTERN + 128 + 12]
    mov eax, [PATTERN + 144 + 0]
    mov dr0, eax
    mov eax, [PATTERN + 144 + 4]
    mov dr1, eax
    mov eax, [PATTERN + 144 + 8]
    mov dr2, eax
    mov eax, [PATTERN + 144 + 12]
    mov dr3, eax
    mov eax, [PATTERN + 144 + 16]
    mov cr2, eax
    ret

; Spins ~100 ms of PM timer time with interrupts off, in EAX/ECX/EDX only.
wait_100ms:
    mov dx, PM_TMR
    in eax, dx
    mov ecx, eax
.w:
    in eax, dx
    sub eax, ecx
    cmp eax, WAIT_TICKS
    jb .w
    ret

; Each register against its pattern dword; a mismatch names the register.
%macro CHECK_DWORD 3                    ; value (a register or memory), expected address, name
    mov eax, %1
    cmp eax, [%2]
    je %%ok
    mov si, %3
    call report
%%ok:
%endmacro

check_markers:
    CHECK_DWORD ebx, GPRS + 0, name_ebx
    CHECK_DWORD esi, GPRS + 4, name_esi
    CHECK_DWORD edi, GPRS + 8, name_edi
    CHECK_DWORD ebp, GPRS + 12, name_ebp
    movdqu [READBACK + 0 * 16], xmm0
    movdqu [READBACK + 1 * 16], xmm1
    movdqu [READBACK + 2 * 16], xmm2
    movdqu [READBACK + 3 * 16], xmm3
    movdqu [READBACK + 4 * 16], xmm4
    movdqu [READBACK + 5 * 16], xmm5
    movdqu [READBACK + 6 * 16], xmm6
    movdqu [READBACK + 7 * 16], xmm7
%assign i 0
%rep 8
    CHECK_DWORD [READBACK + i * 16], PATTERN + i * 16, name_xmm %+ i
    CHECK_DWORD [READBACK + i * 16 + 12], PATTERN + i * 16 + 12, name_xmm %+ i
%assign i i + 1
%endrep
    fistp dword [READBACK + 128 + 12]   ; ST0 first: the last pushed
    fistp dword [READBACK + 128 + 8]
    fistp dword [READBACK + 128 + 4]
    fistp dword [READBACK + 128 + 0]
%assign i 0
%rep 4
    CHECK_DWORD [READBACK + 128 + i * 4], PATTERN + 128 + i * 4, name_st
%assign i i + 1
%endrep
    CHECK_DWORD dr0, PATTERN + 144 + 0, name_dr0
    CHECK_DWORD dr1, PATTERN + 144 + 4, name_dr1
    CHECK_DWORD dr2, PATTERN + 144 + 8, name_dr2
    CHECK_DWORD dr3, PATTERN + 144 + 12, name_dr3
    CHECK_DWORD cr2, PATTERN + 144 + 16, name_cr2
    ret

; "markers: NAME lost its marker in round N: VALUE" (EAX = what was read).
report:
    push eax
    mov dword [FAILED], 1
    push si
    PUTS16 msg_lost_a
    pop si
    call print16
    PUTS16 msg_lost_b
    mov eax, [ROUND]
    call dec16_32
    PUTS16 msg_lost_c
    pop eax
    call hex16_32
    PUTS16 msg_nl
    ret

LIB16
msg_start:  db "markers: checking that registers keep their markers across preemption", 10, 0
msg_ok:     db "markers: 20 rounds, every register kept its marker", 10, 0
msg_lost_a: db "markers: ", 0
msg_lost_b: db " lost its marker in round ", 0
msg_lost_c: db ": ", 0
msg_nl:     db 10, 0
name_ebx: db "EBX", 0
name_esi: db "ESI", 0
name_edi: db "EDI", 0
name_ebp: db "EBP", 0
name_xmm0: db "XMM0", 0
name_xmm1: db "XMM1", 0
name_xmm2: db "XMM2", 0
name_xmm3: db "XMM3", 0
name_xmm4: db "XMM4", 0
name_xmm5: db "XMM5", 0
name_xmm6: db "XMM6", 0
name_xmm7: db "XMM7", 0
name_st:   db "an x87 register", 0
name_dr0:  db "DR0", 0
name_dr1:  db "DR1", 0
name_dr2:  db "DR2", 0
name_dr3:  db "DR3", 0
name_cr2:  db "CR2", 0

ROM_END
