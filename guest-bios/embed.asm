; The Zazen BIOS ROM (guest-bios/bios.asm, assembled to a flat 64 KiB
; image by make) carried inside the hypervisor as the default firmware of
; a domain whose config names none, XZ-compressed (most of the ROM is
; padding); vmm/domain.c unpacks it once.
section .rodata
align 16
global zazen_bios_rom
global zazen_bios_rom_end
zazen_bios_rom:
    incbin "build/guest-bios/bios.bin.xz"
zazen_bios_rom_end:

section .note.GNU-stack noalloc noexec nowrite progbits
