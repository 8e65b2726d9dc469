; paravirt = kvm as a guest sees it (Linux Documentation/virt/kvm/x86/
; cpuid.rst and msr.rst), and an hvm domain without it. With it:
;   - CPUID 4000_0000h: EAX the last KVM leaf, EBX:ECX:EDX "KVMKVMKVM\0\0\0";
;     4000_0001h: EAX the features (CLOCKSOURCE2, CLOCKSOURCE_STABLE_BIT),
;     EDX the hints; CPUID.1:ECX.x2APIC, which paravirt = kvm brings;
;   - the wall clock MSR 4b564d00h fills a pvclock_wall_clock (version
;     even afterwards, seconds of a plausible date);
;   - the system time MSR 4b564d01h fills this vCPU's
;     pvclock_vcpu_time_info (version even, flags), and kvmclock read
;     with the pvclock formula runs at the ACPI PM timer's rate (both are
;     the domain's clock, so the ratio holds under TCG too), and reads the
;     MSR back;
;   - areas KVM would not write (across a page, unaligned, outside RAM,
;     in the ROM) are taken without a fault and not written;
; without it: Zazen's signature, no x2APIC bit, #GP on both MSRs.
; Every line says what was seen; the test compares. ACPI soft-off at the end.
%include "lib.inc"
%include "long64.inc"
ROM_BEGIN

%define MSR_WALL      0x4b564d00
%define MSR_TIME      0x4b564d01
%define WALL          0x30000   ; pvclock_wall_clock: version, sec, nsec
%define TIME          0x30100   ; pvclock_vcpu_time_info, 32 bytes
%define ACROSS        0x30ff0   ; 32 bytes from here cross into 31000h
%define UNALIGNED     0x30802
%define PM_TMR        0xb008    ; 3.579545 MHz (ACPI 4.8.4.3)
%define PM_TICKS      1000000   ; about 279 ms
%define PM_PS_PER_TICK 279365  ; 10^12 / 3579545
%define PM_BRACKET    1000      ; 279 us
%define YEAR_2000_LESS_A_WEEK 946080000

start:
    LONG_MODE_ENTER main64

bits 64
main64:
    CATCH_GATES
    mov eax, 0x40000000
    cpuid
    cmp ebx, 0x4b4d564b                 ; "KVMK"
    jne plain

    push rdx
    push rcx
    push rbx
    push rax
    SAY msg_leaf0
    pop rax
    call hex32_64
    SAY msg_ebx
    pop rax
    call hex32_64
    SAY msg_ecx
    pop rax
    call hex32_64
    SAY msg_edx
    pop rax
    call hex32_64
    NEWLINE
    mov eax, 0x40000001
    cpuid
    push rdx
    SAY msg_leaf1
    call hex32_64
    SAY msg_edx
    pop rax
    call hex32_64
    NEWLINE
    call say_x2apic

    ; the wall clock, over junk with an odd version
    mov dword [WALL], 7
    mov dword [WALL + 4], 0
    WRMSR MSR_WALL, 0, WALL
    SAY msg_wall
    mov eax, [WALL]
    call hex32_64
    SAY msg_wall_sec
    mov rsi, ROM(msg_yes)
    cmp dword [WALL + 4], YEAR_2000_LESS_A_WEEK
    jae .recent
    mov rsi, ROM(msg_no)
.recent:
    call print64

    ; the system time
    mov dword [TIME], 3
    WRMSR MSR_TIME, 0, TIME | 1
    SAY msg_time
    mov eax, [TIME]
    call hex32_64
    SAY msg_flags
    mov al, [TIME + 29]
    call hex8_64
    NEWLINE
    mov ecx, MSR_TIME
    rdmsr
    SAY msg_readback
    call hex32_64
    NEWLINE

    ; kvmclock against the PM timer: each a reading bracketed by PM
    ; timer reads, taken again if the vCPU lost the CPU in between
    call sample
    mov r14, r12
    mov r15d, r13d
.wait:
    mov dx, PM_TMR
    in eax, dx
    sub eax, r15d
    cmp eax, PM_TICKS
    jb .wait
    call sample
    sub r12, r14                        ; kvmclock ns
    sub r13d, r15d                      ; PM timer ticks
    mov eax, r13d
    imul rax, rax, PM_PS_PER_TICK
    xor edx, edx
    mov rcx, 1000
    div rcx                             ; the PM timer's ns
    mov rcx, rax
    shr rcx, 7                          ; a tolerance under 1% (1/128)
    mov rdx, r12
    sub rdx, rax
    jae .positive
    neg rdx
.positive:
    SAY msg_rate
    mov rsi, ROM(msg_matches)
    cmp rdx, rcx
    jbe .said
    mov rsi, ROM(msg_differs)
.said:
    call print64
    cmp rsi, ROM(msg_matches)
    je .bad_areas
    mov rax, r12
    call dec64
    SAY msg_ns_for
    mov eax, r13d
    call dec64
    NEWLINE

    ; areas KVM would not write: no fault, nothing written
.bad_areas:
    mov rbx, ACROSS | 1
    mov rsi, ROM(msg_across)
    call try_bad_area
    mov rbx, UNALIGNED | 1
    mov rsi, ROM(msg_unaligned)
    call try_bad_area
    TRY .outside_done                   ; outside RAM (16M): nothing to write
    WRMSR MSR_TIME, 0, 0x80000001
.outside_done:
    SAY msg_outside
    call print_caught
    TRY .rom_done                       ; the firmware ROM: read-only
    WRMSR MSR_TIME, 0, 0xffff0001
.rom_done:
    SAY msg_rom
    call print_caught
    TRY .high_done                      ; above 4 GiB
    WRMSR MSR_TIME, 1, 1
.high_done:
    SAY msg_high
    call print_caught
    mov ecx, MSR_TIME
    rdmsr
    SAY msg_readback_high
    shl rdx, 32
    or rax, rdx
    call hex64
    NEWLINE
    ; registered again where it may be: written again, version on
    WRMSR MSR_TIME, 0, TIME | 1
    SAY msg_again
    mov eax, [TIME]
    call hex32_64
    NEWLINE
    jmp done

; plain hvm: no KVM interface
plain:
    mov [0x500], ebx
    mov [0x504], ecx
    mov [0x508], edx
    mov byte [0x50c], 0
    SAY msg_plain_sig
    mov rsi, 0x500
    call print64
    NEWLINE
    call say_x2apic
    SAY msg_plain_rdmsr
    TRY .r
    mov ecx, MSR_TIME
    rdmsr
.r:
    call print_caught
    SAY msg_plain_wrmsr
    TRY .w
    WRMSR MSR_WALL, 0, WALL
.w:
    call print_caught

done:
    SAY msg_done
    ACPI_POWER_OFF

say_x2apic:
    mov eax, 1
    cpuid
    SAY msg_x2apic
    shr ecx, 21
    and ecx, 1
    mov eax, ecx
    call dec64
    NEWLINE
    ret

; RBX the MSR value, RSI the line's text: fills the 32 bytes at the
; address with 5Ah, writes the MSR, and says whether it faulted and
; whether any of the bytes changed.
try_bad_area:
    call print64
    mov rdi, rbx
    and rdi, ~1
    push rdi
    mov al, 0x5a
    mov ecx, 32
    rep stosb
    TRY .done
    mov ecx, MSR_TIME
    mov eax, ebx
    xor edx, edx
    wrmsr
.done:
    call print_caught_inline
    pop rdi
    mov al, 0x5a
    mov ecx, 32
    repe scasb
    mov rsi, ROM(msg_untouched)
    je .said
    mov rsi, ROM(msg_written)
.said:
    call print64
    ret

print_caught_inline:
    mov rsi, ROM(msg_no_fault_inline)
    cmp byte [CATCH_VECTOR], 13
    jne .p
    mov rsi, ROM(msg_gp_inline)
.p:
    jmp print64

; kvmclock now, in RAX (ns): the pvclock formula (msr.rst), retried while
; the version is odd or changes.
; sample: R12 kvmclock (ns), R13D the PM timer just before it, read
; within PM_BRACKET ticks of each other.
sample:
    mov dx, PM_TMR
    in eax, dx
    mov r13d, eax
    call read_kvmclock
    mov r12, rax
    mov dx, PM_TMR
    in eax, dx
    sub eax, r13d
    cmp eax, PM_BRACKET
    ja sample
    ret

read_kvmclock:
.retry:
    mov r8d, [TIME]
    test r8d, 1
    jnz .retry
    rdtsc
    shl rdx, 32
    or rax, rdx
    sub rax, [TIME + 8]                 ; tsc_timestamp
    movsx ecx, byte [TIME + 28]         ; tsc_shift
    test ecx, ecx
    js .right
    shl rax, cl
    jmp .scale
.right:
    neg ecx
    shr rax, cl
.scale:
    mov r9d, [TIME + 24]                ; tsc_to_system_mul
    mul r9
    shrd rax, rdx, 32
    add rax, [TIME + 16]                ; system_time
    cmp r8d, [TIME]
    jne .retry
    ret

; hex32_64: writes EAX as 8 hex digits.
hex32_64:
    push rax
    push rcx
    push rdx
    mov edx, eax
    mov ecx, 8
.digit:
    rol edx, 4
    mov al, dl
    and al, 0x0f
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '9' - 1
.out:
    out DEBUGCON, al
    loop .digit
    pop rdx
    pop rcx
    pop rax
    ret

LIB64
LIB_LONG64
msg_leaf0:          db "kvm: CPUID 40000000h eax ", 0
msg_leaf1:          db "kvm: CPUID 40000001h eax ", 0
msg_ebx:            db " ebx ", 0
msg_ecx:            db " ecx ", 0
msg_edx:            db " edx ", 0
msg_x2apic:         db "kvm: CPUID.1:ECX.x2APIC ", 0
msg_wall:           db "kvm: wall clock version ", 0
msg_wall_sec:       db ", seconds at boot after 1999-12-25: ", 0
msg_yes:            db "yes", 10, 0
msg_no:             db "no", 10, 0
msg_time:           db "kvm: system time version ", 0
msg_flags:          db ", flags ", 0
msg_readback:       db "kvm: MSR 4b564d01h reads ", 0
msg_rate:           db "kvm: kvmclock against the PM timer over 279 ms: ", 0
msg_matches:        db "the same time within 1%", 10, 0
msg_differs:        db "differs: ns ", 0
msg_ns_for:         db " for PM timer ticks ", 0
msg_across:         db "kvm: system time area across a page: ", 0
msg_unaligned:      db "kvm: system time area not 4-byte aligned: ", 0
msg_no_fault_inline: db "no fault", 0
msg_gp_inline:      db "#GP", 0
msg_untouched:      db ", not written", 10, 0
msg_written:        db ", WRITTEN", 10, 0
msg_outside:        db "kvm: system time area outside RAM: ", 0
msg_rom:            db "kvm: system time area in the ROM: ", 0
msg_high:           db "kvm: system time area above 4 GiB: ", 0
msg_readback_high:  db "kvm: MSR 4b564d01h reads ", 0
msg_again:          db "kvm: registered again: version ", 0
msg_plain_sig:      db "kvm: CPUID 40000000h signature ", 0
msg_plain_rdmsr:    db "kvm: RDMSR 4b564d01h: ", 0
msg_plain_wrmsr:    db "kvm: WRMSR 4b564d00h: ", 0
msg_done:           db "kvm: done", 10, 0
ROM_END
