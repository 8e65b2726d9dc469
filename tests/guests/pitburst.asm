; Missed PIT ticks come back as fast as the guest acknowledges them (the
; reinject policy, docs/devices.md "missed ticks"). Real mode, the 8259s
; at vectors 20h-2Fh with only IRQ0 unmasked, PIT counter 0 in mode 2 at
; 100 Hz. The guest keeps interrupts disabled for 20.5 periods (205 ms by
; the TSC, calibrated against PIT counter 2 as Linux's pit_calibrate_tsc
; does), then counts the IRQ0s it takes in the next 2 periods (20 ms):
; the 20 ticks it missed are owed and come back to back, one per EOI
; (Linux's check_timer wants more than 4 in 10 ticks' time). Then, with
; the owed ticks taken, it counts the IRQ0s of 10 periods: the regular
; rate, nothing duplicated. Prints both counts; the scenario checks them.
%include "lib.inc"
ROM_BEGIN

%define PIT_TICK_RATE 1193182
%define PERIOD_COUNT  (PIT_TICK_RATE / 100) ; counter 0: 100 Hz
%define IRQ0_VECTOR   0x20
%define COUNT         0x500                  ; IRQ0s taken, dword at 0:500h

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [IRQ0_VECTOR * 4], irq0
    mov word [IRQ0_VECTOR * 4 + 2], 0xf000
    mov dword [COUNT], 0
    LAPIC_OFF

    ; the 8259s: master at 20h, slave at 28h
    PIC_INIT IRQ0_VECTOR, IRQ0_VECTOR + 8
    mov al, 0xfe                ; IRQ0 only
    out 0x21, al
    mov al, 0xff
    out 0xa1, al

    call calibrate_tsc          ; EBP: TSC ticks in 10 ms

    mov al, 0x34                ; counter 0, LSB then MSB, mode 2, binary
    out 0x43, al
    mov ax, PERIOD_COUNT
    out 0x40, al
    mov al, ah
    out 0x40, al

    ; 20.5 periods with interrupts disabled: IRQ0 waits in the 8259
    mov ecx, ebp
    imul ecx, ecx, 41
    shr ecx, 1
    call spin_tsc

    ; the next 2 periods with interrupts enabled
    mov dword [COUNT], 0
    lea ecx, [ebp * 2]
    sti
    call spin_tsc
    cli
    PUTS16 msg_burst
    mov eax, [COUNT]
    call dec16_32
    PUTS16 msg_burst_end

    ; 5 periods more to take what may still be owed, then 10 counted
    lea ecx, [ebp * 4 + ebp]
    sti
    call spin_tsc
    cli
    mov dword [COUNT], 0
    lea ecx, [ebp * 8 + ebp]
    add ecx, ebp
    sti
    call spin_tsc
    cli
    PUTS16 msg_steady
    mov eax, [COUNT]
    call dec16_32
    PUTS16 msg_steady_end
    PUTS16 msg_done
    cli
    hlt

; IRQ0: counted, then a non-specific EOI (OCW2 20h), the acknowledgement
; that lets the next owed tick come.
irq0:
    push ax
    inc dword [COUNT]           ; DS is 0 throughout
    mov al, 0x20
    out 0x20, al
    pop ax
    iret

    LIB16_TSC
    LIB16

msg_burst:      db "pitburst: IRQ0s in the 2 periods after 20.5 with interrupts disabled: ", 0
msg_burst_end:  db 10, 0
msg_steady:     db "pitburst: IRQ0s in 10 periods once caught up: ", 0
msg_steady_end: db 10, 0
msg_done:       db "pitburst: done", 10, 0

ROM_END
