; Console input and prompts: what the user types on Zazen's console goes
; to the one input the domain uses as its console (docs/devices.md, "The
; console"): its keyboard while COM1 has no baud rate programmed, COM1
; alone once it has. Each prompt ends without a newline and must show on
; the console before anything is typed (the harness types only after it
; sees it); what the guest prints next continues that line.
;   1. "echo: keys> ": three keys, read as scancodes from the 8042; COM1
;      must have received nothing.
;   2. COM1 programmed (115200 8N1); "echo> ": a line read from COM1, each
;      character echoed as it comes; the 8042 must have received nothing.
%include "lib.inc"
ROM_BEGIN

%define COM1 0x3f8
%define LINE 0x500

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000

    PUTS16 msg_keys_prompt
    mov cx, 6               ; make and break codes of the three keys
.key:
    in al, 0x64
    test al, 0x01           ; output buffer full
    jz .key
    in al, 0x60
    call hex8_16
    cmp cx, 1
    je .no_space
    mov al, ' '
    out DEBUGCON, al
.no_space:
    loop .key
    NEWLINE
    mov dx, COM1 + 5
    in al, dx
    mov si, msg_com1_nothing
    test al, 0x01           ; data ready
    jz .com1_said
    mov si, msg_com1_something
.com1_said:
    call print16

    ; 115200 baud, 8 data bits, no parity, 1 stop bit (PC16550D 8.3, 8.4)
    mov dx, COM1 + 3
    mov al, 0x80            ; DLAB
    out dx, al
    mov dx, COM1
    mov al, 1               ; divisor 1
    out dx, al
    inc dx
    xor al, al
    out dx, al
    mov dx, COM1 + 3
    mov al, 0x03
    out dx, al

    PUTS16 msg_prompt
    mov di, LINE
.read:
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x01           ; data ready
    jz .wait
    mov dx, COM1
    in al, dx
    cmp al, 13
    je .got_line
    cmp al, 10
    je .got_line
    out DEBUGCON, al        ; echoed, as a terminal program does
    stosb
    cmp di, LINE + 60
    jb .read
.got_line:
    NEWLINE
    mov byte [di], 0
    PUTS16 msg_got
    mov si, LINE
.show:
    lodsb
    test al, al
    jz .shown
    out DEBUGCON, al
    jmp .show
.shown:
    mov al, "'"
    out DEBUGCON, al
    NEWLINE
    in al, 0x64
    mov si, msg_kbd_nothing
    test al, 0x01
    jz .kbd_said
    mov si, msg_kbd_something
.kbd_said:
    call print16
    cli
    hlt

hex8_16:                        ; AL as two hex digits
    push ax
    shr al, 4
    call .nibble
    pop ax
    and al, 0x0f
.nibble:
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '9' - 1
.out:
    out DEBUGCON, al
    ret

LIB16
msg_keys_prompt:    db "echo: keys> ", 0
msg_com1_nothing:   db "echo: COM1 got nothing", 10, 0
msg_com1_something: db "echo: COM1 got a byte too", 10, 0
msg_prompt:         db "echo> ", 0
msg_got:            db "echo: COM1 got '", 0
msg_kbd_nothing:    db "echo: keyboard got nothing", 10, 0
msg_kbd_something:  db "echo: keyboard got a key too", 10, 0

ROM_END
