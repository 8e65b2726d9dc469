; Interrupts that a port write makes pending are taken at once. Zazen
; carries out writes to the 8259s and the UART on its fast way, without
; the run loop's look for an interrupt (devmodel/bus.h, "watched"
; writes): a request they raise must still reach the CPU before the
; guest's next instruction, and a device timer they arm must still bring
; its interrupt in time. Real mode, the 8259s at vectors 20h-2Fh, the
; UART (COM1, IRQ4) as the source:
; 1. IRQ4 requested while masked, then unmasked by OCW1: taken before the
;    instruction after the OUT;
; 2. IRQ4 unmasked, the UART's THRE interrupt enabled by an IER write
;    (16550 datasheet 8.7: with the THR empty it is pending at once):
;    taken before the instruction after the OUT;
; 3. the UART's character timeout (8.10: FIFO mode, a byte in the FIFO
;    below the trigger level, four character times at 115200 baud, about
;    350 us): one THR write in loopback, then the guest spins on the TSC
;    with no exit; the timeout's interrupt must come within 1 ms (the
;    host timer must have been armed for it: Zazen's console service,
;    which also wakes it, polls every 10 ms once the output is out).
; Each prints what it saw; the scenario checks the lines.
%include "lib.inc"
ROM_BEGIN

%define COM1          0x3f8
%define IRQ4_VECTOR   0x24
%define AFTER         0x500 ; byte: set by the instruction after the OUT
%define SEEN          0x501 ; byte: AFTER as the handler found it
%define TAKEN         0x502 ; byte: the handler ran

%macro UART_OUT 2            ; register offset, value
    mov dx, COM1 + %1
    mov al, %2
    out dx, al
%endmacro

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [IRQ4_VECTOR * 4], irq4
    mov word [IRQ4_VECTOR * 4 + 2], 0xf000
    LAPIC_OFF
    PIC_INIT 0x20, 0x28
    mov al, 0xff                ; all masked
    out 0x21, al
    out 0xa1, al
    call calibrate_tsc          ; EBP: TSC ticks in 10 ms

    ; 1. THRE pending with IRQ4 masked: the 8259 latches the request
    UART_OUT 3, 0x03            ; LCR: 8N1
    UART_OUT 4, 0x08            ; MCR: OUT2, the PC's IRQ gate
    UART_OUT 1, 0x02            ; IER: THR empty
    call clear_marks
    sti
    nop                         ; (the STI shadow) anything left over comes here
    mov al, 0xef                ; OCW1: IRQ4 unmasked
    mov byte [AFTER], 0
    out 0x21, al
    mov byte [AFTER], 1
    nop
    nop
    cli
    mov si, msg_unmask
    call report

    ; 2. IRQ4 open, the interrupt enabled at the UART
    call clear_marks
    sti
    nop
    mov dx, COM1 + 1
    mov al, 0x02                ; IER: THR empty
    mov byte [AFTER], 0
    out dx, al
    mov byte [AFTER], 1
    nop
    nop
    cli
    mov si, msg_ier
    call report

    ; 3. the character timeout, in loopback at 115200 baud
    UART_OUT 3, 0x80            ; LCR: DLAB
    UART_OUT 0, 0x01            ; divisor 1
    UART_OUT 1, 0x00
    UART_OUT 3, 0x03            ; LCR: 8N1
    UART_OUT 2, 0xc7            ; FCR: FIFOs on and emptied, trigger 14 bytes
    UART_OUT 4, 0x18            ; MCR: loopback, OUT2
    UART_OUT 1, 0x01            ; IER: received data (and its timeout)
    mov ecx, ebp                ; 20 ms for the console to take the lines
    shl ecx, 1                  ; above (its service wakes Zazen meanwhile)
    call spin_tsc
    call clear_marks
    mov eax, ebp                ; 1 ms
    xor edx, edx
    mov ecx, 10
    div ecx
    mov ecx, eax
    sti
    UART_OUT 0, 'z'             ; one byte into the receive FIFO
    rdtsc
    mov esi, eax
.spin:
    cmp byte [TAKEN], 0
    jne .taken
    rdtsc
    sub eax, esi
    cmp eax, ecx
    jb .spin
    cli
    PUTS16 msg_timeout_late
    jmp .done
.taken:
    cli
    PUTS16 msg_timeout_ok
.done:
    PUTS16 msg_done
    cli
    hlt

clear_marks:
    mov byte [AFTER], 2         ; 2: before the write, 0: the write, 1: after it
    mov byte [SEEN], 0xff
    mov byte [TAKEN], 0
    ret

; report: prints SI, then whether IRQ4 came before the instruction after
; the OUT (AFTER still 0 in the handler), after it, before the OUT (a
; request left over), or not at all.
report:
    call print16
    mov si, msg_never
    cmp byte [TAKEN], 0
    je .print
    mov si, msg_at_once
    cmp byte [SEEN], 0
    je .print
    mov si, msg_later
    cmp byte [SEEN], 1
    je .print
    mov si, msg_early
.print:
    call print16
    ret

; IRQ4: noted, the UART silenced (IER 0) and its receive FIFO read, then
; a non-specific EOI (OCW2 20h).
irq4:
    push ax
    push dx
    mov al, [AFTER]
    mov [SEEN], al
    mov byte [TAKEN], 1
    UART_OUT 1, 0x00
    mov dx, COM1
    in al, dx
    mov al, 0x20
    out 0x20, al
    pop dx
    pop ax
    iret

    LIB16_TSC
    LIB16

msg_unmask:       db "portirq: 8259 unmask: ", 0
msg_ier:          db "portirq: UART IER write: ", 0
msg_at_once:      db "taken before the next instruction", 10, 0
msg_later:        db "taken after the next instruction", 10, 0
msg_never:        db "not taken", 10, 0
msg_early:        db "taken before the write", 10, 0
msg_timeout_ok:   db "portirq: UART receive timeout: taken within 1 ms", 10, 0
msg_timeout_late: db "portirq: UART receive timeout: not taken within 1 ms", 10, 0
msg_done:         db "portirq: done", 10, 0

ROM_END
