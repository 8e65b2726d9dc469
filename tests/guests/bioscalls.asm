; The Zazen BIOS's services as a boot loader calls them: a disk image
; (16 sectors) booted by the BIOS, not a ROM. Every line prints what the
; BIOS returned. The same image boots as a hard disk (drive 80h), as the
; floppy of an El Torito floppy-emulation CD (00h) and as the disk of a
; hard-disk-emulation CD (80h, the real disk then 81h); what depends on
; the drive is printed for that drive.
;   INT 16h: extended shift flags, functionality, ID, the buffer (05h,
;            01h/00h vs 11h/10h), typematic, then keys typed on the console
;   INT 10h: 0Ah keeps the attribute, window scrolls, 0Fh, 03h, 13h with
;            attributes, and a program that scrolls by itself: its lines
;            stay lines on the console
;   INT 13h: 41h, 48h (EDD 3.0 device path, DPTE), 15h, 01h, 08h, 4Bh
;   INT 15h: C0h, C1h; INT 1Ah: 03h/02h; INT 14h: COM1 set up, written
;            and read through it
;   tables:  the RSDP and the SMBIOS entry point in the F segment
;   console: the BIOS mirrors INT 10h until COM1 is programmed (here by
;            INT 14h AH=00h), then not; typed keys then go to COM1, not
;            the keyboard
; Results go straight to the debug console (port E9h), apart from what
; tests the INT 10h mirror.

%define DEBUGCON 0xe9
%define COM1 0x3f8
%define SECTORS 16
%define DRIVE 0x600             ; the boot drive
%define BUF 0x1000              ; scratch

    bits 16
    org 0x7c00

boot:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    mov [DRIVE], dl
    ; the rest of the image: sectors 2-16 of cylinder 0, head 0
    mov ax, 0x0200 | (SECTORS - 1)
    mov cx, 0x0002
    xor dh, dh
    mov bx, 0x7e00
    int 0x13
    jc .load_failed
    jmp main
.load_failed:
    mov si, msg_load_failed
.say:
    lodsb
    test al, al
    jz .stop
    out DEBUGCON, al
    jmp .say
.stop:
    cli
    hlt
msg_load_failed: db "bios: cannot load the rest of the image", 10, 0

    times 446 - ($ - $$) db 0
    ; one partition, sectors 1-15, in the CHS of a 1-head, 16-sector disk:
    ; the geometry a hard-disk emulation takes from it
    db 0x80, 0, 2, 0            ; active, start CHS 0/0/2
    db 0x01, 0, 16, 0           ; type 1, end CHS 0/0/16
    dd 1, SECTORS - 1
    times 510 - ($ - $$) db 0
    dw 0xaa55

; ---------------------------------------------------------------- output
puts:                           ; the NUL-terminated string at DS:SI
    push ax
    push si
.next:
    lodsb
    test al, al
    jz .done
    out DEBUGCON, al
    jmp .next
.done:
    pop si
    pop ax
    ret

%macro SAY 1
    mov si, %1
    call puts
%endmacro

hex4:                           ; AL low nibble
    push ax
    and al, 0x0f
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '9' - 1
.out:
    out DEBUGCON, al
    pop ax
    ret

hex8:                           ; AL
    push ax
    shr al, 4
    call hex4
    pop ax
    jmp hex4

hex16:                          ; AX
    xchg al, ah
    call hex8
    xchg al, ah
    jmp hex8

hex32:                          ; EAX
    ror eax, 16
    call hex16
    ror eax, 16
    jmp hex16

space:
    push ax
    mov al, ' '
    out DEBUGCON, al
    pop ax
    ret

newline:
    push ax
    mov al, 10
    out DEBUGCON, al
    pop ax
    ret

cf_flag:                        ; " cf=0" / " cf=1": the carry flag, kept
    pushf
    push ax
    mov al, '0'
    jnc .out
    mov al, '1'
.out:
    push ax
    SAY msg_cf
    pop ax
    out DEBUGCON, al
    pop ax
    popf
    ret

; ---------------------------------------------------------------- main
main:
    SAY msg_drive
    mov al, [DRIVE]
    call hex8
    call newline
    call test_int16
    call test_int10
    call test_int13
    call test_int15_1a
    call test_tables
    call test_keyboard
    call test_console
    cli
    hlt

; ---------------------------------------------------------------- INT 16h
test_int16:
    SAY msg_int16_12
    mov ax, 0x12ff              ; AH 12h: AX must come back as the flags
    int 0x16
    call hex16
    SAY msg_09
    mov ah, 0x09
    int 0x16
    call hex8
    SAY msg_0a
    xor bx, bx
    mov ah, 0x0a
    int 0x16
    mov ax, bx
    call hex16
    call newline

    ; a grey cursor key stored with 05h: 00h/01h give it as the PC/AT had
    ; it (E0h -> 00h), 10h/11h as it is
    SAY msg_store
    mov ah, 0x05
    mov cx, 0x48e0
    int 0x16
    call hex8                   ; AL: 00h stored
    SAY msg_peek01
    mov ah, 0x01
    int 0x16
    call hex16
    SAY msg_read00
    mov ah, 0x00
    int 0x16
    call hex16
    mov ah, 0x05
    mov cx, 0x48e0
    int 0x16
    SAY msg_peek11
    mov ah, 0x11
    int 0x16
    call hex16
    SAY msg_read10
    mov ah, 0x10
    int 0x16
    call hex16
    SAY msg_then
    mov ah, 0x11
    int 0x16
    mov si, msg_empty
    jz .said
    mov si, msg_not_empty
.said:
    call puts
    call newline

    ; F11 exists only on the enhanced keyboard: 01h/00h drop it
    SAY msg_f11
    mov ah, 0x05
    mov cx, 0x8500
    int 0x16
    mov ah, 0x05
    mov cx, 0x1e61
    int 0x16
    mov ah, 0x01
    int 0x16
    call hex16
    call space
    mov ah, 0x00
    int 0x16
    call hex16
    call newline

    ; the buffer holds 15 keys: the 16th is refused with AL=01h
    SAY msg_full
    mov cx, 16
.fill:
    push cx
    mov ah, 0x05
    mov cx, 0x3920
    int 0x16
    pop cx
    loop .fill
    call hex8                   ; the last one's AL
    SAY msg_drained
    xor cx, cx
.drain:
    mov ah, 0x11
    int 0x16
    jz .drained
    mov ah, 0x10
    int 0x16
    inc cx
    jmp .drain
.drained:
    mov ax, cx
    call hex8
    call newline

    SAY msg_typematic
    mov ax, 0x0305
    mov bx, 0x020c
    int 0x16
    xor bx, bx
    mov ax, 0x0306
    int 0x16
    mov ax, bx
    call hex16
    call newline
    ret

; ---------------------------------------------------------------- INT 10h
; set_cursor: row DH, column DL (page 0)
set_cursor:
    push ax
    push bx
    mov ah, 0x02
    xor bh, bh
    int 0x10
    pop bx
    pop ax
    ret

; write_at_cursor: the string at SI with 0Ah, moving the cursor along the
; row with 02h, as a program that draws its own screen does
write_placed:
    push ax
    push bx
    push cx
    push dx
    push si
    mov ah, 0x03
    xor bh, bh
    int 0x10                    ; DX: where the cursor is
.next:
    lodsb
    test al, al
    jz .done
    mov ah, 0x0a
    xor bh, bh
    mov cx, 1
    int 0x10
    inc dl
    call set_cursor
    jmp .next
.done:
    pop si
    pop dx
    pop cx
    pop bx
    pop ax
    ret

read_cell:                      ; AX = character and attribute at DH, DL
    call set_cursor
    mov ah, 0x08
    xor bh, bh
    int 0x10
    ret

test_int10:
    ; 09h with an attribute, then 0Ah over it: the attribute stays
    mov dx, 0x0000
    call set_cursor
    mov ax, 0x0941
    mov bx, 0x001e
    mov cx, 1
    int 0x10
    mov ax, 0x0a42
    xor bh, bh
    mov cx, 1
    int 0x10
    mov dx, 0x0100              ; to the next row: the mirrored "AB" is a line
    call set_cursor
    mov dx, 0x0000
    call read_cell
    push ax
    SAY msg_int10_08
    pop ax
    call hex16
    call newline

    ; a window (rows 3-7, columns 5-15) scrolled up by one, then down by
    ; two; a cell just outside it stays
    mov dx, 0x0310
    call set_cursor
    mov ax, 0x0959
    mov bx, 0x0007
    mov cx, 1
    int 0x10
    mov dx, 0x050a
    call set_cursor
    mov ax, 0x0958
    mov bx, 0x0007
    mov cx, 1
    int 0x10
    mov ax, 0x0601
    mov bh, 0x17
    mov cx, 0x0305
    mov dx, 0x070f
    int 0x10
    SAY msg_window
    mov dx, 0x040a
    call read_cell
    call hex16
    call space
    mov dx, 0x070a
    call read_cell
    call hex16
    call space
    mov ax, 0x0702
    mov bh, 0x27
    mov cx, 0x0305
    mov dx, 0x070f
    int 0x10
    mov dx, 0x060a
    call read_cell
    call hex16
    call space
    mov dx, 0x0310
    call read_cell              ; outside the window: untouched
    call hex16
    call newline

    SAY msg_int10_0f
    mov ah, 0x0f
    int 0x10
    call hex16
    call space
    mov al, bh
    call hex8
    SAY msg_int10_03
    mov dx, 0x0a14
    call set_cursor
    mov ax, 0xffff
    mov cx, 0x1111
    mov ah, 0x03
    xor bh, bh
    int 0x10
    call hex16
    call space
    mov ax, cx
    call hex16
    call space
    mov ax, dx
    call hex16
    call newline

    ; 13h: character/attribute pairs, cursor moved (AL=3); mirrored as "hi"
    mov ax, 0x1303
    xor bh, bh
    mov cx, 2
    mov dx, 0x0200
    mov bp, pairs
    int 0x10
    mov al, 10                  ; end the mirrored line (teletype)
    mov ah, 0x0e
    int 0x10
    SAY msg_int10_13
    mov dx, 0x0200
    call read_cell
    call hex16
    call space
    mov dx, 0x0201
    call read_cell
    call hex16
    call newline

    ; a program that writes with 0Ah, moves the cursor itself and scrolls
    ; the screen with 06h when it reaches the bottom: two lines, each its
    ; own on the console
    mov dx, 0x1800
    call set_cursor
    mov si, msg_scroll_a
    call write_placed
    mov ax, 0x0601
    mov bh, 0x07
    xor cx, cx
    mov dx, 0x184f
    int 0x10
    mov dx, 0x1800
    call set_cursor
    mov si, msg_scroll_b
    call write_placed
    mov dx, 0x0000
    call set_cursor             ; another row: ends the line
    ret

pairs: db 'h', 0x1f, 'i', 0x2f

; ---------------------------------------------------------------- INT 13h
test_int13:
    mov dl, [DRIVE]
    cmp dl, 0x80
    jb .skip_edd
    ; EDD on the boot drive
    SAY msg_int13_41
    mov ah, 0x41
    mov bx, 0x55aa
    int 0x13
    call cf_flag
    call space
    push ax
    mov ax, bx
    call hex16
    call space
    pop ax
    mov al, ah
    call hex8
    call space
    mov ax, cx
    call hex16
    call newline
    ; on the first IDE disk: 80h, or 81h after an emulated hard disk (the
    ; El Torito status of the boot drive says which)
    mov ax, 0x4b01
    mov dl, [DRIVE]
    mov si, BUF + 0x200
    int 0x13
    mov dl, 0x80
    jc .ide
    mov dl, 0x81
.ide:
    mov [BUF + 0x100], dl
    mov word [BUF], 0x4a
    call edd_48
    mov word [BUF], 0x42
    mov dl, [BUF + 0x100]
    call edd_48
    ; the DPTE
    SAY msg_dpte
    les di, [BUF + 0x1a]
    mov ax, [es:di]
    call hex16
    call space
    mov ax, [es:di + 2]
    call hex16
    call space
    mov al, [es:di + 4]
    call hex8
    call space
    mov al, [es:di + 6]
    call hex8
    call space
    mov al, [es:di + 14]
    call hex8
    mov cx, 16
    xor al, al
.dpte_sum:
    add al, [es:di]
    inc di
    loop .dpte_sum
    push ds
    pop es
    call sum_said
    call newline
.skip_edd:

    SAY msg_int13_15
    mov ah, 0x15
    mov dl, 0x83
    int 0x13
    pushf
    mov al, ah
    call hex8
    popf
    call cf_flag
    call newline

    ; a read of sector 0 (there is none: they count from 1), then 01h
    SAY msg_int13_01
    mov ax, 0x0201
    mov cx, 0x0000
    mov dh, 0
    mov dl, [DRIVE]
    mov bx, BUF
    int 0x13
    mov al, ah
    call hex8
    call space
    mov ah, 0x01
    mov dl, [DRIVE]
    int 0x13
    pushf
    mov al, ah
    call hex8
    popf
    call cf_flag
    call newline

    SAY msg_int13_08
    mov ah, 0x08
    mov dl, [DRIVE]
    xor di, di
    mov es, di
    int 0x13
    push ax
    mov ax, cx
    call hex16
    call space
    mov ax, dx
    call hex16
    call space
    pop ax
    call hex16
    cmp byte [DRIVE], 0x80
    jae .no_floppy_table
    ; a floppy: its CMOS type in BL, its parameter table at ES:DI
    call space
    mov al, bl
    call hex8
    call space
    mov al, [es:di + 4]         ; sectors per track
    call hex8
.no_floppy_table:
    push ds
    pop es
    call newline

    ; the same sector read by CHS as the image holds it (the second one)
    SAY msg_int13_02
    mov ax, 0x0201
    mov cx, 0x0002
    xor dh, dh
    mov dl, [DRIVE]
    mov bx, BUF
    int 0x13
    call cf_flag
    push cx
    mov si, BUF
    mov di, 0x7e00
    mov cx, 256
    repe cmpsw
    pop cx
    mov si, msg_same
    je .same
    mov si, msg_differs
.same:
    call puts
    call newline

    ; El Torito status for the boot drive, then terminate the emulation
    SAY msg_int13_4b
    mov ax, 0x4b01
    mov dl, [DRIVE]
    mov si, BUF
    mov byte [BUF], 0
    int 0x13
    call cf_flag
    jc .no_status
    call space
    mov al, [BUF]
    call hex8
    call space
    mov al, [BUF + 1]           ; media type
    call hex8
    call space
    mov al, [BUF + 2]           ; drive
    call hex8
    call space
    mov ax, [BUF + 14]          ; sectors loaded
    call hex16
    call space
    mov al, [BUF + 16]          ; geometry as AH=08h: CH, CL, DH
    call hex8
    mov al, [BUF + 17]
    call hex8
    mov al, [BUF + 18]
    call hex8
    call newline
    SAY msg_terminated
    mov ax, 0x4b00
    mov dl, [DRIVE]
    mov si, BUF
    int 0x13
    call cf_flag
    mov ah, 0x08
    mov dl, [DRIVE]
    int 0x13
    call cf_flag
    call space
    mov ax, dx
    call hex16
.no_status:
    call newline
    ret

; edd_48: AH=48h on drive DL into BUF (its size word set by the caller)
edd_48:
    SAY msg_int13_48
    mov ah, 0x48
    mov si, BUF
    int 0x13
    call cf_flag
    call space
    mov ax, [BUF]
    call hex16
    call space
    mov ax, [BUF + 0x1e]
    call hex16
    call space
    mov al, [BUF + 0x20]
    call hex8
    call space
    mov si, BUF + 0x24          ; host bus, interface: text
    mov cx, 12
.text:
    lodsb
    out DEBUGCON, al
    loop .text
    call space
    mov si, BUF + 0x30          ; interface path, device path
    mov cx, 9
.path:
    lodsb
    call hex8
    loop .path
    movzx cx, byte [BUF + 0x20]
    mov si, BUF + 0x1e
    xor al, al
.sum:
    add al, [si]
    inc si
    loop .sum
    call sum_said
    call newline
    ret

sum_said:                       ; AL: a byte sum that must be 0
    test al, al
    mov si, msg_sum_ok
    jz .said
    mov si, msg_sum_bad
.said:
    jmp puts

; ---------------------------------------------------------------- INT 15h, 1Ah
test_int15_1a:
    SAY msg_int15_c0
    mov ah, 0xc0
    int 0x15
    call cf_flag
    call space
    mov al, [es:bx + 2]         ; model
    call hex8
    mov al, [es:bx + 5]         ; feature bytes 1 and 2
    call hex8
    mov al, [es:bx + 6]
    call hex8
    SAY msg_c1
    mov ah, 0xc1
    int 0x15
    call cf_flag
    call space
    mov ax, es
    call hex16
    push ds
    pop es
    call newline

    SAY msg_int1a
    mov ah, 0x03
    mov cx, 0x1234
    mov dx, 0x5600
    int 0x1a
    call cf_flag
    mov ah, 0x02
    int 0x1a
    call cf_flag
    call space
    mov ax, cx
    call hex16
    call newline
    ret

; ---------------------------------------------------------------- tables
; scan segment BX for the signature of DX words at SI, on 16-byte
; boundaries: AX = its offset, CF if not found
scan:
    push cx
    push di
    mov es, bx
    xor ax, ax
.try:
    mov di, ax
    push si
    mov cx, dx
    repe cmpsw
    pop si
    je .found
    add ax, 16
    jnz .try
    stc
    jmp .out
.found:
    clc
.out:
    push ds
    pop es
    pop di
    pop cx
    ret

test_tables:
    SAY msg_rsdp
    mov bx, 0xe000
    mov si, sig_rsdp
    mov dx, 4
    call scan
    jnc .rsdp_e
    mov bx, 0xf000
    call scan
    jc .no_rsdp
.rsdp_e:
    push ax
    mov ax, bx
    call hex16
    mov al, ':'
    out DEBUGCON, al
    pop ax
    call hex16
    mov di, ax
    mov es, bx
    mov cx, 36
    xor al, al
.rsdp_sum:
    add al, [es:di]
    inc di
    loop .rsdp_sum
    push ds
    pop es
    call sum_said
.no_rsdp:
    call newline

    SAY msg_smbios
    mov bx, 0xf000
    mov si, sig_sm
    mov dx, 2
    call scan
    jc .no_smbios
    mov di, ax
    mov es, bx
    call hex16
    call space
    mov al, [es:di + 6]         ; version
    call hex8
    mov al, [es:di + 7]
    call hex8
    call space
    mov ax, [es:di + 0x1c]      ; structures
    call hex16
    mov cx, 0x1f
    xor al, al
.sm_sum:
    add al, [es:di]
    inc di
    loop .sm_sum
    push ds
    pop es
    call sum_said
.no_smbios:
    call newline
    ret

sig_rsdp: db "RSD PTR "
sig_sm:   db "_SM_"

; ---------------------------------------------------------------- keys
; keys typed on the console while COM1 has no baud rate reach the
; keyboard: INT 16h 00h gives them through the BIOS's IRQ1 handler
test_keyboard:
    SAY msg_type_keys
    mov cx, 3
.key:
    mov ah, 0x00
    int 0x16
    call hex16
    cmp cx, 1
    je .last
    call space
.last:
    loop .key
    call newline
    SAY msg_flags_after
    mov ah, 0x12
    int 0x16
    call hex16
    call newline
    ret

; ---------------------------------------------------------------- console
tty_puts:                       ; the string at SI through INT 10h teletype
    push ax
    push bx
    push si
.next:
    lodsb
    test al, al
    jz .done
    mov ah, 0x0e
    xor bx, bx
    int 0x10
    jmp .next
.done:
    pop si
    pop bx
    pop ax
    ret

com1_puts:                      ; the string at SI on COM1, through INT 14h AH=01h
    push ax
    push dx
    push si
.next:
    lodsb
    test al, al
    jz .done
    mov ah, 0x01
    xor dx, dx
    int 0x14
    jmp .next
.done:
    pop si
    pop dx
    pop ax
    ret

test_console:
    mov si, msg_mirror_before
    call tty_puts
    ; COM1 at 9600 baud, 8N1, through INT 14h: the guest's own console
    ; from now on
    SAY msg_int14
    mov ax, 0x00e3
    xor dx, dx
    int 0x14
    call hex16
    mov ax, 0x0300              ; a port the BDA does not list
    mov dx, 2
    int 0x14
    call space
    mov al, ah
    call hex8
    call newline
    mov si, msg_mirror_after
    call tty_puts
    mov si, msg_com1
    call com1_puts
    mov si, msg_com1_prompt
    call com1_puts
    ; a line from COM1, through INT 14h AH=02h (timeouts retried)
    mov di, BUF
.read:
    mov ah, 0x02
    xor dx, dx
    int 0x14
    test ah, 0x80
    jnz .read
    cmp al, 13
    je .got
    stosb
    cmp di, BUF + 40
    jb .read
.got:
    mov byte [di], 0
    SAY msg_com1_got
    mov si, BUF
    call puts
    SAY msg_keyboard
    mov ah, 0x11
    int 0x16
    mov si, msg_none
    jz .said
    mov si, msg_some
.said:
    call puts
    call newline
    ret

msg_drive:         db "bios: booted from drive ", 0
msg_cf:            db " cf=", 0
msg_int16_12:      db "bios: int16 12h ax=", 0
msg_09:            db " 09h al=", 0
msg_0a:            db " 0ah bx=", 0
msg_store:         db "bios: int16 05h 48e0 al=", 0
msg_peek01:        db " 01h ", 0
msg_read00:        db " 00h ", 0
msg_peek11:        db " 11h ", 0
msg_read10:        db " 10h ", 0
msg_then:          db " then ", 0
msg_empty:         db "empty", 0
msg_not_empty:     db "not empty", 0
msg_f11:           db "bios: int16 f11 then 1e61: 01h, 00h give ", 0
msg_full:          db "bios: int16 16th key al=", 0
msg_drained:       db " keys read back ", 0
msg_typematic:     db "bios: int16 0306h bx=", 0
msg_int10_08:      db "bios: int10 0ah over 09h keeps the attribute: ", 0
msg_window:        db "bios: int10 window scrolls: ", 0
msg_int10_0f:      db "bios: int10 0fh ax bh ", 0
msg_int10_03:      db " 03h ax cx dx ", 0
msg_int10_13:      db "bios: int10 13h pairs ", 0
msg_scroll_a:      db "bios: a line, then the screen scrolls", 0
msg_scroll_b:      db "bios: the next line, on the same row", 0
msg_int13_41:      db "bios: int13 41h", 0
msg_int13_48:      db "bios: int13 48h", 0
msg_dpte:          db "bios: dpte ", 0
msg_sum_ok:        db " sum ok", 0
msg_sum_bad:       db " sum BAD", 0
msg_int13_15:      db "bios: int13 15h on 83h ah=", 0
msg_int13_01:      db "bios: int13 02h of sector 0 ah=", 0
msg_int13_08:      db "bios: int13 08h cx dx ax ", 0
msg_int13_02:      db "bios: int13 02h of sector 2", 0
msg_same:          db ": the image's", 0
msg_differs:       db ": DIFFERS", 0
msg_int13_4b:      db "bios: int13 4b01h", 0
msg_terminated:    db "bios: int13 4b00h", 0
msg_int15_c0:      db "bios: int15 c0h", 0
msg_c1:            db " c1h", 0
msg_int1a:         db "bios: int1a 03h 12:34:56", 0
msg_rsdp:          db "bios: RSDP at ", 0
msg_smbios:        db "bios: SMBIOS entry point at f000:", 0
msg_type_keys:     db "bios: keys> ", 0
msg_flags_after:   db "bios: int16 12h after them ax=", 0
msg_mirror_before: db "bios: INT 10h mirrored while COM1 has no baud rate", 13, 10, 0
msg_mirror_after:  db "bios: INT 10h NOT to be seen once COM1 is programmed", 13, 10, 0
msg_com1:          db "bios: on COM1", 13, 10, 0
msg_com1_prompt:   db "bios: com1> ", 0
msg_int14:         db "bios: int14 00h e3 ax=", 0
msg_com1_got:      db "bios: COM1 got ", 0
msg_keyboard:      db ", the keyboard ", 0
msg_none:          db "nothing", 0
msg_some:          db "a key too", 0

    times SECTORS * 512 - ($ - $$) db 0
