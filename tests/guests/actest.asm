; Alignment checks as a guest sees them when Zazen intercepts #AC and
; hands it back: with CR0.AM and EFLAGS.AC, a misaligned load at CPL 3
; faults with error code 0 (SDM 3A 6.15, interrupt 17), and returns with
; RF set in the pushed EFLAGS. Then a hostile ending (CVE-2015-5307): the
; #AC handler runs at CPL 3 (a conforming code segment) on a misaligned
; stack, so every delivery of #AC raises the next before any instruction
; runs. Zazen must end the domain and go on. 32-bit protected mode: in
; 64-bit mode the CPU aligns the stack before it pushes a frame.
; QEMU 7.2 TCG never checks alignment: the guest says so and stops.
%include "lib.inc"
ROM_BEGIN

%define ROM(x) (0xf0000 + (x))
%define GDT_BASE 0x6000
%define TSS_BASE 0x6100
%define IDT_BASE 0x9000
%define STACK0   0x7000         ; ring 0
%define STACK3   0x8000         ; ring 3
%define HITS     0x5100
%define ERR      0x5104
%define EFL      0x5108
%define MISALIGNED 0x20001

start:
    cli
    cld
    mov ax, 0xf000
    mov ds, ax
    xor ax, ax
    mov es, ax
    mov ss, ax
    mov sp, STACK0
    mov si, gdt
    mov di, GDT_BASE
    mov cx, gdt_end - gdt
    rep movsb
    xor ax, ax
    mov ds, ax
    o32 lgdt [cs:gdt_ptr]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp dword 0x08:ROM(pm32)

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, STACK0
    mov edi, TSS_BASE
    mov ecx, 104 / 4
    xor eax, eax
    rep stosd
    mov edi, IDT_BASE
    mov ecx, 2048 / 4
    rep stosd
    mov dword [TSS_BASE + 4], STACK0    ; ESP0
    mov dword [TSS_BASE + 8], 0x10      ; SS0
    mov word [TSS_BASE + 102], 104      ; no I/O bitmap
    mov ax, 0x28
    ltr ax
    mov eax, 17
    mov ebx, ROM(ac_handler)
    mov edx, 0x0008008e                 ; selector 08h, present, DPL 0, 32-bit interrupt gate
    call set_gate
    mov eax, 0x30
    mov ebx, ROM(to_ring0)
    mov edx, 0x000800ee                 ; DPL 3: INT 30h from ring 3
    call set_gate
    lidt [ROM(idt_ptr)]
    mov eax, cr0
    bts eax, 18                         ; CR0.AM
    mov cr0, eax
    mov esi, ROM(msg_start)
    call print32
    push dword 0x23                     ; to ring 3: SS, ESP, EFLAGS (AC, IOPL 3), CS, EIP
    push dword STACK3
    pushfd
    or dword [esp], (1 << 18) | (3 << 12)
    push dword 0x1b
    push dword ROM(ring3)
    iretd

ring3:
    mov ax, 0x23
    mov ds, ax
    mov es, ax
    mov dword [HITS], 0
    mov eax, [MISALIGNED]               ; #AC: a misaligned load at CPL 3
    cmp dword [HITS], 0
    jne .checked
    mov esi, ROM(msg_no_ac)
    call print32
    int 0x30
.checked:
    mov esi, ROM(msg_ac)
    call print32
    mov eax, [ERR]
    call hex32
    mov esi, ROM(msg_hits)
    call print32
    mov eax, [HITS]
    call hex32
    mov esi, ROM(msg_rf)
    test dword [EFL], 1 << 16
    jnz .rf
    mov esi, ROM(msg_no_rf)
.rf:
    call print32

    mov esi, ROM(msg_storm)
    call print32
    mov eax, 17                         ; the #AC gate now to the conforming segment: CPL stays 3
    mov ebx, ROM(storm_handler)
    mov edx, 0x0030008e
    call set_gate
    pushfd
    or dword [esp], 1 << 18             ; AC again
    popfd
    mov esp, STACK3 - 3                 ; misaligned
    push eax                            ; #AC, and each delivery pushes on this stack
    mov esi, ROM(msg_storm_passed)
    call print32
    int 0x30

; #AC at ring 0: counts, keeps the error code and pushed EFLAGS, and
; returns with AC clear so the load runs.
ac_handler:
    push eax
    inc dword [HITS]
    mov eax, [esp + 4]                  ; error code
    mov [ERR], eax
    mov eax, [esp + 16]                 ; EFLAGS
    mov [EFL], eax
    and dword [esp + 16], ~(1 << 18)
    pop eax
    add esp, 4
    iretd

; Never runs: each delivery raises the next #AC first.
storm_handler:
    mov esi, ROM(msg_handler_ran)
    call print32
    int 0x30

to_ring0:
    cli
    hlt

; set_gate: EAX vector, EBX handler, EDX selector << 16 | type/DPL byte.
set_gate:
    push edi
    lea edi, [IDT_BASE + eax * 8]
    mov [edi], bx
    mov eax, edx
    shr eax, 16
    mov [edi + 2], ax
    mov byte [edi + 4], 0
    mov [edi + 5], dl
    shr ebx, 16
    mov [edi + 6], bx
    pop edi
    ret

LIB16
LIB32
align 8
gdt:
    dq 0
    dq 0x00cf9b000000ffff               ; 08h: code, DPL 0
    dq 0x00cf93000000ffff               ; 10h: data, DPL 0
    dq 0x00cffb000000ffff               ; 18h: code, DPL 3
    dq 0x00cff3000000ffff               ; 20h: data, DPL 3
    dw 103, TSS_BASE                    ; 28h: 32-bit TSS, available
    db 0, 0x89, 0, 0
    dq 0x00cf9f000000ffff               ; 30h: code, conforming, DPL 0
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd GDT_BASE
idt_ptr:
    dw 2047
    dd IDT_BASE

msg_start:        db "actest: protected mode, CR0.AM set; to CPL 3 with EFLAGS.AC", 10, 0
msg_no_ac:        db "actest: no #AC: this CPU does not check alignment", 10, 0
msg_ac:           db "actest: #AC at CPL 3, error code ", 0
msg_hits:         db ", deliveries ", 0
msg_rf:           db ", RF set in the pushed EFLAGS", 10, 0
msg_no_rf:        db ", RF clear in the pushed EFLAGS", 10, 0
msg_storm:        db "actest: arming an endless #AC chain: the handler at CPL 3 on a misaligned stack", 10, 0
msg_storm_passed: db "actest: the chain ended and the guest went on", 10, 0
msg_handler_ran:  db "actest: the #AC handler ran", 10, 0

ROM_END
