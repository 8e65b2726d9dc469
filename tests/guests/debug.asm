; Debug exceptions as a guest sees them when Zazen intercepts #DB and
; hands it back (SDM 3B ch. 17): DR7 and IA32_DEBUGCTL survive exits,
; single-step (TF) traps with DR6.BS, an instruction breakpoint faults
; with DR6.B0 and RF lets the instruction run, a data breakpoint traps
; after the write with DR6.B1, general detect (DR7.GD) faults with DR6.BD
; and the handler finds GD clear. Then a hostile ending: an instruction
; breakpoint on the #DB handler's first instruction, so every delivery
; of #DB raises the next before any instruction runs (CVE-2015-8104);
; with STORM_DATA instead a data breakpoint on the IST stack slot every
; delivery writes (QEMU 7.2 TCG aborts on that one: bochs only). Zazen
; must end the domain and go on.
%include "lib.inc"
%include "long64.inc"
ROM_BEGIN

%define STEPS      0x5100
%define STEP_NO_BS 0x5108
%define LAST_DR6   0x5110
%define LAST_RIP   0x5118
%define LAST_DR7   0x5120
%define DB_HITS    0x5128
%define DATA_VAR   0x5200

start:
    LONG_MODE_ENTER main64

bits 64
main64:
    CATCH_GATES
    GATE 1, db_record, 0

    ; DR7 (with a breakpoint armed where nothing goes) across an exit
    mov rax, 0x30000
    mov dr3, rax
    mov eax, 0xd0000440         ; L3, write, 4 bytes
    mov dr7, rax
    xor eax, eax
    cpuid
    mov rax, dr7
    SAY msg_dr7
    call hex64
    NEWLINE
    mov eax, 0x400
    mov dr7, rax

    ; IA32_DEBUGCTL.BTF across an exit
    TRY .debugctl_done
    mov ecx, 0x1d9
    mov eax, 2
    xor edx, edx
    wrmsr
    xor eax, eax
    cpuid
    mov ecx, 0x1d9
    rdmsr
    SAY msg_debugctl
    call hex64
    NEWLINE
    xor eax, eax
    xor edx, edx
    wrmsr
.debugctl_done:
    cmp byte [CATCH_VECTOR], 0xff
    je .single_step
    SAY msg_debugctl_fault
    call print_caught

.single_step:
    GATE 1, db_step, 0
    mov qword [STEPS], 0
    mov qword [STEP_NO_BS], 0
    xor eax, eax
    mov dr6, rax
    pushfq
    or qword [rsp], 0x100       ; TF: a trap after each instruction from the next one on
    popfq
    nop
    nop
    nop
    nop                         ; the fourth trap's handler clears TF
    nop
    SAY msg_steps
    mov rax, [STEPS]
    call dec64
    mov rsi, ROM(msg_steps_bs)
    cmp qword [STEP_NO_BS], 0
    je .bs_ok
    mov rsi, ROM(msg_steps_no_bs)
.bs_ok:
    call print64

    ; instruction breakpoint: a fault before the instruction, once
    GATE 1, db_record, 0
    mov qword [DB_HITS], 0
    mov rax, ROM(ibp_target)
    mov dr0, rax
    mov eax, 0x401              ; L0, execute
    mov dr7, rax
ibp_target:
    nop
    mov eax, 0x400
    mov dr7, rax
    SAY msg_ibp
    mov rax, [LAST_DR6]
    call hex64
    mov rsi, ROM(msg_at_bp)
    mov rax, ROM(ibp_target)
    cmp [LAST_RIP], rax
    je .ibp_where
    mov rsi, ROM(msg_not_at_bp)
.ibp_where:
    call print64
    mov rax, [DB_HITS]
    call dec64
    SAY msg_hits

    ; data breakpoint: a trap after the write
    mov qword [DB_HITS], 0
    mov rax, DATA_VAR
    mov dr1, rax
    mov eax, 0xd00404           ; L1, write, 4 bytes
    mov dr7, rax
    mov dword [DATA_VAR], 1
dbp_after:
    mov eax, 0x400
    mov dr7, rax
    SAY msg_dbp
    mov rax, [LAST_DR6]
    call hex64
    mov rsi, ROM(msg_after_write)
    mov rax, ROM(dbp_after)
    cmp [LAST_RIP], rax
    je .dbp_where
    mov rsi, ROM(msg_not_after_write)
.dbp_where:
    call print64

    ; general detect: the next MOV DR faults; delivery clears GD
    mov qword [DB_HITS], 0
    mov eax, 0x2400             ; GD
    mov dr7, rax
    mov rax, dr0
    cmp qword [DB_HITS], 0
    jne .gd_seen
    SAY msg_gd_none
    mov eax, 0x400
    mov dr7, rax
    jmp .storm
.gd_seen:
    SAY msg_gd
    mov rax, [LAST_DR6]
    call hex64
    SAY msg_gd_dr7
    mov rax, [LAST_DR7]
    call hex64
    NEWLINE

.storm:
    xor eax, eax
    mov dr6, rax
%ifdef STORM_DATA
    SAY msg_storm_data
    GATE 1, db_storm, 1
    mov rax, IST1_TOP - 8       ; the frame's SS slot, written by every delivery
    mov dr1, rax
    mov eax, 0xd00404           ; L1, write, 4 bytes
    mov dr7, rax
    mov qword [IST1_TOP - 8], 0 ; the first write: a trap, delivered on IST1...
%else
    SAY msg_storm
    GATE 1, db_storm, 1
    mov rax, ROM(db_storm)
    mov dr0, rax
    mov eax, 0x401              ; L0, execute: the handler's first instruction
    mov dr7, rax
    jmp db_storm
%endif
    SAY msg_storm_passed
    cli
    hlt

; #DB for the single-step test: counts, checks BS, clears DR6; the
; fourth one clears TF in the interrupted RFLAGS.
db_step:
    push rax
    inc qword [STEPS]
    mov rax, dr6
    test eax, 0x4000            ; BS
    jnz .bs
    inc qword [STEP_NO_BS]
.bs:
    xor eax, eax
    mov dr6, rax
    cmp qword [STEPS], 4
    jb .out
    and qword [rsp + 24], ~0x100
.out:
    pop rax
    iretq

; #DB that records DR6, DR7 and where it happened, and sets RF so a
; breakpoint fault does not repeat. Its first instruction reads DR6: with
; DR7.GD still set that would fault again (RAX is the interrupted code's
; scratch register here).
db_record:
    mov rax, dr6
    mov [LAST_DR6], rax
    mov rax, dr7
    mov [LAST_DR7], rax
    mov rax, [rsp]
    mov [LAST_RIP], rax
    inc qword [DB_HITS]
    or qword [rsp + 16], 0x10000 ; RF
    xor eax, eax
    mov dr6, rax
    iretq

; Never runs: each delivery raises the next #DB first.
db_storm:
    SAY msg_handler_ran
    cli
    hlt

LIB64
LIB_LONG64
msg_dr7:             db "debug: DR7 after an exit ", 0
msg_debugctl:        db "debug: IA32_DEBUGCTL after setting BTF and an exit ", 0
msg_debugctl_fault:  db "debug: IA32_DEBUGCTL: ", 0
msg_steps:           db "debug: single-step: ", 0
msg_steps_bs:        db " traps, each with DR6.BS", 10, 0
msg_steps_no_bs:     db " traps, DR6.BS NOT set in each", 10, 0
msg_ibp:             db "debug: instruction breakpoint: DR6 ", 0
msg_at_bp:           db ", at the breakpoint, hits ", 0
msg_not_at_bp:       db ", NOT at the breakpoint, hits ", 0
msg_hits:            db 10, 0
msg_dbp:             db "debug: data breakpoint: DR6 ", 0
msg_after_write:     db ", a trap after the write", 10, 0
msg_not_after_write: db ", NOT right after the write", 10, 0
msg_gd:              db "debug: general detect: DR6 ", 0
msg_gd_dr7:          db ", DR7 in the handler ", 0
msg_gd_none:         db "debug: general detect: no #DB", 10, 0
msg_storm:           db "debug: arming an endless #DB chain: an instruction breakpoint on the #DB handler", 10, 0
msg_storm_data:      db "debug: arming an endless #DB chain: a data breakpoint on the #DB handler's IST frame", 10, 0
msg_storm_passed:    db "debug: the chain ended and the guest went on", 10, 0
msg_handler_ran:     db "debug: the #DB handler ran", 10, 0

ROM_END
