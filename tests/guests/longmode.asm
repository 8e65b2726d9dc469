; Real mode -> protected mode -> long mode with 4-level paging, then a
; sweep of guest RAM: find where RAM ends (the first 2 MiB block whose
; write does not read back), fill everything from 1 MiB to there with an
; address-dependent pattern and verify it. The probe past the end touches
; unbacked guest-physical memory through the guest's own page tables,
; which Zazen must emulate as all ones.
%include "lib.inc"
ROM_BEGIN

%define ROM(x) (0xf0000 + (x))
%define PML4 0x10000
%define PDPT 0x11000
%define PD0  0x12000          ; four page directories: 4 GiB in 2 MiB pages
%define PATTERN 0x5a5a5a5a5a5a5a5a

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    PUTS16 msg_real
    o32 lgdt [cs:gdt_ptr]
    mov eax, cr0
    or eax, 1               ; CR0.PE
    mov cr0, eax
    jmp dword 0x08:ROM(pm32)

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7000
    mov esi, ROM(msg_prot)
    call print32

    ; page tables: PML4[0] -> PDPT, PDPT[0..3] -> PD0..3, 2 MiB identity pages
    mov edi, PML4
    mov ecx, (PD0 + 4 * 0x1000 - PML4) / 4
    xor eax, eax
    rep stosd
    mov dword [PML4], PDPT | 3
    mov ecx, 0
.pdpt:
    mov eax, ecx
    shl eax, 12
    add eax, PD0 | 3
    mov [PDPT + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jne .pdpt
    mov ecx, 0
.pd:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83            ; present, writable, 2 MiB
    mov [PD0 + ecx * 8], eax
    inc ecx
    cmp ecx, 2048
    jne .pd

    mov eax, PML4
    mov cr3, eax
    mov eax, cr4
    or eax, 1 << 5          ; CR4.PAE
    mov cr4, eax
    mov ecx, 0xc0000080     ; EFER
    rdmsr
    or eax, 1 << 8          ; EFER.LME
    wrmsr
    mov eax, cr0
    or eax, 1 << 31         ; CR0.PG: long mode becomes active
    mov cr0, eax
    jmp 0x18:ROM(lm64)

bits 64
lm64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, 0x7000
    mov rsi, ROM(msg_long)
    call print64
    mov ecx, 0xc0000080
    rdmsr
    mov rsi, ROM(msg_lma_set)
    bt eax, 10              ; EFER.LMA
    jc .lma
    mov rsi, ROM(msg_lma_clear)
.lma:
    call print64

    ; find the end of RAM, 2 MiB at a time, below 4 GiB
    mov rdi, 0x200000
.probe:
    mov rax, PATTERN
    xor rax, rdi
    mov [rdi], rax
    cmp [rdi], rax
    jne .found_end
    add rdi, 0x200000
    mov rax, 0x100000000
    cmp rdi, rax
    jb .probe
.found_end:
    mov r15, rdi            ; end of RAM
    mov rax, [rdi]          ; what the unbacked address reads as
    mov rsi, ROM(msg_unbacked)
    call print64
    call hex64
    NEWLINE

    ; fill [1 MiB, end) with address ^ PATTERN, then verify
    mov rdi, 0x100000
    mov rbx, PATTERN
.fill:
    mov rax, rdi
    xor rax, rbx
    mov [rdi], rax
    add rdi, 8
    cmp rdi, r15
    jb .fill
    mov rdi, 0x100000
.verify:
    mov rax, rdi
    xor rax, rbx
    cmp [rdi], rax
    jne .bad
    add rdi, 8
    cmp rdi, r15
    jb .verify

    mov rsi, ROM(msg_ram)
    call print64
    mov rax, r15
    shr rax, 20
    call dec64
    mov rsi, ROM(msg_ram_ok)
    call print64
    cli
    hlt

.bad:
    mov rsi, ROM(msg_bad)
    call print64
    mov rax, rdi
    call hex64
    NEWLINE
    cli
    hlt

LIB16
LIB32
LIB64

; Descriptors come with the Accessed bit set: the GDT is in ROM, where the
; CPU's own write of that bit would be dropped (firmware does the same).
align 8
gdt:
    dq 0
    dq 0x00cf9b000000ffff   ; 0x08: 32-bit code, flat
    dq 0x00cf93000000ffff   ; 0x10: data, flat
    dq 0x00af9b000000ffff   ; 0x18: 64-bit code (L=1)
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd ROM(gdt)

msg_real:      db "longmode: real mode", 10, 0
msg_prot:      db "longmode: protected mode", 10, 0
msg_long:      db "longmode: 64-bit mode with 4-level paging", 10, 0
msg_lma_set:   db "longmode: EFER.LMA set", 10, 0
msg_lma_clear: db "longmode: EFER.LMA clear", 10, 0
msg_unbacked:  db "longmode: first address past RAM reads ", 0
msg_ram:       db "longmode: RAM ends at ", 0
msg_ram_ok:    db " MiB; pattern written and verified from 1 MiB up", 10, 0
msg_bad:       db "longmode: pattern mismatch at ", 0

ROM_END
