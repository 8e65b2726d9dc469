; The page a device write's instruction is fetched from, as Zazen finds
; it again: its fast way decodes a plain MOV to a device in place in guest
; RAM, and keeps the translation of the code's linear page between exits
; (vmm/emulate.c, guest_code_in_ram), checked each time against the
; paging registers and every paging-structure entry the walk read. A
; guest may rewrite its tables with no exit at all (MOV to a PTE, INVLPG
; and MOV CR3 do not exit under EPT or NPT), so a translation kept
; without that check would run the instruction of a page no longer
; mapped there. Here one linear page, W, holds by turns one of two
; instructions that write the local APIC's TPR (80H): page P1 from EAX,
; page P2 from EBX. Each case sets EAX and EBX apart and reads the TPR
; back, so the value shows which page's instruction Zazen carried out:
; 1. W -> P1 through a 4 KiB page table: from EAX, twice (the second
;    time with the translation kept);
; 2. the PTE moved to P2 (and INVLPG): from EBX;
; 3. the PDE moved to a second page table, where W -> P1: from EAX;
; 4. CR3 moved to a copy of the tables (PML4, PDPT, page directory) whose
;    own page table maps W -> P2, every entry of the first tables left as
;    it was: from EBX;
; 5. CR3 back: from EAX again.
%include "lib.inc"
%include "long64.inc"
ROM_BEGIN

%define APIC_BASE   0xfee00000      ; in RBP throughout (above 2 GiB: no disp32)
%define APIC_SVR    rbp + 0xf0
%define APIC_TPR    rbp + 0x80
%define W           0x1000000       ; PD0 entry 8: a 2 MiB slot given a 4 KiB page table
%define W_PDE       (PD0 + 8 * 8)
%define PT1         0x16000
%define PT2         0x17000
%define P1          0x18000
%define P2          0x19000
%define PML4_B      0x1a000         ; the copy of the tables for case 4
%define PDPT_B      0x1b000
%define PD0_B       0x1c000
%define PT3         0x1d000

start:
    LONG_MODE_ENTER main64

bits 64
main64:
    mov ebp, APIC_BASE
    mov dword [APIC_SVR], 0x1ff
    mov rsi, ROM(code_eax)          ; the two pages' instructions
    mov rdi, P1
    mov ecx, code_eax_end - code_eax
    rep movsb
    mov rsi, ROM(code_ebx)
    mov rdi, P2
    mov ecx, code_ebx_end - code_ebx
    rep movsb
    mov rdi, PT1                    ; the page tables start empty
    mov ecx, 2 * 4096 / 8
    xor eax, eax
    rep stosq
    mov rdi, PT3
    mov ecx, 4096 / 8
    rep stosq

    ; 1. W -> P1
    mov qword [PT1], P1 | 3
    mov qword [PT2], P1 | 3
    mov qword [W_PDE], PT1 | 3
    mov rax, cr3
    mov cr3, rax                    ; the 2 MiB page's translation flushed
    mov eax, 0x20
    mov ebx, 0x21
    call run_w
    mov rsi, ROM(msg_case1a)
    call report
    mov eax, 0x30
    mov ebx, 0x31
    call run_w
    mov rsi, ROM(msg_case1b)
    call report

    ; 2. the PTE moved to P2
    mov qword [PT1], P2 | 3
    invlpg [W]
    mov eax, 0x40
    mov ebx, 0x41
    call run_w
    mov rsi, ROM(msg_case2)
    call report

    ; 3. the PDE moved to PT2, where W -> P1
    mov qword [W_PDE], PT2 | 3
    invlpg [W]
    mov eax, 0x50
    mov ebx, 0x51
    call run_w
    mov rsi, ROM(msg_case3)
    call report

    ; 4. CR3 moved to a copy of the tables whose page table maps W -> P2
    mov rsi, PML4
    mov rdi, PML4_B
    mov ecx, 4096 / 8
    rep movsq
    mov rsi, PDPT
    mov rdi, PDPT_B
    mov ecx, 4096 / 8
    rep movsq
    mov rsi, PD0
    mov rdi, PD0_B
    mov ecx, 4096 / 8
    rep movsq
    mov qword [PML4_B], PDPT_B | 7
    mov qword [PDPT_B], PD0_B | 7
    mov qword [PD0_B + 8 * 8], PT3 | 3
    mov qword [PT3], P2 | 3
    mov rax, PML4_B
    mov cr3, rax
    mov eax, 0x60
    mov ebx, 0x61
    call run_w
    mov rsi, ROM(msg_case4)
    call report

    ; 5. CR3 back
    mov rax, PML4
    mov cr3, rax
    mov eax, 0x70
    mov ebx, 0x71
    call run_w
    mov rsi, ROM(msg_case5)
    call report

    mov rsi, ROM(msg_done)
    call print64
    cli
    hlt

; The instruction at W, then the TPR read back into EAX.
run_w:
    mov rcx, W
    call rcx
    mov eax, [APIC_TPR]
    ret

; The line at RSI, then the TPR (EAX, zero-extended) in hex.
report:
    call print64
    mov rsi, ROM(msg_tpr)
    call print64
    call hex64
    NEWLINE
    ret

code_eax:
    mov [rbp + 0x80], eax
    ret
code_eax_end:
code_ebx:
    mov [rbp + 0x80], ebx
    ret
code_ebx_end:

LIB64
LIB_LONG64
msg_case1a: db "codepage: W -> P1 (from EAX 20, EBX 21)", 0
msg_case1b: db "codepage: W -> P1 again (from EAX 30, EBX 31)", 0
msg_case2:  db "codepage: PTE moved to P2 (from EAX 40, EBX 41)", 0
msg_case3:  db "codepage: PDE moved to a table mapping P1 (from EAX 50, EBX 51)", 0
msg_case4:  db "codepage: CR3 moved to tables mapping P2 (from EAX 60, EBX 61)", 0
msg_case5:  db "codepage: CR3 back (from EAX 70, EBX 71)", 0
msg_tpr:    db ": TPR ", 0
msg_done:   db "codepage: done", 10, 0

ROM_END
