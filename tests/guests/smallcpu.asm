; Smaller CPU rules (issue 12 item 13): IA32_MISC_ENABLE keeps its
; writable bits (SDM 4 Table 2-2); REPE CMPS and REPNE SCAS work on
; addresses the emulator serves (here nothing: all ones); clearing
; IA32_APIC_BASE.EN makes CPUID.1:EDX.APIC read 0 and takes the xAPIC page
; away until it is set again (SDM 3A 11.4.3); the xAPIC page follows a
; new base (11.4.4). Flat 32-bit protected mode.
%include "lib.inc"
ROM_BEGIN

%define ROM(x) (0xf0000 + (x))
%define HOLE 0xc0000000
%define APIC_VERSION 0xfee00030

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

    ; IA32_MISC_ENABLE: set EIST (16), limit CPUID maxval (22), xTPR
    ; disable (23) and XD disable (34), keep fast strings (0); on Intel
    ; CPUs 22 and 34 change CPUID (SDM 4 Table 2-2), on AMD ones nothing
    mov ecx, 0x1a0
    rdmsr
    or eax, (1 << 16) | (1 << 22) | (1 << 23)
    or edx, 1 << (34 - 32)
    wrmsr
    rdmsr
    push edx
    mov esi, ROM(msg_misc)
    call report
    pop eax
    mov esi, ROM(msg_misc_high)
    call report
    mov esi, ROM(msg_limited)
    call report_cpuid_limits
    ; both cleared again: CPUID as before
    mov ecx, 0x1a0
    rdmsr
    and eax, ~(1 << 22)
    and edx, ~(1 << (34 - 32))
    wrmsr
    mov esi, ROM(msg_unlimited)
    call report_cpuid_limits

    ; REPE CMPSB: nothing (FFh) against RAM holding FF FF FF 00 ...
    mov dword [0x8000], 0x00ffffff
    mov esi, HOLE
    mov edi, 0x8000
    mov ecx, 8
    cld
    repe cmpsb
    mov eax, ecx
    mov esi, ROM(msg_cmps)
    call report
    ; REPNE SCASB for FFh over nothing: found at once
    mov al, 0xff
    mov edi, HOLE
    mov ecx, 8
    repne scasb
    mov eax, ecx
    mov esi, ROM(msg_scas)
    call report

    ; IA32_APIC_BASE.EN off, then on again
    mov ecx, 0x1b
    rdmsr
    and eax, ~(1 << 11)
    wrmsr
    mov eax, 1
    cpuid
    mov eax, edx
    shr eax, 9
    and eax, 1
    mov esi, ROM(msg_apic_off)
    call report
    mov eax, [APIC_VERSION]
    mov esi, ROM(msg_version_off)
    call report
    mov ecx, 0x1b
    rdmsr
    or eax, 1 << 11
    wrmsr
    mov eax, 1
    cpuid
    mov eax, edx
    shr eax, 9
    and eax, 1
    mov esi, ROM(msg_apic_on)
    call report
    mov eax, [APIC_VERSION]
    mov esi, ROM(msg_version_on)
    call report

    ; the xAPIC page moved to FEE80000h (SDM 3A 11.4.4): there it answers,
    ; at FEE00000h nothing does; then back
    mov ecx, 0x1b
    rdmsr
    and eax, 0xfff
    or eax, 0xfee80000
    wrmsr
    mov eax, [APIC_VERSION + 0x80000]
    mov esi, ROM(msg_moved_new)
    call report
    mov eax, [APIC_VERSION]
    mov esi, ROM(msg_moved_old)
    call report
    mov ecx, 0x1b
    rdmsr
    and eax, 0xfff
    or eax, 0xfee00000
    wrmsr
    mov eax, [APIC_VERSION]
    mov esi, ROM(msg_moved_back)
    call report
    mov esi, ROM(msg_done)
    call print32
    NEWLINE
    cli
    hlt

; report_cpuid_limits: prints the string at ESI, then whether CPUID leaf
; 0 reports more than 2 leaves and whether 8000_0001h EDX has NX (20).
report_cpuid_limits:
    call print32
    xor eax, eax
    cpuid
    cmp eax, 2
    seta al
    movzx eax, al
    mov esi, ROM(msg_above2)
    call report
    mov eax, 0x80000001
    cpuid
    mov eax, edx
    shr eax, 20
    and eax, 1
    mov esi, ROM(msg_nx)
    call report
    ret

REPORT32

LIB16
LIB32

FLAT_GDT32

msg_misc:        db "smallcpu: IA32_MISC_ENABLE after setting bits 16, 22, 23 and 34: ", 0
msg_misc_high:   db "smallcpu: its high half: ", 0
msg_limited:     db "smallcpu: with bits 22 and 34 set:", 0
msg_unlimited:   db "smallcpu: with bits 22 and 34 clear again:", 0
msg_above2:      db " leaf 0 above 2 = ", 0
msg_nx:          db "smallcpu: and NX = ", 0
msg_cmps:        db "smallcpu: repe cmpsb against nothing stopped with ECX = ", 0
msg_scas:        db "smallcpu: repne scasb for ffh in nothing stopped with ECX = ", 0
msg_apic_off:    db "smallcpu: APIC_BASE.EN clear: CPUID.1:EDX.APIC = ", 0
msg_version_off: db "smallcpu: APIC_BASE.EN clear: the xAPIC version register reads ", 0
msg_apic_on:     db "smallcpu: APIC_BASE.EN set again: CPUID.1:EDX.APIC = ", 0
msg_version_on:  db "smallcpu: APIC_BASE.EN set again: the xAPIC version register reads ", 0
msg_moved_new:   db "smallcpu: APIC base moved to fee80000: the version register there reads ", 0
msg_moved_old:   db "smallcpu: APIC base moved to fee80000: fee00030 reads ", 0
msg_moved_back:  db "smallcpu: APIC base back at fee00000: the version register reads ", 0
msg_done:        db "smallcpu: done", 0

ROM_END
