; Zazen BIOS: the real-mode firmware of a full-virtualization domain.
;
; A 64 KiB ROM mapped at F0000h-FFFFFh and below 4 GiB; the vCPU starts at
; F000:FFF0. The hypervisor has already written the platform tables
; (guest-bios/tables.c): the E820 map and the ACPI tables, and an info
; block in the EBDA (BIOS_INFO). This code does the rest of what a PC BIOS
; does, following the IBM PC/AT Technical Reference, Ralf Brown's Interrupt
; List for the call interfaces, the BIOS Enhanced Disk Drive Specification
; (EDD 3.0), the El Torito Bootable CD-ROM Format Specification 1.0 and
; ATA/ATAPI-6 for the disk protocol:
;   POST: interrupt vectors, BIOS data area, EBDA, 8259s, 8254, the local
;         APIC's virtual-wire mode, IDE disk detection, a banner;
;   INT 10h video (text mode 3 at B8000h, mirrored to the debug console),
;   INT 11h, 12h, 13h disks (CHS, EDD 41h/42h/43h/48h, ATAPI CD-ROM),
;   INT 15h (E820, E801, 88h, C0h, A20, 86h), INT 16h keyboard,
;   INT 18h/19h boot (first hard disk, then CD-ROM via El Torito), INT 1Ah
;   (ticks, RTC, PCI BIOS), and the IRQ0/IRQ1 handlers.

bits 16
org 0

%define ROM_SEG         0xf000
%define BDA_SEG         0x0040
%define EBDA_SEG        0x9f00         ; tables.h: BIOS_EBDA_BASE
%define EBDA_KIB        4
%define INFO            0x100          ; struct bios_info in the EBDA
%define INFO_MAGIC      0x4f49425a
%define INFO_E820_COUNT INFO + 4
%define INFO_FLAGS      INFO + 6
%define INFO_RAM        INFO + 8
%define INFO_E820       INFO + 12
%define E820_SIZE       20
%define DRIVES          0x400          ; drive table in the EBDA
%define DRIVE_SIZE      24
%define EMU_DRIVE       DRIVES + 4 * DRIVE_SIZE ; the fifth entry: an El Torito image
%define HD_COUNT        0x480
%define CD_INDEX        0x481          ; drive table index of the CD-ROM, FFh if none
%define MIRROR          0x483          ; byte: the INT 10h mirror's state
%define MIRROR_COM1     0x01           ;   COM1 is the guest's console: no mirror
%define MIRROR_DIRTY    0x02           ;   the mirrored line has text
%define MIRROR_MARKED   0x04           ;   MIRROR_CELL holds 09h/0Ah's last character
%define MIRROR_CELL     0x486          ; word: that cell's cursor (DL column, DH row)
%define MIRROR_CHAR     0x488          ; byte: the character 09h/0Ah mirrored there
%define MIRROR_PAGE     0x489          ; byte: the page it was written on
%define TYPEMATIC       0x484          ; word: INT 16h AH=03h delay (high), rate (low)
%define TYPEMATIC_DEFAULT 0x010b       ; 500 ms, 10.9 characters/s (the PC/AT's)
%define CDB             0x490          ; 12-byte ATAPI packet
; the current disk request (DS = EBDA while the disk code runs)
%define REQ_LBA         0x4a0          ; dword: first sector
%define REQ_COUNT       0x4a8          ; word: sectors
%define REQ_SEG         0x4aa          ; buffer segment (advanced as sectors move)
%define REQ_OFF         0x4ac          ; buffer offset (below 16 after normalizing)
%define REQ_WRITE       0x4ae          ; byte: 1 = write
%define REQ_DONE        0x4b0          ; word: sectors moved
%define REQ_ERROR       0x4b2          ; byte: the INT 13h status of a failed request
%define EMU_CACHED      0x4b4          ; dword: the CD block in SECTOR_BUF for emu_io, or -1
; the El Torito boot, for INT 13h AH=4Bh
%define BOOT_MEDIA      0x4c0          ; byte: media type 0-4, FFh: not booted from a CD
%define BOOT_DRIVE      0x4c1          ; byte: E0h, or the emulated drive
%define BOOT_LBA        0x4c4          ; dword: the boot image's first block
%define BOOT_LOAD_SEG   0x4c8          ; word
%define BOOT_COUNT      0x4ca          ; word: virtual sectors loaded
%define DPTES           0x500          ; 4 x 16 bytes: EDD device parameter table extensions
%define SECTOR_BUF      0x800          ; 2 KiB in the EBDA
%define CD_DRIVE        0xe0
%define STACK_TOP       0x7000
%define DEBUGCON        0xe9
%define COM1_PORT       0x3f8
%define LAPIC           0xfee00000

; drive table entry
%define D_TYPE   0   ; 0 none, 1 ATA, 2 ATAPI
%define D_SLAVE  1
%define D_BASE   2
%define D_CTRL   4
%define D_HEADS  6
%define D_SPT    7
%define D_CYLS   8
%define D_LBA48  10
%define D_SECT   12  ; 32 bits (disks up to 2 TiB)
%define D_IMAGE  16  ; emulated: the image's first CD block
%define D_NUMBER 20  ; BIOS drive number
%define D_MEDIA  21  ; emulated: El Torito media type (1-3 floppy, 4 hard disk)
%define D_CD     22  ; emulated: the drive table index of its CD-ROM
%define D_MULTI  23  ; ATA: sectors per READ MULTIPLE block, 0: READ SECTORS (set_multiple)
%define T_ATA    1
%define T_ATAPI  2
%define T_EMU    3   ; an El Torito floppy or hard-disk image

; BDA offsets (segment 40h)
%define BDA_COM1       0x00            ; the serial ports' bases, 4 words
%define BDA_EQUIPMENT  0x10
%define BDA_FLOPPY_STATUS 0x41         ; INT 13h status of the last floppy operation
%define BDA_MEMORY     0x13
%define BDA_KBD_FLAGS  0x17            ; shift flags: 0 right Shift, 1 left Shift, 2 Ctrl, 3 Alt, 4-7 Scroll/Num/Caps/Insert on
%define BDA_KBD_FLAGS1 0x18            ; 0 left Ctrl, 1 left Alt, 2 SysReq, 4-7 Scroll/Num/Caps/Insert held
%define BDA_KBD_HEAD   0x1a
%define BDA_KBD_TAIL   0x1c
%define BDA_KBD_BUF    0x1e
%define BDA_KBD_END    0x3e
%define BDA_VIDEO_MODE 0x49
%define BDA_COLUMNS    0x4a
%define BDA_PAGE_SIZE  0x4c
%define BDA_PAGE_START 0x4e            ; the active page's offset in the buffer
%define BDA_CURSOR     0x50            ; column, row of each of the 8 pages
%define BDA_CURSOR_SHAPE 0x60
%define BDA_ACTIVE_PAGE 0x62
%define BDA_CRTC       0x63
%define BDA_TICKS      0x6c
%define BDA_MIDNIGHT   0x70
%define BDA_RESET_FLAG 0x72            ; 1234h: warm restart
%define BDA_DISK_STATUS 0x74           ; INT 13h status of the last hard disk operation
%define BDA_HD_COUNT   0x75
%define BDA_SERIAL_TIMEOUT 0x7c        ; 4 bytes: INT 14h timeout per port, seconds
%define BDA_KBD_START  0x80
%define BDA_KBD_STOP   0x82
%define BDA_ROWS       0x84
%define BDA_CHAR_HEIGHT 0x85
%define BDA_KBD_STATUS3 0x96           ; 0 after E1h, 1 after E0h, 2 right Ctrl, 3 right Alt, 4 101-key keyboard
%define BDA_EBDA       0x0e

; the caller's registers in a handler frame (after push ds, push es, pushad)
%define R_EDI dword [bp + 0]
%define R_DI  word [bp + 0]
%define R_ESI dword [bp + 4]
%define R_SI  word [bp + 4]
%define R_EBX dword [bp + 16]
%define R_BX  word [bp + 16]
%define R_BL  byte [bp + 16]
%define R_BH  byte [bp + 17]
%define R_EDX dword [bp + 20]
%define R_DX  word [bp + 20]
%define R_DL  byte [bp + 20]
%define R_DH  byte [bp + 21]
%define R_ECX dword [bp + 24]
%define R_CX  word [bp + 24]
%define R_CL  byte [bp + 24]
%define R_CH  byte [bp + 25]
%define R_EAX dword [bp + 28]
%define R_AX  word [bp + 28]
%define R_AL  byte [bp + 28]
%define R_AH  byte [bp + 29]
%define R_ES  word [bp + 32]
%define R_DS  word [bp + 34]
%define R_FLAGS word [bp + 40]

%macro ENTER_HANDLER 0
    push ds
    push es
    pushad
    mov bp, sp
%endmacro
%macro LEAVE_HANDLER 0
    popad
    pop es
    pop ds
    iret
%endmacro
%macro SET_CF 0
    or R_FLAGS, 1
%endmacro
%macro CLEAR_CF 0
    and R_FLAGS, 0xfffe
%endmacro

; ===================================================================== POST
post:
    cli
    cld
    xor ax, ax
    mov ss, ax
    mov sp, STACK_TOP
    call init_ivt
    call init_bda
    call init_pics
    call init_pit
    call init_lapic
    call init_pci
    mov si, msg_banner
    call print
    call print_memory
    call detect_disks
    sti
    int 0x19
    jmp $

; every vector to a bare IRET, then the ones the BIOS serves
init_ivt:
    xor ax, ax
    mov es, ax
    xor di, di
    mov cx, 256
.fill:
    mov word [es:di], iret_handler
    mov word [es:di + 2], ROM_SEG
    add di, 4
    loop .fill
    mov si, vector_table
.set:
    mov al, [cs:si]
    cmp al, 0xff
    je .done
    movzx di, al
    shl di, 2
    mov ax, [cs:si + 1]
    mov [es:di], ax
    mov word [es:di + 2], ROM_SEG
    add si, 3
    jmp .set
.done:
    ret

vector_table:
    db 0x08
    dw irq0_handler
    db 0x09
    dw irq1_handler
    db 0x0a
    dw irq_master_eoi
    db 0x0b
    dw irq_master_eoi
    db 0x0c
    dw irq_master_eoi
    db 0x0d
    dw irq_master_eoi
    db 0x0e
    dw irq_master_eoi
    db 0x0f
    dw irq7_handler
    db 0x10
    dw int10_handler
    db 0x11
    dw int11_handler
    db 0x12
    dw int12_handler
    db 0x13
    dw int13_handler
    db 0x14
    dw int14_handler
    db 0x15
    dw int15_handler
    db 0x16
    dw int16_handler
    db 0x18
    dw int18_handler
    db 0x19
    dw int19_handler
    db 0x1a
    dw int1a_handler
    db 0x1e                     ; not code: the diskette parameter table (1.44 MB)
    dw floppy_dpts + 11
    db 0x70
    dw irq8_handler
    db 0x71
    dw irq_slave_eoi
    db 0x72
    dw irq_slave_eoi
    db 0x73
    dw irq_slave_eoi
    db 0x74
    dw irq_slave_eoi
    db 0x75
    dw irq_slave_eoi
    db 0x76
    dw irq14_handler
    db 0x77
    dw irq15_handler
    db 0xff

init_bda:
    mov ax, BDA_SEG
    mov es, ax
    xor di, di
    xor ax, ax
    mov cx, 128
    rep stosw
    mov word [es:BDA_COM1], 0x3f8
    mov word [es:BDA_COM1 + 2], 0x2f8
    mov word [es:BDA_SERIAL_TIMEOUT], 0x0101 ; 1 s for COM1 and COM2
    mov word [es:BDA_EQUIPMENT], 0x0422     ; 2 serial ports, 80x25 colour, FPU
    mov word [es:BDA_MEMORY], 640 - EBDA_KIB
    mov word [es:BDA_EBDA], EBDA_SEG
    mov word [es:BDA_KBD_HEAD], BDA_KBD_BUF
    mov word [es:BDA_KBD_TAIL], BDA_KBD_BUF
    mov word [es:BDA_KBD_START], BDA_KBD_BUF
    mov word [es:BDA_KBD_STOP], BDA_KBD_END
    mov byte [es:BDA_VIDEO_MODE], 3
    mov word [es:BDA_COLUMNS], 80
    mov word [es:BDA_PAGE_SIZE], 4000
    mov word [es:BDA_CURSOR_SHAPE], 0x0607
    mov word [es:BDA_CRTC], 0x3d4
    mov byte [es:BDA_ROWS], 24
    mov word [es:BDA_CHAR_HEIGHT], 16
    mov byte [es:BDA_KBD_STATUS3], 0x10    ; an enhanced (101/102-key) keyboard
    ; EBDA: its size in KiB is its first byte (the hypervisor wrote it too);
    ; the BIOS's own variables from 400h start cleared (a reset keeps RAM)
    mov ax, EBDA_SEG
    mov es, ax
    mov byte [es:0], EBDA_KIB
    mov di, DRIVES
    mov cx, (0x600 - DRIVES) / 2
    xor ax, ax
    rep stosw
    mov byte [es:BOOT_MEDIA], 0xff
    mov dword [es:EMU_CACHED], 0xffffffff
    mov byte [es:HD_COUNT], 0
    mov byte [es:CD_INDEX], 0xff
    mov byte [es:MIRROR], 0
    mov word [es:TYPEMATIC], TYPEMATIC_DEFAULT
    ; COM1 without a baud rate (divisor latch 0), as at power-on: the guest
    ; that programs one makes COM1 its console (com1_is_console)
    mov dx, COM1_PORT + 3
    mov al, 0x80
    out dx, al
    mov dx, COM1_PORT
    xor al, al
    out dx, al
    inc dx
    out dx, al
    mov dx, COM1_PORT + 3
    out dx, al
    ; clear the screen
    mov ax, 0xb800
    mov es, ax
    xor di, di
    mov ax, 0x0720
    mov cx, 80 * 25
    rep stosw
    ret

; the 8259s: IRQ0-7 on vectors 08h-0Fh, IRQ8-15 on 70h-77h, as the PC/AT
init_pics:
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x08
    out 0x21, al
    mov al, 0x70
    out 0xa1, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x02
    out 0xa1, al
    mov al, 0x01
    out 0x21, al
    out 0xa1, al
    mov al, 0xf8                ; IRQ0 timer, IRQ1 keyboard, IRQ2 cascade
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    ret

; channel 0, mode 3, count 0 (65536): 18.2 Hz, the PC's tick
init_pit:
    mov al, 0x36
    out 0x43, al
    xor al, al
    out 0x40, al
    out 0x40, al
    ret

; The local APIC resets software-disabled with LINT0 masked: the 8259's
; INTR reaches the CPU only once LINT0 is ExtINT ("virtual wire", MP
; specification 1.4, 3.6.2.2). Its registers are above 1 MiB: reach them
; through FS with a 4 GiB limit ("unreal mode"), set up in a short trip to
; protected mode.
init_lapic:
    call enter_unreal
    mov esi, LAPIC + 0xf0
    mov dword [fs:esi], 0x1ff               ; SVR: enabled, spurious vector FFh
    mov esi, LAPIC + 0x350
    mov dword [fs:esi], 0x700               ; LINT0: ExtINT
    mov esi, LAPIC + 0x360
    mov dword [fs:esi], 0x400               ; LINT1: NMI
    ret

enter_unreal:
    push eax
    o32 lgdt [cs:unreal_gdt_ptr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp .pm
.pm:
    mov ax, 0x08
    mov fs, ax
    mov eax, cr0
    and al, 0xfe
    mov cr0, eax
    jmp .rm
.rm:
    xor ax, ax
    mov fs, ax                  ; base 0, the 4 GiB limit stays in the hidden part
    pop eax
    ret

align 8
unreal_gdt:
    dq 0
    dq 0x00cf93000000ffff       ; flat data, accessed (the GDT is in ROM)
unreal_gdt_ptr:
    dw 15
    dd 0xf0000 + unreal_gdt

; On the PCI PC: the PIIX3 IDE function's bus-master registers (BAR4) at
; C000h, I/O decoding and bus mastering on, as BIOSes leave it for the OS
; (PIIX3 datasheet 2.3; PCI 3.0 6.2.5).
%define IDE_FN_ADDR 0x80000900          ; bus 0, device 1, function 1
%define BM_BASE     0xc000
init_pci:
    push ds
    mov ax, EBDA_SEG
    mov ds, ax
    test word [INFO_FLAGS], 1
    pop ds
    jz .done
    mov eax, IDE_FN_ADDR | 0x20
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    mov eax, BM_BASE | 1
    out dx, eax
    mov eax, IDE_FN_ADDR | 0x04
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    mov ax, 0x0005              ; I/O space, bus master
    out dx, ax
.done:
    ret

print_memory:
    push ds
    mov ax, EBDA_SEG
    mov ds, ax
    mov si, msg_memory
    call print
    mov eax, [INFO_RAM]
    shr eax, 20
    call print_dec
    mov si, msg_mib
    call print
    pop ds
    ret

; ============================================================ output
; tty_putc: AL through INT 10h teletype (page 0); every register kept
tty_putc:
    push ax
    push bx
    mov ah, 0x0e
    xor bx, bx
    int 0x10
    pop bx
    pop ax
    ret

; print: the NUL-terminated string at CS:SI through INT 10h teletype
print:
    push ax
    push si
.next:
    mov al, [cs:si]
    inc si
    test al, al
    jz .done
    call tty_putc
    jmp .next
.done:
    pop si
    pop ax
    ret

; print_dec: EAX in decimal
print_dec:
    push eax
    push ebx
    push ecx
    push edx
    mov ebx, 10
    xor cx, cx
.div:
    xor edx, edx
    div ebx
    push dx
    inc cx
    test eax, eax
    jnz .div
.out:
    pop ax
    add al, '0'
    call tty_putc
    loop .out
    pop edx
    pop ecx
    pop ebx
    pop eax
    ret

; print_string_ds: the NUL-terminated string at DS:SI
print_string_ds:
    push ax
    push si
.next:
    lodsb
    test al, al
    jz .done
    call tty_putc
    jmp .next
.done:
    pop si
    pop ax
    ret

; ============================================================ INT 10h
; Text mode 3 (80x25, 16 colours) on the buffer at B8000h, eight pages of
; 4 KiB (IBM PC/AT Technical Reference, "VIDEO_IO"; return registers as
; in Ralf Brown's Interrupt List, INT 10h). What the screen shows is also
; mirrored to the debug console (port E9h), where Zazen shows it as the
; domain's console, until the guest makes COM1 its console itself
; (com1_is_console; docs/devices.md, "The console"): a boot loader with a
; serial console of its own prints every line there already.
;   00h set mode (AL=30h: text)        01h cursor shape
;   02h/03h set/get cursor (per page)  05h select the active page
;   06h/07h scroll a window up/down    08h read character and attribute
;   09h/0Ah write character(s)         0Eh teletype
;   0Fh get mode                       10h palette (accepted)
;   11h fonts (30h: information)       12h alternate select (10h, 30h-36h)
;   13h write string                   1Ah display combination
; Others (1Bh state, 4Fh VESA) return with AX unchanged: AL is not the
; function number, which is how callers see "not supported".
int10_handler:
    ENTER_HANDLER
    cld
    mov ax, BDA_SEG
    mov ds, ax
    mov al, R_AH
    cmp al, 0x0e
    je .teletype
    cmp al, 0x00
    je .set_mode
    cmp al, 0x01
    je .cursor_shape
    cmp al, 0x02
    je .set_cursor
    cmp al, 0x03
    je .get_cursor
    cmp al, 0x05
    je .select_page
    cmp al, 0x06
    je .scroll_up
    cmp al, 0x07
    je .scroll_down
    cmp al, 0x08
    je .read_char
    cmp al, 0x09
    je .write_char
    cmp al, 0x0a
    je .write_char
    cmp al, 0x0f
    je .get_mode
    cmp al, 0x11
    je .font
    cmp al, 0x12
    je .alt_select
    cmp al, 0x13
    je .write_string
    cmp al, 0x1a
    je .display_combination
    jmp .done                   ; 10h palette and the rest: nothing to do
.teletype:
    mov al, R_AL
    call tty_out
    jmp .done
.set_mode:
    mov al, R_AL
    and al, 0x7f
    cmp al, 2                   ; 80x25 monochrome text: the same buffer
    je .mode
    mov al, 3                   ; anything else: 80x25 colour text
.mode:
    mov [BDA_VIDEO_MODE], al
    mov byte [BDA_ACTIVE_PAGE], 0
    mov word [BDA_PAGE_START], 0
    push ds
    pop es
    mov di, BDA_CURSOR
    xor ax, ax
    mov cx, 8
    rep stosw                   ; every page's cursor home
    test byte R_AL, 0x80        ; bit 7: keep the buffer's contents
    jnz .mode_kept
    call mirror_newline
    mov ax, 0xb800
    mov es, ax
    xor di, di
    mov ax, 0x0720
    mov cx, 8 * 0x800           ; all eight pages
    rep stosw
.mode_kept:
    mov byte R_AL, 0x30         ; text mode (Phoenix and AMI BIOSes return this)
    jmp .done
.cursor_shape:
    mov ax, R_CX                ; CH start line, CL end line
    mov [BDA_CURSOR_SHAPE], ax
    jmp .done
.set_cursor:
    movzx bx, byte R_BH
    and bl, 7
    mov al, R_DL
    mov ah, R_DH
    cmp bl, [BDA_ACTIVE_PAGE]
    pushf
    shl bx, 1
    popf
    jne .store_cursor
    cmp ah, [BDA_CURSOR + bx + 1]
    je .store_cursor
    call mirror_newline         ; to another row of the shown page: a new line
.store_cursor:
    mov [BDA_CURSOR + bx], ax
    jmp .done
.get_cursor:
    movzx bx, byte R_BH
    and bl, 7
    shl bx, 1
    mov ax, [BDA_CURSOR + bx]
    mov R_DX, ax
    mov ax, [BDA_CURSOR_SHAPE]
    mov R_CX, ax
    mov word R_AX, 0            ; AX = 0000h (Phoenix)
    jmp .done
.select_page:
    mov al, R_AL
    and al, 7
    mov [BDA_ACTIVE_PAGE], al
    movzx ax, al
    shl ax, 12
    mov [BDA_PAGE_START], ax
    jmp .done
.scroll_up:
    mov bl, 0
    jmp .scroll
.scroll_down:
    mov bl, 1
.scroll:
    ; what scrolls away (or is cleared) ends the mirrored line: a program
    ; that writes with 09h/0Ah and scrolls by itself writes the next line
    ; on the same row
    call mirror_newline
    mov al, R_AL
    mov bh, R_BH
    mov cx, R_CX
    mov dx, R_DX
    movzx si, byte [BDA_ACTIVE_PAGE]
    shl si, 8
    call scroll_window_page
    jmp .done
.read_char:
    mov bl, R_BH
    call cursor_offset_page     ; ES:DI = the cursor's cell on page BL
    mov ax, [es:di]
    mov R_AX, ax                ; AH attribute, AL character
    jmp .done
.write_char:
    ; programs that place characters themselves (GRUB) write with 09h/0Ah
    ; and move the cursor with 02h: mirror the character once
    mov al, R_AL
    cmp al, 0x20
    jb .no_mirror
    call mirror_byte
    mov bl, R_BH
    call mirror_mark_cell
.no_mirror:
    mov bl, R_BH
    call cursor_offset_page
    mov cx, R_CX
    mov al, R_AL
    mov ah, R_BL
.put:
    test cx, cx
    jz .done
    cmp byte R_AH, 0x0a         ; 0Ah: the character only, the attribute stays
    jne .put_attr
    mov [es:di], al
    add di, 2
    dec cx
    jmp .put
.put_attr:
    stosw
    dec cx
    jmp .put
.get_mode:
    mov al, [BDA_VIDEO_MODE]
    mov R_AL, al
    mov byte R_AH, 80
    mov al, [BDA_ACTIVE_PAGE]
    mov R_BH, al
    jmp .done
.font:
    cmp byte R_AL, 0x30         ; get font information
    jne .done
    mov word R_CX, 16           ; bytes per character
    mov byte R_DL, 24           ; the last row
    mov R_ES, ROM_SEG           ; ES:BP: no font is kept: a blank one
    mov word [bp + 8], blank_font
    jmp .done
.alt_select:
    mov al, R_BL
    cmp al, 0x10                ; get EGA information
    jne .alt_other
    mov word R_BX, 0x0003       ; colour, 256 KiB
    mov word R_CX, 0x0009       ; no feature bits, switches 9 (EGA 80x25 colour)
    jmp .done
.alt_other:
    cmp al, 0x30                ; 30h-36h (scan lines, palette loading,
    jb .done                    ; video enable, summing, cursor emulation,
    cmp al, 0x36                ; print screen, refresh): accepted
    ja .done
    mov byte R_AL, 0x12         ; AL=12h: function supported
    jmp .done
.display_combination:
    mov al, R_AL
    cmp al, 1                   ; 00h get, 01h set (accepted)
    ja .done
    mov byte R_AL, 0x1a         ; AL=1Ah: function supported
    test al, al
    jnz .done
    mov word R_BX, 0x0008       ; BL active display VGA colour, BH no other
    jmp .done
.write_string:
    ; AL bit 0: move the cursor, bit 1: character/attribute pairs; BH
    ; page, BL attribute, CX length, DH/DL position, ES:BP the string
    movzx bx, byte R_BH
    and bl, 7
    shl bx, 1
    push word [BDA_CURSOR + bx] ; the cursor before
    push bx
    mov al, R_DL
    mov ah, R_DH
    mov [BDA_CURSOR + bx], ax
    mov cx, R_CX
    mov si, [bp + 8]            ; the caller's BP
    mov es, R_ES
.ws:
    jcxz .ws_done
    mov al, [es:si]
    inc si
    mov ah, R_BL
    test byte R_AL, 2
    jz .ws_put
    mov ah, [es:si]
    inc si
.ws_put:
    call tty_out_attr
    dec cx
    jmp .ws
.ws_done:
    pop bx
    pop ax
    test byte R_AL, 1
    jnz .done
    mov [BDA_CURSOR + bx], ax   ; bit 0 clear: the cursor stays where it was
.done:
    LEAVE_HANDLER

; cursor_offset_page: ES:DI = the cell under page BL's cursor (DS = BDA)
cursor_offset_page:
    push ax
    push bx
    push dx
    and bx, 7
    mov ax, 0xb800
    mov es, ax
    mov di, bx
    shl di, 12                  ; the page's 4 KiB
    shl bx, 1
    mov al, [BDA_CURSOR + bx + 1]
    mov ah, 80
    mul ah
    movzx dx, byte [BDA_CURSOR + bx]
    add ax, dx
    shl ax, 1
    add di, ax
    pop dx
    pop bx
    pop ax
    ret

; scroll_window_page: scrolls the window with its upper-left corner at
; CH (row), CL (column) and its lower-right corner at DH, DL of the page
; SI >> 8 by AL rows, up (BL=0) or down (BL=1); the rows that come in are
; blanks of attribute BH. AL=0, or more rows than the window has, clears
; it. Corners outside the screen are clipped.
scroll_window_page:
    pusha
    push ds
    push es
    cmp dl, 79
    jbe .right_ok
    mov dl, 79
.right_ok:
    cmp dh, 24
    jbe .bottom_ok
    mov dh, 24
.bottom_ok:
    cmp ch, dh
    ja .out
    cmp cl, dl
    ja .out
    push ax
    mov ax, 0xb800
    mov ds, ax
    mov es, ax
    pop ax
    mov ah, dh
    sub ah, ch
    inc ah                      ; AH: rows in the window
    test al, al
    jz .all
    cmp al, ah
    jb .some
.all:
    mov al, ah
.some:
    ; the frame: [bp] direction, [bp+1] attribute, [bp+2] page << 8;
    ; [bp-4] rows to move, [bp-3] rows to blank, [bp-2] columns
    push si
    push bx                     ; BH attribute, BL direction
    mov bp, sp
    sub sp, 4
    sub ah, al
    mov [bp - 4], ah            ; rows to move
    mov [bp - 3], al            ; rows to blank
    mov al, dl
    sub al, cl
    inc al
    mov [bp - 2], al            ; columns
    ; moves: up: row r+n to row r for r = top .. bottom-n, then blank the
    ; last n; down: row r-n to row r for r = bottom .. top+n, then blank
    ; the first n
    test byte [bp], 1
    jnz .down
    mov bl, ch                  ; BL: destination row
    mov bh, ch
    add bh, [bp - 3]            ; BH: source row
    mov dh, [bp - 4]
.up_move:
    test dh, dh
    jz .up_blank
    call .row_copy
    inc bl
    inc bh
    dec dh
    jmp .up_move
.up_blank:
    mov dh, [bp - 3]
.up_blank_row:
    test dh, dh
    jz .done
    call .row_blank
    inc bl
    dec dh
    jmp .up_blank_row
.down:
    push dx
    mov bl, dh                  ; destination: from the bottom
    mov bh, dh
    sub bh, [bp - 3]
    mov dh, [bp - 4]
.down_move:
    test dh, dh
    jz .down_blank
    call .row_copy
    dec bl
    dec bh
    dec dh
    jmp .down_move
.down_blank:
    pop dx
    mov bl, ch
    mov dh, [bp - 3]
.down_blank_row:
    test dh, dh
    jz .done
    call .row_blank
    inc bl
    dec dh
    jmp .down_blank_row
.done:
    mov sp, bp
    pop bx
    pop si
.out:
    pop es
    pop ds
    popa
    ret
; row BH to row BL, columns CL.. (CX, DX kept)
.row_copy:
    push cx
    push si
    push di
    mov al, bh
    call .cell
    mov si, di
    mov al, bl
    call .cell
    movzx cx, byte [bp - 2]
    rep movsw
    pop di
    pop si
    pop cx
    ret
; row BL, columns CL.., blanks of the attribute at [bp + 1]
.row_blank:
    push cx
    push di
    mov al, bl
    call .cell
    mov ah, [bp + 1]
    mov al, ' '
    movzx cx, byte [bp - 2]
    rep stosw
    pop di
    pop cx
    ret
; DI = the cell at row AL, column CL of the page at [bp + 2]
.cell:
    push ax
    push dx
    mov ah, 80
    mul ah
    movzx dx, cl
    add ax, dx
    shl ax, 1
    mov di, [bp + 2]            ; page << 8
    shl di, 4
    add di, ax
    pop dx
    pop ax
    ret

; tty_out: AL through the teletype on the active page (CR, LF, BS, BEL as
; control characters), the attribute of the cell kept; tty_out_attr: with
; attribute AH. Both mirror the character, unless 09h/0Ah just put it on
; that cell (mirror_rewrites_cell). DS = BDA.
tty_out:
    push ax
    push bx
    push di
    push es
    mov bl, [BDA_ACTIVE_PAGE]
    call cursor_offset_page
    mov ah, [es:di + 1]
    pop es
    pop di
    pop bx
    call tty_out_attr
    pop ax
    ret

tty_out_attr:
    pusha
    push es
    cmp al, 7
    je .bell                    ; the bell: nothing to show
    call mirror_rewrites_cell
    je .mirrored                ; 09h/0Ah put this very character here
    call mirror_byte
.mirrored:
    movzx bx, byte [BDA_ACTIVE_PAGE]
    shl bx, 1
    mov dx, [BDA_CURSOR + bx]   ; DL column, DH row
    cmp al, 13
    je .cr
    cmp al, 10
    je .lf
    cmp al, 8
    je .bs
    push bx
    shr bl, 1
    call cursor_offset_page
    pop bx
    mov [es:di], ax
    inc dl
    cmp dl, 80
    jb .store
    xor dl, dl
    jmp .lf
.cr:
    xor dl, dl
    jmp .store
.bs:
    test dl, dl
    jz .store
    dec dl
    jmp .store
.lf:
    inc dh
    cmp dh, 25
    jb .store
    mov dh, 24
    ; the screen scrolls by a row; the new one takes the attribute of the
    ; cell under the cursor (PC/AT)
    push bx
    push cx
    push dx
    push si
    movzx si, byte [BDA_ACTIVE_PAGE]
    push si
    mov bl, [BDA_ACTIVE_PAGE]
    call cursor_offset_page
    mov bh, [es:di + 1]
    pop si
    shl si, 8
    mov bl, 0
    mov al, 1
    xor cx, cx
    mov dx, 0x184f
    call scroll_window_page
    pop si
    pop dx
    pop cx
    pop bx
.store:
    mov [BDA_CURSOR + bx], dx
.bell:
    pop es
    popa
    ret

; ---- the mirror on the debug console ----

; mirror_byte: AL to the debug console, unless COM1 is the guest's own
; console (then the guest's serial output shows the same text already).
; MIRROR_DIRTY remembers that the current line has text, so a newline
; that only the screen's geometry implies (mirror_newline) is sent once.
mirror_byte:
    push ds
    push ax
    mov ax, EBDA_SEG
    mov ds, ax
    call com1_is_console
    pop ax
    jc .out
    out DEBUGCON, al
    and byte [MIRROR], ~MIRROR_DIRTY & 0xff
    cmp al, 10
    je .out
    or byte [MIRROR], MIRROR_DIRTY
.out:
    pop ds
    ret

; mirror_mark_cell: AL, just mirrored by 09h/0Ah, is on the cell under
; page BL's cursor (09h/0Ah do not move it). Programs that print with an
; attribute write the cell with 09h and then move the cursor by writing
; the same character again with 0Eh (iPXE's BIOS console does for every
; coloured character): the screen shows it once, and so does the mirror
; (mirror_rewrites_cell). DS = BDA.
mirror_mark_cell:
    push ax
    push bx
    push es
    push ax
    mov ax, EBDA_SEG
    mov es, ax
    pop ax
    and bx, 7
    mov [es:MIRROR_PAGE], bl
    shl bx, 1
    mov bx, [BDA_CURSOR + bx]
    mov [es:MIRROR_CELL], bx
    mov [es:MIRROR_CHAR], al
    or byte [es:MIRROR], MIRROR_MARKED
    pop es
    pop bx
    pop ax
    ret

; mirror_rewrites_cell: ZF set when the teletype's AL goes to the cell
; that 09h/0Ah just wrote (and mirrored) with the same character, on the
; active page; the mark is used up either way. DS = BDA.
mirror_rewrites_cell:
    push bx
    push es
    push ax
    mov ax, EBDA_SEG
    mov es, ax
    pop ax
    test byte [es:MIRROR], MIRROR_MARKED
    jz .no                      ; ZF clear below: no mark
    and byte [es:MIRROR], ~MIRROR_MARKED & 0xff
    cmp al, [es:MIRROR_CHAR]
    jne .out
    movzx bx, byte [BDA_ACTIVE_PAGE]
    cmp bl, [es:MIRROR_PAGE]
    jne .out
    shl bx, 1
    mov bx, [BDA_CURSOR + bx]
    cmp bx, [es:MIRROR_CELL]
    jmp .out
.no:
    or bx, 1                    ; ZF clear
.out:
    pop es
    pop bx
    ret

; mirror_newline: ends the mirrored line if it has text
mirror_newline:
    push ds
    push ax
    mov ax, EBDA_SEG
    mov ds, ax
    test byte [MIRROR], MIRROR_DIRTY
    jz .out
    mov al, 10
    call mirror_byte
.out:
    pop ax
    pop ds
    ret

; com1_is_console: CF set once the guest has programmed COM1's baud rate
; (a non-zero divisor latch; POST leaves it 0) - the rule Zazen applies
; to console input too (vmm/platform.c). The divisor is read with DLAB
; set for a moment, interrupts off, and LCR put back as it was; once
; seen, the answer is kept until the next POST. DS = EBDA.
com1_is_console:
    test byte [MIRROR], MIRROR_COM1
    jnz .yes
    push ax
    push bx
    push dx
    pushf
    cli
    mov dx, COM1_PORT + 3       ; LCR
    in al, dx
    mov bl, al
    cmp al, 0xff                ; no UART there
    je .restored
    or al, 0x80                 ; DLAB
    out dx, al
    mov dx, COM1_PORT           ; DLL
    in al, dx
    mov bh, al
    inc dx                      ; DLM
    in al, dx
    or bh, al
    mov dx, COM1_PORT + 3
    mov al, bl
    out dx, al
    test bh, bh
    jz .restored
    or byte [MIRROR], MIRROR_COM1
.restored:
    popf
    pop dx
    pop bx
    pop ax
    test byte [MIRROR], MIRROR_COM1
    jnz .yes
    clc
    ret
.yes:
    stc
    ret

; ============================================================ INT 11h, 12h
int11_handler:
    push ds
    mov ax, BDA_SEG
    mov ds, ax
    mov ax, [BDA_EQUIPMENT]
    pop ds
    iret

int12_handler:
    push ds
    mov ax, BDA_SEG
    mov ds, ax
    mov ax, [BDA_MEMORY]
    pop ds
    iret

; ============================================================ disks
; The disk code runs with DS = EBDA and DI = the drive's table entry.

; ata_wait: waits while BSY; AL = status; CF on timeout or a floating bus
ata_wait:
    push ecx
    push dx
    mov dx, [di + D_BASE]
    add dx, 7
    mov ecx, 0x200000
.poll:
    in al, dx
    cmp al, 0xff
    je .fail
    test al, 0x80
    jz .ok
    dec ecx
    jnz .poll
.fail:
    stc
    jmp .out
.ok:
    clc
.out:
    pop dx
    pop ecx
    ret

; ata_wait_drq: waits for BSY clear and DRQ set; CF on ERR or timeout
ata_wait_drq:
    push ecx
    push dx
    mov dx, [di + D_BASE]
    add dx, 7
    mov ecx, 0x200000
.poll:
    in al, dx
    test al, 0x80
    jnz .again
    test al, 0x01               ; ERR
    jnz .fail
    test al, 0x08               ; DRQ
    jnz .ok
.again:
    dec ecx
    jnz .poll
.fail:
    stc
    jmp .out
.ok:
    clc
.out:
    pop dx
    pop ecx
    ret

; ata_select: drive select/head register with LBA bits 27:24 from AL
ata_select:
    push ax
    push dx
    and al, 0x0f
    or al, 0xe0                 ; LBA mode (bit 6) and the obsolete bits 7, 5
    cmp byte [di + D_SLAVE], 0
    je .master
    or al, 0x10
.master:
    mov dx, [di + D_BASE]
    add dx, 6
    out dx, al
    pop dx
    pop ax
    ret

; ata_command: starts a PIO transfer of CX (1-128) sectors at REQ_LBA +
; REQ_DONE, reading or writing per REQ_WRITE; a read is READ MULTIPLE when
; the drive took a block size (D_MULTI). LBA48 only when the range goes
; past 28 bits (ATA-6 6.2). CF on error.
ata_command:
    push eax
    push ebx
    push dx
    call ata_wait
    jc .out
    mov ebx, [REQ_LBA]
    movzx eax, word [REQ_DONE]
    add ebx, eax                ; this command's LBA
    mov eax, ebx
    movzx edx, cx
    add eax, edx
    cmp eax, 0x0fffffff
    ja .lba48
    mov eax, ebx
    shr eax, 24
    call ata_select
    mov dx, [di + D_BASE]
    add dx, 2
    mov al, cl
    out dx, al                  ; sector count
    inc dx
    mov eax, ebx
    out dx, al                  ; LBA 7:0
    inc dx
    shr eax, 8
    out dx, al                  ; LBA 15:8
    inc dx
    shr eax, 8
    out dx, al                  ; LBA 23:16
    mov al, 0x20                ; READ SECTORS
    cmp byte [di + D_MULTI], 0
    je .rw28
    mov al, 0xc4                ; READ MULTIPLE
.rw28:
    cmp byte [REQ_WRITE], 0
    je .issue
    mov al, 0x30                ; WRITE SECTORS
    jmp .issue
.lba48:
    xor al, al
    call ata_select
    mov dx, [di + D_BASE]
    add dx, 2
    xor al, al
    out dx, al                  ; count 15:8 (first write: the "previous" content)
    mov al, cl
    out dx, al                  ; count 7:0
    inc dx
    mov eax, ebx
    shr eax, 24
    out dx, al                  ; LBA 31:24
    mov al, bl
    out dx, al                  ; LBA 7:0
    inc dx
    xor al, al
    out dx, al                  ; LBA 39:32
    mov al, bh
    out dx, al                  ; LBA 15:8
    inc dx
    xor al, al
    out dx, al                  ; LBA 47:40
    mov eax, ebx
    shr eax, 16
    out dx, al                  ; LBA 23:16
    mov al, 0x24                ; READ SECTORS EXT
    cmp byte [di + D_MULTI], 0
    je .rw48
    mov al, 0x29                ; READ MULTIPLE EXT
.rw48:
    cmp byte [REQ_WRITE], 0
    je .issue
    mov al, 0x34                ; WRITE SECTORS EXT
.issue:
    mov dx, [di + D_BASE]
    add dx, 7
    out dx, al
    clc
.out:
    pop dx
    pop ebx
    pop eax
    ret

; pio_sector: moves CX words between the data port and the buffer at
; REQ_SEG:REQ_OFF, in the direction of REQ_WRITE
pio_words:
    push cx
    push dx
    push si
    push di
    push es
    mov dx, [di + D_BASE]
    cmp byte [REQ_WRITE], 0
    jne .write
    mov es, [REQ_SEG]
    mov di, [REQ_OFF]
    rep insw
    jmp .out
.write:
    push ds
    mov si, [REQ_OFF]
    mov ds, [REQ_SEG]
    rep outsw
    pop ds
.out:
    pop es
    pop di
    pop si
    pop dx
    pop cx
    ret

; normalize_buffer: REQ_SEG:REQ_OFF with an offset below 16, so the buffer
; can advance by segments only
normalize_buffer:
    push ax
    mov ax, [REQ_OFF]
    shr ax, 4
    add [REQ_SEG], ax
    and word [REQ_OFF], 0x0f
    pop ax
    ret

; ata_io: the whole request on an ATA disk. CF on error.
ata_io:
    pusha
    call normalize_buffer
    mov word [REQ_DONE], 0
.chunk:
    mov cx, [REQ_COUNT]
    sub cx, [REQ_DONE]
    jz .ok
    cmp cx, 128
    jbe .issue
    mov cx, 128
.issue:
    call ata_command
    jc .fail
.block:
    call ata_wait_drq
    jc .fail
    mov bx, 1                   ; sectors in this DRQ block: one,
    cmp byte [REQ_WRITE], 0
    jne .move
    movzx bx, byte [di + D_MULTI] ; or READ MULTIPLE's block size,
    test bx, bx
    jnz .last
    inc bx
.last:
    cmp bx, cx                  ; the last block holding what is left
    jbe .move                   ; (ATA-6, READ MULTIPLE)
    mov bx, cx
.move:
    push cx
    mov cx, bx
    shl cx, 8                   ; 256 words a sector
    call pio_words
    pop cx
    mov ax, bx
    shl ax, 5                   ; 20h paragraphs a sector
    add [REQ_SEG], ax
    add [REQ_DONE], bx
    sub cx, bx
    jnz .block
    cmp byte [REQ_WRITE], 0
    je .chunk
    call ata_wait               ; a write ends when BSY drops
    jc .fail
    test al, 0x01
    jnz .fail
    jmp .chunk
.ok:
    popa
    clc
    ret
.fail:
    popa
    stc
    ret

; atapi_io: reads REQ_COUNT 2048-byte blocks from REQ_LBA with READ(10),
; one block per packet, by PIO (ATA-6 8.21 PACKET; MMC-2 READ(10)).
atapi_io:
    pusha
    call normalize_buffer
    mov word [REQ_DONE], 0
.block:
    mov ax, [REQ_DONE]
    cmp ax, [REQ_COUNT]
    jae .ok
    call ata_wait
    jc .fail
    xor al, al
    call ata_select
    mov dx, [di + D_BASE]
    inc dx
    xor al, al
    out dx, al                  ; features: PIO
    add dx, 3
    out dx, al                  ; byte count limit low
    inc dx
    mov al, 0x08
    out dx, al                  ; byte count limit high: 2048
    add dx, 2
    mov al, 0xa0                ; PACKET
    out dx, al
    call ata_wait_drq
    jc .fail
    ; READ(10): opcode 28h, LBA big-endian in bytes 2-5, one block
    mov byte [CDB], 0x28
    mov byte [CDB + 1], 0
    mov eax, [REQ_LBA]
    movzx ebx, word [REQ_DONE]
    add eax, ebx
    bswap eax
    mov [CDB + 2], eax
    mov dword [CDB + 6], 0x00010000 ; bytes 7-8 (big-endian) = 0001h: one block
    mov word [CDB + 10], 0
    mov si, CDB
    mov dx, [di + D_BASE]
    mov cx, 6
    rep outsw
.data:
    call ata_wait
    jc .fail
    test al, 0x01
    jnz .fail
    test al, 0x08
    jz .next                    ; no more data for this packet
    mov dx, [di + D_BASE]
    add dx, 4
    in al, dx
    mov cl, al
    inc dx
    in al, dx
    mov ch, al                  ; byte count of this DRQ block
    shr cx, 1
    call pio_words
    shl cx, 1                   ; advance the buffer by what came
    mov ax, cx
    shr ax, 4
    add [REQ_SEG], ax
    jmp .data
.next:
    inc word [REQ_DONE]
    jmp .block
.ok:
    popa
    clc
    ret
.fail:
    popa
    stc
    ret

; identify: asks the drive at DS:DI who it is; fills its entry. The 512
; bytes land in SECTOR_BUF. After the channel's reset (reset_channel), a
; device leaves its signature in the LBA mid/high registers: 14h/EBh for
; ATAPI, 00h/00h for ATA (ATA-6 9.12). An ATAPI device shows status 0
; until identified, so the signature decides, not the status.
identify:
    pusha
    mov byte [di + D_TYPE], 0
    xor al, al
    call ata_select
    mov dx, [di + D_BASE]
    add dx, 7
    in al, dx
    cmp al, 0xff                ; nothing on the channel
    je .none
    mov bl, al                  ; the status, for below
    mov dx, [di + D_BASE]
    add dx, 4
    in al, dx
    mov ah, al
    inc dx
    in al, dx
    cmp ax, 0x14eb
    je .atapi
    test bl, bl                 ; an absent ATA device reads 0
    jz .none
    call ata_wait
    jc .none
    mov dx, [di + D_BASE]
    add dx, 7
    mov al, 0xec                ; IDENTIFY DEVICE
    out dx, al
    call ata_wait_drq
    jc .none
    mov byte [di + D_TYPE], T_ATA
    call read_identify
    ; capacity: words 100-103 if LBA48 is supported (word 83 bit 10), else 60-61
    mov eax, [SECTOR_BUF + 120]
    mov byte [di + D_LBA48], 0
    test word [SECTOR_BUF + 166], 0x0400
    jz .lba28
    mov eax, [SECTOR_BUF + 200]
    mov byte [di + D_LBA48], 1
.lba28:
    mov [di + D_SECT], eax
    call bios_geometry
    call set_multiple
    jmp .done
.atapi:
    mov dx, [di + D_BASE]
    add dx, 7
    mov al, 0xa1                ; IDENTIFY PACKET DEVICE
    out dx, al
    call ata_wait_drq
    jc .none
    call read_identify
    mov byte [di + D_TYPE], T_ATAPI
    jmp .done
.none:
    mov byte [di + D_TYPE], 0
.done:
    popa
    ret

; set_multiple: gives an ATA drive a READ MULTIPLE block size with SET
; MULTIPLE MODE (ATA-6): the largest power of two not above IDENTIFY word
; 47 bits 7:0, at most 64 sectors (32 KiB, so a block plus the buffer's
; offset below 16 stays in one segment). A read then takes one status
; poll and one REP INSW per block instead of per sector: under a
; hypervisor each of those is a VM exit, and SYSLINUX's 11 MiB of kernel
; and initrd took about 43,000 more of them sector by sector. A drive that has no block size or
; refuses (ABRT) keeps READ SECTORS (D_MULTI = 0). Expects SECTOR_BUF to
; hold the drive's IDENTIFY data.
set_multiple:
    pusha
    mov byte [di + D_MULTI], 0
    mov al, [SECTOR_BUF + 94]   ; word 47 bits 7:0
    mov bl, 0x40
    cmp al, bl
    jae .found                  ; 64 or more: 64
.pow:
    test bl, al
    jnz .found
    shr bl, 1
    jnz .pow
    jmp .out                    ; no block size
.found:
    cmp bl, 1                   ; a block of one sector gains nothing
    jbe .out
    call ata_wait
    jc .out
    xor al, al
    call ata_select
    mov dx, [di + D_BASE]
    add dx, 2
    mov al, bl
    out dx, al                  ; sector count: sectors per block
    add dx, 5
    mov al, 0xc6                ; SET MULTIPLE MODE
    out dx, al
    call ata_wait
    jc .out
    test al, 0x01               ; ERR: refused
    jnz .out
    mov [di + D_MULTI], bl
.out:
    popa
    ret

; reset_channel: software reset (SRST) of both devices of the channel at
; DS:DI, interrupts off (nIEN), so each leaves its signature (ATA-6 9.2)
reset_channel:
    push ax
    push dx
    mov dx, [di + D_CTRL]
    mov al, 0x06                ; SRST, nIEN
    out dx, al
    mov al, 0x02                ; nIEN: the BIOS polls
    out dx, al
    call ata_wait
    pop dx
    pop ax
    ret

read_identify:
    push word [REQ_SEG]
    push word [REQ_OFF]
    push word [REQ_WRITE]
    mov word [REQ_SEG], EBDA_SEG
    mov word [REQ_OFF], SECTOR_BUF
    mov byte [REQ_WRITE], 0
    mov cx, 256
    call pio_words
    pop word [REQ_WRITE]
    pop word [REQ_OFF]
    pop word [REQ_SEG]
    ret

; bios_geometry: a CHS geometry for INT 13h: 16 heads while the disk fits
; 1024x16x63, else 255 (the usual LBA-assisted translation); 63 sectors
bios_geometry:
    mov byte [di + D_SPT], 63
    mov byte [di + D_HEADS], 16
    mov eax, [di + D_SECT]
    cmp eax, 1024 * 16 * 63
    jbe .cyls
    mov byte [di + D_HEADS], 255
.cyls:
    movzx ebx, byte [di + D_HEADS]
    imul ebx, ebx, 63
    xor edx, edx
    div ebx
    cmp eax, 1024
    jbe .store
    mov eax, 1024
.store:
    test eax, eax
    jnz .nonzero
    inc eax
.nonzero:
    mov [di + D_CYLS], ax
    ret

; the four IDE positions: base, control, slave
ide_positions:
    dw 0x1f0, 0x3f6, 0
    dw 0x1f0, 0x3f6, 1
    dw 0x170, 0x376, 0
    dw 0x170, 0x376, 1

detect_disks:
    push ds
    mov ax, EBDA_SEG
    mov ds, ax
    mov di, DRIVES
    mov si, ide_positions
    xor bx, bx                  ; index
.next:
    mov ax, [cs:si]
    mov [di + D_BASE], ax
    mov ax, [cs:si + 2]
    mov [di + D_CTRL], ax
    mov al, [cs:si + 4]
    mov [di + D_SLAVE], al
    cmp byte [di + D_SLAVE], 0
    jne .identify
    call reset_channel          ; once per channel, before its master
.identify:
    call identify
    cmp byte [di + D_TYPE], T_ATA
    jne .not_ata
    mov al, [HD_COUNT]
    add al, 0x80
    mov [di + D_NUMBER], al
    inc byte [HD_COUNT]
    call report_disk
    jmp .advance
.not_ata:
    cmp byte [di + D_TYPE], T_ATAPI
    jne .advance
    cmp byte [CD_INDEX], 0xff
    jne .advance                ; the first CD-ROM only
    mov [CD_INDEX], bl
    mov byte [di + D_NUMBER], CD_DRIVE
    call report_disk
.advance:
    add di, DRIVE_SIZE
    add si, 6
    inc bx
    cmp bx, 4
    jb .next
    push es
    mov ax, BDA_SEG
    mov es, ax
    mov al, [HD_COUNT]
    mov [es:BDA_HD_COUNT], al
    pop es
    pop ds
    ret

; "ide0: disk 80h, 64 MiB" / "ide2: CD-ROM E0h"
report_disk:
    pusha
    mov si, msg_ide
    call print
    mov al, bl
    add al, '0'
    mov ah, 0x0e
    push bx
    xor bx, bx
    int 0x10
    pop bx
    cmp byte [di + D_TYPE], T_ATAPI
    je .cd
    mov si, msg_disk
    call print
    mov eax, [di + D_SECT]
    shr eax, 11
    call print_dec
    mov si, msg_mib
    call print
    jmp .out
.cd:
    mov si, msg_cdrom
    call print
.out:
    popa
    ret

; find_drive: DL = BIOS drive number -> DI = entry, CF if there is none
; (the four IDE positions, then an El Torito image)
find_drive:
    push cx
    mov di, DRIVES
    mov cx, 5
.look:
    cmp byte [di + D_TYPE], 0
    je .skip
    cmp [di + D_NUMBER], dl
    je .found
.skip:
    add di, DRIVE_SIZE
    loop .look
    pop cx
    stc
    ret
.found:
    pop cx
    clc
    ret

; ============================================================ INT 13h
; Disk services (IBM PC/AT Technical Reference "DISK_IO"; Ralf Brown's
; Interrupt List, INT 13h; the BIOS Enhanced Disk Drive Specification 3.0
; (Phoenix, 1998) and T13 D1572 (EDD-3) for 41h-48h; El Torito 1.0 for the
; emulated drives and 4Bh). Drives:
;   80h-83h  the IDE hard disks (80h is the El Torito hard-disk image
;            while one is emulated, the IDE disks then follow it)
;   00h      the El Torito floppy image while one is emulated
;   E0h      the ATAPI CD-ROM (2048-byte blocks, EDD functions only)
; Every function sets AH (00h: success) and CF, and keeps the status for
; AH=01h (BDA 41h for floppies, 74h for hard disks); AL is the count of
; sectors moved for the transfers. Unknown functions: AH=01h, CF.
;   00h reset  01h last status  02h/03h read/write (CHS)  04h verify
;   05h format (floppy: write-protected)  08h parameters  0Ch seek
;   0Dh alternate reset  10h ready  11h recalibrate  15h drive type
;   16h floppy change line  41h EDD check  42h/43h extended read/write
;   44h extended verify  47h extended seek  48h EDD parameters
;   4Bh El Torito: terminate emulation / status (for any DL)
int13_handler:
    sti
    ENTER_HANDLER
    cld
    mov ax, EBDA_SEG
    mov ds, ax
    cmp byte R_AH, 0x4b
    je .cd_status
    mov dl, R_DL
    call find_drive
    jc .no_drive
    mov al, R_AH
    cmp al, 0x00
    je .ok                      ; reset
    cmp al, 0x01
    je .status
    cmp al, 0x02
    je .read_chs
    cmp al, 0x03
    je .write_chs
    cmp al, 0x04
    je .verify
    cmp al, 0x05
    je .format
    cmp al, 0x08
    je .params
    cmp al, 0x0c
    je .ok                      ; seek
    cmp al, 0x0d
    je .ok                      ; alternate reset
    cmp al, 0x10
    je .ok                      ; ready
    cmp al, 0x11
    je .ok                      ; recalibrate
    cmp al, 0x15
    je .disk_type
    cmp al, 0x16
    je .change_line
    cmp byte [di + D_TYPE], T_EMU
    jne .edd
    cmp byte [di + D_NUMBER], 0x80
    jb .bad_cmd                 ; the emulated floppy has no EDD
.edd:
    cmp al, 0x41
    je .edd_check
    cmp al, 0x42
    je .ext_read
    cmp al, 0x43
    je .ext_write
    cmp al, 0x44
    je .ok                      ; extended verify
    cmp al, 0x47
    je .ok                      ; extended seek
    cmp al, 0x48
    je .ext_params
    jmp .bad_cmd
.no_drive:
    ; no such drive: AH=15h says so (type 00h) without an error; AH=08h
    ; on a floppy reports no drives (CX, DX = 0); the rest fail
    mov al, R_AH
    cmp al, 0x15
    jne .no_drive_08
    mov byte R_AH, 0
    CLEAR_CF
    jmp .leave
.no_drive_08:
    cmp al, 0x08
    jne .bad_cmd
    cmp byte R_DL, 0x80
    jae .bad_cmd
    mov word R_CX, 0
    mov word R_DX, 0
    jmp .bad_cmd
.status:
    ; AH = the status of the last operation, CF set if it was an error
    call last_status_ptr
    mov al, [es:bx]
    mov R_AH, al
    test al, al
    jz .status_ok
    SET_CF
    jmp .leave
.status_ok:
    CLEAR_CF
    jmp .leave
.read_chs:
    mov byte [REQ_WRITE], 0
    jmp .chs
.write_chs:
    mov byte [REQ_WRITE], 1
.chs:
    cmp byte [di + D_TYPE], T_ATAPI
    je .bad_cmd
    ; CHS to LBA: (C * heads + H) * spt + S - 1, C = CH | (CL 7:6) << 2;
    ; a sector, head or cylinder outside the geometry is "not found"
    movzx eax, byte R_CH
    movzx ebx, byte R_CL
    and bl, 0xc0
    shl ebx, 2
    or eax, ebx
    cmp ax, [di + D_CYLS]
    jae .not_found
    movzx ebx, byte [di + D_HEADS]
    mul ebx
    movzx ebx, byte R_DH
    cmp bl, [di + D_HEADS]
    jae .not_found
    add eax, ebx
    movzx ebx, byte [di + D_SPT]
    mul ebx
    movzx ebx, byte R_CL
    and bl, 0x3f
    jz .not_found               ; sectors count from 1
    cmp bl, [di + D_SPT]
    ja .not_found
    dec ebx
    add eax, ebx
    mov [REQ_LBA], eax
    movzx ax, byte R_AL
    mov [REQ_COUNT], ax
    mov ax, R_ES
    mov [REQ_SEG], ax
    mov ax, R_BX
    mov [REQ_OFF], ax
    call disk_io
    mov ax, [REQ_DONE]
    mov R_AL, al
    jc .io_error
    jmp .ok
.verify:
    cmp byte [di + D_TYPE], T_ATAPI
    je .bad_cmd
    jmp .ok                     ; AL: the sectors asked for, all verified
.format:
    cmp byte [di + D_TYPE], T_EMU
    jne .bad_cmd
    mov al, 0x03                ; an image on a CD: write-protected
    jmp .error
.params:                        ; AH=08h
    cmp byte [di + D_TYPE], T_ATAPI
    je .bad_cmd
    mov ax, [di + D_CYLS]
    dec ax                      ; the last cylinder
    mov R_CH, al
    shl ah, 6
    mov cl, [di + D_SPT]
    or cl, ah
    mov R_CL, cl
    mov al, [di + D_HEADS]
    dec al
    mov R_DH, al
    mov al, [HD_COUNT]
    mov R_DL, al                ; hard disks: how many there are
    mov word R_AX, 0
    cmp byte [di + D_NUMBER], 0x80
    jae .ok_keep_ax
    ; the emulated floppy: one drive, its CMOS type in BL, ES:DI its
    ; diskette parameter table
    mov byte R_DL, 1
    mov al, [di + D_MEDIA]
    call floppy_type
    mov R_BL, al
    mov R_ES, ROM_SEG
    mov R_DI, si
    jmp .ok_keep_ax
.disk_type:                     ; AH=15h
    cmp byte [di + D_NUMBER], 0x80
    jb .floppy_type
    cmp byte [di + D_TYPE], T_ATAPI
    je .removable_type
    mov eax, [di + D_SECT]      ; 03h fixed disk, CX:DX sectors
    mov R_DX, ax
    shr eax, 16
    mov R_CX, ax
    mov byte R_AH, 3
    jmp .ok_keep_ax
.removable_type:
    mov byte R_AH, 2            ; like a floppy with change-line support
    jmp .ok_keep_ax
.floppy_type:
    mov byte R_AH, 1            ; a floppy drive without change line
    jmp .ok_keep_ax
.change_line:                   ; AH=16h: no change line: never changed
    cmp byte [di + D_NUMBER], 0x80
    jae .bad_cmd
    jmp .ok
.edd_check:                     ; AH=41h
    cmp word R_BX, 0x55aa
    jne .bad_cmd
    mov word R_BX, 0xaa55
    mov byte R_AH, 0x30         ; EDD 3.0
    mov word R_CX, 0x0005       ; fixed disk access (42h-44h, 47h, 48h), EDD (48h)
    jmp .ok_keep_ax
.ext_read:
    mov byte [REQ_WRITE], 0
    jmp .ext
.ext_write:
    cmp byte [di + D_TYPE], T_ATA
    jne .write_protected
    mov byte [REQ_WRITE], 1
.ext:
    ; the disk address packet at the caller's DS:SI (EDD 3.0, 4.1)
    push es
    mov es, R_DS
    mov si, R_SI
    mov ax, [es:si + 2]         ; blocks
    mov [REQ_COUNT], ax
    mov ax, [es:si + 4]
    mov [REQ_OFF], ax
    mov ax, [es:si + 6]
    mov [REQ_SEG], ax
    mov eax, [es:si + 8]
    mov [REQ_LBA], eax
    mov edx, [es:si + 12]       ; LBA 63:32: past what a 32-bit table holds
    pop es
    test edx, edx
    jnz .bad_cmd
    call disk_io
    pushf
    push es
    mov es, R_DS
    mov si, R_SI
    mov ax, [REQ_DONE]
    mov [es:si + 2], ax         ; blocks actually moved
    pop es
    popf
    jc .io_error
    jmp .ok
.ext_params:                    ; AH=48h: the result buffer at DS:SI
    mov es, R_DS
    mov si, R_SI
    call edd_parameters
    jc .bad_cmd
    jmp .ok
.cd_status:                     ; AH=4Bh (El Torito 1.0, section 5.3)
    mov al, R_AL
    cmp al, 1
    ja .bad_cmd
    cmp byte [BOOT_MEDIA], 0xff
    je .bad_cmd                 ; not booted from a CD
    mov dl, R_DL
    cmp dl, 0x7f                ; 7Fh: whatever is emulated
    je .cd_packet
    cmp dl, [BOOT_DRIVE]
    jne .bad_cmd
.cd_packet:
    mov es, R_DS
    mov di, R_SI
    call eltorito_packet
    cmp byte R_AL, 0
    jne .ok
    call emulation_end          ; 00h: terminate
    jmp .ok
.write_protected:
    mov al, 0x03
    jmp .error
.not_found:
    mov byte R_AL, 0
    mov al, 0x04                ; sector not found
    jmp .error
.io_error:
    mov al, [REQ_ERROR]         ; 04h not found/read error, 03h write-protected
    jmp .error
.bad_cmd:
    mov al, 0x01                ; invalid function or parameter
.error:
    mov R_AH, al
    call set_last_status
    SET_CF
    jmp .leave
.ok:
    mov byte R_AH, 0
.ok_keep_ax:
    xor al, al
    call set_last_status
    CLEAR_CF
.leave:
    LEAVE_HANDLER

; last_status_ptr: ES:BX = the status byte for the caller's drive: BDA 41h
; (floppies) or 74h (hard disks), as the PC/AT keeps them
last_status_ptr:
    mov bx, BDA_SEG
    mov es, bx
    mov bx, BDA_DISK_STATUS
    cmp byte R_DL, 0x80
    jae .out
    mov bx, BDA_FLOPPY_STATUS
.out:
    ret

set_last_status:
    push es
    push bx
    call last_status_ptr
    mov [es:bx], al
    pop bx
    pop es
    ret

; disk_io: the request (REQ_*) on the drive at DS:DI, by its kind. CF on
; error, with its INT 13h status in REQ_ERROR.
disk_io:
    mov byte [REQ_ERROR], 0x04
    cmp byte [di + D_TYPE], T_ATA
    je ata_io
    cmp byte [di + D_TYPE], T_EMU
    je emu_io
    jmp atapi_io

; floppy_type: AL = El Torito media type (1-3) -> AL = the CMOS drive type
; (02h 1.2 MB, 04h 1.44 MB, 06h 2.88 MB), SI = its diskette parameter table
floppy_type:
    push bx
    movzx bx, al
    dec bx
    mov al, [cs:floppy_cmos_types + bx]
    imul si, bx, 11
    add si, floppy_dpts
    pop bx
    ret

floppy_cmos_types: db 0x02, 0x04, 0x06
; The diskette parameter tables (11 bytes, IBM PC/AT; INT 1Eh points at
; the drive's): step rate/head unload, head load/DMA, motor off delay,
; 512-byte sectors, sectors per track, gap length, data length, format
; gap, format filler, head settle, motor start
floppy_dpts:
    db 0xdf, 0x02, 0x25, 0x02, 15, 0x1b, 0xff, 0x54, 0xf6, 0x0f, 0x08   ; 1.2 MB
    db 0xdf, 0x02, 0x25, 0x02, 18, 0x1b, 0xff, 0x6c, 0xf6, 0x0f, 0x08   ; 1.44 MB
    db 0xaf, 0x02, 0x25, 0x02, 36, 0x1b, 0xff, 0x53, 0xf6, 0x0f, 0x08   ; 2.88 MB
; geometry of the emulated floppies: cylinders, heads, sectors per track
floppy_geometry:
    db 80, 2, 15
    db 80, 2, 18
    db 80, 2, 36

; edd_parameters: the AH=48h result for the drive at DS:DI into ES:SI,
; filled as far as the caller's buffer size (its first word) allows:
; 1Ah bytes (EDD 1.1), 1Eh (2.x: + the DPTE pointer), 42h (Phoenix EDD
; 3.0: + the device path, 8 bytes) or 4Ah (T13 EDD-3: device path of 16
; bytes; what Linux asks for). CF if the buffer is under 1Ah bytes.
edd_parameters:
    pushad
    mov cx, [es:si]
    cmp cx, 0x1a
    jb .too_small
    push cx
    cmp cx, 0x4a
    jbe .clear
    mov cx, 0x4a
.clear:
    sub cx, 2                   ; the caller's buffer after its size word
    push di
    lea di, [si + 2]
    xor al, al
    rep stosb
    pop di
    pop cx
    mov word [es:si], 0x1a
    mov word [es:si + 2], 0x0002 ; CHS information valid
    movzx eax, word [di + D_CYLS]
    mov [es:si + 4], eax
    movzx eax, byte [di + D_HEADS]
    mov [es:si + 8], eax
    movzx eax, byte [di + D_SPT]
    mov [es:si + 12], eax
    mov eax, [di + D_SECT]
    mov [es:si + 16], eax
    mov word [es:si + 24], 512
    cmp byte [di + D_TYPE], T_ATAPI
    jne .sizes_done
    mov word [es:si + 2], 0x0074 ; removable, change line, lockable, no media geometry
    mov dword [es:si + 4], 0
    mov dword [es:si + 8], 0
    mov dword [es:si + 12], 0
    mov dword [es:si + 16], 0xffffffff
    mov word [es:si + 24], 2048
.sizes_done:
    cmp cx, 0x1e
    jb .done
    mov word [es:si], 0x1e
    mov dword [es:si + 0x1a], 0xffffffff ; no DPTE (the emulated drive)
    cmp byte [di + D_TYPE], T_EMU
    je .done
    call edd_dpte               ; BX = the drive's DPTE in the EBDA
    mov [es:si + 0x1a], bx
    mov word [es:si + 0x1c], EBDA_SEG
    cmp cx, 0x42
    jb .done
    ; device path information (EDD 3.0): key, length, host bus,
    ; interface, interface path, device path, checksum
    mov word [es:si + 0x1e], 0xbedd
    mov dword [es:si + 0x24], 'ISA '
    test word [INFO_FLAGS], 1
    jz .bus
    mov dword [es:si + 0x24], 'PCI '
.bus:
    mov dword [es:si + 0x28], 'ATA '
    mov dword [es:si + 0x2c], '    '
    cmp byte [di + D_TYPE], T_ATAPI
    jne .interface
    mov dword [es:si + 0x2c], 'PI  '
.interface:
    ; interface path: PCI bus 0, device 1, function 1 (the PIIX3 IDE
    ; function), channel; ISA: the channel's base port
    xor al, al                  ; the channel: 0 primary, 1 secondary
    cmp word [di + D_BASE], 0x1f0
    je .channel
    inc al
.channel:
    test word [INFO_FLAGS], 1
    jz .isa_path
    mov byte [es:si + 0x30], 0
    mov byte [es:si + 0x31], 1
    mov byte [es:si + 0x32], 1
    mov [es:si + 0x33], al
    jmp .device_path
.isa_path:
    mov ax, [di + D_BASE]
    mov [es:si + 0x30], ax
.device_path:
    mov al, [di + D_SLAVE]
    mov [es:si + 0x38], al      ; 0 master, 1 slave (ATAPI: LUN 0 follows)
    mov bl, 0x24                ; Phoenix: 24h bytes from the key, checksum at 41h
    mov word [es:si], 0x42
    cmp cx, 0x4a
    jb .checksum
    mov bl, 0x2c                ; T13: 2Ch bytes, checksum at 49h
    mov word [es:si], 0x4a
.checksum:
    mov [es:si + 0x20], bl
    movzx cx, bl
    dec cx
    push si
    add si, 0x1e
    xor al, al
.sum:
    add al, [es:si]
    inc si
    loop .sum
    neg al
    mov [es:si], al
    pop si
.done:
    popad
    clc
    ret
.too_small:
    popad
    stc
    ret

; edd_dpte: fills the Device Parameter Table Extension of the IDE drive at
; DS:DI (EDD 3.0, table 3; 16 bytes, in the EBDA per drive) and returns
; its offset in BX
edd_dpte:
    push ax
    push cx
    push si
    mov bx, di
    sub bx, DRIVES
    shr bx, 3                   ; DRIVE_SIZE is 24: index * 8 ...
    mov ax, bx
    mov cl, 3
    div cl                      ; ... / 3 = the index
    movzx bx, al
    shl bx, 4
    add bx, DPTES
    mov ax, [di + D_BASE]
    mov [bx], ax                ; command block base
    mov ax, [di + D_CTRL]
    mov [bx + 2], ax            ; control block
    mov al, 0xa0                ; head register: bits 7, 5 set; LBA
    or al, 0x40
    cmp byte [di + D_SLAVE], 0
    je .master
    or al, 0x10
.master:
    mov [bx + 4], al
    mov byte [bx + 5], 0        ; BIOS vendor specific
    mov al, 14                  ; IRQ
    cmp word [di + D_BASE], 0x1f0
    je .irq
    mov al, 15
.irq:
    mov [bx + 6], al
    mov byte [bx + 7], 1        ; block count: one sector per interrupt
    mov byte [bx + 8], 0        ; DMA: not used by the BIOS
    mov byte [bx + 9], 0        ; PIO type 0
    mov ax, 0x0010              ; LBA translation
    cmp byte [di + D_TYPE], T_ATAPI
    jne .flags
    mov ax, 0x0060              ; removable, ATAPI
.flags:
    mov [bx + 10], ax
    mov word [bx + 12], 0
    mov byte [bx + 14], 0x11    ; revision 1.1
    mov si, bx
    mov cx, 15
    xor al, al
.sum:
    add al, [si]
    inc si
    loop .sum
    neg al
    mov [bx + 15], al
    pop si
    pop cx
    pop ax
    ret

; ---- El Torito disk emulation (El Torito 1.0, sections 5 and 6) ----
; A boot image of a floppy (1.2, 1.44, 2.88 MB) or a hard disk on the CD
; becomes drive 00h or 80h: its 512-byte sectors are read out of the
; CD's 2048-byte blocks (the last block read is kept in SECTOR_BUF), it
; cannot be written. A hard-disk image takes 80h and the IDE disks move
; up by one. The drive lives in the fifth drive table entry (EMU_DRIVE):
; D_IMAGE its first block on the CD, D_MEDIA the media type, D_CD the CD
; drive's entry.

; emu_io: the request (REQ_*) on the emulated drive at DS:DI; CF on error
emu_io:
    pushad
    mov byte [REQ_ERROR], 0x03  ; write-protected
    cmp byte [REQ_WRITE], 0
    jne .fail
    mov byte [REQ_ERROR], 0x04
    call normalize_buffer
    mov word [REQ_DONE], 0
.sector:
    mov ax, [REQ_DONE]
    cmp ax, [REQ_COUNT]
    jae .ok
    mov eax, [REQ_LBA]
    movzx ebx, word [REQ_DONE]
    add eax, ebx
    cmp eax, [di + D_SECT]
    jae .fail                   ; past the image's end
    mov ebx, eax
    shr eax, 2
    add eax, [di + D_IMAGE]     ; its CD block
    and bx, 3
    shl bx, 9                   ; and where in the block
    cmp eax, [EMU_CACHED]
    je .have
    call emu_read_block
    jc .fail
.have:
    push di
    push es
    mov si, SECTOR_BUF
    add si, bx
    mov es, [REQ_SEG]
    mov di, [REQ_OFF]
    mov cx, 256
    rep movsw
    pop es
    pop di
    add word [REQ_SEG], 0x20
    inc word [REQ_DONE]
    jmp .sector
.ok:
    popad
    clc
    ret
.fail:
    popad
    stc
    ret

; emu_read_block: CD block EAX into SECTOR_BUF through the CD drive of the
; emulated drive at DS:DI, the current request kept; CF on error
emu_read_block:
    push di
    push dword [REQ_LBA]
    push word [REQ_COUNT]
    push word [REQ_SEG]
    push word [REQ_OFF]
    push word [REQ_WRITE]
    push word [REQ_DONE]
    movzx di, byte [di + D_CD]
    imul di, di, DRIVE_SIZE
    add di, DRIVES
    call cd_read_sector_buf     ; (forgets the cache)
    jc .out
    mov [EMU_CACHED], eax
.out:
    pop word [REQ_DONE]
    pop word [REQ_WRITE]
    pop word [REQ_OFF]
    pop word [REQ_SEG]
    pop word [REQ_COUNT]
    pop dword [REQ_LBA]
    pop di
    ret

; emulation_start: the initial entry at SECTOR_BUF + 20h names media
; type AL (1-4); the CD drive is at DS:DI. Sets up the emulated drive;
; DL = its number. CF if the image cannot be emulated.
emulation_start:
    push eax
    push ebx
    push cx
    push si
    mov si, EMU_DRIVE
    mov byte [si + D_TYPE], 0
    mov [si + D_MEDIA], al
    mov ebx, [SECTOR_BUF + 0x28]
    mov [si + D_IMAGE], ebx
    mov bx, di
    sub bx, DRIVES
    mov ax, bx
    mov bl, DRIVE_SIZE
    div bl
    mov [si + D_CD], al
    mov al, [si + D_MEDIA]
    cmp al, 4
    je .hard_disk
    ; a floppy: its geometry by media type, drive 00h, one floppy drive
    ; in the equipment word, INT 1Eh at its parameter table
    movzx bx, al
    dec bx
    imul bx, bx, 3
    movzx ax, byte [cs:floppy_geometry + bx]
    mov [si + D_CYLS], ax
    mov al, [cs:floppy_geometry + bx + 1]
    mov [si + D_HEADS], al
    mov al, [cs:floppy_geometry + bx + 2]
    mov [si + D_SPT], al
    movzx eax, word [si + D_CYLS]
    movzx ebx, byte [si + D_HEADS]
    imul eax, ebx
    movzx ebx, byte [si + D_SPT]
    imul eax, ebx
    mov [si + D_SECT], eax
    mov byte [si + D_NUMBER], 0x00
    push es
    push si
    mov al, [si + D_MEDIA]
    call floppy_type            ; SI = the parameter table
    xor ax, ax
    mov es, ax
    mov [es:0x1e * 4], si
    mov word [es:0x1e * 4 + 2], ROM_SEG
    mov ax, BDA_SEG
    mov es, ax
    or word [es:BDA_EQUIPMENT], 0x0001 ; diskette drives: 1
    and word [es:BDA_EQUIPMENT], 0xff3f
    pop si
    pop es
    jmp .ready
.hard_disk:
    ; a hard disk: its geometry from its partition table (El Torito 1.0,
    ; 5.3 (3): the BIOS reads it from the image's master boot record)
    mov byte [si + D_NUMBER], 0x80
    mov byte [si + D_TYPE], T_EMU
    mov dword [si + D_SECT], 0xffffffff ; while the MBR is read
    mov dword [EMU_CACHED], 0xffffffff
    push di
    mov di, si
    mov eax, [di + D_IMAGE]
    call emu_read_block         ; the image's first block: the MBR
    pop di
    jc .fail
    cmp word [SECTOR_BUF + 510], 0xaa55
    jne .fail
    call mbr_geometry
    jc .fail
    ; the IDE hard disks move up by one
    push di
    mov di, DRIVES
    mov cx, 4
.shift:
    cmp byte [di + D_TYPE], T_ATA
    jne .next
    inc byte [di + D_NUMBER]
.next:
    add di, DRIVE_SIZE
    loop .shift
    pop di
    inc byte [HD_COUNT]
    push es
    mov ax, BDA_SEG
    mov es, ax
    inc byte [es:BDA_HD_COUNT]
    pop es
.ready:
    mov byte [si + D_TYPE], T_EMU
    mov dword [EMU_CACHED], 0xffffffff
    mov dl, [si + D_NUMBER]
    clc
    jmp .out
.fail:
    mov byte [si + D_TYPE], 0
    stc
.out:
    pop si
    pop cx
    pop ebx
    pop eax
    ret

; mbr_geometry: the geometry of the hard-disk image whose MBR is in
; SECTOR_BUF (the block's first 512 bytes) into the entry at DS:SI: heads
; and sectors per track from the partitions' ending CHS, the size from
; their ending LBA, cylinders to cover it. CF if no partition says so.
mbr_geometry:
    pushad
    xor edx, edx                ; the highest ending LBA (exclusive)
    mov byte [si + D_HEADS], 0
    mov bx, SECTOR_BUF + 446
    mov cx, 4
.entry:
    cmp byte [bx + 4], 0        ; partition type 0: unused
    je .next
    mov eax, [bx + 8]
    add eax, [bx + 12]
    cmp eax, edx
    jbe .next
    mov edx, eax
    mov al, [bx + 5]            ; ending head
    inc al
    jz .next
    mov [si + D_HEADS], al
    mov al, [bx + 6]            ; ending sector (bits 5:0)
    and al, 0x3f
    mov [si + D_SPT], al
.next:
    add bx, 16
    loop .entry
    test edx, edx
    jz .fail
    cmp byte [si + D_HEADS], 0
    je .fail
    cmp byte [si + D_SPT], 0
    je .fail
    mov [si + D_SECT], edx
    movzx ebx, byte [si + D_HEADS]
    movzx ecx, byte [si + D_SPT]
    imul ebx, ecx               ; sectors per cylinder
    mov eax, edx
    add eax, ebx
    dec eax
    xor edx, edx
    div ebx                     ; cylinders, rounded up
    cmp eax, 1024
    jbe .cyls
    mov eax, 1024
.cyls:
    mov [si + D_CYLS], ax
    popad
    clc
    ret
.fail:
    popad
    stc
    ret

; emulation_end: drive 00h or 80h goes back to what it was (4Bh AL=00h)
emulation_end:
    push ax
    push cx
    push di
    push es
    cmp byte [EMU_DRIVE + D_TYPE], T_EMU
    jne .out
    mov byte [EMU_DRIVE + D_TYPE], 0
    mov byte [BOOT_MEDIA], 0xff
    mov ax, BDA_SEG
    mov es, ax
    cmp byte [EMU_DRIVE + D_NUMBER], 0x80
    je .hard_disk
    and word [es:BDA_EQUIPMENT], 0xff3e ; no diskette drives
    jmp .out
.hard_disk:
    mov di, DRIVES
    mov cx, 4
.shift:
    cmp byte [di + D_TYPE], T_ATA
    jne .next
    dec byte [di + D_NUMBER]
.next:
    add di, DRIVE_SIZE
    loop .shift
    dec byte [HD_COUNT]
    dec byte [es:BDA_HD_COUNT]
.out:
    pop es
    pop di
    pop cx
    pop ax
    ret

; eltorito_packet: the specification packet (El Torito 1.0, table 13) of
; the boot at ES:DI
eltorito_packet:
    push ax
    push si
    mov byte [es:di], 0x13      ; its size
    mov al, [BOOT_MEDIA]
    mov [es:di + 1], al
    mov al, [BOOT_DRIVE]
    mov [es:di + 2], al
    movzx si, byte [CD_INDEX]
    imul si, si, DRIVE_SIZE
    add si, DRIVES
    xor al, al                  ; controller: 0 primary, 1 secondary channel
    cmp word [si + D_BASE], 0x1f0
    je .controller
    inc al
.controller:
    mov [es:di + 3], al
    mov eax, [BOOT_LBA]
    mov [es:di + 4], eax
    movzx ax, byte [si + D_SLAVE] ; device specification: bit 0 slave
    mov [es:di + 8], ax
    mov word [es:di + 10], 0    ; no 3 KiB buffer of the user's
    mov ax, [BOOT_LOAD_SEG]
    mov [es:di + 12], ax
    mov ax, [BOOT_COUNT]
    mov [es:di + 14], ax
    mov byte [es:di + 16], 0
    mov word [es:di + 17], 0
    cmp byte [BOOT_MEDIA], 0
    je .out
    ; the emulated geometry as INT 13h AH=08h gives it
    mov si, EMU_DRIVE
    mov ax, [si + D_CYLS]
    dec ax
    mov [es:di + 16], al
    shl ah, 6
    or ah, [si + D_SPT]
    mov [es:di + 17], ah
    mov al, [si + D_HEADS]
    dec al
    mov [es:di + 18], al
.out:
    pop si
    pop ax
    ret

; ============================================================ INT 14h
; The serial ports of the BDA's table (40:00h; COM1, COM2), polled (IBM
; PC/AT Technical Reference "RS232_IO"; Ralf Brown, INT 14h):
;   00h init: AL bits 7-5 baud (110-9600), 4-3 parity, 2 stop bits, 1-0
;       word length; returns AH line status, AL modem status
;   01h send AL; 02h receive into AL; AH the line status, bit 7 set when
;       the port did not become ready within the BDA's timeout (40:7Ch)
;   03h status: AH line status, AL modem status
; DX = port (0-3); a port the BDA does not list: AH=80h (timeout). A
; guest that sets COM1 up through 00h makes it its console (the rule of
; com1_is_console).
int14_handler:
    sti
    ENTER_HANDLER
    mov ax, BDA_SEG
    mov ds, ax
    mov bx, R_DX
    cmp bx, 3
    ja .no_port
    shl bx, 1
    mov dx, [BDA_COM1 + bx]
    test dx, dx
    jz .no_port
    shr bx, 1
    mov cl, [BDA_SERIAL_TIMEOUT + bx]
    mov al, R_AH
    cmp al, 0x00
    je .init
    cmp al, 0x01
    je .send
    cmp al, 0x02
    je .receive
    cmp al, 0x03
    je .status
    jmp .leave
.init:
    ; the divisor of 115200 / baud for AL bits 7-5
    movzx bx, byte R_AL
    shr bx, 5
    shl bx, 1
    mov si, [cs:serial_divisors + bx]
    add dx, 3                   ; LCR
    mov al, 0x80                ; DLAB
    out dx, al
    sub dx, 3
    mov ax, si
    out dx, al                  ; DLL
    inc dx
    mov al, ah
    out dx, al                  ; DLM
    add dx, 2                   ; LCR: the line format, DLAB off
    mov al, R_AL
    and al, 0x1f
    out dx, al
    sub dx, 2                   ; IER: no interrupts (the BIOS polls)
    xor al, al
    out dx, al
    dec dx
    jmp .status
.send:
    push dx
    add dx, 4                   ; MCR: DTR, RTS
    mov al, 0x03
    out dx, al
    pop dx
    mov ah, 0x20                ; wait for THRE
    call serial_wait
    jc .timeout
    mov al, R_AL
    out dx, al
    jmp .line_status
.receive:
    push dx
    add dx, 4                   ; MCR: DTR
    mov al, 0x01
    out dx, al
    pop dx
    mov ah, 0x01                ; wait for data ready
    call serial_wait
    jc .timeout
    in al, dx
    mov R_AL, al
    add dx, 5
    in al, dx
    and al, 0x1e                ; the error bits of the line status
    mov R_AH, al
    jmp .leave
.line_status:
    add dx, 5
    in al, dx
    mov R_AH, al
    jmp .leave
.timeout:
    add dx, 5
    in al, dx
    or al, 0x80
    mov R_AH, al
    jmp .leave
.status:
    add dx, 5
    in al, dx
    mov R_AH, al
    inc dx
    in al, dx
    mov R_AL, al
    jmp .leave
.no_port:
    mov byte R_AH, 0x80
.leave:
    LEAVE_HANDLER

; serial_wait: until the line status of the port at DX has a bit of AH
; set, or CL times 65536 polls of it (the PC/AT's count: about a second
; each on its bus); CF on timeout
serial_wait:
    push bx
    push cx
    push dx
    add dx, 5
    movzx cx, cl
    test cx, cx
    jnz .outer
    inc cx
.outer:
    xor bx, bx
.poll:
    in al, dx
    test al, ah
    jnz .ready
    dec bx
    jnz .poll
    loop .outer
    stc
    jmp .out
.ready:
    clc
.out:
    pop dx
    pop cx
    pop bx
    ret

; 115200 / baud for 110, 150, 300, 600, 1200, 2400, 4800, 9600
serial_divisors: dw 1047, 768, 384, 192, 96, 48, 24, 12

; ============================================================ INT 15h
; System services (IBM PC/AT "CASSETTE_IO"; Ralf Brown, INT 15h; ACPI 6.4
; ch. 15 for E820): E820h memory map, E801h and 88h memory sizes, C0h
; configuration table, C1h EBDA segment, 2400h-2403h A20, 86h wait, 4Fh
; keyboard intercept (CF set: the key goes on), 90h/91h device busy/post.
; Success: CF clear (AH=00h where the function returns a status);
; anything else: AH=86h, CF set ("function not supported").
int15_handler:
    ENTER_HANDLER
    mov ax, EBDA_SEG
    mov ds, ax
    mov ax, R_AX
    cmp ax, 0xe820
    je .e820
    cmp ax, 0xe801
    je .e801
    cmp ah, 0x88
    je .ext_memory
    cmp ah, 0xc0
    je .config
    cmp ah, 0xc1
    je .ebda
    cmp ax, 0x2400
    je .a20_ok                  ; disable A20: the A20 line is not emulated (always on)
    cmp ax, 0x2401
    je .a20_ok
    cmp ax, 0x2402
    je .a20_status
    cmp ax, 0x2403
    je .a20_support
    cmp ah, 0x86
    je .wait
    cmp ah, 0x4f
    je .kbd_intercept
    cmp ah, 0x91
    je .done_ok
    cmp ah, 0x90
    je .done_ok
    jmp .unsupported
.e820:
    ; ACPI 6.4 15.1: EBX continuation, ES:DI buffer, ECX its size, EDX 'SMAP'
    cmp R_EDX, 0x534d4150
    jne .unsupported
    cmp dword [INFO], INFO_MAGIC
    jne .unsupported
    mov ebx, R_EBX
    movzx ecx, word [INFO_E820_COUNT]
    cmp ebx, ecx
    jae .unsupported
    cmp R_ECX, E820_SIZE
    jb .unsupported
    imul si, bx, E820_SIZE
    add si, INFO_E820
    mov es, R_ES
    mov di, R_DI
    mov cx, E820_SIZE
    rep movsb
    inc ebx
    cmp bx, [INFO_E820_COUNT]
    jb .more
    xor ebx, ebx                ; the last entry
.more:
    mov R_EBX, ebx
    mov R_EAX, 0x534d4150
    mov R_ECX, E820_SIZE
    jmp .done_ok
.e801:
    ; AX=CX: KiB between 1 MiB and 16 MiB; BX=DX: 64 KiB blocks above 16 MiB
    mov eax, [INFO_RAM]
    sub eax, 0x100000
    shr eax, 10
    cmp eax, 15 * 1024
    jbe .e801_low
    mov eax, 15 * 1024
.e801_low:
    mov R_AX, ax
    mov R_CX, ax
    mov eax, [INFO_RAM]
    xor ebx, ebx
    cmp eax, 0x1000000
    jbe .e801_high
    sub eax, 0x1000000
    shr eax, 16
    mov ebx, eax
.e801_high:
    mov R_BX, bx
    mov R_DX, bx
    jmp .done_ok
.ext_memory:                    ; AH=88h: KiB above 1 MiB, at most FFFFh
    mov eax, [INFO_RAM]
    sub eax, 0x100000
    shr eax, 10
    cmp eax, 0xffff
    jbe .em
    mov eax, 0xffff
.em:
    mov R_AX, ax
    jmp .done_ok
.config:                        ; AH=C0h: ES:BX -> the system configuration table
    mov R_ES, ROM_SEG
    mov word R_BX, config_table
    mov byte R_AH, 0
    jmp .done_ok
.ebda:                          ; AH=C1h: ES = the extended BIOS data area
    mov R_ES, EBDA_SEG
    jmp .done_ok
.a20_ok:
    mov byte R_AH, 0
    jmp .done_ok
.a20_status:
    mov word R_AX, 0x0001       ; enabled
    jmp .done_ok
.a20_support:
    mov word R_BX, 0x0003       ; keyboard controller and port 92h
    mov byte R_AH, 0
    jmp .done_ok
.wait:                          ; AH=86h: wait CX:DX microseconds
    movzx ecx, word R_CX
    shl ecx, 16
    mov cx, R_DX
    call delay_us
    mov byte R_AH, 0
    jmp .done_ok
.kbd_intercept:                 ; AH=4Fh: process the key as it is
    SET_CF
    jmp .leave
.unsupported:
    mov byte R_AH, 0x86
    SET_CF
    jmp .leave
.done_ok:
    CLEAR_CF
.leave:
    LEAVE_HANDLER

; delay_us: waits ECX microseconds on port 61h bit 4, which the chipset
; toggles every 15.085 us (the refresh request, IBM PC/AT)
delay_us:
    push eax
    push ecx
    mov eax, ecx
    xor edx, edx
    mov ecx, 15
    div ecx
    mov ecx, eax
    inc ecx
    in al, 0x61
    and al, 0x10
    mov ah, al
.tick:
    in al, 0x61
    and al, 0x10
    cmp al, ah
    je .tick
    mov ah, al
    dec ecx
    jnz .tick
    pop ecx
    pop eax
    ret

; the system configuration table (Ralf Brown, INT 15h AH=C0h, table 00509)
config_table:
    dw 8                        ; bytes that follow
    db 0xfc, 0x01, 0x00         ; model AT, submodel, revision
    db 0x74                     ; feature 1: 2nd 8259, RTC, INT 15h AH=4Fh called by
                                ; INT 09h, extended BIOS data area allocated
    db 0x40                     ; feature 2: INT 16h AH=09h supported
    db 0x00, 0x00, 0x00

; ============================================================ INT 16h
; The keyboard services of the PC/AT and the enhanced (101/102-key)
; keyboard BIOS (IBM PC/AT Technical Reference, BIOS listing "KEYBOARD_IO";
; Ralf Brown's Interrupt List, INT 16h): the buffer in the BDA is filled
; by the IRQ1 handler, a word per key, scan code in the high byte and the
; character in the low byte (E0h for the keys only the enhanced keyboard
; has, such as the grey cursor keys).
;   00h/10h read a key (waits)       01h/11h peek (ZF set: none)
;   02h/12h shift flags              03h typematic rate (00h/04h/05h/06h)
;   05h store a key (AL=01h: full)   09h functions supported
;   0Ah keyboard ID
; Functions 00h-02h are the PC/AT ones: they hide what the 84-key keyboard
; could not type (AL=E0h becomes 00h; F11, F12 and other new keys are
; dropped from the buffer), 10h-12h give everything. Unknown functions
; return with every register unchanged.
int16_handler:
    sti
    ENTER_HANDLER
    cld
    mov ax, BDA_SEG
    mov ds, ax
    mov al, R_AH
    cmp al, 0x00
    je .get
    cmp al, 0x10
    je .get_ext
    cmp al, 0x01
    je .check
    cmp al, 0x11
    je .check_ext
    cmp al, 0x02
    je .flags
    cmp al, 0x12
    je .ext_flags
    cmp al, 0x03
    je .typematic
    cmp al, 0x05
    je .store
    cmp al, 0x09
    je .functionality
    cmp al, 0x0a
    je .keyboard_id
    jmp .leave
.get:
    xor cl, cl                  ; CL: 0 PC/AT function, 1 enhanced
    jmp .get_loop
.get_ext:
    mov cl, 1
.get_loop:
    cli
    call kbd_peek               ; ZF: empty; else AX = key
    jnz .take
    sti
    hlt                         ; the next interrupt may bring a key
    jmp .get_loop
.take:
    call kbd_remove
    call kbd_translate          ; CF: a key the PC/AT function does not give
    jc .get_loop
    sti
    mov R_AX, ax
    jmp .leave
.check:
    xor cl, cl
    jmp .check_loop
.check_ext:
    mov cl, 1
.check_loop:
    cli
    call kbd_peek
    jz .empty
    call kbd_translate
    jnc .waiting
    call kbd_remove             ; not for this function: gone, as on the PC/AT
    jmp .check_loop
.waiting:
    sti
    mov R_AX, ax
    and R_FLAGS, 0xffbf         ; ZF clear: a key waits
    jmp .leave
.empty:
    sti
    or R_FLAGS, 0x0040          ; ZF set
    jmp .leave
.flags:
    mov al, [BDA_KBD_FLAGS]
    mov R_AL, al
    jmp .leave
.ext_flags:
    ; AH: bit 0 left Ctrl, 1 left Alt, 2 right Ctrl, 3 right Alt, 4 Scroll
    ; Lock down, 5 Num Lock down, 6 Caps Lock down, 7 SysReq down
    mov al, [BDA_KBD_FLAGS1]
    mov ah, al
    and ah, 0x73                ; left Ctrl, left Alt, the locks held down
    test al, 0x04               ; SysReq held (flag byte 1 bit 2)
    jz .no_sysreq
    or ah, 0x80
.no_sysreq:
    mov al, [BDA_KBD_STATUS3]
    and al, 0x0c                ; right Ctrl, right Alt
    or ah, al
    mov al, [BDA_KBD_FLAGS]
    mov R_AX, ax
    jmp .leave
.typematic:
    mov al, R_AL
    cmp al, 0x00                ; back to the defaults
    je .typematic_default
    cmp al, 0x04                ; typematic off: nothing repeats here anyway
    je .leave
    cmp al, 0x05                ; BH delay (0-3), BL rate (0-1Fh)
    je .typematic_set
    cmp al, 0x06                ; get: BH delay, BL rate
    jne .leave
    push ds
    mov ax, EBDA_SEG
    mov ds, ax
    mov ax, [TYPEMATIC]
    pop ds
    mov R_BX, ax
    jmp .leave
.typematic_default:
    mov ax, TYPEMATIC_DEFAULT
    jmp .typematic_store
.typematic_set:
    mov ax, R_BX
    and ax, 0x031f
.typematic_store:
    push ds
    mov bx, EBDA_SEG
    mov ds, bx
    mov [TYPEMATIC], ax
    pop ds
    jmp .leave
.store:
    mov ax, R_CX
    cli
    call kbd_put                ; CF: the buffer is full
    sti
    mov al, 0
    adc al, 0
    mov R_AL, al                ; 00h stored, 01h full
    jmp .leave
.functionality:
    ; AL: 0300h, 0304h, 0305h, 0306h, 0A00h and 10h-12h are supported
    mov byte R_AL, 0x3f
    jmp .leave
.keyboard_id:
    ; the MF2 keyboard's identification bytes ABh, 41h (translated) as the
    ; keyboard's answer to F2h; the BIOS does not ask it: this is the
    ; keyboard the 8042 model emulates (devmodel/kbc.c)
    mov word R_BX, 0x41ab
.leave:
    LEAVE_HANDLER

; The buffer (DS = BDA, interrupts off): the slots between the start and
; end pointers at BDA 80h/82h (from 1Eh to 3Eh unless a program moved it).

; kbd_peek: ZF set if empty, else AX = the oldest key
kbd_peek:
    push bx
    mov bx, [BDA_KBD_HEAD]
    cmp bx, [BDA_KBD_TAIL]
    je .out
    mov ax, [bx]
    cmp bx, 0xffff              ; not equal: ZF clear
.out:
    pop bx
    ret

; kbd_remove: drops the oldest key
kbd_remove:
    push bx
    mov bx, [BDA_KBD_HEAD]
    call kbd_advance
    mov [BDA_KBD_HEAD], bx
    pop bx
    ret

; kbd_advance: BX to the next slot of the circular buffer
kbd_advance:
    add bx, 2
    cmp bx, [BDA_KBD_STOP]
    jb .ok
    mov bx, [BDA_KBD_START]
.ok:
    ret

; kbd_put: stores AX if there is room; CF set if the buffer is full
kbd_put:
    push bx
    push cx
    mov bx, [BDA_KBD_TAIL]
    mov cx, bx
    call kbd_advance
    cmp bx, [BDA_KBD_HEAD]
    je .full
    xchg bx, cx
    mov [bx], ax
    mov [BDA_KBD_TAIL], cx
    clc
    jmp .out
.full:
    stc
.out:
    pop cx
    pop bx
    ret

; kbd_translate: the key AX as function CL (0: 00h/01h, 1: 10h/11h) gives
; it. For the PC/AT functions: the keypad's Enter and / (scan code E0h)
; get their PC/AT scan codes 1Ch and 35h, a character E0h becomes 00h,
; and keys the 84-key keyboard had not (scan codes above 84h with no
; character, such as F11, F12 and Alt with the grey keys) are not given:
; CF set.
kbd_translate:
    test cl, cl
    jnz .as_is
    cmp ah, 0xe0
    jne .not_keypad
    mov ah, 0x1c                ; keypad Enter
    cmp al, '/'
    jne .as_is
    mov ah, 0x35                ; keypad /
    jmp .as_is
.not_keypad:
    cmp al, 0xe0
    jne .check_new
    test ah, ah
    jz .as_is                   ; Alt+224 typed on the keypad: a character
    xor al, al
.check_new:
    test al, al
    jnz .as_is
    cmp ah, 0x84
    jbe .as_is
    stc
    ret
.as_is:
    clc
    ret

; ============================================================ IRQ handlers
irq0_handler:
    push ds
    push ax
    mov ax, BDA_SEG
    mov ds, ax
    inc dword [BDA_TICKS]
    cmp dword [BDA_TICKS], 0x1800b0 ; ticks in a day (IBM PC/AT)
    jb .no_midnight
    mov dword [BDA_TICKS], 0
    mov byte [BDA_MIDNIGHT], 1
.no_midnight:
    int 0x1c
    mov al, 0x20
    out 0x20, al
    pop ax
    pop ds
    iret

; IRQ1: a scan code (set 1: the 8042 translates the keyboard's set 2)
; becomes a key in the buffer, as the PC/AT's INT 09h does: INT 15h
; AH=4Fh sees it first (CF clear on return: the key is consumed), the
; modifier and lock keys keep the flags at BDA 17h, 18h and 96h, the E0h
; prefix marks the enhanced keyboard's grey keys and right Ctrl/Alt,
; Ctrl-Alt-Del restarts the machine, and every other key's make code is
; looked up in key_table (IBM PC/AT Technical Reference, keyboard
; encoding; the enhanced keyboard's extended codes as in Ralf Brown's
; Interrupt List, INT 16h table 00006). The lock LEDs are not driven.
irq1_handler:
    push ds
    pusha
    mov ax, BDA_SEG
    mov ds, ax
    in al, 0x60
    mov ah, 0x4f                ; keyboard intercept
    stc
    int 0x15
    jnc .eoi
    cmp al, 0xe0
    je .prefix_e0
    cmp al, 0xe1
    je .prefix_e1
    mov bl, [BDA_KBD_STATUS3]   ; BL bit 1: after E0h, bit 0: after E1h
    and byte [BDA_KBD_STATUS3], 0xfc
    test bl, 0x01
    jz .no_pause
    ; Pause is E1h 1Dh 45h E1h 9Dh C5h: the 1Dh/9Dh keep the E1h state,
    ; the 45h/C5h end it; none of them is a key
    mov ah, al
    and ah, 0x7f
    cmp ah, 0x1d
    jne .eoi
    or byte [BDA_KBD_STATUS3], 0x01
    jmp .eoi
.no_pause:
    mov ah, al                  ; AH: the code as it came (bit 7: break)
    and al, 0x7f                ; AL: the key
    mov bh, bl
    and bh, 0x02                ; BH non-zero: an E0h key
    jz .not_fake_shift
    cmp al, 0x2a                ; the enhanced keyboard's fake shifts
    je .eoi
    cmp al, 0x36
    je .eoi
.not_fake_shift:
    cmp al, 0x2a
    je .left_shift
    cmp al, 0x36
    je .right_shift
    cmp al, 0x1d
    je .ctrl
    cmp al, 0x38
    je .alt
    cmp al, 0x3a
    je .caps
    cmp al, 0x45
    je .num
    cmp al, 0x46
    jne .not_scroll
    test bh, bh
    jz .scroll                  ; E0h 46h is Ctrl-Break: no key here
    jmp .eoi
.not_scroll:
    test ah, 0x80
    jz .make
    cmp al, 0x52                ; Insert released
    jne .eoi
    and byte [BDA_KBD_FLAGS1], 0x7f
    jmp .eoi
.prefix_e0:
    or byte [BDA_KBD_STATUS3], 0x02
    jmp .eoi
.prefix_e1:
    or byte [BDA_KBD_STATUS3], 0x01
    jmp .eoi

.left_shift:
    mov bl, 0x02
    jmp .shift
.right_shift:
    mov bl, 0x01
.shift:
    test ah, 0x80
    jnz .shift_up
    or [BDA_KBD_FLAGS], bl
    jmp .eoi
.shift_up:
    not bl
    and [BDA_KBD_FLAGS], bl
    jmp .eoi

; Ctrl and Alt: left ones in flag byte 1 (18h) bits 0/1, right ones in
; 96h bits 2/3; 17h bits 2/3 say "either"
.ctrl:
    mov cx, 0x0104              ; CH: left bit in 18h, CL: right bit in 96h (and either in 17h)
    jmp .ctrl_alt
.alt:
    mov cx, 0x0208
.ctrl_alt:
    test bh, bh
    jnz .right
    test ah, 0x80
    jnz .left_up
    or [BDA_KBD_FLAGS1], ch
    jmp .either
.left_up:
    not ch
    and [BDA_KBD_FLAGS1], ch
    not ch
    jmp .either
.right:
    test ah, 0x80
    jnz .right_up
    or [BDA_KBD_STATUS3], cl
    jmp .either
.right_up:
    not cl
    and [BDA_KBD_STATUS3], cl
    not cl
.either:
    ; 17h bit 2 (Ctrl) = left or right Ctrl, bit 3 (Alt) likewise
    mov dl, cl                  ; the 17h bit: the same as the 96h one
    not dl
    and [BDA_KBD_FLAGS], dl
    test [BDA_KBD_FLAGS1], ch
    jnz .either_on
    test [BDA_KBD_STATUS3], cl
    jz .eoi
.either_on:
    or [BDA_KBD_FLAGS], cl
    jmp .eoi

; the locks toggle at their make code once per press (the keyboard's
; typematic repeat must not toggle again): "held" in 18h, "on" in 17h
.caps:
    mov bl, 0x40
    jmp .lock
.num:
    mov bl, 0x20
    jmp .lock
.scroll:
    mov bl, 0x10
.lock:
    test ah, 0x80
    jnz .lock_up
    test [BDA_KBD_FLAGS1], bl
    jnz .eoi
    or [BDA_KBD_FLAGS1], bl
    xor [BDA_KBD_FLAGS], bl
    jmp .eoi
.lock_up:
    not bl
    and [BDA_KBD_FLAGS1], bl
    jmp .eoi

.make:
    ; Ctrl-Alt-Del: a warm restart (BDA 72h = 1234h: no memory test), by
    ; the 8042's pulse of the reset line
    cmp al, 0x53
    jne .lookup
    test byte [BDA_KBD_FLAGS], 0x04
    jz .lookup
    test byte [BDA_KBD_FLAGS], 0x08
    jz .lookup
    mov word [BDA_RESET_FLAG], 0x1234
    mov al, 0xfe
    out 0x64, al
    cli
    hlt
.lookup:
    test bh, bh
    jz .plain_key
    ; an E0h key: the grey keys in key_table_e0
    mov si, key_table_e0
.find_e0:
    mov dl, [cs:si]
    test dl, dl
    jz .eoi                     ; not a key the buffer takes (Print Screen, ...)
    cmp dl, al
    je .found_e0
    add si, 9
    jmp .find_e0
.found_e0:
    inc si
    xor dh, dh                  ; DH: 0 no case rule
    jmp .column
.plain_key:
    cmp al, 0x01
    jb .eoi
    cmp al, 0x58
    ja .eoi
    movzx si, al
    dec si
    shl si, 3
    add si, key_table
    ; DH: the lock that swaps normal and shifted: Caps Lock for letters,
    ; Num Lock for the keypad's digits
    xor dh, dh
    mov dl, [cs:si]             ; the normal character
    cmp dl, 'a'
    jb .not_letter
    cmp dl, 'z'
    ja .not_letter
    mov dh, 0x40
.not_letter:
    cmp al, 0x47
    jb .column
    cmp al, 0x53
    ja .column
    cmp al, 0x4a                ; keypad - and + are no digits
    je .column
    cmp al, 0x4e
    je .column
    mov dh, 0x20
.column:
    ; Alt, else Ctrl, else shifted (Shift, XOR the key's lock), else normal
    mov bl, [BDA_KBD_FLAGS]
    test bl, 0x08
    jz .not_alt
    add si, 6
    jmp .take
.not_alt:
    test bl, 0x04
    jz .not_ctrl
    add si, 4
    jmp .take
.not_ctrl:
    xor cl, cl
    test bl, 0x03
    jz .no_shift
    inc cl
.no_shift:
    test bl, dh
    jz .no_lock
    xor cl, 1
.no_lock:
    test cl, cl
    jz .take
    add si, 2
.take:
    ; Insert (the keypad's 0 when it is not a digit) toggles insert mode
    mov cx, [cs:si]
    cmp ch, 0x52
    jne .store
    cmp cl, '0'
    je .store
    test byte [BDA_KBD_FLAGS1], 0x80
    jnz .store                  ; held: a repeat, not another press
    or byte [BDA_KBD_FLAGS1], 0x80
    xor byte [BDA_KBD_FLAGS], 0x80
.store:
    test cx, cx
    jz .eoi                     ; no key for this combination
    mov ax, cx
    call kbd_put
.eoi:
    cli
    mov al, 0x20
    out 0x20, al
    popa
    pop ds
    iret

; key_table: for each set-1 make code 01h-58h, the key word (scan code
; << 8 | character) normal, shifted, with Ctrl, with Alt; 0: no key
%macro KEY 4
    dw %1, %2, %3, %4
%endmacro
key_table:
    KEY 0x011b, 0x011b, 0x011b, 0x0100   ; 01 Esc
    KEY 0x0231, 0x0221, 0x0000, 0x7800   ; 02 1 !
    KEY 0x0332, 0x0340, 0x0300, 0x7900   ; 03 2 @
    KEY 0x0433, 0x0423, 0x0000, 0x7a00   ; 04 3 #
    KEY 0x0534, 0x0524, 0x0000, 0x7b00   ; 05 4 $
    KEY 0x0635, 0x0625, 0x0000, 0x7c00   ; 06 5 %
    KEY 0x0736, 0x075e, 0x071e, 0x7d00   ; 07 6 ^
    KEY 0x0837, 0x0826, 0x0000, 0x7e00   ; 08 7 &
    KEY 0x0938, 0x092a, 0x0000, 0x7f00   ; 09 8 *
    KEY 0x0a39, 0x0a28, 0x0000, 0x8000   ; 0A 9 (
    KEY 0x0b30, 0x0b29, 0x0000, 0x8100   ; 0B 0 )
    KEY 0x0c2d, 0x0c5f, 0x0c1f, 0x8200   ; 0C - _
    KEY 0x0d3d, 0x0d2b, 0x0000, 0x8300   ; 0D = +
    KEY 0x0e08, 0x0e08, 0x0e7f, 0x0e00   ; 0E Backspace
    KEY 0x0f09, 0x0f00, 0x9400, 0xa500   ; 0F Tab
    KEY 0x1071, 0x1051, 0x1011, 0x1000   ; 10 q
    KEY 0x1177, 0x1157, 0x1117, 0x1100   ; 11 w
    KEY 0x1265, 0x1245, 0x1205, 0x1200   ; 12 e
    KEY 0x1372, 0x1352, 0x1312, 0x1300   ; 13 r
    KEY 0x1474, 0x1454, 0x1414, 0x1400   ; 14 t
    KEY 0x1579, 0x1559, 0x1519, 0x1500   ; 15 y
    KEY 0x1675, 0x1655, 0x1615, 0x1600   ; 16 u
    KEY 0x1769, 0x1749, 0x1709, 0x1700   ; 17 i
    KEY 0x186f, 0x184f, 0x180f, 0x1800   ; 18 o
    KEY 0x1970, 0x1950, 0x1910, 0x1900   ; 19 p
    KEY 0x1a5b, 0x1a7b, 0x1a1b, 0x1a00   ; 1A [ {
    KEY 0x1b5d, 0x1b7d, 0x1b1d, 0x1b00   ; 1B ] }
    KEY 0x1c0d, 0x1c0d, 0x1c0a, 0x1c00   ; 1C Enter
    KEY 0x0000, 0x0000, 0x0000, 0x0000   ; 1D Ctrl
    KEY 0x1e61, 0x1e41, 0x1e01, 0x1e00   ; 1E a
    KEY 0x1f73, 0x1f53, 0x1f13, 0x1f00   ; 1F s
    KEY 0x2064, 0x2044, 0x2004, 0x2000   ; 20 d
    KEY 0x2166, 0x2146, 0x2106, 0x2100   ; 21 f
    KEY 0x2267, 0x2247, 0x2207, 0x2200   ; 22 g
    KEY 0x2368, 0x2348, 0x2308, 0x2300   ; 23 h
    KEY 0x246a, 0x244a, 0x240a, 0x2400   ; 24 j
    KEY 0x256b, 0x254b, 0x250b, 0x2500   ; 25 k
    KEY 0x266c, 0x264c, 0x260c, 0x2600   ; 26 l
    KEY 0x273b, 0x273a, 0x0000, 0x2700   ; 27 ; :
    KEY 0x2827, 0x2822, 0x0000, 0x2800   ; 28 ' "
    KEY 0x2960, 0x297e, 0x0000, 0x2900   ; 29 ` ~
    KEY 0x0000, 0x0000, 0x0000, 0x0000   ; 2A left Shift
    KEY 0x2b5c, 0x2b7c, 0x2b1c, 0x2b00   ; 2B \ |
    KEY 0x2c7a, 0x2c5a, 0x2c1a, 0x2c00   ; 2C z
    KEY 0x2d78, 0x2d58, 0x2d18, 0x2d00   ; 2D x
    KEY 0x2e63, 0x2e43, 0x2e03, 0x2e00   ; 2E c
    KEY 0x2f76, 0x2f56, 0x2f16, 0x2f00   ; 2F v
    KEY 0x3062, 0x3042, 0x3002, 0x3000   ; 30 b
    KEY 0x316e, 0x314e, 0x310e, 0x3100   ; 31 n
    KEY 0x326d, 0x324d, 0x320d, 0x3200   ; 32 m
    KEY 0x332c, 0x333c, 0x0000, 0x3300   ; 33 , <
    KEY 0x342e, 0x343e, 0x0000, 0x3400   ; 34 . >
    KEY 0x352f, 0x353f, 0x0000, 0x3500   ; 35 / ?
    KEY 0x0000, 0x0000, 0x0000, 0x0000   ; 36 right Shift
    KEY 0x372a, 0x372a, 0x9600, 0x3700   ; 37 keypad *
    KEY 0x0000, 0x0000, 0x0000, 0x0000   ; 38 Alt
    KEY 0x3920, 0x3920, 0x3920, 0x3920   ; 39 space
    KEY 0x0000, 0x0000, 0x0000, 0x0000   ; 3A Caps Lock
    KEY 0x3b00, 0x5400, 0x5e00, 0x6800   ; 3B F1
    KEY 0x3c00, 0x5500, 0x5f00, 0x6900   ; 3C F2
    KEY 0x3d00, 0x5600, 0x6000, 0x6a00   ; 3D F3
    KEY 0x3e00, 0x5700, 0x6100, 0x6b00   ; 3E F4
    KEY 0x3f00, 0x5800, 0x6200, 0x6c00   ; 3F F5
    KEY 0x4000, 0x5900, 0x6300, 0x6d00   ; 40 F6
    KEY 0x4100, 0x5a00, 0x6400, 0x6e00   ; 41 F7
    KEY 0x4200, 0x5b00, 0x6500, 0x6f00   ; 42 F8
    KEY 0x4300, 0x5c00, 0x6600, 0x7000   ; 43 F9
    KEY 0x4400, 0x5d00, 0x6700, 0x7100   ; 44 F10
    KEY 0x0000, 0x0000, 0x0000, 0x0000   ; 45 Num Lock
    KEY 0x0000, 0x0000, 0x0000, 0x0000   ; 46 Scroll Lock
    KEY 0x4700, 0x4737, 0x7700, 0x0000   ; 47 keypad 7 Home
    KEY 0x4800, 0x4838, 0x8d00, 0x0000   ; 48 keypad 8 Up
    KEY 0x4900, 0x4939, 0x8400, 0x0000   ; 49 keypad 9 PgUp
    KEY 0x4a2d, 0x4a2d, 0x8e00, 0x4a00   ; 4A keypad -
    KEY 0x4b00, 0x4b34, 0x7300, 0x0000   ; 4B keypad 4 Left
    KEY 0x4c00, 0x4c35, 0x8f00, 0x0000   ; 4C keypad 5
    KEY 0x4d00, 0x4d36, 0x7400, 0x0000   ; 4D keypad 6 Right
    KEY 0x4e2b, 0x4e2b, 0x9000, 0x4e00   ; 4E keypad +
    KEY 0x4f00, 0x4f31, 0x7500, 0x0000   ; 4F keypad 1 End
    KEY 0x5000, 0x5032, 0x9100, 0x0000   ; 50 keypad 2 Down
    KEY 0x5100, 0x5133, 0x7600, 0x0000   ; 51 keypad 3 PgDn
    KEY 0x5200, 0x5230, 0x9200, 0x0000   ; 52 keypad 0 Ins
    KEY 0x5300, 0x532e, 0x9300, 0x0000   ; 53 keypad . Del
    KEY 0x0000, 0x0000, 0x0000, 0x0000   ; 54 SysRq
    KEY 0x0000, 0x0000, 0x0000, 0x0000   ; 55
    KEY 0x565c, 0x567c, 0x0000, 0x0000   ; 56 the 102nd key \ |
    KEY 0x8500, 0x8700, 0x8900, 0x8b00   ; 57 F11
    KEY 0x8600, 0x8800, 0x8a00, 0x8c00   ; 58 F12

; the grey keys (after E0h): make code, then the four key words
key_table_e0:
    db 0x1c
    KEY 0xe00d, 0xe00d, 0xe00a, 0xa600   ; keypad Enter
    db 0x35
    KEY 0xe02f, 0xe02f, 0x9500, 0xa400   ; keypad /
    db 0x47
    KEY 0x47e0, 0x47e0, 0x77e0, 0x9700   ; Home
    db 0x48
    KEY 0x48e0, 0x48e0, 0x8de0, 0x9800   ; Up
    db 0x49
    KEY 0x49e0, 0x49e0, 0x84e0, 0x9900   ; PgUp
    db 0x4b
    KEY 0x4be0, 0x4be0, 0x73e0, 0x9b00   ; Left
    db 0x4d
    KEY 0x4de0, 0x4de0, 0x74e0, 0x9d00   ; Right
    db 0x4f
    KEY 0x4fe0, 0x4fe0, 0x75e0, 0x9f00   ; End
    db 0x50
    KEY 0x50e0, 0x50e0, 0x91e0, 0xa000   ; Down
    db 0x51
    KEY 0x51e0, 0x51e0, 0x76e0, 0xa100   ; PgDn
    db 0x52
    KEY 0x52e0, 0x52e0, 0x92e0, 0xa200   ; Insert
    db 0x53
    KEY 0x53e0, 0x53e0, 0x93e0, 0xa300   ; Delete
    db 0

irq_master_eoi:
    push ax
    mov al, 0x20
    out 0x20, al
    pop ax
    iret

; IRQ7 may be spurious: acknowledge only if it is in service (8259A: ISR)
irq7_handler:
    push ax
    mov al, 0x0b
    out 0x20, al
    in al, 0x20
    test al, 0x80
    jz .spurious
    mov al, 0x20
    out 0x20, al
.spurious:
    pop ax
    iret

irq8_handler:                   ; the RTC: read register C to acknowledge it
    push ax
    mov al, 0x0c
    out 0x70, al
    in al, 0x71
    jmp irq_slave_eoi.eoi
irq14_handler:                  ; the disks: read the status to acknowledge
    push ax
    push dx
    mov dx, 0x1f7
    in al, dx
    pop dx
    jmp irq_slave_eoi.eoi
irq15_handler:
    push ax
    push dx
    mov dx, 0x177
    in al, dx
    pop dx
    jmp irq_slave_eoi.eoi
irq_slave_eoi:
    push ax
.eoi:
    mov al, 0x20
    out 0xa0, al
    out 0x20, al
    pop ax
    iret

iret_handler:
    iret

; ============================================================ INT 1Ah
; Time of day (IBM PC/AT "TIME_OF_DAY"; Ralf Brown, INT 1Ah): 00h/01h the
; BIOS tick count, 02h-05h the RTC's time and date in BCD (CF clear), the
; PCI BIOS at B1h. Others (alarms, 06h/07h): CF set.
int1a_handler:
    ENTER_HANDLER
    mov ax, BDA_SEG
    mov ds, ax
    mov al, R_AH
    cmp al, 0x00
    je .get_ticks
    cmp al, 0x01
    je .set_ticks
    cmp al, 0x02
    je .get_time
    cmp al, 0x04
    je .get_date
    cmp al, 0x03
    je .set_time
    cmp al, 0x05
    je .set_date
    cmp al, 0xb1
    je .pci
    jmp .fail
.get_ticks:
    cli
    mov eax, [BDA_TICKS]
    mov R_DX, ax
    shr eax, 16
    mov R_CX, ax
    mov al, [BDA_MIDNIGHT]
    mov R_AL, al
    mov byte [BDA_MIDNIGHT], 0
    sti
    jmp .ok
.set_ticks:
    mov ax, R_CX
    shl eax, 16
    mov ax, R_DX
    mov [BDA_TICKS], eax
    jmp .ok
.get_time:
    call rtc_wait
    mov al, 4
    call rtc_read
    mov R_CH, al
    mov al, 2
    call rtc_read
    mov R_CL, al
    mov al, 0
    call rtc_read
    mov R_DH, al
    mov al, 0x0b
    call rtc_read
    and al, 0x01                ; daylight saving enabled (register B, DSE)
    mov R_DL, al
    jmp .ok
.set_time:                      ; CH hours, CL minutes, DH seconds, DL bit 0 DSE
    call rtc_hold
    mov ah, R_CH
    mov al, 4
    call rtc_write
    mov ah, R_CL
    mov al, 2
    call rtc_write
    mov ah, R_DH
    mov al, 0
    call rtc_write
    mov al, 0x0b
    call rtc_read
    and al, 0xfe
    mov ah, R_DL
    and ah, 0x01
    or ah, al
    jmp .release
.set_date:                      ; CH century, CL year, DH month, DL day
    call rtc_hold
    mov ah, R_CH
    mov al, 0x32
    call rtc_write
    mov ah, R_CL
    mov al, 9
    call rtc_write
    mov ah, R_DH
    mov al, 8
    call rtc_write
    mov ah, R_DL
    mov al, 7
    call rtc_write
    mov al, 0x0b
    call rtc_read
    mov ah, al
.release:
    and ah, 0x7f                ; SET off: the clock runs again
    mov al, 0x0b
    call rtc_write
    jmp .ok
.get_date:
    call rtc_wait
    mov al, 0x32
    call rtc_read
    mov R_CH, al
    mov al, 9
    call rtc_read
    mov R_CL, al
    mov al, 8
    call rtc_read
    mov R_DH, al
    mov al, 7
    call rtc_read
    mov R_DL, al
    jmp .ok
.pci:
    call pci_bios
    jmp .leave
.fail:
    SET_CF
    jmp .leave
.ok:
    mov byte R_AH, 0
    CLEAR_CF
.leave:
    LEAVE_HANDLER

; rtc_hold: SET in register B, so no update happens while the time is
; written (MC146818 datasheet, register B bit 7)
rtc_hold:
    mov al, 0x0b
    call rtc_read
    or al, 0x80
    mov ah, al
    mov al, 0x0b
    ; fall through
; rtc_write: AH into register AL
rtc_write:
    out 0x70, al
    mov al, ah
    out 0x71, al
    ret

rtc_read:
    out 0x70, al
    in al, 0x71
    ret

rtc_wait:                       ; until no update is in progress (register A bit 7)
    mov al, 0x0a
    call rtc_read
    test al, 0x80
    jnz rtc_wait
    ret

; PCI BIOS (PCI BIOS Specification 2.1): B101h installation check, B102h
; find device, B103h find class, B108h-B10Dh configuration read/write,
; through configuration mechanism #1. Only on the PCI platform.
pci_bios:
    push ds
    mov ax, EBDA_SEG
    mov ds, ax
    test word [INFO_FLAGS], 1
    pop ds
    jz .unsupported
    mov al, R_AL
    cmp al, 0x01
    je .present
    cmp al, 0x02
    je .find_device
    cmp al, 0x03
    je .find_class
    cmp al, 0x08
    jb .unsupported
    cmp al, 0x0d
    ja .unsupported
    ; configuration access: BH bus, BL device/function, DI register,
    ; aligned to the access size (else 87h: bad register number)
    mov bx, R_DI
    cmp al, 0x09
    je .word_access
    cmp al, 0x0c
    je .word_access
    cmp al, 0x0a
    je .dword_access
    cmp al, 0x0d
    jne .aligned
.dword_access:
    test bl, 3
    jnz .bad_register
    jmp .aligned
.word_access:
    test bl, 1
    jnz .bad_register
.aligned:
    movzx eax, word R_BX
    shl eax, 8
    movzx ebx, word R_DI
    mov ecx, ebx
    and bl, 0xfc
    or eax, ebx
    or eax, 0x80000000
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    and cx, 3
    add dx, cx
    mov al, R_AL
    cmp al, 0x08
    je .rb
    cmp al, 0x09
    je .rw
    cmp al, 0x0a
    je .rd
    cmp al, 0x0b
    je .wb
    cmp al, 0x0c
    je .ww
    mov eax, R_ECX
    out dx, eax
    jmp .ok
.rb:
    in al, dx
    mov R_CL, al
    jmp .ok
.rw:
    in ax, dx
    mov R_CX, ax
    jmp .ok
.rd:
    in eax, dx
    mov R_ECX, eax
    jmp .ok
.wb:
    mov al, R_CL
    out dx, al
    jmp .ok
.ww:
    mov ax, R_CX
    out dx, ax
    jmp .ok
.present:
    mov R_EDX, 0x20494350       ; "PCI "
    mov byte R_AL, 0x01         ; configuration mechanism #1
    mov word R_BX, 0x0210       ; version 2.10
    mov byte R_CL, 0            ; last bus
    jmp .ok
.find_device:                   ; CX device, DX vendor, SI index
    mov ebx, R_EDX
    and ebx, 0xffff
    movzx eax, word R_CX
    shl eax, 16
    or ebx, eax                 ; the dword at config offset 0
    xor ecx, ecx                ; matches so far
    jmp .scan
.find_class:                    ; ECX class code (24 bits), SI index
    mov ebx, R_ECX
    shl ebx, 8
    mov ecx, 0x80000000         ; flag: match on class
.scan:
    mov esi, 0x80000000         ; bus 0, device 0, function 0
.scan_next:
    mov eax, esi
    test ecx, 0x80000000
    jz .by_id
    or eax, 8
.by_id:
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    test ecx, 0x80000000
    jz .cmp
    and eax, 0xffffff00
.cmp:
    cmp eax, ebx
    jne .scan_skip
    mov ax, cx
    cmp ax, R_SI
    je .found
    inc cx
.scan_skip:
    add esi, 0x100
    cmp esi, 0x80010000
    jb .scan_next
    mov byte R_AH, 0x86         ; device not found
    SET_CF
    ret
.found:
    mov eax, esi
    shr eax, 8
    mov R_BX, ax                ; bus in BH, device/function in BL
    jmp .ok
.unsupported:
    mov byte R_AH, 0x81         ; function not supported
    SET_CF
    ret
.bad_register:
    mov byte R_AH, 0x87
    SET_CF
    ret
.ok:
    mov byte R_AH, 0
    CLEAR_CF
    ret

; ============================================================ boot
int18_handler:
    mov si, msg_no_boot
    call print
    cli
    hlt
    jmp int18_handler

; INT 19h: the kernel the hypervisor loaded (kernel = in the config), or
; the first hard disk, then the CD-ROM (or the other way round when the
; domain's config says boot = cdrom)
int19_handler:
    sti
    mov ax, EBDA_SEG
    mov ds, ax
    call boot_kernel
    test word [INFO_FLAGS], 2
    jz .disk_first
    call try_cdrom
    call try_hard_disk
    int 0x18
.disk_first:
    call try_hard_disk
    call try_cdrom
    int 0x18

try_hard_disk:
    mov dl, 0x80
    call find_drive
    jc .none
    call boot_hard_disk
.none:
    ret

try_cdrom:
    cmp byte [CD_INDEX], 0xff
    je .none
    call boot_cdrom
.none:
    ret

; reads sector 0 of disk 80h to 0:7C00h and jumps there if it is a boot sector
boot_hard_disk:
    mov si, msg_boot_disk
    call print
    mov dword [REQ_LBA], 0
    mov word [REQ_COUNT], 1
    mov word [REQ_SEG], 0
    mov word [REQ_OFF], 0x7c00
    mov byte [REQ_WRITE], 0
    call ata_io
    jc .read_error
    xor ax, ax
    mov es, ax
    cmp word [es:0x7dfe], 0xaa55
    jne .not_bootable
    mov dl, 0x80
    jmp 0:0x7c00
.read_error:
    mov si, msg_disk_error
    call print
    ret
.not_bootable:
    mov si, msg_not_bootable
    call print
    ret

; El Torito boot (El Torito 1.0, 2.0-2.5 and 5): the boot record volume
; descriptor at sector 17 points at the boot catalog, whose initial entry
; gives the media type, load segment, sector count and image location.
; No emulation: the image's blocks are loaded as they are, DL = E0h.
; Floppy (1.2/1.44/2.88 MB) or hard-disk emulation: the image becomes
; drive 00h or 80h (emulation_start), its first sectors are loaded from
; it, DL = that drive.
boot_cdrom:
    mov si, msg_boot_cd
    call print
    movzx di, byte [CD_INDEX]
    imul di, di, DRIVE_SIZE
    add di, DRIVES
    mov eax, 17
    call cd_read_sector_buf
    jc .read_error
    cmp byte [SECTOR_BUF], 0    ; boot record
    jne .not_bootable
    cmp dword [SECTOR_BUF + 1], 0x30304443  ; "CD00" (43h 44h 30h 30h)
    jne .not_bootable
    cmp dword [SECTOR_BUF + 7], 0x54204c45  ; "EL T"
    jne .not_bootable
    mov eax, [SECTOR_BUF + 0x47]            ; boot catalog
    call cd_read_sector_buf
    jc .read_error
    cmp byte [SECTOR_BUF], 1    ; validation entry
    jne .not_bootable
    cmp word [SECTOR_BUF + 0x1e], 0xaa55
    jne .not_bootable
    cmp byte [SECTOR_BUF + 0x20], 0x88      ; initial entry: bootable
    jne .not_bootable
    mov al, [SECTOR_BUF + 0x21]             ; media type (bits 3:0)
    and al, 0x0f
    cmp al, 4
    ja .not_bootable
    mov [BOOT_MEDIA], al
    mov eax, [SECTOR_BUF + 0x28]
    mov [BOOT_LBA], eax
    mov cx, [SECTOR_BUF + 0x26]             ; 512-byte virtual sectors
    mov [BOOT_COUNT], cx
    mov ax, [SECTOR_BUF + 0x22]             ; load segment, 0 = 07C0h
    test ax, ax
    jnz .seg
    mov ax, 0x07c0
.seg:
    mov [BOOT_LOAD_SEG], ax
    mov [REQ_SEG], ax
    mov word [REQ_OFF], 0
    mov byte [REQ_WRITE], 0
    cmp byte [BOOT_MEDIA], 0
    jne .emulated
    mov byte [BOOT_DRIVE], CD_DRIVE
    add cx, 3
    shr cx, 2                               ; 2048-byte blocks
    jnz .count
    inc cx
.count:
    mov [REQ_COUNT], cx
    mov eax, [BOOT_LBA]
    mov [REQ_LBA], eax
    call atapi_io
    jc .read_error
    mov dl, CD_DRIVE
    jmp .start
.emulated:
    mov al, [BOOT_MEDIA]
    call emulation_start        ; DL = the emulated drive
    jc .not_bootable
    mov [BOOT_DRIVE], dl
    test cx, cx
    jnz .emu_count
    inc cx
.emu_count:
    mov [REQ_COUNT], cx
    mov dword [REQ_LBA], 0
    mov di, EMU_DRIVE
    call emu_io
    jc .read_error
.start:
    ; a boot sector at 07C0h starts at 0000:7C00h, as from a disk;
    ; another load segment at segment:0
    mov bx, [BOOT_LOAD_SEG]
    cmp bx, 0x07c0
    jne .far
    jmp 0:0x7c00
.far:
    push bx
    push word 0
    retf
.read_error:
    call emulation_end
    mov byte [BOOT_MEDIA], 0xff
    mov si, msg_disk_error
    call print
    ret
.not_bootable:
    mov byte [BOOT_MEDIA], 0xff
    mov si, msg_not_bootable
    call print
    ret

; Direct kernel boot (vmm/kernel_boot.h): the hypervisor has placed the
; kernel in RAM and a hand-off block in the EBDA (reserved memory: no
; kernel loads over it); returns if there is none.
%define KBOOT           0x300          ; in the EBDA: kernel_boot.h KBOOT_HANDOFF_ADDR
%define KBOOT_MAGIC     0x4e524b5a     ; "ZKRN"
%define KBOOT_KIND      KBOOT + 4      ; 1 Linux, 2 Multiboot
%define KBOOT_SEG       KBOOT + 6
%define KBOOT_SP        KBOOT + 8
%define KBOOT_LINEAR    (EBDA_SEG * 16 + KBOOT) ; for the flat 32-bit code
%define KBOOT_ENTRY     KBOOT_LINEAR + 12
%define KBOOT_EAX       KBOOT_LINEAR + 16
%define KBOOT_EBX       KBOOT_LINEAR + 20
boot_kernel:
    test word [INFO_FLAGS], 4   ; tables.h: BIOS_INFO_KERNEL_BOOT
    jz .none
    mov ax, EBDA_SEG
    mov es, ax
    cmp dword [es:KBOOT], KBOOT_MAGIC
    jne .none
    mov si, msg_boot_kernel
    call print
    cli
    cmp word [es:KBOOT_KIND], 2
    je .multiboot
    ; Linux/x86 boot protocol, "Running the kernel": SS = DS = ES = FS =
    ; GS = the setup's segment, SP = the heap's end, then seg+20h:0.
    mov ax, [es:KBOOT_SEG]
    mov bx, [es:KBOOT_SP]
    mov ss, ax
    mov sp, bx
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    add ax, 0x20
    push ax
    push word 0
    retf
.multiboot:
    ; Multiboot 0.6.96, 3.2: flat 32-bit protected mode, paging off,
    ; interrupts off, EAX = 2BADB002h, EBX = the information structure.
    o32 lgdt [cs:kboot_gdt_ptr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword 0x08:0xf0000 + kboot_pm32
.none:
    ret

bits 32
kboot_pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov eax, [KBOOT_EAX]
    mov ebx, [KBOOT_EBX]
    jmp [KBOOT_ENTRY]
bits 16

align 8
kboot_gdt:
    dq 0
    dq 0x00cf9b000000ffff       ; 08h: flat 32-bit code, accessed (the GDT is in ROM)
    dq 0x00cf93000000ffff       ; 10h: flat data, accessed
kboot_gdt_ptr:
    dw 23
    dd 0xf0000 + kboot_gdt

; cd_read_sector_buf: block EAX of the CD at DS:DI into SECTOR_BUF (which
; no longer holds the emulated drive's block then)
cd_read_sector_buf:
    mov dword [EMU_CACHED], 0xffffffff
    mov [REQ_LBA], eax
    mov word [REQ_COUNT], 1
    mov word [REQ_SEG], EBDA_SEG
    mov word [REQ_OFF], SECTOR_BUF
    mov byte [REQ_WRITE], 0
    call atapi_io
    ret

; ============================================================ strings
; INT 10h AX=1130h points at a font; none is kept (text goes out as
; characters): a blank one, 256 characters of 16 rows.
blank_font:       times 256 * 16 db 0

msg_banner:       db "Zazen BIOS 0.1", 13, 10, 0
msg_memory:       db "Memory: ", 0
msg_mib:          db " MiB", 13, 10, 0
msg_ide:          db "ide", 0
msg_disk:         db ": hard disk, ", 0
msg_cdrom:        db ": CD-ROM", 13, 10, 0
msg_boot_disk:    db "Booting from hard disk...", 13, 10, 0
msg_boot_cd:      db "Booting from CD-ROM...", 13, 10, 0
msg_disk_error:   db "Disk read error", 13, 10, 0
msg_not_bootable: db "Not a bootable disk", 13, 10, 0
msg_no_boot:      db "No bootable disk", 13, 10, 0
msg_boot_kernel:  db "Booting the kernel from the domain's config...", 13, 10, 0

; ============================================================ F-segment tables
; A slot the hypervisor fills in each domain's copy of the ROM (tables.h:
; BIOS_FSEG_TABLES): the RSDP, the SMBIOS entry point and structures, for
; OSes that search the F segment for them. The code must end before it.
    times 0xf000 - ($ - $$) db 0xff
fseg_tables:
    times 0xc00 db 0

; ============================================================ reset vector
    times 0xfff0 - ($ - $$) db 0xff
    jmp ROM_SEG:post
    db "11/26/26"               ; BIOS date at F000:FFF5 (IBM PC/AT)
    times 0xfffe - ($ - $$) db 0
    db 0xfc                     ; model byte: AT
    db 0
