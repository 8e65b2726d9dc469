; A triple fault: with an empty interrupt vector table, the #UD of UD2
; cannot be delivered (#GP), nor can that (#DF), so the CPU shuts down
; (SDM 3A 6.15, interrupt 8). Zazen ends the domain and names CS:RIP.
%include "lib.inc"
ROM_BEGIN

start:
    PUTS16 msg
    mov al, 0x5a            ; a POST code, as firmware reports its progress
    out 0x80, al
    lidt [cs:empty_idt]
    jmp boom

LIB16
msg: db "triple: about to fault at f000:1000", 10, 0
empty_idt:
    dw 0
    dd 0

    times 0x1000 - ($ - $$) db 0x90
boom:
    ud2

ROM_END
