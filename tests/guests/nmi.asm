; NMIs (issue 12 item 7): an NMI the LAPIC sends itself (ICR) is taken at
; once, with interrupts disabled (SDM 3A 6.8.1: IF does not mask NMIs);
; a second one, sent from inside the handler, waits until the handler's
; IRET (6.7.1: NMIs are blocked from an NMI's delivery to the next IRET)
; and is then taken before the interrupted code runs on. Flat 32-bit
; protected mode, no paging.
%include "lib.inc"
ROM_BEGIN

%define ROM(x) (0xf0000 + (x))
%define APIC 0xfee00000
%define APIC_SVR (APIC + 0xf0)
%define APIC_ICR_LOW (APIC + 0x300)
%define SELF_NMI 0x00004400        ; NMI, assert, to APIC ID 0 (ICR high 0): itself (the self
                                   ; shorthand takes fixed IPIs only, SDM 3A Table 10-3)
%define COUNT 0x500                ; NMIs taken
%define INSIDE 0x504               ; COUNT seen in the first handler after sending the second
%define DEPTH 0x508                ; handlers running now
%define MAX_DEPTH 0x50c
%define PHASE 0x510                ; 1: NMIs from the IOAPIC, the handler sends none
%define IOAPIC 0xfec00000          ; IOREGSEL; IOWIN at +10h

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
    jmp dword 0x08:ROM(pm32)

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7000
    lidt [ROM(idt_ptr)]
    xor eax, eax
    mov [COUNT], eax
    mov [INSIDE], eax
    mov [DEPTH], eax
    mov [MAX_DEPTH], eax
    mov [PHASE], eax
    or dword [APIC_SVR], 0x100      ; APIC software enabled

    mov dword [APIC_ICR_LOW], SELF_NMI
    mov eax, [COUNT]                ; both taken by now
    mov esi, ROM(msg_count)
    call report
    mov eax, [INSIDE]
    mov esi, ROM(msg_inside)
    call report
    mov eax, [MAX_DEPTH]
    mov esi, ROM(msg_depth)
    call report

    ; The PIT's IRQ0 (I/O APIC pin 2) through an entry in NMI delivery
    ; mode (82093AA datasheet 3.2.4): one edge, one NMI
    mov dword [PHASE], 1
    mov dword [COUNT], 0
    mov dword [IOAPIC], 0x10 + 2 * 2 + 1
    mov dword [IOAPIC + 0x10], 0    ; destination: APIC 0
    mov dword [IOAPIC], 0x10 + 2 * 2
    mov dword [IOAPIC + 0x10], 0x400 ; NMI, edge, physical, unmasked
    mov al, 0x30                    ; channel 0, low then high byte, mode 0
    out 0x43, al
    mov al, 0x00                    ; count 100h: about 215 us
    out 0x40, al
    mov al, 0x01
    out 0x40, al
    mov ecx, 1000000
.wait:
    cmp dword [COUNT], 0
    jne .got
    out 0x80, al                    ; an exit: device time moves on
    loop .wait
.got:
    mov ecx, 2000                   ; a second NMI would come now if one did
.more:
    out 0x80, al
    loop .more
    mov eax, [COUNT]
    mov esi, ROM(msg_ioapic)
    call report
    mov esi, ROM(msg_done)
    call print32
    NEWLINE
    cli
    hlt

nmi_handler:
    push eax
    push ecx
    inc dword [DEPTH]
    mov eax, [DEPTH]
    cmp eax, [MAX_DEPTH]
    jbe .depth_ok
    mov [MAX_DEPTH], eax
.depth_ok:
    inc dword [COUNT]
    cmp dword [PHASE], 0
    jne .out
    cmp dword [COUNT], 1
    jne .out
    mov dword [APIC_ICR_LOW], SELF_NMI ; the second: held until our IRET
    mov ecx, 20
.exits:                             ; exits at which Zazen could deliver it
    out 0x80, al
    loop .exits
    mov eax, [COUNT]
    mov [INSIDE], eax
.out:
    dec dword [DEPTH]
    pop ecx
    pop eax
    iretd

REPORT32

LIB16
LIB32

FLAT_GDT32

align 8
idt:
    times 2 dq 0
    dw nmi_handler, 0x08            ; 2: NMI, a 32-bit interrupt gate
    db 0, 0x8e
    dw 0x000f
idt_end:
idt_ptr:
    dw idt_end - idt - 1
    dd ROM(idt)

msg_count:  db "nmi: NMIs taken after one self-NMI whose handler sent another: ", 0
msg_inside: db "nmi: count in the first handler after sending the second: ", 0
msg_depth:  db "nmi: handlers running at once, at most: ", 0
msg_ioapic: db "nmi: NMIs taken from the PIT through an I/O APIC entry in NMI mode: ", 0
msg_done:   db "nmi: done", 0

ROM_END
