; An idle guest, as a DOS prompt or an idle OS is: the PIT at the PC's
; default 18.2 Hz (divisor 65536) on IRQ0 through the 8259, and HLT with
; interrupts enabled between ticks. It counts TICKS ticks (about 4 s),
; then says so and ends with cli; hlt. What it costs the host shows in
; the scheduler's figures for its vCPU ("ran ... blocked ...").
%include "lib.inc"

%ifndef TICKS
%define TICKS 72
%endif
%define TICK_COUNT 0x500        ; in RAM: ticks so far

ROM_BEGIN

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov dword [TICK_COUNT], 0
    LAPIC_OFF
    mov word [0x08 * 4], irq0           ; IRQ0 -> vector 8 (the PC/AT's)
    mov word [0x08 * 4 + 2], 0xf000
    ; 8259 pair: master at vector 8, slave at 70h; only IRQ0 unmasked
    PIC_INIT 0x08, 0x70
    mov al, 0xfe
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    ; PIT channel 0, mode 2 (rate generator), divisor 0 = 65536: 18.2 Hz
    mov al, 0x34
    out 0x43, al
    xor al, al
    out 0x40, al
    out 0x40, al
    PUTS16 msg_start
.wait:
    sti
    hlt                                  ; the next tick wakes it
    cmp dword [TICK_COUNT], TICKS
    jb .wait
    cli
    PUTS16 msg_done
    hlt
    jmp $

irq0:
    push ax
    inc dword [TICK_COUNT]
    mov al, 0x20                         ; non-specific EOI
    out 0x20, al
    pop ax
    iret

LIB16
msg_start: db "idle: halting between 18.2 Hz timer ticks", 10, 0
msg_done:  db "idle: 72 ticks, done", 10, 0

ROM_END
