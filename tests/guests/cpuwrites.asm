; Writes the CPU makes on its own to a ROM (issue 11 item 1, issue 12
; item 12): the GDT, the IDT and a page directory live in this firmware
; image, with every accessed bit clear. Loading a segment sets the
; descriptor's accessed bit (SDM 3A 3.4.5.1), LTR the TSS descriptor's
; busy bit (7.2.2), a page walk the PDE's A and D bits (4.8); on a PC
; these writes to the ROM are lost and the guest goes on, and reading the
; ROM back shows its own bytes. A page table at an address nothing
; decodes reads as all ones (a present entry mapping FFFFF000h).
%include "lib.inc"
ROM_BEGIN

%define ROM(x) (0xf0000 + (x))
%define HOLE 0xc0000000
%define TSS 0x6000
%define UD_SEEN 0x500

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    o32 lgdt [cs:gdt_ptr]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp dword 0x08:ROM(pm32)        ; CS from a descriptor in ROM

bits 32
pm32:
    mov ax, 0x10                    ; MOV Sreg: the data descriptor's accessed bit
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7000
    mov esi, ROM(msg_loaded)
    call print32
    NEWLINE
    movzx eax, byte [ROM(gdt) + 0x08 + 5]
    shl eax, 8
    mov al, [ROM(gdt) + 0x10 + 5]
    mov esi, ROM(msg_access)
    call report

    mov ax, 0x18                    ; LTR: the TSS descriptor's busy bit
    ltr ax
    str eax
    mov esi, ROM(msg_tr)
    call report
    movzx eax, byte [ROM(gdt) + 0x18 + 5]
    mov esi, ROM(msg_tss_type)
    call report

    mov dword [UD_SEEN], 0
    lidt [ROM(idt_ptr)]
    ud2                             ; #UD through the ROM's IDT to CS 20h (accessed bit clear)
    mov eax, [UD_SEEN]
    mov esi, ROM(msg_ud)
    call report
    movzx eax, byte [ROM(gdt) + 0x20 + 5]
    mov esi, ROM(msg_access20)
    call report

    mov eax, cr4
    or eax, 0x10                    ; CR4.PSE: 4 MiB pages
    mov cr4, eax
    mov eax, ROM(pd)
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    jmp .paged
.paged:
    mov dword [0x8000], 0x1234abcd  ; the PDE's A and D bits
    mov eax, [0x8000]
    mov esi, ROM(msg_paged)
    call report
    mov eax, [0x400000 + 0xff0]     ; through a page table in nothing
    cmp eax, [ROM(0xfff0)]
    mov esi, ROM(msg_hole_ok)
    je .hole_ok
    mov esi, ROM(msg_hole_bad)
.hole_ok:
    call report
    mov esi, ROM(msg_done)
    call print32
    NEWLINE
    cli
    hlt

ud_handler:
    mov dword [UD_SEEN], 0x600d
    add dword [esp], 2              ; past UD2
    iretd

REPORT32

LIB16
LIB32

; Every accessed bit clear, the TSS available: the CPU will want to write.
align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff           ; 08h: code, flat
    dq 0x00cf92000000ffff           ; 10h: data, flat
    dq 0x0000890000000067 | (TSS << 16) ; 18h: 32-bit TSS at 6000h, available
    dq 0x00cf9a000000ffff           ; 20h: code, flat, for the #UD handler
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd ROM(gdt)

align 8
idt:
    times 6 dq 0
    dw ud_handler, 0x20             ; 6: #UD, a 32-bit interrupt gate
    db 0, 0x8e
    dw 0x000f
idt_end:
idt_ptr:
    dw idt_end - idt - 1
    dd ROM(idt)

msg_loaded:   db "cpuwrites: CS, DS, ES and SS loaded from a GDT in ROM", 0
msg_access:   db "cpuwrites: the ROM's code and data access bytes read ", 0
msg_tr:       db "cpuwrites: LTR of a TSS descriptor in ROM: TR = ", 0
msg_tss_type: db "cpuwrites: the ROM's TSS access byte reads ", 0
msg_ud:       db "cpuwrites: #UD through an IDT in ROM, handler marker ", 0
msg_access20: db "cpuwrites: the handler's code access byte in ROM reads ", 0
msg_paged:    db "cpuwrites: paging through a page directory in ROM: RAM reads ", 0
msg_hole_ok:  db "cpuwrites: a page table in nothing maps 400ff0 to the reset vector, which reads ", 0
msg_hole_bad: db "cpuwrites: a page table in nothing did NOT map 400ff0 to the reset vector: ", 0
msg_done:     db "cpuwrites: done", 0

; 4 MiB pages, identity for the first 4 MiB; the second 4 MiB through a
; page table where nothing answers. A and D clear.
align 4096
pd:
    dd 0x00000083                   ; P, RW, PS
    dd HOLE | 0x03                  ; P, RW: page table at C0000000h
    times 1022 dd 0

ROM_END
