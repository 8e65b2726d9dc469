; Instructions Zazen completes itself behave as the CPU's (issue 12 items
; 9-11): with RFLAGS.TF set each one (CPUID, OUT, an emulated MMIO read)
; is followed by a single-step #DB with DR6.BS (SDM 3A 17.3.1.4); IP
; wraps at 64 KiB in 16-bit code and EIP at 4 GiB in 32-bit code after
; an OUT at the segment's last byte (SDM 3A 3.3.7), and IP after a CPUID
; and an IN that end there (exits the fast way leaves to the full way,
; docs/exit-paths.md); a CS-prefixed CPUID
; is skipped whole (AMD-V without NRIP save must decode its length).
%include "lib.inc"
ROM_BEGIN

%define ROM(x) (0xf0000 + (x))
%define APIC_VERSION 0xfee00030
%define STEPS 0x500
%define LOG 0x510                  ; EIP after each trap
%define DR6LOG 0x550               ; DR6 at each trap

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    ; OUT DX, AL at 1000:FFFF, then a far jump back at 1000:0000
    mov ax, 0x1000
    mov es, ax
    mov byte [es:0xffff], 0xee
    mov byte [es:0], 0xea
    mov word [es:1], back16
    mov word [es:3], 0xf000
    mov dx, 0x80
    jmp 0x1000:0xffff
back16:
    PUTS16 msg_wrap16
    ; The same after a CPUID at 1000:FFFE and an IN AL, DX at 1000:FFFF
    ; (a read of PIT channel 0, which Zazen may answer the fast way): the
    ; far jump at 1000:0000 leads back each time
    mov word [es:0xfffe], 0xa20f    ; CPUID (0F A2)
    mov word [es:1], back16_cpuid
    xor eax, eax
    jmp 0x1000:0xfffe
back16_cpuid:
    PUTS16 msg_wrap16_cpuid
    mov byte [es:0xffff], 0xec      ; IN AL, DX
    mov word [es:1], back16_in
    mov dx, 0x40
    jmp 0x1000:0xffff
back16_in:
    xor ax, ax
    mov es, ax
    PUTS16 msg_wrap16_in
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
    mov esp, 0x7000
    lidt [ROM(idt_ptr)]

    ; single steps over instructions Zazen completes
    mov dword [STEPS], 0
    pushfd
    or dword [esp], 0x100
    popfd
    cpuid
s_after_cpuid:
    out 0x80, al
s_after_out:
    mov eax, [APIC_VERSION]
s_after_mmio:
    nop
s_end:
    mov eax, [STEPS]
    mov esi, ROM(msg_steps)
    call report
    xor ebx, ebx
.each:
    cmp ebx, [STEPS]
    jae .logged
    mov esi, ROM(msg_trap)
    call print32
    mov eax, [LOG + ebx*4]
    mov esi, ROM(name_cpuid)
    cmp eax, ROM(s_after_cpuid)
    je .named
    mov esi, ROM(name_out)
    cmp eax, ROM(s_after_out)
    je .named
    mov esi, ROM(name_mmio)
    cmp eax, ROM(s_after_mmio)
    je .named
    mov esi, ROM(name_nop)
    cmp eax, ROM(s_end)
    je .named
    mov esi, ROM(name_other)
    call print32
    call hex32
    jmp .bs
.named:
    call print32
.bs:
    mov esi, ROM(msg_bs)
    test dword [DR6LOG + ebx*4], 0x4000
    jnz .bs_set
    mov esi, ROM(msg_no_bs)
.bs_set:
    call print32
    NEWLINE
    inc ebx
    jmp .each
.logged:

    ; a CS-prefixed CPUID, then an instruction that must run whole
    xor esi, esi
    db 0x2e
    cpuid
    mov esi, 0x12345678
    mov eax, esi
    mov esi, ROM(msg_prefixed)
    call report

    ; OUT DX, AL at FFFFFFFFh: EIP wraps to 0, where a far jump waits
    mov byte [0], 0xea
    mov dword [1], ROM(back32)
    mov word [5], 0x08
    mov dx, 0x80
    jmp 0x08:0xffffffff
back32:
    mov esi, ROM(msg_wrap32)
    call print32
    NEWLINE
    mov esi, ROM(msg_done)
    call print32
    NEWLINE
    cli
    hlt

db_handler:
    push eax
    push ebx
    mov ebx, [STEPS]
    cmp ebx, 16
    jae .full
    mov eax, [esp + 8]              ; the EIP after the stepped instruction
    mov [LOG + ebx*4], eax
    mov eax, dr6
    mov [DR6LOG + ebx*4], eax
    inc dword [STEPS]
.full:
    mov eax, 0xffff0ff0
    mov dr6, eax
    cmp dword [esp + 8], ROM(s_end)
    jne .keep
    and dword [esp + 16], ~0x100    ; no more steps
.keep:
    pop ebx
    pop eax
    iretd

REPORT32

LIB16
LIB32

FLAT_GDT32

align 8
idt:
    dq 0
    dw db_handler, 0x08             ; 1: #DB, a 32-bit interrupt gate
    db 0, 0x8e
    dw 0x000f
idt_end:
idt_ptr:
    dw idt_end - idt - 1
    dd ROM(idt)

msg_wrap16:   db "step: IP wrapped from 1000:ffff to 1000:0000 after OUT", 10, 0
msg_wrap16_cpuid: db "step: IP wrapped from 1000:fffe to 1000:0000 after CPUID", 10, 0
msg_wrap16_in: db "step: IP wrapped from 1000:ffff to 1000:0000 after IN", 10, 0
msg_steps:    db "step: single-step traps: ", 0
msg_trap:     db "step: a trap after ", 0
name_cpuid:   db "CPUID", 0
name_out:     db "OUT", 0
name_mmio:    db "an MMIO read", 0
name_nop:     db "NOP", 0
name_other:   db "an unexpected place ", 0
msg_bs:       db ", DR6.BS set", 0
msg_no_bs:    db ", DR6.BS NOT set", 0
msg_prefixed: db "step: after a CS-prefixed CPUID the next instruction ran whole: ", 0
msg_wrap32:   db "step: EIP wrapped from ffffffff to 0 after OUT", 0
msg_done:     db "step: done", 0

    times 0xfff0 - ($ - $$) db 0xff
bits 16
    jmp 0xf000:start                ; the reset vector (SDM 3A 9.1.4)
    times 0xffff - ($ - $$) db 0xff
    db 0xee                         ; OUT DX, AL at FFFFFh and FFFFFFFFh
