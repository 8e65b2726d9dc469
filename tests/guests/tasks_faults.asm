; The checks of a hardware task switch (SDM 3A 7.3, Table 7-1; issue 12):
; a far JMP from task A to a task T made bad in one way per case. Before
; the switch's commit point the fault is task A's (the TSS descriptor:
; its limit, presence, busy bit); after it, task T's (its LDT, CS, SS,
; data segments), so the handler's previous-task link says which side of
; the commit point the CPU was on. #TS, #NP, #SS and #GP go through task
; gates to four handler tasks, which print the vector, the error code and
; the link, make A and T available again and JMP back to A at the next
; case. Flat 32-bit protected mode, no paging.
%include "lib.inc"
ROM_BEGIN

%define ROM(x) (0xf0000 + (x))
%define TSS_A 0x6000               ; the cases run in it
%define TSS_H 0x6400               ; four handler tasks, 80h apart
%define TSS_T 0x6800               ; the task each case makes bad
%define TSS_EIP 0x20
%define TSS_EFLAGS 0x24
%define TSS_ESP 0x38
%define TSS_ES 0x48
%define TSS_CS 0x4c
%define TSS_SS 0x50
%define TSS_DS 0x54
%define TSS_LDT 0x60
%define GDT_RAM 0x8000
%define NEXT 0x7800                ; where the handler resumes task A

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
    ; the GDT to RAM, where busy bits and the cases' changes go
    mov esi, ROM(gdt)
    mov edi, GDT_RAM
    mov ecx, (gdt_end - gdt) / 4
    cld
    rep movsd
    lgdt [ROM(gdt_ram_ptr)]
    xor eax, eax
    mov edi, TSS_A
    mov ecx, 0x1000 / 4
    rep stosd
    ; the handler tasks: EIP handler, each its own stack
    mov ebx, TSS_H
    mov edx, 0x3000
.handlers:
    mov dword [ebx + TSS_EIP], ROM(handler)
    mov [ebx + TSS_ESP], edx
    call init_tss
    add ebx, 0x80
    add edx, 0x200
    cmp ebx, TSS_H + 4 * 0x80
    jb .handlers
    mov ax, 0x18
    ltr ax
    lidt [ROM(idt_ptr)]

; Each case: a fresh T, one thing made bad, its name, where to go next.
%macro CASE 3 ; name message, the change (an instruction), next case
    call reset_t
    %2
    mov esi, ROM(%1)
    call print32
    NEWLINE
    mov dword [NEXT], ROM(%3)
    jmp 0x40:0
    jmp dword [NEXT]                ; T ran: it said NOT, go on
%endmacro

case_limit:
    CASE msg_limit, {mov word [GDT_RAM + 0x40], 0x5f}, case_np
case_np:
    CASE msg_np, {mov byte [GDT_RAM + 0x45], 0x09}, case_busy
case_busy:
    CASE msg_busy, {mov byte [GDT_RAM + 0x45], 0x8b}, case_ldt
case_ldt:
    CASE msg_ldt, {mov dword [TSS_T + TSS_LDT], 0x18}, case_cs_null
case_cs_null:
    CASE msg_cs_null, {mov dword [TSS_T + TSS_CS], 0}, case_cs_data
case_cs_data:
    CASE msg_cs_data, {mov dword [TSS_T + TSS_CS], 0x10}, case_cs_np
case_cs_np:
    CASE msg_cs_np, {mov dword [TSS_T + TSS_CS], 0x48}, case_ss_ro
case_ss_ro:
    CASE msg_ss_ro, {mov dword [TSS_T + TSS_SS], 0x58}, case_ss_np
case_ss_np:
    CASE msg_ss_np, {mov dword [TSS_T + TSS_SS], 0x50}, case_ds_limit
case_ds_limit:
    CASE msg_ds_limit, {mov dword [TSS_T + TSS_DS], 0x7f8}, case_ds_xo
case_ds_xo:
    CASE msg_ds_xo, {mov dword [TSS_T + TSS_DS], 0x60}, case_ds_np
case_ds_np:
    CASE msg_ds_np, {mov dword [TSS_T + TSS_DS], 0x50}, case_good
case_good:
    call reset_t                    ; nothing bad: T runs
    mov dword [NEXT], ROM(done)
    jmp 0x40:0
    jmp dword [NEXT]
done:
    mov esi, ROM(msg_done)
    call print32
    NEWLINE
    cli
    hlt

; T as it should be: EIP task_t, flat segments; its descriptor (40h) an
; available 32-bit TSS of limit 67h at TSS_T.
reset_t:
    mov edi, TSS_T
    xor eax, eax
    mov ecx, 0x68 / 4
    rep stosd
    mov ebx, TSS_T
    mov dword [ebx + TSS_EIP], ROM(task_t)
    mov dword [ebx + TSS_ESP], 0x2000
    call init_tss
    mov dword [GDT_RAM + 0x40], (TSS_T << 16) | 0x67
    mov dword [GDT_RAM + 0x44], 0x00008900
    ret

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

task_t:
    mov eax, [NEXT]
    mov esi, ROM(msg_t_ran)
    cmp eax, ROM(done)
    jne .say
    mov esi, ROM(msg_t_good)
.say:
    call print32
    NEWLINE
    jmp 0x18:0                      ; back to A
    jmp task_t

; A handler task (TR 20h #TS, 28h #NP, 30h #SS, 38h #GP): the error code
; is on its stack (SDM 3A 6.12.2); its TSS's link is the faulting task.
handler:
    pop edx
    str ebx
    movzx ebx, bx
    sub ebx, 0x20
    shr ebx, 3
    lea eax, [ebx + 10]
    mov esi, ROM(msg_vector)
    call report
    mov eax, edx
    mov esi, ROM(msg_error)
    call report
    shl ebx, 7
    movzx eax, word [TSS_H + ebx]
    mov esi, ROM(msg_link)
    call report
    and byte [GDT_RAM + 0x18 + 5], ~2  ; A and T available again
    and byte [GDT_RAM + 0x40 + 5], ~2
    mov eax, [NEXT]
    mov [TSS_A + TSS_EIP], eax
    jmp 0x18:0
    jmp handler                     ; the next fault resumes here

REPORT32

LIB16
LIB32

align 8
gdt:
    dq 0
    dq 0x00cf9b000000ffff                       ; 08h code
    dq 0x00cf93000000ffff                       ; 10h data
    dq 0x0000890000000067 | (TSS_A << 16)       ; 18h TSS A
    dq 0x0000890000000067 | (TSS_H << 16)       ; 20h #TS handler
    dq 0x0000890000000067 | ((TSS_H + 0x80) << 16)   ; 28h #NP handler
    dq 0x0000890000000067 | ((TSS_H + 0x100) << 16)  ; 30h #SS handler
    dq 0x0000890000000067 | ((TSS_H + 0x180) << 16)  ; 38h #GP handler
    dq 0x0000890000000067 | (TSS_T << 16)       ; 40h TSS T (reset_t)
    dq 0x00cf1b000000ffff                       ; 48h code, not present
    dq 0x00cf13000000ffff                       ; 50h data, not present
    dq 0x00cf91000000ffff                       ; 58h data, read-only
    dq 0x00cf99000000ffff                       ; 60h code, execute-only
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd ROM(gdt)
gdt_ram_ptr:
    dw gdt_end - gdt - 1
    dd GDT_RAM

%macro TASK_GATE 1
    dw 0, %1
    db 0, 0x85
    dw 0
%endmacro
align 8
idt:
    times 10 dq 0
    TASK_GATE 0x20                  ; 10 #TS
    TASK_GATE 0x28                  ; 11 #NP
    TASK_GATE 0x30                  ; 12 #SS
    TASK_GATE 0x38                  ; 13 #GP
idt_end:
idt_ptr:
    dw idt_end - idt - 1
    dd ROM(idt)

msg_limit:    db "tasks-faults: T's TSS limit 5Fh", 0
msg_np:       db "tasks-faults: T's TSS not present", 0
msg_busy:     db "tasks-faults: T's TSS busy", 0
msg_ldt:      db "tasks-faults: T's LDT selector names a TSS", 0
msg_cs_null:  db "tasks-faults: T's CS null", 0
msg_cs_data:  db "tasks-faults: T's CS a data segment", 0
msg_cs_np:    db "tasks-faults: T's CS not present", 0
msg_ss_ro:    db "tasks-faults: T's SS read-only", 0
msg_ss_np:    db "tasks-faults: T's SS not present", 0
msg_ds_limit: db "tasks-faults: T's DS beyond the GDT", 0
msg_ds_xo:    db "tasks-faults: T's DS execute-only code", 0
msg_ds_np:    db "tasks-faults: T's DS not present", 0
msg_vector:   db "tasks-faults: vector ", 0
msg_error:    db "tasks-faults: error code ", 0
msg_link:     db "tasks-faults: faulting task ", 0
msg_t_ran:    db "tasks-faults: NOT faulted: T ran", 0
msg_t_good:   db "tasks-faults: a good T runs", 0
msg_done:     db "tasks-faults: done", 0

ROM_END
