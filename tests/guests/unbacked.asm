; Guest-physical addresses that nothing backs read as all ones and
; ignore writes, and the firmware ROM ignores writes, as on a PC. Runs in
; flat 32-bit protected mode without paging; every access below is
; emulated by Zazen's instruction emulator.
%include "lib.inc"
ROM_BEGIN

%define ROM(x) (0xf0000 + (x))
%define HOLE 0xc0000000

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

    mov eax, [HOLE]                         ; MOV r32, m32
    mov esi, ROM(msg_read32)
    call report
    mov dword [HOLE], 0x12345678            ; MOV m32, imm32: dropped
    mov eax, [HOLE]
    mov esi, ROM(msg_after_write)
    call report
    movzx eax, byte [HOLE + 0x1001]         ; MOVZX r32, m8
    mov esi, ROM(msg_read8)
    call report
    mov dword [0x8000], 0
    mov esi, HOLE                           ; REP MOVSD from the hole to RAM
    mov edi, 0x8000
    mov ecx, 4
    cld
    rep movsd
    mov eax, [0x800c]
    mov esi, ROM(msg_movs)
    call report
    mov eax, 0x0ff00ff0
    and eax, [HOLE]                         ; AND r32, m32 reads the hole
    mov esi, ROM(msg_and)
    call report

    mov dword [ROM(rom_word)], 0            ; a write to the ROM is dropped
    mov eax, [ROM(rom_word)]
    mov esi, ROM(msg_rom)
    call report
    mov eax, [0xffff0000 + rom_word]        ; the same ROM below 4 GiB
    mov esi, ROM(msg_rom_high)
    call report
    cli
    hlt

REPORT32

LIB16
LIB32

; Descriptors come with the Accessed bit set: the GDT is in ROM, where the
; CPU's own write of that bit would be dropped (firmware does the same).
FLAT_GDT32

rom_word:        dd 0x600dc0de
msg_read32:      db "unbacked: read32 = ", 0
msg_after_write: db "unbacked: read32 after a write = ", 0
msg_read8:       db "unbacked: movzx read8 = ", 0
msg_movs:        db "unbacked: rep movsd copied ", 0
msg_and:         db "unbacked: and with 0ff00ff0 = ", 0
msg_rom:         db "rom: after a write, low alias reads ", 0
msg_rom_high:    db "rom: high alias reads ", 0

ROM_END
