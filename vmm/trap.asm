; Trap entry stubs and the exception-safe MSR accessors.
; Every vector gets a stub that makes the stack look the same (an error code,
; real or zero, then the vector number) and jumps to a common path that saves
; the general registers as struct trap_frame (vmm/cpu.h) and calls
; trap_dispatch(frame). Which vectors push an error code: SDM 3A 6.15.

bits 64
default rel
section .text

extern trap_dispatch

%macro STUB_NOERR 1
trap_stub_%1:
    push 0
    push %1
    jmp trap_common
%endmacro
%macro STUB_ERR 1
trap_stub_%1:
    push %1
    jmp trap_common
%endmacro

%assign v 0
%rep 256
%if v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30
    STUB_ERR v
%else
    STUB_NOERR v
%endif
%assign v v+1
%endrep

trap_common:
    cld
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    call trap_dispatch
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                    ; vector and error code
    iretq

; Table of stub addresses for the IDT builder (vmm/cpu.c).
section .data
global trap_stub_table
trap_stub_table:
%assign v 0
%rep 256
    dq trap_stub_ %+ v
%assign v v+1
%endrep

section .text
; bool rdmsr_safe(u32 msr, u64 *value)
; If RDMSR faults, trap_dispatch finds the faulting RIP in msr_fixups and
; resumes at the paired address with the result register cleared.
global rdmsr_safe
rdmsr_safe:
    mov ecx, edi
.insn:
    rdmsr
    shl rdx, 32
    mov eax, eax
    or rax, rdx
    mov [rsi], rax
    mov eax, 1
    ret
.fault:
    xor eax, eax
    ret

; bool wrmsr_safe(u32 msr, u64 value)
global wrmsr_safe
wrmsr_safe:
    mov ecx, edi
    mov eax, esi
    mov rdx, rsi
    shr rdx, 32
.insn:
    wrmsr
    mov eax, 1
    ret
.fault:
    xor eax, eax
    ret

section .data
global msr_fixups
global msr_fixups_count
msr_fixups:
    dq rdmsr_safe.insn, rdmsr_safe.fault
    dq wrmsr_safe.insn, wrmsr_safe.fault
msr_fixups_count:
    dq 2

section .note.GNU-stack noalloc noexec nowrite progbits
