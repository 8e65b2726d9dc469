; The start-up trampoline of the other CPUs (application processors).
;
; A STARTUP IPI starts an AP in real mode at CS:IP = (vector * 100h):0000,
; the vector being the number of a 4 KiB page below 1 MiB (SDM 3A 10.4.4,
; MP spec 1.4 B.4.2). vmm/smp.c copies the bytes from ap_trampoline_start
; to ap_trampoline_end into such a page, fills in the data block at its
; end (page tables, EFER, the AP's stack, its per-CPU data, the C entry),
; and sends INIT, STARTUP, STARTUP. The AP then does what the boot CPU's
; firmware did for it: protected mode, PAE, CR3, EFER.LME, paging on, a
; far jump into a 64-bit code segment (SDM 3A 9.8.5 "Initializing IA-32e
; mode"), and calls ap_entry(percpu) on its own stack.
;
; Everything here is addressed relative to the page it runs in: in real
; mode DS = CS = page >> 4; in protected mode EBX holds the page's linear
; address. The far jumps go through pointers in the data block, which
; vmm/smp.c fills in with absolute addresses.

bits 16
default abs
section .rodata

CODE32  equ 0x08
DATA32  equ 0x10
CODE64  equ 0x18

%define OFF(x) ((x) - ap_trampoline_start)

global ap_trampoline_start
global ap_trampoline_end
global ap_trampoline_data

align 16
ap_trampoline_start:
    cli
    cld
    mov ax, cs
    mov ds, ax
    xor ebx, ebx
    mov bx, ax
    shl ebx, 4                          ; EBX = the page's linear address
    lgdt [OFF(tramp_gdt_desc)]
    mov eax, cr0
    or eax, 1                           ; CR0.PE
    mov cr0, eax
    jmp dword far [OFF(farptr32)]       ; to pm32, CS = CODE32

bits 32
pm32:
    mov ax, DATA32
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr4
    or eax, 1 << 5                      ; CR4.PAE
    mov cr4, eax
    mov eax, [ebx + OFF(data_cr3)]
    mov cr3, eax
    mov ecx, 0xc0000080                 ; IA32_EFER: the boot CPU's LME, NXE, SCE
    mov eax, [ebx + OFF(data_efer)]
    mov edx, [ebx + OFF(data_efer) + 4]
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | 1               ; CR0.PG with PE: IA-32e mode becomes active
    mov cr0, eax
    jmp far [ebx + OFF(farptr64)]       ; to lm64, CS = CODE64

bits 64
lm64:
    mov ebx, ebx                        ; the upper half is undefined after the mode switch (SDM 1 3.4.1.1)
    mov ax, DATA32
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, [rbx + OFF(data_stack)]
    mov rdi, [rbx + OFF(data_percpu)]
    mov rax, [rbx + OFF(data_entry)]
    xor ebp, ebp
    call rax                            ; ap_entry(percpu); never returns
.halt:
    cli
    hlt
    jmp .halt

align 16
tramp_gdt:
    dq 0
    dq 0x00cf9a000000ffff               ; CODE32: base 0, 4 GiB, 32-bit, execute/read
    dq 0x00cf92000000ffff               ; DATA32: base 0, 4 GiB, read/write
    dq 0x00209a0000000000               ; CODE64: 64-bit code (L)
tramp_gdt_end:

; The data block, filled in by vmm/smp.c (struct ap_trampoline_data).
align 8
ap_trampoline_data:
tramp_gdt_desc:
    dw tramp_gdt_end - tramp_gdt - 1
    dd 0                                ; the GDT's linear address
    dw 0
farptr32:
    dd 0                                ; linear address of pm32
    dw CODE32
    dw 0
farptr64:
    dd 0                                ; linear address of lm64
    dw CODE64
    dw 0
data_cr3:    dq 0
data_efer:   dq 0
data_stack:  dq 0
data_percpu: dq 0
data_entry:  dq 0
; Offsets within the page of what the data block points at.
data_gdt_offset:  dq OFF(tramp_gdt)
data_pm32_offset: dq OFF(pm32)
data_lm64_offset: dq OFF(lm64)
ap_trampoline_end:

section .note.GNU-stack noalloc noexec nowrite progbits
