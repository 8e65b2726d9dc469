; The VT-x world switch (SDM 3C 26 "VM entries", 28.5 "loading host
; state"). Mirrors svm/svm_run.asm.
;
; int vmx_enter(u64 *gpr, int launched)
;   returns 0 after a VM exit, 1 if VMLAUNCH/VMRESUME failed with
;   VMfailValid (the reason is in the VM-instruction error field) and 2 on
;   VMfailInvalid (no current VMCS).
;
; A VM exit restores only what the host-state area holds: RSP and RIP come
; from HOST_RSP/HOST_RIP, the general registers keep the guest's values.
; So HOST_RSP is written here, pointing at the saved gpr pointer, and
; HOST_RIP points at vmx_exit_stub, which stores the guest's registers and
; returns from vmx_enter as if from a call. gpr[] is indexed as enum gpr
; (vmm/vcpu.h); RSP lives in the VMCS.

bits 64
default rel
section .text

VMCS_HOST_RSP equ 0x6c14

; The host's callee-saved registers, which the guest's replace (the exit
; stub pops them back).
%macro push_host_callee_saved 0
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
%endmacro

; The guest's general registers from the gpr array at RDI (RSP is in the
; VMCS), RDI last; flags untouched.
%macro load_guest_gprs 0
    mov rax, [rdi + 0*8]
    mov rcx, [rdi + 1*8]
    mov rdx, [rdi + 2*8]
    mov rbx, [rdi + 3*8]
    mov rbp, [rdi + 5*8]
    mov rsi, [rdi + 6*8]
    mov r8,  [rdi + 8*8]
    mov r9,  [rdi + 9*8]
    mov r10, [rdi + 10*8]
    mov r11, [rdi + 11*8]
    mov r12, [rdi + 12*8]
    mov r13, [rdi + 13*8]
    mov r14, [rdi + 14*8]
    mov r15, [rdi + 15*8]
    mov rdi, [rdi + 7*8]
%endmacro

global vmx_enter
global vmx_resume_again
global vmx_exit_stub
vmx_enter:
    push_host_callee_saved
    push rdi                    ; [rsp]: the guest gpr array
    mov rax, VMCS_HOST_RSP
    vmwrite rax, rsp
    jbe .fail                   ; CF or ZF: the VMWRITE failed

    test esi, esi               ; flags survive the MOVs below
    load_guest_gprs
    jnz .resume
    vmlaunch
    jmp .fail
.resume:
    vmresume
.fail:
    ; Still here: the entry failed. CF=1 means VMfailInvalid, ZF=1 VMfailValid.
    setc al
    movzx eax, al
    inc eax
    add rsp, 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

; int vmx_resume_again(u64 *gpr)
;   VMRESUME after a fast exit, called from the same frame as the
;   vmx_enter before it (vmx_vcpu_run's loop): the stack pointer at the
;   point where vmx_enter wrote HOST_RSP is this one too (the same caller's
;   stack pointer, the same pushes), so the field already holds it and is
;   not written again. Returns as vmx_enter does.
vmx_resume_again:
    push_host_callee_saved
    push rdi
    load_guest_gprs
    vmresume
    jmp vmx_enter.fail

vmx_exit_stub:
    push rax                    ; the guest's RAX; [rsp+8] is the gpr array
    mov rax, [rsp + 8]
    mov [rax + 1*8], rcx
    mov [rax + 2*8], rdx
    mov [rax + 3*8], rbx
    mov [rax + 5*8], rbp
    mov [rax + 6*8], rsi
    mov [rax + 7*8], rdi
    mov [rax + 8*8], r8
    mov [rax + 9*8], r9
    mov [rax + 10*8], r10
    mov [rax + 11*8], r11
    mov [rax + 12*8], r12
    mov [rax + 13*8], r13
    mov [rax + 14*8], r14
    mov [rax + 15*8], r15
    pop rcx
    mov [rax + 0*8], rcx
    add rsp, 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    xor eax, eax
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
