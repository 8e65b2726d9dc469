; Writes the CPU refuses with #GP (or #UD), each caught by the guest's
; own handler and printed: EFER with a reserved bit, SVME (SVM is not
; offered), TCE, LME cleared while paging; PAT with a reserved memory
; type or reserved bits; CR4 with a reserved bit or a feature CPUID does
; not offer (PCIDE, PKE, VMXE); CR0 bits 63:32; an MTRR default type
; that is no memory type (CPUID offers no MTRRs, but firmware such as
; U-Boot uses them without asking: valid values are kept); XSETBV before CR4.OSXSAVE, at ECX = 1 and with values
; XCR0 cannot take. Valid writes read back what was written, XGETBV shows
; the guest's own XCR0, and CPUID.1 OSXSAVE follows CR4. None of it may
; end the domain ("VM entry failed").
%include "lib.inc"
%include "long64.inc"
ROM_BEGIN

; TRY_PRINT msg: prints msg, then what the instruction block since the
; matching TRY_BEGIN did (#GP, #UD or no fault).
%macro TRY_BEGIN 0
    TRY %%caught
%push try
%define %$caught %%caught
%endmacro
%macro TRY_PRINT 1
%$caught:
%pop
    SAY %1
    call print_caught
%endmacro

start:
    LONG_MODE_ENTER main64

bits 64
main64:
    CATCH_GATES
    mov ecx, 0xc0000080
    rdmsr
    mov r12d, eax               ; EFER as it is: SCE? LME, LMA

    TRY_BEGIN
    mov ecx, 0xc0000080
    mov eax, r12d
    or eax, 1 << 2              ; reserved
    xor edx, edx
    wrmsr
    TRY_PRINT msg_efer_reserved

    TRY_BEGIN
    mov ecx, 0xc0000080
    mov eax, r12d
    or eax, 1 << 12             ; SVME
    xor edx, edx
    wrmsr
    TRY_PRINT msg_efer_svme

    TRY_BEGIN
    mov ecx, 0xc0000080
    mov eax, r12d
    or eax, 1 << 15             ; TCE
    xor edx, edx
    wrmsr
    TRY_PRINT msg_efer_tce

    TRY_BEGIN
    mov ecx, 0xc0000080
    mov eax, r12d
    and eax, ~(1 << 8)          ; LME off while paging
    xor edx, edx
    wrmsr
    TRY_PRINT msg_efer_lme

    TRY_BEGIN
    mov ecx, 0xc0000080
    mov eax, r12d
    or eax, 1 << 11             ; NXE: offered
    xor edx, edx
    wrmsr
    TRY_PRINT msg_efer_nxe
    mov ecx, 0xc0000080
    rdmsr
    SAY msg_efer_reads
    call hex64
    NEWLINE

    ; PAT
    TRY_BEGIN
    mov ecx, 0x277
    mov eax, 0x00070402         ; entry 0: type 2, reserved
    mov edx, 0x00070406
    wrmsr
    TRY_PRINT msg_pat_type2
    TRY_BEGIN
    mov ecx, 0x277
    mov eax, 0x0007040e         ; entry 0: bit 3 set
    mov edx, 0x00070406
    wrmsr
    TRY_PRINT msg_pat_bit3
    TRY_BEGIN
    mov ecx, 0x277
    mov eax, 0x00070106         ; entry 1: WC
    mov edx, 0x00070406
    wrmsr
    TRY_PRINT msg_pat_wc
    mov ecx, 0x277
    rdmsr
    shl rdx, 32
    or rax, rdx
    SAY msg_pat_reads
    call hex64
    NEWLINE

    ; CR4 and CR0
    mov rbx, cr4
    TRY_BEGIN
    mov rax, rbx
    bts rax, 15                 ; reserved
    mov cr4, rax
    TRY_PRINT msg_cr4_15
    ; a fault is delivered with RF set in the frame's RFLAGS (SDM 3A 6.6),
    ; also one a hypervisor raises for an instruction it emulated
    mov rax, [CATCH_RFLAGS]
    shr rax, 16
    and eax, 1
    SAY msg_cr4_15_rf
    call hex8_64
    NEWLINE
    TRY_BEGIN
    mov rax, rbx
    bts rax, 17                 ; PCIDE: CPUID offers no PCID
    mov cr4, rax
    TRY_PRINT msg_cr4_pcide
    TRY_BEGIN
    mov rax, rbx
    bts rax, 22                 ; PKE: no protection keys
    mov cr4, rax
    TRY_PRINT msg_cr4_pke
    TRY_BEGIN
    mov rax, rbx
    bts rax, 13                 ; VMXE: no VMX
    mov cr4, rax
    TRY_PRINT msg_cr4_vmxe
    mov cr4, rbx
    TRY_BEGIN
    mov rax, cr0
    bts rax, 32
    mov cr0, rax
    TRY_PRINT msg_cr0_high

    ; MTRRs
    mov eax, 1
    cpuid
    mov rsi, ROM(msg_mtrr_hidden)
    bt edx, 12
    jnc .mtrr_cpuid
    mov rsi, ROM(msg_mtrr_offered)
.mtrr_cpuid:
    call print64
    TRY_BEGIN
    mov ecx, 0xfe               ; IA32_MTRRCAP
    rdmsr
    TRY_PRINT msg_mtrrcap
    TRY_BEGIN
    mov ecx, 0x2ff              ; IA32_MTRR_DEF_TYPE: E, type WB
    mov eax, 0x806
    xor edx, edx
    wrmsr
    TRY_PRINT msg_mtrr_def
    TRY_BEGIN
    mov ecx, 0x2ff              ; type 2 is reserved (SDM 3A 12.11.2 table 12-8)
    mov eax, 0x802
    xor edx, edx
    wrmsr
    TRY_PRINT msg_mtrr_def_bad
    mov ecx, 0x2ff
    rdmsr
    mov rsi, ROM(msg_mtrr_kept)
    cmp eax, 0x806
    je .mtrr_kept
    mov rsi, ROM(msg_mtrr_lost)
.mtrr_kept:
    call print64
    TRY_BEGIN
    mov ecx, 0x200              ; IA32_MTRR_PHYSBASE0
    rdmsr
    TRY_PRINT msg_mtrr_base0

    ; XSAVE
    mov eax, 1
    cpuid
    bt ecx, 26
    jc .xsave
    SAY msg_no_xsave
    TRY_BEGIN
    mov rax, cr4
    bts rax, 18
    mov cr4, rax
    TRY_PRINT msg_osxsave
    jmp .done
.xsave:
    TRY_BEGIN
    xor ecx, ecx
    mov eax, 1
    xor edx, edx
    xsetbv
    TRY_PRINT msg_xsetbv_no_osxsave
    mov rax, cr4
    bts rax, 18
    mov cr4, rax
    mov eax, 1
    cpuid
    mov rsi, ROM(msg_osxsave_cpuid)
    bt ecx, 27
    jc .osx
    mov rsi, ROM(msg_osxsave_cpuid_not)
.osx:
    call print64
    SAY msg_xcr0_start
    xor ecx, ecx
    xgetbv
    shl rdx, 32
    or rax, rdx
    call hex64
    NEWLINE
    TRY_BEGIN
    xor ecx, ecx
    xor eax, eax                ; no x87
    xor edx, edx
    xsetbv
    TRY_PRINT msg_xsetbv_0
    TRY_BEGIN
    xor ecx, ecx
    mov eax, 5                  ; AVX without SSE
    xor edx, edx
    xsetbv
    TRY_PRINT msg_xsetbv_5
    TRY_BEGIN
    xor ecx, ecx
    mov eax, 0x203              ; PKRU: not offered
    xor edx, edx
    xsetbv
    TRY_PRINT msg_xsetbv_pkru
    TRY_BEGIN
    mov ecx, 1                  ; XCR1 does not exist
    mov eax, 1
    xor edx, edx
    xsetbv
    TRY_PRINT msg_xsetbv_ecx1
    mov eax, 0xd
    xor ecx, ecx
    cpuid
    push rax                    ; the components offered
    TRY_BEGIN
    xor ecx, ecx
    pop rax
    push rax
    xor edx, edx
    xsetbv                      ; every component offered
    TRY_PRINT msg_xsetbv_all
    SAY msg_xcr0_now
    xor ecx, ecx
    xgetbv
    shl rdx, 32
    or rax, rdx
    call hex64
    NEWLINE
    pop rax
    SAY msg_leaf_d
    call hex64
    SAY msg_leaf_d_sizes
    mov eax, 0xd
    xor ecx, ecx
    cpuid
    mov eax, ebx
    call dec64
    SAY msg_leaf_d_all
    mov eax, ecx
    call dec64
    NEWLINE
    mov eax, 1
    cpuid
    bt ecx, 28
    jnc .done
    TRY_BEGIN
    vpcmpeqb ymm1, ymm1, ymm1   ; AVX runs with XCR0.AVX
    vpxor ymm1, ymm1, ymm1
    TRY_PRINT msg_avx_runs
.done:
    SAY msg_done
    cli
    hlt

LIB64
LIB_LONG64
msg_efer_reserved:      db "reserved: EFER bit 2: ", 0
msg_efer_svme:          db "reserved: EFER.SVME: ", 0
msg_efer_tce:           db "reserved: EFER.TCE: ", 0
msg_efer_lme:           db "reserved: EFER.LME cleared while paging: ", 0
msg_efer_nxe:           db "reserved: EFER.NXE: ", 0
msg_efer_reads:         db "reserved: EFER reads ", 0
msg_pat_type2:          db "reserved: PAT with memory type 2: ", 0
msg_pat_bit3:           db "reserved: PAT entry with bit 3 set: ", 0
msg_pat_wc:             db "reserved: PAT with write-combining in entry 1: ", 0
msg_pat_reads:          db "reserved: PAT reads ", 0
msg_cr4_15:             db "reserved: CR4 bit 15: ", 0
msg_cr4_15_rf:          db "reserved: RFLAGS.RF in its #GP frame: ", 0
msg_cr4_pcide:          db "reserved: CR4.PCIDE without PCID: ", 0
msg_cr4_pke:            db "reserved: CR4.PKE without protection keys: ", 0
msg_cr4_vmxe:           db "reserved: CR4.VMXE without VMX: ", 0
msg_cr0_high:           db "reserved: CR0 bit 32: ", 0
msg_mtrr_hidden:        db "reserved: CPUID offers no MTRRs", 10, 0
msg_mtrr_offered:       db "reserved: CPUID offers MTRRs", 10, 0
msg_mtrrcap:            db "reserved: RDMSR IA32_MTRRCAP: ", 0
msg_mtrr_def:           db "reserved: WRMSR IA32_MTRR_DEF_TYPE: ", 0
msg_mtrr_def_bad:       db "reserved: WRMSR IA32_MTRR_DEF_TYPE type 2: ", 0
msg_mtrr_kept:          db "reserved: IA32_MTRR_DEF_TYPE reads 806", 10, 0
msg_mtrr_lost:          db "reserved: IA32_MTRR_DEF_TYPE lost the valid write", 10, 0
msg_mtrr_base0:         db "reserved: RDMSR IA32_MTRR_PHYSBASE0: ", 0
msg_no_xsave:           db "reserved: CPUID offers no XSAVE", 10, 0
msg_osxsave:            db "reserved: CR4.OSXSAVE without XSAVE: ", 0
msg_xsetbv_no_osxsave:  db "reserved: XSETBV before CR4.OSXSAVE: ", 0
msg_osxsave_cpuid:      db "reserved: CPUID.1 OSXSAVE follows CR4", 10, 0
msg_osxsave_cpuid_not:  db "reserved: CPUID.1 OSXSAVE does NOT follow CR4", 10, 0
msg_xcr0_start:         db "reserved: XCR0 at start ", 0
msg_xsetbv_0:           db "reserved: XSETBV 0 (no x87): ", 0
msg_xsetbv_5:           db "reserved: XSETBV 5 (AVX without SSE): ", 0
msg_xsetbv_pkru:        db "reserved: XSETBV with PKRU: ", 0
msg_xsetbv_ecx1:        db "reserved: XSETBV to XCR1: ", 0
msg_xsetbv_all:         db "reserved: XSETBV of every offered component: ", 0
msg_xcr0_now:           db "reserved: XGETBV then reads ", 0
msg_leaf_d:             db "reserved: CPUID 0Dh offers ", 0
msg_leaf_d_sizes:       db ", area ", 0
msg_leaf_d_all:         db " bytes for XCR0, ", 0
msg_avx_runs:           db "reserved: AVX instructions: ", 0
msg_done:               db "reserved: done", 10, 0

ROM_END
