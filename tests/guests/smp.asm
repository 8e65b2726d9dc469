; Two vCPUs (vcpus = 2) and the local APICs between them, as the BSP sees
; them (SDM 3A 11.6, interprocessor interrupts; 9.4.4 / 8.4.4, the MP
; initialization protocol):
;   - the AP waits for a start-up IPI: INIT then SIPI starts it in real
;     mode at the vector's page (8000h: a far jump into this ROM), and it
;     counts its starts, reads its own APIC ID through the APIC page (each
;     CPU sees its own APIC there) and sets its logical ID;
;   - fixed IPIs by physical and by logical (flat) destination, and the
;     shorthands self, all including self and all excluding self, each
;     counted per CPU by the receiver's handler;
;   - lowest priority to both: exactly one of them takes it;
;   - NMI (delivery mode 100b, vector ignored) to APIC ID 1, then to all
;     excluding self: the AP's NMI handler counts each, the BSP's none;
;   - INIT and SIPI again restart the AP from scratch (its start count
;     goes to 2), and it takes fixed IPIs again.
; Every line says what was counted; the test compares the numbers. It
; ends with an ACPI soft-off.
%include "lib.inc"
%include "long64.inc"
ROM_BEGIN

%define APIC          0xfee00000
%define APIC_ID       r15 + 0x20
%define APIC_EOI      r15 + 0xb0
%define APIC_LDR      r15 + 0xd0
%define APIC_DFR      r15 + 0xe0
%define APIC_SVR      r15 + 0xf0
%define APIC_ICR_LO   r15 + 0x300
%define APIC_ICR_HI   r15 + 0x310
%define VECTOR        0x41
%define SIPI_PAGE     0x8000    ; vector 08h
%define AP_STARTS     0x5100    ; dword: times the AP ran its start-up code
%define AP_READY      0x5104    ; dword: its start count once it idles
%define AP_SEEN_ID    0x5108    ; dword: the APIC ID it read
%define COUNTS        0x5110    ; dword per APIC ID: IPIs taken
%define NMI_COUNTS    0x5118    ; dword per APIC ID: NMIs taken
%define AP_STACK      0x20000
%define WAIT_LOOPS    20000000

; ICR low dword values: vector, delivery mode (10:8), logical (11),
; level assert (14), shorthand (19:18).
%define ICR_FIXED     (0x4000 | VECTOR)
%define ICR_LOGICAL   (1 << 11)
%define ICR_LOWEST    (0x4100 | VECTOR)
%define ICR_NMI       0x4400
%define ICR_INIT      0x4500
%define ICR_SIPI      (0x4600 | (SIPI_PAGE >> 12))
%define SH_SELF       (1 << 18)
%define SH_ALL        (2 << 18)
%define SH_ALL_BUT_SELF (3 << 18)

start:
    LONG_MODE_ENTER main64

bits 64
main64:
    mov r15d, APIC
    GATE VECTOR, ipi_isr, 0
    GATE 2, nmi_isr, 0
    mov dword [APIC_SVR], 0x1ff         ; APIC on, spurious vector FFh
    mov dword [APIC_DFR], 0xffffffff    ; flat model
    mov dword [APIC_LDR], 0x01000000    ; logical ID: bit 0
    xor eax, eax
    mov [AP_STARTS], eax
    mov [AP_READY], eax
    mov [AP_SEEN_ID], eax
    mov [COUNTS], eax
    mov [COUNTS + 4], eax
    mov [NMI_COUNTS], eax
    mov [NMI_COUNTS + 4], eax
    ; the start-up page: JMP F000:ap_entry16
    mov byte [SIPI_PAGE], 0xea
    mov word [SIPI_PAGE + 1], ap_entry16
    mov word [SIPI_PAGE + 3], 0xf000
    sti

    mov ebx, 1
    call start_ap
    SAY msg_started
    call report_ap

    mov ebx, 1 << 24                    ; physical: APIC ID 1
    mov eax, ICR_FIXED
    mov ecx, 1
    call send_and_wait
    SAY msg_physical
    call report_counts

    mov ebx, 2 << 24                    ; logical flat: bit 1, the AP
    mov eax, ICR_FIXED | ICR_LOGICAL
    mov ecx, 2
    call send_and_wait
    SAY msg_logical
    call report_counts

    xor ebx, ebx
    mov eax, ICR_FIXED | SH_SELF
    mov ecx, 3
    call send_and_wait
    SAY msg_self
    call report_counts

    mov eax, ICR_FIXED | SH_ALL_BUT_SELF
    mov ecx, 4
    call send_and_wait
    SAY msg_all_but_self
    call report_counts

    mov eax, ICR_FIXED | SH_ALL
    mov ecx, 6
    call send_and_wait
    SAY msg_all
    call report_counts

    mov ebx, 3 << 24                    ; logical: both, lowest priority
    mov eax, ICR_LOWEST | ICR_LOGICAL
    mov ecx, 7
    call send_and_wait
    call settle
    SAY msg_lowest
    call report_counts

    mov ebx, 1 << 24                    ; NMI to APIC ID 1
    mov eax, ICR_NMI
    mov ecx, 1
    call send_nmi_and_wait
    SAY msg_nmi_physical
    call report_nmis

    xor ebx, ebx                        ; NMI to all excluding self
    mov eax, ICR_NMI | SH_ALL_BUT_SELF
    mov ecx, 2
    call send_nmi_and_wait
    call settle
    SAY msg_nmi_all_but_self
    call report_nmis

    mov ebx, 2
    call start_ap
    SAY msg_restarted
    call report_ap

    mov ebx, 1 << 24
    mov eax, ICR_FIXED
    mov ecx, 8
    call send_and_wait
    SAY msg_after_restart
    call report_counts

    SAY msg_done
    ACPI_POWER_OFF

; INIT then SIPI to APIC ID 1; waits until the AP idles with EBX starts.
start_ap:
    mov dword [APIC_ICR_HI], 1 << 24
    mov dword [APIC_ICR_LO], ICR_INIT
    mov dword [APIC_ICR_HI], 1 << 24
    mov dword [APIC_ICR_LO], ICR_SIPI
    mov ecx, WAIT_LOOPS
.wait:
    cmp [AP_READY], ebx
    je .done
    pause
    loop .wait
.done:
    ret

; Sends ICR (EAX low, EBX high) and waits until the CPUs' counts add up
; to ECX (or for long enough).
send_and_wait:
    mov [APIC_ICR_HI], ebx
    mov [APIC_ICR_LO], eax
    mov edx, WAIT_LOOPS
.wait:
    mov eax, [COUNTS]
    add eax, [COUNTS + 4]
    cmp eax, ecx
    jae .done
    pause
    dec edx
    jnz .wait
.done:
    ret

; The same for NMIs: until the CPUs' NMI counts add up to ECX.
send_nmi_and_wait:
    mov [APIC_ICR_HI], ebx
    mov [APIC_ICR_LO], eax
    mov edx, WAIT_LOOPS
.wait:
    mov eax, [NMI_COUNTS]
    add eax, [NMI_COUNTS + 4]
    cmp eax, ecx
    jae .done
    pause
    dec edx
    jnz .wait
.done:
    ret

; A while longer: a second delivery, if there was one, would show.
settle:
    mov ecx, 200000
.spin:
    pause
    loop .spin
    ret

report_ap:
    mov eax, [AP_SEEN_ID]
    call dec64
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

; Both CPUs: counts the IPI for the APIC ID that the APIC page shows the
; CPU taking it.
ipi_isr:
    push rax
    push rbx
    mov ebx, APIC
    mov eax, [rbx + 0x20]
    shr eax, 24
    and eax, 1
    lock inc dword [COUNTS + rax * 4]
    mov dword [rbx + 0xb0], 0           ; EOI
    pop rbx
    pop rax
    iretq

; Both CPUs: counts the NMI for the APIC ID of the CPU taking it (no
; EOI: an NMI does not go through the ISR, SDM 3A 11.8.4 note).
nmi_isr:
    push rax
    push rbx
    mov ebx, APIC
    mov eax, [rbx + 0x20]
    shr eax, 24
    and eax, 1
    lock inc dword [NMI_COUNTS + rax * 4]
    pop rbx
    pop rax
    iretq

; The AP, from the start-up page: real mode, CS = F000h after the jump.
; Straight to long mode on the BSP's GDT, page tables and IDT.
bits 16
ap_entry16:
    cli
    xor ax, ax
    mov ds, ax
    lock inc dword [AP_STARTS]
    AP_LONG_MODE_ENTER
    mov r15d, APIC
    mov dword [APIC_SVR], 0x1ff
    mov dword [APIC_DFR], 0xffffffff
    mov dword [APIC_LDR], 0x02000000    ; logical ID: bit 1
    mov eax, [APIC_ID]
    shr eax, 24
    mov [AP_SEEN_ID], eax
    mov eax, [AP_STARTS]
    mov [AP_READY], eax
    sti
.idle:
    hlt
    jmp .idle

LIB64
LIB_LONG64
msg_started:        db "smp: INIT, SIPI: the AP runs, its APIC ID ", 0
msg_restarted:      db "smp: INIT, SIPI again: the AP runs, its APIC ID ", 0
msg_starts:         db ", starts ", 0
msg_physical:       db "smp: fixed to APIC ID 1:", 0
msg_logical:        db "smp: fixed to logical 02 (flat):", 0
msg_self:           db "smp: fixed to self:", 0
msg_all_but_self:   db "smp: fixed to all excluding self:", 0
msg_all:            db "smp: fixed to all including self:", 0
msg_lowest:         db "smp: lowest priority to logical 03:", 0
msg_nmi_physical:   db "smp: NMI to APIC ID 1:", 0
msg_nmi_all_but_self: db "smp: NMI to all excluding self:", 0
msg_after_restart:  db "smp: fixed to APIC ID 1 after the restart:", 0
msg_done:           db "smp: done", 10, 0
ROM_END
