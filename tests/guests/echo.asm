; Console input: what the user types on Zazen's console reaches the domain
; that has the focus, through its COM1 and its keyboard. The guest asks
; for a line, reads it from COM1 (polling the line status register), then
; shows the scancodes the 8042 queued for the same keys.
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
    stosb
    cmp di, LINE + 60
    jb .read
.got_line:
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
    PUTS16 msg_keys
    mov cx, 6               ; make and break codes of the first three keys
.key:
    in al, 0x64
    test al, 0x01           ; output buffer full
    jz .key
    in al, 0x60
    call hex8_16
    mov al, ' '
    out DEBUGCON, al
    loop .key
    NEWLINE
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
msg_prompt: db "echo: type a line", 10, 0
msg_got:    db "echo: COM1 got '", 0
msg_keys:   db "echo: keyboard scancodes ", 0

ROM_END
