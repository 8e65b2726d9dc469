; State that must not pass from one domain to the next, nor survive a
; reset: the guest prints what it finds (the values after RESET, SDM 3A
; Table 9-1), fills every register with markers, resets itself through
; port 92h and prints again. Run as two domains, the second must find
; the same reset values, not the first one's markers: DR0-DR3, DR6, DR7,
; CR2, CR8, IA32_TSC_AUX (RDTSCP), the syscall MSRs and KERNEL_GS_BASE,
; the x87 control, status and tag words, MXCSR, ST0-ST7, XMM0-XMM15 and
; the upper halves of YMM0-YMM15.
%include "lib.inc"
%include "long64.inc"
ROM_BEGIN

%define BOOTS      0x5100       ; RAM survives the guest's reset
%define AREA       0x20000      ; FXSAVE/XSAVE image, 64-byte aligned
%define PATTERN    0x20800      ; 32 bytes of markers

start:
    LONG_MODE_ENTER main64

bits 64
main64:
    CATCH_GATES
    mov rax, cr4
    or eax, (1 << 9) | (1 << 10) ; OSFXSR, OSXMMEXCPT: FXSAVE keeps the XMM registers
    mov cr4, rax
    mov rsi, ROM(msg_first)
    cmp qword [BOOTS], 0
    je .which
    mov rsi, ROM(msg_again)
.which:
    call print64
    call report
    cmp qword [BOOTS], 0
    jne .done
    inc qword [BOOTS]
    call fill_markers
    SAY msg_reset
    mov al, 1                   ; port 92h bit 0: fast reset
    out 0x92, al
.done:
    cli
    hlt

; ---- what the guest finds ----
report:
    SAY msg_dr03
    mov rax, dr0
    call hex64_sp
    mov rax, dr1
    call hex64_sp
    mov rax, dr2
    call hex64_sp
    mov rax, dr3
    call hex64
    NEWLINE
    SAY msg_dr6
    mov rax, dr6
    call hex64
    SAY msg_dr7
    mov rax, dr7
    call hex64
    NEWLINE
    SAY msg_cr2
    mov rax, cr2
    call hex64
    SAY msg_cr8
    mov rax, cr8
    call hex64
    NEWLINE

    mov eax, 0x80000001
    cpuid
    bt edx, 27                  ; RDTSCP
    jc .rdtscp
    SAY msg_no_rdtscp
    jmp .msrs
.rdtscp:
    SAY msg_tsc_aux
    rdtscp
    mov eax, ecx
    call hex64
    NEWLINE
.msrs:
    SAY msg_msrs
    mov ecx, 0xc0000081         ; STAR, LSTAR, CSTAR, SFMASK
.next_msr:
    rdmsr
    shl rdx, 32
    or rax, rdx
    call hex64_sp
    inc ecx
    cmp ecx, 0xc0000085
    jne .next_msr
    mov ecx, 0xc0000102         ; KERNEL_GS_BASE
    rdmsr
    shl rdx, 32
    or rax, rdx
    call hex64
    NEWLINE

    mov rdi, AREA
    mov ecx, 4096 / 8
    xor eax, eax
    rep stosq
    fxsave64 [AREA]
    SAY msg_fcw
    mov ax, [AREA]
    call hex16
    SAY msg_fsw
    mov ax, [AREA + 2]
    call hex16
    SAY msg_ftw
    mov al, [AREA + 4]
    call hex8_64
    SAY msg_mxcsr
    mov eax, [AREA + 24]
    call hex16_high
    NEWLINE
    mov rsi, AREA + 32          ; ST0-ST7 (16 bytes each), then XMM0-XMM15
    mov ecx, (8 + 16) * 16
    call all_zero
    mov rsi, ROM(msg_regs_zero)
    jz .regs
    mov rsi, ROM(msg_regs_not_zero)
.regs:
    call print64

    call has_avx
    jnc .no_avx
    mov rdi, AREA
    mov ecx, 4096 / 8
    xor eax, eax
    rep stosq
    mov eax, 7
    xor edx, edx
    xsave64 [AREA]              ; the AVX component stays zero in memory if it is in its initial state
    mov rsi, AREA + 576         ; YMM_Hi128 (SDM 1 13.5.3)
    mov ecx, 256
    call all_zero
    mov rsi, ROM(msg_ymm_zero)
    jz .ymm
    mov rsi, ROM(msg_ymm_not_zero)
.ymm:
    call print64
    ret
.no_avx:
    SAY msg_no_avx
    ret

; Sets CF if CPUID offers XSAVE and AVX; then turns on CR4.OSXSAVE and
; XCR0 = x87 | SSE | AVX.
has_avx:
    mov eax, 1
    cpuid
    bt ecx, 26
    jnc .no
    bt ecx, 28
    jnc .no
    mov rax, cr4
    bts rax, 18
    mov cr4, rax
    xor ecx, ecx
    mov eax, 7
    xor edx, edx
    xsetbv
    stc
    ret
.no:
    clc
    ret

; ---- markers in every register ----
fill_markers:
    mov rax, 0x1111111111111111
    mov dr0, rax
    mov rax, 0x2222222222222222
    mov dr1, rax
    mov rax, 0x3333333333333333
    mov dr2, rax
    mov rax, 0x4444444444444444
    mov dr3, rax
    mov eax, 0xffff6ff3         ; BS, BD, B0, B1
    mov dr6, rax
    mov eax, 0x0000000f         ; breakpoints 0 and 1 armed (on addresses nothing uses)
    mov dr7, rax
    mov rax, 0x5555555555555555
    mov cr2, rax
    mov eax, 7
    mov cr8, rax
    mov ecx, 0xc0000103         ; IA32_TSC_AUX
    mov eax, 0x1234
    xor edx, edx
    call wrmsr_safe
    mov ecx, 0xc0000081         ; STAR
    mov eax, 0x66666666
    mov edx, 0x00230010
    call wrmsr_safe
    mov ecx, 0xc0000082         ; LSTAR
    mov eax, 0x77777777
    mov edx, 0xffff8000
    call wrmsr_safe
    mov ecx, 0xc0000083         ; CSTAR
    mov eax, 0x88888888
    mov edx, 0xffff8000
    call wrmsr_safe
    mov ecx, 0xc0000084         ; SFMASK
    mov eax, 0x00047700
    xor edx, edx
    call wrmsr_safe
    mov ecx, 0xc0000102         ; KERNEL_GS_BASE
    mov eax, 0x99999999
    mov edx, 0xffff8000
    call wrmsr_safe

    fninit
    mov word [PATTERN], 0x027f
    fldcw [PATTERN]
%rep 7
    fld1
%endrep
    mov dword [PATTERN], 0x00007f80 ; MXCSR: round toward zero
    ldmxcsr [PATTERN]
    mov rax, 0x5a5aa5a55a5aa5a5
    mov [PATTERN], rax
    mov [PATTERN + 8], rax
    mov [PATTERN + 16], rax
    mov [PATTERN + 24], rax
%assign r 0
%rep 16
    movdqu xmm %+ r, [PATTERN]
%assign r r + 1
%endrep
    call has_avx
    jnc .done
%assign r 0
%rep 16
    vmovdqu ymm %+ r, [PATTERN]
%assign r r + 1
%endrep
.done:
    ret

wrmsr_safe:
    push rax
    TRY .caught
    pop rax
    wrmsr
    ret
.caught:
    ret

; all_zero: ZF set if the RCX bytes at RSI are zero.
all_zero:
    push rax
.next:
    lodsb
    test al, al
    jnz .out
    loop .next
    xor eax, eax
.out:
    pop rax
    ret

hex64_sp:
    call hex64
    push rax
    mov al, ' '
    out DEBUGCON, al
    pop rax
    ret

hex16:
    push rax
    xchg al, ah
    call hex8_64
    xchg al, ah
    call hex8_64
    pop rax
    ret

hex16_high:                     ; EAX as 8 hex digits
    push rax
    ror eax, 16
    call hex16
    ror eax, 16
    call hex16
    pop rax
    ret

LIB64
LIB_LONG64
msg_first:          db "leak: as the domain starts", 10, 0
msg_again:          db "leak: after the guest's reset", 10, 0
msg_reset:          db "leak: markers written; resetting", 10, 0
msg_dr03:           db "leak: DR0-DR3 ", 0
msg_dr6:            db "leak: DR6 ", 0
msg_dr7:            db " DR7 ", 0
msg_cr2:            db "leak: CR2 ", 0
msg_cr8:            db " CR8 ", 0
msg_tsc_aux:        db "leak: TSC_AUX ", 0
msg_no_rdtscp:      db "leak: no RDTSCP", 10, 0
msg_msrs:           db "leak: STAR LSTAR CSTAR SFMASK KERNEL_GS_BASE ", 0
msg_fcw:            db "leak: FCW ", 0
msg_fsw:            db " FSW ", 0
msg_ftw:            db " FTW ", 0
msg_mxcsr:          db " MXCSR ", 0
msg_regs_zero:      db "leak: ST0-ST7 and XMM0-XMM15 are zero", 10, 0
msg_regs_not_zero:  db "leak: ST0-ST7 and XMM0-XMM15 are NOT zero", 10, 0
msg_ymm_zero:       db "leak: YMM0-YMM15 upper halves are zero", 10, 0
msg_ymm_not_zero:   db "leak: YMM0-YMM15 upper halves are NOT zero", 10, 0
msg_no_avx:         db "leak: no AVX", 10, 0

ROM_END
