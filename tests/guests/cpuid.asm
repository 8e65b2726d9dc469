; CPUID as a guest sees it: the hypervisor leaves at 40000000h, the
; hypervisor-present bit (leaf 1 ECX[31]) and the virtualization features
; Zazen hides; and a hypercall Zazen does not know. Every printed value is
; what the CPU returned.
%include "lib.inc"
ROM_BEGIN

%define TICK_COUNT 0x600
%define TICKS 1000

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000

    mov eax, 0x40000000
    cpuid
    mov [0x500], ebx
    mov [0x504], ecx
    mov [0x508], edx
    push eax
    PUTS16 msg_sig
    mov si, 0x500
    mov cx, 12
.sig:
    lodsb                   ; DS:SI, the bytes CPUID returned
    out DEBUGCON, al
    loop .sig
    NEWLINE
    PUTS16 msg_max
    pop eax
    call hex16_32
    NEWLINE

    mov eax, 1
    cpuid
    mov si, msg_hv_set
    bt ecx, 31
    jc .hv
    mov si, msg_hv_clear
.hv:
    call print16
    mov si, msg_monitor_hidden
    bt ecx, 3               ; MONITOR/MWAIT
    jnc .mon
    mov si, msg_monitor_shown
.mon:
    call print16

    mov eax, 0x80000001
    cpuid
    mov si, msg_svm_hidden
    bt ecx, 2               ; SVM
    jnc .svm
    mov si, msg_svm_shown
.svm:
    call print16

    ; RDTSCP/IA32_TSC_AUX where the CPU has them (Bochs Haswell, not
    ; qemu64): what the guest writes, RDTSCP reads back in ECX.
    bt edx, 27
    jnc .no_rdtscp
    mov ecx, 0xc0000103     ; IA32_TSC_AUX
    mov eax, 0x5a5a
    xor edx, edx
    wrmsr
    xor ecx, ecx
    rdtscp
    PUTS16 msg_tsc_aux
    mov eax, ecx
    call hex16_32
    NEWLINE
    jmp .leaf15
.no_rdtscp:
    PUTS16 msg_no_rdtscp

    ; Leaf 15h, the TSC rate (Intel): ECX Hz * EBX / EAX, printed in kHz
    ; (hex) as Linux computes it: ECX / 1000 * EBX / EAX.
.leaf15:
    xor eax, eax
    cpuid
    cmp eax, 0x15
    jb .no_leaf15
    mov eax, 0x15
    cpuid
    mov esi, eax            ; the denominator
    mov eax, ecx
    xor edx, edx
    mov ecx, 1000
    div ecx                 ; crystal kHz
    mul ebx
    div esi
    push eax
    PUTS16 msg_leaf15
    pop eax
    call hex16_32
    PUTS16 msg_khz
    jmp .done
.no_leaf15:
    PUTS16 msg_no_leaf15
.done:

    ; A hypercall Zazen does not know: refused with -ENOSYS in RAX (the Xen
    ; ABI's answer), the guest goes on. VMCALL on Intel, VMMCALL on AMD.
    xor eax, eax
    cpuid
    mov eax, 0xdead
    cmp ebx, 0x756e6547     ; "Genu"(ineIntel)
    jne .amd
    vmcall
    jmp .answered
.amd:
    vmmcall
.answered:
    push eax
    PUTS16 msg_hypercall
    pop eax
    call hex16_32
    NEWLINE

    ; The PIT's tick keeps coming while the guest does nothing but CPUID:
    ; every one of those exits may take the run loop's quick way back, and
    ; a host timer interrupt that lands in the exit's own window (on AMD-V
    ; between #VMEXIT and STGI) must not be lost with it. IRQ0 at 1 kHz
    ; through the 8259 (8254 mode 2, count 1193), TICKS of them counted
    ; by the handler while the loop runs CPUID alone.
    ; The 8259's INTR reaches the CPU through LINT0 as ExtINT (virtual
    ; wire, MP specification 1.4, 3.6.2.2): the local APIC's registers
    ; are above 1 MiB, reached through FS with a 4 GiB limit.
    o32 lgdt [cs:unreal_gdt_ptr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp .pm
.pm:
    mov bx, 0x08
    mov fs, bx
    and al, 0xfe
    mov cr0, eax
    jmp .rm
.rm:
    xor bx, bx
    mov fs, bx
    mov esi, 0xfee000f0
    mov dword [fs:esi], 0x1ff           ; SVR: enabled, spurious vector FFh
    mov esi, 0xfee00350
    mov dword [fs:esi], 0x700           ; LINT0: ExtINT
    mov word [8 * 4], isr_tick
    mov word [8 * 4 + 2], cs
    mov dword [TICK_COUNT], 0
    mov al, 0x11            ; ICW1: edge, cascade, ICW4
    out 0x20, al
    mov al, 0x08            ; ICW2: IRQ0-7 on vectors 08h-0Fh
    out 0x21, al
    mov al, 0x04            ; ICW3: slave on IRQ2
    out 0x21, al
    mov al, 0x01            ; ICW4: 8086 mode
    out 0x21, al
    mov al, 0xfe            ; IRQ0 only
    out 0x21, al
    mov al, 0x34            ; channel 0, lo/hi, mode 2, binary
    out 0x43, al
    mov al, 1193 & 0xff
    out 0x40, al
    mov al, 1193 >> 8
    out 0x40, al
    sti
.spin:
    xor eax, eax
    cpuid
    cmp dword [TICK_COUNT], TICKS
    jb .spin
    cli
    PUTS16 msg_ticks
    cli
    hlt

isr_tick:
    push ds
    push word 0
    pop ds
    inc dword [TICK_COUNT]
    pop ds
    push ax
    mov al, 0x20
    out 0x20, al
    pop ax
    iret

align 8
unreal_gdt:
    dq 0
    dq 0x00cf93000000ffff               ; flat data, accessed (the GDT is in ROM)
unreal_gdt_ptr:
    dw 15
    dd 0xf0000 + unreal_gdt

LIB16
msg_sig:            db "cpuid: signature ", 0
msg_max:            db "cpuid: max hypervisor leaf ", 0
msg_hv_set:         db "cpuid: hypervisor bit set", 10, 0
msg_hv_clear:       db "cpuid: hypervisor bit clear", 10, 0
msg_monitor_hidden: db "cpuid: monitor/mwait hidden", 10, 0
msg_monitor_shown:  db "cpuid: monitor/mwait offered", 10, 0
msg_svm_hidden:     db "cpuid: svm hidden", 10, 0
msg_svm_shown:      db "cpuid: svm offered", 10, 0
msg_tsc_aux:        db "cpuid: rdtscp reads tsc_aux ", 0
msg_no_rdtscp:      db "cpuid: no rdtscp", 10, 0
msg_leaf15:         db "cpuid: leaf 15h TSC ", 0
msg_khz:            db " kHz", 10, 0
msg_no_leaf15:      db "cpuid: no leaf 15h", 10, 0
msg_hypercall:      db "cpuid: unknown hypercall returns ", 0
msg_ticks:          db "cpuid: 1000 timer ticks while looping on CPUID", 10, 0

ROM_END
