; The i440FX PAM registers (82441FX "PAM[6:0]", PCI 00:00.0 59h-5Fh) steer
; C0000h-FFFFFh between the firmware ROM (PCI) and the shadow RAM under
; it. This guest shadows itself as SeaBIOS does: running from the ROM's
; alias below 4 GiB, it makes F0000h-FFFFFh read/write RAM, copies the ROM
; there and carries on from the copy; then it checks each attribute (read
; only: writes dropped; write only: reads from the ROM, writes to RAM), a
; 16 KiB segment at C0000h, and that a reset gives the segment back to the
; ROM. Flat 32-bit protected mode, no paging.
%include "lib.inc"
ROM_BEGIN

%define ROM(x) (0xf0000 + (x))
%define HIGH(x) (0xffff0000 + (x))
%define FLAG 0x500                  ; RAM: set once the first pass reaches the reset
%define PAM0 0x59                   ; F0000h-FFFFFh in bits 5:4
%define PAM1 0x5a                   ; C0000h-C3FFFh in bits 1:0, C4000h-C7FFFh in 5:4
%define RE_WE_HIGH(re, we) ((re) << 4 | (we) << 5)
%define RE_WE_LOW(re, we) ((re) | (we) << 1)

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
    jmp dword 0x08:HIGH(pm32)       ; on from the ROM's alias below 4 GiB

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7000
    cmp dword [FLAG], 0x600dbeef
    je after_reset

    mov eax, [0xc0000]              ; C0000h at reset: PCI, where nothing answers
    mov esi, HIGH(msg_c_reset)
    call report

    ; As SeaBIOS does: F segment read/write RAM, the ROM copied into it
    ; from the alias, then execution moves down to the copy.
    mov ah, RE_WE_HIGH(1, 1)
    mov dl, PAM0
    call pam_write
    mov esi, HIGH(0)
    mov edi, ROM(0)
    mov ecx, 0x10000 / 4
    cld
    rep movsd
    mov dword [ROM(shadow_word)], 0x5ead0001  ; RAM now: the write stays
    jmp 0x08:ROM(in_shadow)

in_shadow:
    mov eax, [ROM(shadow_word)]
    mov esi, ROM(msg_rw)
    call report

    mov ah, RE_WE_HIGH(1, 0)        ; read only: executing from the copy goes on
    mov dl, PAM0
    call pam_write
    mov dword [ROM(shadow_word)], 0 ; dropped
    mov eax, [ROM(shadow_word)]
    mov esi, ROM(msg_ro)
    call report

    mov ah, RE_WE_HIGH(0, 1)        ; write only: reads (and code) from the ROM
    mov dl, PAM0
    call pam_write
    mov dword [ROM(shadow_word)], 0x5ead0002  ; to the RAM...
    mov eax, [ROM(shadow_word)]     ; ...while reads see the ROM
    mov esi, ROM(msg_wo)
    call report

    mov ah, RE_WE_HIGH(1, 1)
    mov dl, PAM0
    call pam_write
    mov eax, [ROM(shadow_word)]     ; what the write-only phase wrote
    mov esi, ROM(msg_rw_again)
    call report

    ; A 16 KiB segment: C0000h read/write, then read only, then off.
    mov ah, RE_WE_LOW(1, 1)
    mov dl, PAM1
    call pam_write
    mov dword [0xc0000], 0xc0c0c0c0
    mov dword [0xc4000], 0x12345678 ; C4000h is still PCI: dropped
    mov eax, [0xc0000]
    mov esi, ROM(msg_c_rw)
    call report
    mov eax, [0xc4000]
    mov esi, ROM(msg_c4)
    call report
    mov ah, RE_WE_LOW(1, 0)
    mov dl, PAM1
    call pam_write
    mov dword [0xc0000], 0
    mov eax, [0xc0000]
    mov esi, ROM(msg_c_ro)
    call report
    mov ah, 0
    mov dl, PAM1
    call pam_write
    mov eax, [0xc0000]
    mov esi, ROM(msg_c_off)
    call report

    ; Leave F0000h as RAM that differs from the ROM, and reset (port 92h).
    mov dword [FLAG], 0x600dbeef
    mov dword [ROM(shadow_word)], 0x5ead0003
    mov esi, ROM(msg_reset)
    call print32
    NEWLINE
    in al, 0x92
    and al, 0xfe
    out 0x92, al
    or al, 1
    out 0x92, al
    cli
    hlt

after_reset:
    mov dword [FLAG], 0
    mov eax, [ROM(shadow_word)]     ; PAM0 reset to 00h: the ROM again
    mov esi, HIGH(msg_after_reset)
    call report
    mov esi, HIGH(msg_done)
    call print32
    NEWLINE
    cli
    hlt

; pam_write: PAM register DL (byte) := AH, through PCI configuration
; mechanism #1 (CONFIG_ADDRESS dword, then the data port's byte lane).
pam_write:
    push eax
    push ebx
    push edx
    mov bl, ah
    mov eax, 0x80000000
    mov al, dl
    and al, 0xfc
    push edx
    mov dx, 0xcf8
    out dx, eax
    pop edx
    and dx, 3
    add dx, 0xcfc
    mov al, bl
    out dx, al
    pop edx
    pop ebx
    pop eax
    ret

REPORT32

LIB32

; Descriptors come with the Accessed bit set: the GDT is in ROM.
FLAT_GDT32

shadow_word:     dd 0x11111111      ; the ROM's value
msg_c_reset:     db "pam: C0000h at reset reads ", 0
msg_rw:          db "pam: F segment copied to RAM and running there; shadow word ", 0
msg_ro:          db "pam: read only, after a write the shadow word reads ", 0
msg_wo:          db "pam: write only, after a write reads the ROM: ", 0
msg_rw_again:    db "pam: read/write again, the write-only write reads back ", 0
msg_c_rw:        db "pam: C0000h read/write reads back ", 0
msg_c4:          db "pam: C4000h still off reads ", 0
msg_c_ro:        db "pam: C0000h read only, after a write reads ", 0
msg_c_off:       db "pam: C0000h off reads ", 0
msg_reset:       db "pam: resetting through port 92h", 0
msg_after_reset: db "pam: after the reset the F segment reads the ROM: ", 0
msg_done:        db "pam: done", 0

ROM_END
