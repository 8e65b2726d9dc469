; Two vCPUs (vcpus = 2) in x2APIC mode (SDM 3A 11.12), as the BSP sees
; them:
;   - CPUID.1:ECX.x2APIC (bit 21) is offered; IA32_APIC_BASE.EXTD set
;     with EN enters x2APIC mode, after which the xAPIC page no longer
;     answers (reads all ones);
;   - the x2APIC ID MSR (802H) and the read-only LDR (80DH: cluster in
;     31:16, 1 << ID[3:0] below, 11.12.10.2);
;   - INIT and SIPI through the 64-bit ICR (830H) start the AP, which
;     enters x2APIC mode itself and reads its own ID and LDR;
;   - fixed IPIs by physical x2APIC ID, by logical cluster destination
;     (and one to another cluster, which reaches nobody), by the
;     all-excluding-self shorthand and through the SELF IPI MSR (83FH),
;     each counted per CPU by the receiver's handler, which ends with an
;     EOI write of 0 to 80BH;
;   - NMI through the ICR to the AP;
;   - INIT and SIPI again restart the AP (still in x2APIC mode: INIT
;     keeps it, 11.12.5.1);
;   - the #GP cases: EOI with a non-zero value, RDMSR of the write-only
;     EOI, RDMSR of 80EH (no DFR in x2APIC mode), WRMSR of the read-only
;     ID, and IA32_APIC_BASE back to xAPIC mode (11.12.5);
;   - the TPR MSR (808H) holds the whole byte (5AH reads back 5AH, CR8
;     then shows its class 5, 11.8.6.1); MOV CR8 clears TPR[3:0], also
;     when it writes the class already there; a TPR
;     of class 5 holds a SELF IPI of vector 41h (class 4) off and one of
;     class 3 lets it through (11.8.3.1); 1000 writes and reads of 808H
;     each read back what was written (on VT-x with "virtualize x2APIC
;     mode" none of them exits: the test compares the domain's rdmsr and
;     wrmsr exit counts);
;   - the ISR (812H, vector 41h) is empty at the end: every EOI counted;
;   - the APIC disabled from x2APIC mode (11.12.5): 808H faults again.
; Every line says what was seen; the test compares. It ends with an ACPI
; soft-off.
%include "lib.inc"
%include "long64.inc"
ROM_BEGIN

%define MSR_APIC_BASE 0x1b
%define MSR_ID        0x802
%define MSR_EOI       0x80b
%define MSR_TPR       0x808
%define MSR_LDR       0x80d
%define MSR_DFR       0x80e     ; not in x2APIC mode
%define MSR_SVR       0x80f
%define MSR_ISR2      0x812     ; ISR bits 95:64
%define MSR_ICR       0x830
%define MSR_SELF_IPI  0x83f
%define BASE_EN_EXTD  ((1 << 11) | (1 << 10))
%define VECTOR        0x41
%define SIPI_PAGE     0x8000    ; vector 08h
%define AP_STARTS     0x5100    ; dword: times the AP ran its start-up code
%define AP_READY      0x5104    ; dword: its start count once it idles
%define AP_SEEN_ID    0x5108    ; dword: the x2APIC ID it read
%define AP_SEEN_LDR   0x510c    ; dword: the LDR it read
%define COUNTS        0x5110    ; dword per x2APIC ID: IPIs taken
%define NMI_COUNTS    0x5118    ; dword per x2APIC ID: NMIs taken
%define AP_STACK      0x20000
%define WAIT_LOOPS    20000000
%define TPR_LOOPS     1000

; ICR bits 31:0: vector, delivery mode (10:8), logical (11), level
; assert (14), shorthand (19:18); bits 63:32 the destination (11.12.9).
%define ICR_FIXED     (0x4000 | VECTOR)
%define ICR_LOGICAL   (1 << 11)
%define ICR_NMI       0x4400
%define ICR_INIT      0x4500
%define ICR_SIPI      (0x4600 | (SIPI_PAGE >> 12))
%define SH_ALL_BUT_SELF (3 << 18)

start:
    LONG_MODE_ENTER main64

bits 64
main64:
    GATE VECTOR, ipi_isr, 0
    GATE 2, nmi_isr, 0
    CATCH_GATES
    xor eax, eax
    mov [AP_STARTS], eax
    mov [AP_READY], eax
    mov [AP_SEEN_ID], eax
    mov [AP_SEEN_LDR], eax
    mov [COUNTS], eax
    mov [COUNTS + 4], eax
    mov [NMI_COUNTS], eax
    mov [NMI_COUNTS + 4], eax
    mov byte [SIPI_PAGE], 0xea          ; the start-up page: JMP F000:ap_entry16
    mov word [SIPI_PAGE + 1], ap_entry16
    mov word [SIPI_PAGE + 3], 0xf000

    SAY msg_cpuid
    mov eax, 1
    cpuid
    mov eax, ecx
    shr eax, 21
    and eax, 1
    call dec64
    NEWLINE

    mov ecx, MSR_APIC_BASE              ; xAPIC to x2APIC mode
    rdmsr
    or eax, BASE_EN_EXTD
    wrmsr
    rdmsr
    SAY msg_base
    and eax, 0xfff
    call hex64
    SAY msg_page
    mov ebx, 0xfee00030                 ; the xAPIC version register's place
    mov eax, [rbx]
    call hex64
    NEWLINE

    WRMSR MSR_SVR, 0, 0x1ff             ; APIC on, spurious vector FFh
    SAY msg_id
    mov ecx, MSR_ID
    rdmsr
    call dec64
    SAY msg_ldr
    mov ecx, MSR_LDR
    rdmsr
    call hex64
    NEWLINE
    sti

    mov ebx, 1
    call start_ap
    SAY msg_started
    call report_ap

    mov ebx, 1                          ; physical: x2APIC ID 1
    mov esi, ICR_FIXED
    mov edi, 1
    call send_and_wait
    SAY msg_physical
    call report_counts

    mov ebx, 0x00000002                 ; logical: cluster 0, member bit 1
    mov esi, ICR_FIXED | ICR_LOGICAL
    mov edi, 2
    call send_and_wait
    SAY msg_logical
    call report_counts

    WRMSR MSR_ICR, 0x00010002, ICR_FIXED | ICR_LOGICAL ; cluster 1: nobody there
    call settle
    SAY msg_other_cluster
    call report_counts

    xor ebx, ebx
    mov esi, ICR_FIXED | SH_ALL_BUT_SELF
    mov edi, 3
    call send_and_wait
    SAY msg_all_but_self
    call report_counts

    WRMSR MSR_SELF_IPI, 0, VECTOR       ; SELF IPI: fixed, edge, to this CPU
    mov edi, 4
    call wait_counts
    SAY msg_self_ipi
    call report_counts

    mov ebx, 1                          ; NMI to x2APIC ID 1
    mov esi, ICR_NMI
    mov edi, 1
    call send_nmi_and_wait
    SAY msg_nmi
    call report_nmis

    mov ebx, 2
    call start_ap
    SAY msg_restarted
    call report_ap

    mov ebx, 1
    mov esi, ICR_FIXED
    mov edi, 5
    call send_and_wait
    SAY msg_after_restart
    call report_counts

    call tpr_checks

    cli
    SAY msg_gp_eoi
    TRY .eoi_done
    WRMSR MSR_EOI, 0, 1
.eoi_done:
    call print_caught
    SAY msg_gp_eoi_read
    TRY .eoi_read_done
    mov ecx, MSR_EOI
    rdmsr
.eoi_read_done:
    call print_caught
    SAY msg_gp_dfr
    TRY .dfr_done
    mov ecx, MSR_DFR
    rdmsr
.dfr_done:
    call print_caught
    SAY msg_gp_id
    TRY .id_done
    WRMSR MSR_ID, 0, 5
.id_done:
    call print_caught
    SAY msg_gp_xapic
    TRY .xapic_done
    mov ecx, MSR_APIC_BASE
    rdmsr
    and eax, ~(1 << 10)                 ; x2APIC to xAPIC directly
    wrmsr
.xapic_done:
    call print_caught
    SAY msg_isr
    mov ecx, MSR_ISR2
    rdmsr
    call hex64
    NEWLINE

    SAY msg_gp_disabled
    mov ecx, MSR_APIC_BASE
    rdmsr
    and eax, ~BASE_EN_EXTD              ; x2APIC to disabled, allowed (11.12.5)
    wrmsr
    TRY .disabled_done
    mov ecx, MSR_TPR
    rdmsr
.disabled_done:
    call print_caught

    SAY msg_done
    ACPI_POWER_OFF

; The TPR through its x2APIC MSR, with interrupts on and nothing in flight.
tpr_checks:
    WRMSR MSR_TPR, 0, 0x5a              ; the whole byte, low nibble too
    SAY msg_tpr_5a
    call read_tpr
    call hex64
    SAY msg_tpr_cr8
    mov rax, cr8                        ; TPR[7:4] (11.8.6.1)
    call dec64
    NEWLINE
    mov eax, 3
    mov cr8, rax                        ; TPR = 30H: bits 3:0 cleared
    SAY msg_tpr_cr8_3
    call read_tpr
    call hex64
    NEWLINE
    WRMSR MSR_TPR, 0, 0x5a
    mov eax, 5
    mov cr8, rax                        ; the class already there: TPR = 50H all the same
    SAY msg_tpr_cr8_5
    call read_tpr
    call hex64
    NEWLINE

    WRMSR MSR_TPR, 0, 0x50              ; class 5 holds class 4 (41h) off
    WRMSR MSR_SELF_IPI, 0, VECTOR
    call settle
    SAY msg_tpr_held
    call report_counts
    WRMSR MSR_TPR, 0, 0x30              ; class 3: 41h gets through
    mov edi, 6
    call wait_counts
    SAY msg_tpr_lowered
    call report_counts

    xor ebx, ebx                        ; values that did not read back
    mov r8d, TPR_LOOPS
    xor r9d, r9d
.loop:
    add r9d, 37                         ; 25H, 4AH, ... every byte value
    and r9d, 0xff
    mov ecx, MSR_TPR
    mov eax, r9d
    xor edx, edx
    wrmsr
    call read_tpr
    cmp rax, r9
    je .same
    inc ebx
.same:
    dec r8d
    jnz .loop
    WRMSR MSR_TPR, 0, 0
    SAY msg_tpr_loop
    mov eax, ebx
    call dec64
    NEWLINE
    ret

; RAX = the TPR MSR, all 64 bits.
read_tpr:
    mov ecx, MSR_TPR
    rdmsr
    shl rdx, 32
    or rax, rdx
    ret

; INIT then SIPI to x2APIC ID 1; waits until the AP idles with EBX starts.
start_ap:
    WRMSR MSR_ICR, 1, ICR_INIT
    WRMSR MSR_ICR, 1, ICR_SIPI
    mov ecx, WAIT_LOOPS
.wait:
    cmp [AP_READY], ebx
    je .done
    pause
    loop .wait
.done:
    ret

; Sends the ICR (ESI bits 31:0, EBX the destination) and waits until the
; CPUs' counts add up to EDI (or for long enough), then a while longer;
; send_nmi_and_wait waits on the NMI counts instead.
send_and_wait:
    mov ebp, COUNTS
    jmp send_icr_and_wait
send_nmi_and_wait:
    mov ebp, NMI_COUNTS
send_icr_and_wait:
    mov ecx, MSR_ICR
    mov edx, ebx
    mov eax, esi
    wrmsr
    jmp wait_at_ebp
wait_counts:
    mov ebp, COUNTS
wait_at_ebp:
    mov edx, WAIT_LOOPS
.wait:
    mov eax, [ebp]
    add eax, [ebp + 4]
    cmp eax, edi
    jae .done
    pause
    dec edx
    jnz .wait
.done:
    jmp settle

; A while longer: a delivery that should not happen would show.
settle:
    mov ecx, 200000
.spin:
    pause
    loop .spin
    ret

report_ap:
    mov eax, [AP_SEEN_ID]
    call dec64
    SAY msg_ap_ldr
    mov eax, [AP_SEEN_LDR]
    call hex64
    SAY msg_starts
    mov eax, [AP_STARTS]
    call dec64
    NEWLINE
    ret

report_nmis:
    mov ebx, NMI_COUNTS
    jmp report_pair

report_counts:
    mov ebx, COUNTS
    jmp report_pair

REPORT_PAIR

; Both CPUs: counts the IPI for the x2APIC ID of the CPU taking it, then
; EOI (a WRMSR of 0: anything else faults, Table 11-6).
ipi_isr:
    push rax
    push rcx
    push rdx
    mov ecx, MSR_ID
    rdmsr
    and eax, 1
    lock inc dword [COUNTS + rax * 4]
    WRMSR MSR_EOI, 0, 0
    pop rdx
    pop rcx
    pop rax
    iretq

; Both CPUs: counts the NMI for the x2APIC ID of the CPU taking it.
nmi_isr:
    push rax
    push rcx
    push rdx
    mov ecx, MSR_ID
    rdmsr
    and eax, 1
    lock inc dword [NMI_COUNTS + rax * 4]
    pop rdx
    pop rcx
    pop rax
    iretq

; The AP, from the start-up page: real mode, CS = F000h after the jump.
bits 16
ap_entry16:
    cli
    xor ax, ax
    mov ds, ax
    lock inc dword [AP_STARTS]
    AP_LONG_MODE_ENTER
    mov ecx, MSR_APIC_BASE              ; x2APIC mode (already, after a restart)
    rdmsr
    or eax, BASE_EN_EXTD
    wrmsr
    WRMSR MSR_SVR, 0, 0x1ff
    mov ecx, MSR_ID
    rdmsr
    mov [AP_SEEN_ID], eax
    mov ecx, MSR_LDR
    rdmsr
    mov [AP_SEEN_LDR], eax
    mov eax, [AP_STARTS]
    mov [AP_READY], eax
    sti
.idle:
    hlt
    jmp .idle

LIB64
LIB_LONG64
msg_cpuid:          db "x2apic: CPUID.1:ECX.x2APIC ", 0
msg_base:           db "x2apic: IA32_APIC_BASE low bits ", 0
msg_page:           db ", the xAPIC page reads ", 0
msg_id:             db "x2apic: BSP x2APIC ID ", 0
msg_ldr:            db ", LDR ", 0
msg_started:        db "x2apic: INIT, SIPI: the AP runs, its x2APIC ID ", 0
msg_restarted:      db "x2apic: INIT, SIPI again: the AP runs, its x2APIC ID ", 0
msg_ap_ldr:         db ", LDR ", 0
msg_starts:         db ", starts ", 0
msg_physical:       db "x2apic: fixed to x2APIC ID 1:", 0
msg_logical:        db "x2apic: fixed to logical cluster 0 mask 2:", 0
msg_other_cluster:  db "x2apic: fixed to logical cluster 1 mask 2:", 0
msg_all_but_self:   db "x2apic: fixed to all excluding self:", 0
msg_self_ipi:       db "x2apic: SELF IPI MSR:", 0
msg_nmi:            db "x2apic: NMI to x2APIC ID 1:", 0
msg_after_restart:  db "x2apic: fixed to x2APIC ID 1 after the restart:", 0
msg_gp_eoi:         db "x2apic: WRMSR EOI 1: ", 0
msg_gp_eoi_read:    db "x2apic: RDMSR EOI: ", 0
msg_gp_dfr:         db "x2apic: RDMSR 80EH: ", 0
msg_gp_id:          db "x2apic: WRMSR ID: ", 0
msg_gp_xapic:       db "x2apic: IA32_APIC_BASE to xAPIC: ", 0
msg_isr:            db "x2apic: ISR 95:64 at the end ", 0
msg_tpr_5a:         db "x2apic: TPR MSR written 5a reads ", 0
msg_tpr_cr8:        db ", CR8 ", 0
msg_tpr_cr8_3:      db "x2apic: MOV CR8 3, the TPR MSR reads ", 0
msg_tpr_cr8_5:      db "x2apic: TPR 5a, MOV CR8 5, the TPR MSR reads ", 0
msg_tpr_held:       db "x2apic: SELF IPI under TPR 50:", 0
msg_tpr_lowered:    db "x2apic: TPR lowered to 30:", 0
msg_tpr_loop:       db "x2apic: 1000 TPR MSR writes and reads, mismatches ", 0
msg_gp_disabled:    db "x2apic: APIC disabled, RDMSR TPR: ", 0
msg_done:           db "x2apic: done", 10, 0
ROM_END
