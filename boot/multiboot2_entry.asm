; The multiboot2 entry of zazen.elf (Multiboot2 specification 1.0, sections
; 3.1 "OS image format" and 3.3 "I386 machine state").
;
; GRUB enters here in 32-bit protected mode, paging off, with EAX = the
; bootloader magic 36d76289h and EBX = the physical address of the boot
; information. This stub builds page tables that identity-map the first
; 4 GiB with 2 MiB pages, enters long mode (SDM 3A 9.8.5: PAE, CR3,
; EFER.LME, then CR0.PG) and calls mb2_main(info) on a stack of its own.

MB2_MAGIC      equ 0xe85250d6
MB2_ARCH_I386  equ 0
MB2_BOOT_MAGIC equ 0x36d76289
STACK_SIZE     equ 65536

section .multiboot2 progbits alloc noexec nowrite align=8
mb2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd 0x100000000 - (MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    align 8
    ; module alignment tag (type 6): modules start on page boundaries
    dw 6, 0
    dd 8
    align 8
    ; end tag
    dw 0, 0
    dd 8
mb2_header_end:

section .bss nobits alloc noexec write align=4096
pml4:   resb 4096
pdpt:   resb 4096
pds:    resb 4 * 4096
stack:  resb STACK_SIZE
stack_top:

section .data
align 16
gdt64:
    dq 0
    dq 0x00209a0000000000       ; 0x08: 64-bit code
    dq 0x0000920000000000       ; 0x10: data
gdt64_end:
gdt64_ptr:
    dw gdt64_end - gdt64 - 1
    dq gdt64

section .text
bits 32
global mb2_start
extern mb2_main
mb2_start:
    cli
    cld
    cmp eax, MB2_BOOT_MAGIC
    jne .not_multiboot2
    mov esp, stack_top
    mov esi, ebx                ; keep the boot information pointer

    ; clear the tables (GRUB zero-fills .bss, but do not depend on it)
    mov edi, pml4
    mov ecx, (6 * 4096) / 4
    xor eax, eax
    rep stosd
    mov dword [pml4], pdpt + 3              ; present, writable
    mov ecx, 0
.pdpt_loop:
    mov eax, ecx
    shl eax, 12
    add eax, pds + 3
    mov [pdpt + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jne .pdpt_loop
    mov ecx, 0
.pd_loop:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83                            ; present, writable, 2 MiB page
    mov [pds + ecx * 8], eax
    inc ecx
    cmp ecx, 4 * 512
    jne .pd_loop

    mov eax, cr4
    or eax, 1 << 5                          ; CR4.PAE
    mov cr4, eax
    mov eax, pml4
    mov cr3, eax
    mov ecx, 0xc0000080                     ; EFER
    rdmsr
    or eax, 1 << 8                          ; EFER.LME
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | 1                   ; CR0.PG, CR0.PE
    mov cr0, eax
    lgdt [gdt64_ptr]
    jmp 0x08:.long_mode

.not_multiboot2:
    ; Not started by a multiboot2 loader: nothing to hand over. Say so on
    ; the debug port and stop.
    mov esi, not_mb2_msg
.say:
    lodsb
    test al, al
    jz .stop
    out 0xe9, al
    jmp .say
.stop:
    hlt
    jmp .stop

bits 64
.long_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, stack_top
    xor ebp, ebp
    mov edi, esi                            ; mb2_main(boot information)
    call mb2_main
.halt:
    cli
    hlt
    jmp .halt

section .rodata
not_mb2_msg: db "zazen.elf: not started by a multiboot2 loader", 10, 0

section .note.GNU-stack noalloc noexec nowrite progbits
