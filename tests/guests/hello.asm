; The smallest guest: a line on the debug console, then cli; hlt, which
; ends the domain as "halted with interrupts disabled".
%include "lib.inc"
ROM_BEGIN

start:
    PUTS16 msg_hello
    PUTS16 msg_bye
    cli
    hlt
    jmp start            ; not reached: HLT with IF=0 never resumes

LIB16
msg_hello: db "hello from a Zazen guest in real mode", 10, 0
msg_bye:   db "hello: cli; hlt", 10, 0

ROM_END
