; The AMD-V world switch (APM 2 15.5 VMRUN, 15.6 #VMEXIT, 15.5.2 VMLOAD/
; VMSAVE).
;
; void svm_enter(u64 vmcb_pa, u64 *gpr, u64 host_state_pa)
;
; VMRUN saves and restores only part of the host: RAX (holding the VMCB
; address), RSP and RIP come back, every other general register holds the
; guest's value after #VMEXIT. FS, GS, TR, LDTR, KernelGSBase, STAR/LSTAR/
; CSTAR/SFMASK and SYSENTER_* are not switched by VMRUN at all: VMLOAD puts
; the guest's in place before the run, VMSAVE keeps them after it, and a
; VMLOAD of the host's own save area (taken once per CPU) restores Zazen's
; TR. GIF is cleared around the whole sequence so nothing interrupts the
; switch half done.
;
; Host interrupts: with V_INTR_MASKING the host's RFLAGS.IF at VMRUN
; decides whether a physical interrupt exits the guest (APM 2 15.21.1), so
; IF is set (GIF still clear) before VMRUN. After the exit, STGI with IF
; set lets the interrupt that caused it (the host timer) reach Zazen's
; handler, then CLI closes the window again.
;
; gpr[] is indexed as enum gpr (vmm/vcpu.h): rax rcx rdx rbx rsp rbp rsi rdi
; r8..r15. RAX and RSP live in the VMCB; the C side copies them.

bits 64
default rel
section .text

global svm_enter
global svm_after_vmrun
svm_enter:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    push rdx                ; [rsp+16] host state area
    push rsi                ; [rsp+8]  guest gpr array
    push rdi                ; [rsp]    guest VMCB

    clgi
    sti
    mov rax, rdi
    vmload                ; implicit operand: the VMCB address in RAX
    mov rcx, [rsi + 1*8]
    mov rdx, [rsi + 2*8]
    mov rbx, [rsi + 3*8]
    mov rbp, [rsi + 5*8]
    mov rdi, [rsi + 7*8]
    mov r8,  [rsi + 8*8]
    mov r9,  [rsi + 9*8]
    mov r10, [rsi + 10*8]
    mov r11, [rsi + 11*8]
    mov r12, [rsi + 12*8]
    mov r13, [rsi + 13*8]
    mov r14, [rsi + 14*8]
    mov r15, [rsi + 15*8]
    mov rsi, [rsi + 6*8]
    vmrun                ; implicit operand: the VMCB address in RAX
svm_after_vmrun:         ; where Bochs 2.7 may deliver a guest's single-step trap (svm.c)
    ; #VMEXIT: RAX = guest VMCB again, RSP = ours, the rest are the guest's.
    push rsi
    mov rsi, [rsp + 16]
    mov [rsi + 1*8], rcx
    mov [rsi + 2*8], rdx
    mov [rsi + 3*8], rbx
    mov [rsi + 5*8], rbp
    mov [rsi + 7*8], rdi
    mov [rsi + 8*8], r8
    mov [rsi + 9*8], r9
    mov [rsi + 10*8], r10
    mov [rsi + 11*8], r11
    mov [rsi + 12*8], r12
    mov [rsi + 13*8], r13
    mov [rsi + 14*8], r14
    mov [rsi + 15*8], r15
    pop rcx
    mov [rsi + 6*8], rcx
    vmsave                ; implicit operand: the VMCB address in RAX
    mov rax, [rsp + 16]
    vmload                ; implicit operand: the VMCB address in RAX
    stgi
    cli

    add rsp, 24
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
