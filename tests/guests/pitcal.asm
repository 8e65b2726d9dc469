; TSC calibration against the PIT, done exactly as Linux 6.1 does it
; (arch/x86/kernel/tsc.c): counter 2 in mode 0 gated by port 61h bit 0,
; its OUT read back in port 61h bit 5.
;   pit_calibrate_tsc: count 11931 (10 ms), TSC read in a loop until OUT2
;     rises; Linux rejects the result when the loop ran fewer than 1000
;     times or one iteration took over ten times the shortest (an SMI, a
;     long exit);
;   quick_pit_calibrate: count FFFFh, the TSC read whenever the count's
;     high byte steps (every 256 PIT clocks), until the error bound is
;     below 500 ppm, for at most 50 ms (MAX_QUICK_PIT_MS); it gives up
;     after the first step when the two stamps' uncertainty (each about
;     two looks of two port reads) is 233/2048 of a step or more, which
;     one look longer than about 1/35 of a step (6 us) makes (slow exits).
; Prints what Linux would conclude, in decimal. Flat 32-bit protected
; mode, no paging, no interrupts.
%include "lib.inc"
ROM_BEGIN

%define ROM(x) (0xf0000 + (x))
%define PIT_TICK_RATE 1193182
%define CAL_LATCH (PIT_TICK_RATE / 100)   ; 10 ms, Linux's CAL_LATCH
%define MAX_QUICK 233                     ; MAX_QUICK_PIT_ITERATIONS: 50 ms * PIT_TICK_RATE / 1000 / 256

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

    call slow_calibration
    call quick_calibration
    mov esi, ROM(msg_done)
    call print32
    NEWLINE
    cli
    hlt

; ---- pit_calibrate_tsc(CAL_LATCH, 10, 1000) ----
slow_calibration:
    PIT2_ONE_SHOT CAL_LATCH
    rdtsc
    mov ebx, eax                ; t1
    mov ebp, eax                ; the previous read
    xor ecx, ecx                ; pitcnt
    xor esi, esi                ; tscmax
    mov edi, 0xffffffff         ; tscmin
.wait:
    in al, 0x61
    test al, 0x20               ; OUT2
    jnz .out_high
    rdtsc
    mov edx, eax
    sub edx, ebp                ; delta
    mov ebp, eax
    cmp edx, edi
    jae .not_min
    mov edi, edx
.not_min:
    cmp edx, esi
    jbe .not_max
    mov esi, edx
.not_max:
    inc ecx
    jmp .wait
.out_high:
    sub ebp, ebx                ; t2 - t1: the TSC ticks of 10 ms
    mov [slow_loops], ecx
    mov [slow_min], edi
    mov [slow_max], esi
    mov eax, ebp
    xor edx, edx
    mov ebx, 10
    div ebx                     ; kHz = ticks / ms
    mov [slow_khz], eax

    mov esi, ROM(msg_slow)
    call print32
    mov eax, [slow_loops]
    call dec32
    mov esi, ROM(msg_min)
    call print32
    mov eax, [slow_min]
    call dec32
    mov esi, ROM(msg_max)
    call print32
    mov eax, [slow_max]
    call dec32
    mov esi, ROM(msg_tsc)
    call print32
    mov eax, [slow_khz]
    call dec32
    mov esi, ROM(msg_khz)
    call print32
    ; Linux's verdict: at least 1000 loops, the longest at most ten times the shortest
    mov esi, ROM(msg_accepted)
    cmp dword [slow_loops], 1000
    jb .rejected
    mov eax, [slow_min]
    mov edx, 10
    mul edx
    cmp [slow_max], eax
    jbe .verdict
.rejected:
    mov esi, ROM(msg_rejected)
.verdict:
    call print32
    NEWLINE
    ret

; ---- quick_pit_calibrate ----
; pit_verify_msb(AH): reads the count (LSB, then MSB); ZF set if MSB == AH.
; The value is kept in memory: RDTSC in the callers' loops takes EAX.
verify_msb:
    mov [quick_want], ah
verify_again:
    in al, 0x42
    in al, 0x42
    cmp al, [quick_want]
    ret

; pit_expect_msb(AH): while the MSB reads AH (at most 50000 times), keep
; the TSC; returns EBX = the last TSC read while it matched, ECX = TSC
; now minus the one before it (the uncertainty), EDX = the count; CF set
; when the count is over 5 (Linux's "some success").
expect_msb:
    mov [quick_want], ah
    push esi
    push ebp
    xor ebp, ebp                ; count (RDTSC takes EDX)
    xor ebx, ebx                ; tsc
    xor esi, esi                ; prev_tsc
.loop:
    call verify_again
    jne .changed
    mov esi, ebx
    rdtsc
    mov ebx, eax
    inc ebp
    cmp ebp, 50000
    jb .loop
.changed:
    rdtsc
    sub eax, esi
    mov ecx, eax                ; *deltap = get_cycles() - prev_tsc
    mov edx, ebp
    cmp edx, 6
    cmc                         ; CF = count > 5
    pop ebp
    pop esi
    ret

quick_calibration:
    in al, 0x61
    and al, ~0x02
    or al, 0x01
    out 0x61, al
    mov al, 0xb0
    out 0x43, al
    mov al, 0xff
    out 0x42, al
    out 0x42, al
    xor ah, ah
    call verify_msb             ; the delay for the count to load
    mov ah, 0xff
    call expect_msb
    mov [quick_count], edx
    jnc .failed_first
    mov [quick_tsc], ebx
    mov [quick_d1], ecx
    mov edi, 1                  ; i
.next:
    mov eax, 0xff                ; the MSB after i steps: FFh - i
    sub eax, edi
    mov ah, al
    call expect_msb
    jnc .failed_step
    mov [quick_d2], ecx
    sub ebx, [quick_tsc]        ; delta = tsc - first tsc
    mov [quick_delta], ebx
    ; i == 1: give up when d1 + d2 >= delta * MAX_QUICK / 2048
    mov eax, [quick_d1]
    add eax, ecx
    mov [quick_err], eax
    cmp edi, 1
    jne .bound
    mov eax, ebx
    mov edx, MAX_QUICK
    mul edx
    shrd eax, edx, 11
    cmp [quick_err], eax
    jae .gave_up
.bound:
    ; under 500 ppm: d1 + d2 < delta / 2048
    mov eax, [quick_delta]
    shr eax, 11
    cmp [quick_err], eax
    jb .good
    inc edi
    cmp edi, MAX_QUICK
    jbe .next
    jmp .failed_step
.good:
    mov eax, 0xfe
    sub eax, edi
    mov ah, al
    call verify_msb
    jne .failed_step
    ; kHz = delta * PIT_TICK_RATE / (i * 256 * 1000)
    mov eax, [quick_delta]
    mov edx, PIT_TICK_RATE
    mul edx
    mov ecx, edi
    imul ecx, ecx, 256000
    div ecx
    push eax
    mov esi, ROM(msg_quick_ok)
    call print32
    pop eax
    call dec32
    mov esi, ROM(msg_khz_after)
    call print32
    mov eax, edi
    call dec32
    mov esi, ROM(msg_steps)
    call print32
    NEWLINE
    ret
.gave_up:
    mov esi, ROM(msg_quick_gave_up)
    call print32
    mov eax, [quick_count]
    call dec32
    mov esi, ROM(msg_reads_err)
    call print32
    mov eax, [quick_err]
    call dec32
    mov esi, ROM(msg_delta)
    call print32
    mov eax, [quick_delta]
    call dec32
    NEWLINE
    ret
.failed_first:
    mov esi, ROM(msg_quick_first)
    call print32
    mov eax, [quick_count]
    call dec32
    NEWLINE
    ret
.failed_step:
    mov esi, ROM(msg_quick_failed)
    call print32
    mov eax, edi
    call dec32
    NEWLINE
    ret

; dec32: writes EAX in decimal.
dec32:
    push eax
    push ebx
    push ecx
    push edx
    mov ebx, 10
    xor ecx, ecx
.divide:
    xor edx, edx
    div ebx
    push edx
    inc ecx
    test eax, eax
    jnz .divide
.emit:
    pop eax
    add al, '0'
    out DEBUGCON, al
    loop .emit
    pop edx
    pop ecx
    pop ebx
    pop eax
    ret

LIB32

; Descriptors come with the Accessed bit set: the GDT is in ROM.
align 8
gdt:
    dq 0
    dq 0x00cf9b000000ffff
    dq 0x00cf93000000ffff
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd ROM(gdt)

msg_slow:          db "pitcal: pit_calibrate_tsc 10 ms: ", 0
msg_min:           db " loops, shortest ", 0
msg_max:           db ", longest ", 0
msg_tsc:           db " TSC ticks; ", 0
msg_khz:           db " kHz, ", 0
msg_accepted:      db "accepted", 0
msg_rejected:      db "rejected", 0
msg_quick_ok:      db "pitcal: quick_pit_calibrate: ", 0
msg_khz_after:     db " kHz after ", 0
msg_steps:         db " steps", 0
msg_quick_gave_up: db "pitcal: quick_pit_calibrate gives up: ", 0
msg_reads_err:     db " reads per step, error ", 0
msg_delta:         db " TSC ticks in a step of ", 0
msg_quick_first:   db "pitcal: quick_pit_calibrate: the first step matched only ", 0
msg_quick_failed:  db "pitcal: quick_pit_calibrate failed at step ", 0
msg_done:          db "pitcal: done", 0

; Variables in RAM.
slow_loops  equ 0x8000
slow_min    equ 0x8004
slow_max    equ 0x8008
slow_khz    equ 0x800c
quick_count equ 0x8010
quick_tsc   equ 0x8014
quick_d1    equ 0x8018
quick_d2    equ 0x801c
quick_delta equ 0x8020
quick_err   equ 0x8024
quick_want  equ 0x8028

ROM_END
