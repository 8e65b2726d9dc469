; Hardware task switches (issue 12 item 8; SDM 3A ch. 7): a far JMP to a
; TSS and a far JMP back, a far CALL to a task that returns by IRET, the
; same to a task with a 16-bit TSS (SDM 3A 7.6), a far JMP to a
; virtual-8086 task (SDM 3B 20.2.5) that leaves by INT n through a task
; gate (the saved EIP after the INT), then a double fault taken
; through a task gate in the IDT, as 32-bit Linux and Windows XP take
; theirs. Flat 32-bit protected mode, no paging.
%include "lib.inc"
ROM_BEGIN

%define ROM(x) (0xf0000 + (x))
%define TSS_A 0x6000               ; the first task's
%define TSS_B 0x6100               ; a task reached by JMP
%define TSS_DF 0x6200              ; the double-fault task
%define TSS_C 0x6300               ; a task reached by CALL, left by IRET
%define TSS_D 0x6400               ; a 16-bit TSS's task, reached by CALL, left by IRET
%define TSS_V 0x6500               ; a virtual-8086 task, reached by JMP, left by INT 40h
%define TSS_R 0x6600               ; INT 40h's task (a task gate), which jumps back to A
%define V86_SCRATCH 0x5f00         ; what the virtual-8086 task writes
%define TSS16_IP 0x0e
%define TSS16_FLAGS 0x10
%define TSS16_SP 0x1a
%define TSS16_ES 0x22
%define TSS_EIP 0x20
%define TSS_EFLAGS 0x24
%define TSS_ESP 0x38
%define TSS_ES 0x48
%define GDT_RAM 0x8000

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
    ; the GDT to RAM, where the CPU's busy bits stick
    mov esi, ROM(gdt)
    mov edi, GDT_RAM
    mov ecx, (gdt_end - gdt) / 4
    cld
    rep movsd
    lgdt [ROM(gdt_ram_ptr)]
    ; three TSSs in RAM, zeroed; B and DF start at their code
    xor eax, eax
    mov edi, TSS_A
    mov ecx, 0x700 / 4
    cld
    rep stosd
    mov ebx, TSS_B
    mov dword [ebx + TSS_EIP], ROM(task_b)
    mov dword [ebx + TSS_ESP], 0x5000
    call init_tss
    mov ebx, TSS_C
    mov dword [ebx + TSS_EIP], ROM(task_c)
    mov dword [ebx + TSS_ESP], 0x4000
    call init_tss
    mov ebx, TSS_DF
    mov dword [ebx + TSS_EIP], ROM(task_df)
    mov dword [ebx + TSS_ESP], 0x4800
    call init_tss
    ; D: a 16-bit TSS (SDM 3A 7.6) whose CS (40h) is based at the ROM, as
    ; its IP has 16 bits
    mov word [TSS_D + TSS16_IP], task_d
    mov word [TSS_D + TSS16_FLAGS], 2
    mov word [TSS_D + TSS16_SP], 0x3800
    mov word [TSS_D + TSS16_ES], 0x10
    mov word [TSS_D + TSS16_ES + 2], 0x40
    mov word [TSS_D + TSS16_ES + 4], 0x10
    mov word [TSS_D + TSS16_ES + 6], 0x10
    ; V: virtual-8086 (EFLAGS VM, IOPL 3 so that INT n goes to the IDT),
    ; running the ROM's code at F000:v86_code; R: flat, like B
    mov ebx, TSS_V
    mov dword [ebx + TSS_EIP], v86_code
    mov dword [ebx + TSS_EFLAGS], (1 << 17) | (3 << 12) | 2
    mov dword [ebx + TSS_ESP], 0x3000
    mov dword [ebx + TSS_ES + 4], 0xf000
    mov ebx, TSS_R
    mov dword [ebx + TSS_EIP], ROM(task_r)
    mov dword [ebx + TSS_ESP], 0x2800
    call init_tss
    mov ax, 0x18
    ltr ax
    lidt [ROM(idt_ptr)]

    jmp 0x20:0                      ; to task B, which jumps back
after_jmp:
    str eax
    mov esi, ROM(msg_back)
    call report
    mov eax, [GDT_RAM + 0x20 + 4]
    shr eax, 8
    and eax, 0xf
    mov esi, ROM(msg_b_type)
    call report

    call 0x30:0                     ; to task C, nested: it returns by IRET
    str eax
    mov esi, ROM(msg_back_iret)
    call report
    mov eax, [GDT_RAM + 0x30 + 4]
    shr eax, 8
    and eax, 0xf
    mov esi, ROM(msg_c_type)
    call report
    pushfd
    pop eax
    shr eax, 14
    and eax, 1
    mov esi, ROM(msg_a_nt)
    call report

    call 0x38:0                     ; to task D, a 16-bit TSS: it returns by IRET
    str eax
    mov esi, ROM(msg_back_d)
    call report
    movzx eax, word [TSS_D + TSS16_IP]
    mov esi, ROM(msg_d_ip_ok)
    cmp eax, d_resume
    je .d_ip
    mov esi, ROM(msg_d_ip_bad)
.d_ip:
    call print32
    NEWLINE
    mov eax, [GDT_RAM + 0x38 + 4]
    shr eax, 8
    and eax, 0xf
    mov esi, ROM(msg_d_type)
    call report

    jmp 0x48:0                      ; to task V, virtual-8086; R jumps back
after_v86:
    str eax
    mov esi, ROM(msg_back_v)
    call report

    mov ax, 0x7ff8                  ; beyond the GDT's limit: #GP, whose gate is
fault_here:                         ; not present: #NP, then #DF (SDM 3A Table 6-5)
    mov ds, ax
    mov esi, ROM(msg_no_df)
    call print32
    NEWLINE
    cli
    hlt

; EFLAGS 2, CS 08h, the data selectors 10h.
init_tss:
    mov dword [ebx + TSS_EFLAGS], 2
    mov dword [ebx + TSS_ES], 0x10
    mov dword [ebx + TSS_ES + 4], 0x08
    mov dword [ebx + TSS_ES + 8], 0x10
    mov dword [ebx + TSS_ES + 12], 0x10
    mov dword [ebx + TSS_ES + 16], 0x10
    mov dword [ebx + TSS_ES + 20], 0x10
    ret

task_b:
    str eax
    mov esi, ROM(msg_in_b)
    call report
    mov eax, [TSS_A + TSS_EIP]
    mov esi, ROM(msg_saved_ok)
    cmp eax, ROM(after_jmp)
    je .ok
    mov esi, ROM(msg_saved_bad)
.ok:
    call print32
    NEWLINE
    jmp 0x18:0                      ; back to the first task

task_c:
    movzx eax, word [TSS_C]         ; previous task link
    mov esi, ROM(msg_in_c)
    call report
    pushfd
    pop eax
    shr eax, 14
    and eax, 1
    mov esi, ROM(msg_c_nt)
    call report
    iretd                           ; NT set: back to the task that called

; Task D runs with CS 40h, based at F0000h: EIP is the offset in the ROM.
; A 16-bit TSS loads only the low halves of the registers (SDM 3A 7.6
; leaves the upper ones to software; Bochs sets them to FFFFh).
task_d:
    movzx esp, sp
    str eax
    mov esi, ROM(msg_in_d)
    call report
    movzx eax, word [TSS_D]         ; previous task link
    mov esi, ROM(msg_d_link)
    call report
    iretd                           ; NT set: back to task A
d_resume:
    jmp task_d

; Task V, in virtual-8086 mode at F000:v86_code: it writes a marker and
; the CS it sees at 0:5F00h, then INT 40h, a task gate to R.
bits 16
v86_code:
    xor ax, ax
    mov ds, ax
    mov byte [V86_SCRATCH], 0x86
    mov ax, cs
    mov [V86_SCRATCH + 2], ax
    int 0x40
v86_after_int:
    jmp v86_after_int
bits 32

task_r:
    movzx eax, byte [V86_SCRATCH]
    mov esi, ROM(msg_v86_marker)
    call report
    movzx eax, word [V86_SCRATCH + 2]
    mov esi, ROM(msg_v86_cs)
    call report
    mov eax, [TSS_V + TSS_EFLAGS]
    shr eax, 17
    and eax, 1
    mov esi, ROM(msg_v_vm)
    call report
    mov eax, [TSS_V + TSS_ES + 4]
    mov esi, ROM(msg_v_cs)
    call report
    mov eax, [TSS_V + TSS_EIP]
    mov esi, ROM(msg_v_eip_ok)
    cmp eax, v86_after_int
    je .ok
    mov esi, ROM(msg_v_eip_bad)
.ok:
    call print32
    NEWLINE
    movzx eax, word [TSS_R]         ; previous task link
    mov esi, ROM(msg_r_link)
    call report
    jmp 0x18:0                      ; back to task A

task_df:
    pop eax                         ; the error code, pushed on this task's stack
    mov esi, ROM(msg_df)
    call report
    str eax
    mov esi, ROM(msg_df_tr)
    call report
    movzx eax, word [TSS_DF]        ; previous task link
    mov esi, ROM(msg_link)
    call report
    pushfd
    pop eax
    shr eax, 14                     ; NT
    and eax, 1
    mov esi, ROM(msg_nt)
    call report
    mov eax, [TSS_A + TSS_EIP]
    mov esi, ROM(msg_fault_ok)
    cmp eax, ROM(fault_here)
    je .ok
    mov esi, ROM(msg_fault_bad)
.ok:
    call print32
    NEWLINE
    mov esi, ROM(msg_done)
    call print32
    NEWLINE
    cli
    hlt

REPORT32

LIB16
LIB32

align 8
gdt:
    dq 0
    dq 0x00cf9b000000ffff                       ; 08h code
    dq 0x00cf93000000ffff                       ; 10h data
    dq 0x0000890000000067 | (TSS_A << 16)       ; 18h TSS A
    dq 0x0000890000000067 | (TSS_B << 16)       ; 20h TSS B
    dq 0x0000890000000067 | (TSS_DF << 16)      ; 28h TSS DF
    dq 0x0000890000000067 | (TSS_C << 16)       ; 30h TSS C
    dq 0x000081000000002b | (TSS_D << 16)       ; 38h TSS D, 16-bit
    dq 0x004f9b0f0000ffff                       ; 40h code, base F0000h, 32-bit
    dq 0x0000890000000067 | (TSS_V << 16)       ; 48h TSS V, virtual-8086
    dq 0x0000890000000067 | (TSS_R << 16)       ; 50h TSS R
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd ROM(gdt)
gdt_ram_ptr:
    dw gdt_end - gdt - 1
    dd GDT_RAM

align 8
idt:
    times 8 dq 0
    dw 0, 0x28                      ; 8: #DF, a task gate to TSS DF
    db 0, 0x85
    dw 0
    times 5 dq 0                    ; 9-13 not present
    times 0x40 - 14 dq 0
    dw 0, 0x50                      ; 40h: a task gate to TSS R, DPL 3 (from V86)
    db 0, 0xe5
    dw 0
idt_end:
idt_ptr:
    dw idt_end - idt - 1
    dd ROM(idt)

msg_in_b:      db "tasks: in task B after a far JMP: TR = ", 0
msg_saved_ok:  db "tasks: task A's TSS holds the EIP after its JMP", 0
msg_saved_bad: db "tasks: task A's TSS does NOT hold the EIP after its JMP", 0
msg_back:      db "tasks: back in task A after a far JMP: TR = ", 0
msg_b_type:    db "tasks: task B's descriptor type after leaving it by JMP: ", 0
msg_in_c:      db "tasks: in task C after a far CALL: its previous task link = ", 0
msg_c_nt:      db "tasks: in task C: EFLAGS.NT = ", 0
msg_back_iret: db "tasks: back in task A after task C's IRET: TR = ", 0
msg_c_type:    db "tasks: task C's descriptor type after its IRET: ", 0
msg_a_nt:      db "tasks: task A's EFLAGS.NT = ", 0
msg_in_d:      db "tasks: in task D (a 16-bit TSS) after a far CALL: TR = ", 0
msg_d_link:    db "tasks: task D's previous task link = ", 0
msg_back_d:    db "tasks: back in task A after task D's IRET: TR = ", 0
msg_d_ip_ok:   db "tasks: task D's 16-bit TSS holds the IP after its IRET", 0
msg_d_ip_bad:  db "tasks: task D's 16-bit TSS does NOT hold the IP after its IRET", 0
msg_d_type:    db "tasks: task D's descriptor type after its IRET: ", 0
msg_v86_marker: db "tasks: the virtual-8086 task wrote: ", 0
msg_v86_cs:    db "tasks: the CS it read: ", 0
msg_v_vm:      db "tasks: task V's saved EFLAGS.VM = ", 0
msg_v_cs:      db "tasks: task V's saved CS = ", 0
msg_v_eip_ok:  db "tasks: task V's TSS holds the EIP after its INT 40h", 0
msg_v_eip_bad: db "tasks: task V's TSS does NOT hold the EIP after its INT 40h", 0
msg_r_link:    db "tasks: task R's previous task link = ", 0
msg_back_v:    db "tasks: back in task A after task V: TR = ", 0
msg_df:        db "tasks: #DF through a task gate, error code on the new stack: ", 0
msg_df_tr:     db "tasks: the #DF task's TR = ", 0
msg_link:      db "tasks: its previous task link = ", 0
msg_nt:        db "tasks: its EFLAGS.NT = ", 0
msg_fault_ok:  db "tasks: task A's TSS holds the EIP of the faulting instruction", 0
msg_fault_bad: db "tasks: task A's TSS does NOT hold the EIP of the faulting instruction", 0
msg_no_df:     db "tasks: NOT faulted", 0
msg_done:      db "tasks: done", 0

ROM_END
