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
%define HD_COUNT        0x480
%define CD_INDEX        0x481          ; drive table index of the CD-ROM, FFh if none
%define LAST_STATUS     0x482
%define CDB             0x490          ; 12-byte ATAPI packet
; the current disk request (DS = EBDA while the disk code runs)
%define REQ_LBA         0x4a0          ; dword: first sector
%define REQ_COUNT       0x4a8          ; word: sectors
%define REQ_SEG         0x4aa          ; buffer segment (advanced as sectors move)
%define REQ_OFF         0x4ac          ; buffer offset (below 16 after normalizing)
%define REQ_WRITE       0x4ae          ; byte: 1 = write
%define REQ_DONE        0x4b0          ; word: sectors moved
%define SECTOR_BUF      0x800          ; 2 KiB in the EBDA
%define CD_DRIVE        0xe0
%define STACK_TOP       0x7000
%define DEBUGCON        0xe9
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
%define D_NUMBER 20  ; BIOS drive number
%define T_ATA    1
%define T_ATAPI  2

; BDA offsets (segment 40h)
%define BDA_COM1       0x00
%define BDA_EQUIPMENT  0x10
%define BDA_MEMORY     0x13
%define BDA_KBD_FLAGS  0x17
%define BDA_KBD_HEAD   0x1a
%define BDA_KBD_TAIL   0x1c
%define BDA_KBD_BUF    0x1e
%define BDA_KBD_END    0x3e
%define BDA_VIDEO_MODE 0x49
%define BDA_COLUMNS    0x4a
%define BDA_PAGE_SIZE  0x4c
%define BDA_CURSOR     0x50            ; column, row of page 0
%define BDA_CURSOR_SHAPE 0x60
%define BDA_CRTC       0x63
%define BDA_TICKS      0x6c
%define BDA_MIDNIGHT   0x70
%define BDA_HD_COUNT   0x75
%define BDA_KBD_START  0x80
%define BDA_KBD_STOP   0x82
%define BDA_ROWS       0x84
%define BDA_CHAR_HEIGHT 0x85
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
    ; EBDA: its size in KiB is its first byte (the hypervisor wrote it too)
    mov ax, EBDA_SEG
    mov es, ax
    mov byte [es:0], EBDA_KIB
    mov byte [es:HD_COUNT], 0
    mov byte [es:CD_INDEX], 0xff
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
; Text mode 3 (80x25) on the buffer at B8000h, page 0. Every character
; written is also sent to the debug console (port E9h), where Zazen shows
; it as "(domain) text", so boot is visible without a screen.
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
    je .done
    cmp al, 0x06
    je .scroll_up
    cmp al, 0x07
    je .scroll_down
    cmp al, 0x08
    je .read_char
    cmp al, 0x09
    je .write_char_attr
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
    jmp .done                   ; 4Fh (VESA) and others: not supported, AX unchanged
.teletype:
    mov al, R_AL
    call tty_out
    jmp .done
.set_mode:
    mov byte [BDA_VIDEO_MODE], 3
    mov word [BDA_CURSOR], 0
    call clear_screen
    jmp .done
.cursor_shape:
    mov ax, R_CX
    mov [BDA_CURSOR_SHAPE], ax
    jmp .done
.set_cursor:
    mov al, R_DL
    mov ah, R_DH
    cmp ah, [BDA_CURSOR + 1]    ; to a new row: a new line on the debug console
    je .same_row
    push ax
    mov al, 10
    out DEBUGCON, al
    pop ax
.same_row:
    mov [BDA_CURSOR], ax
    jmp .done
.get_cursor:
    mov ax, [BDA_CURSOR]
    mov R_DX, ax
    mov ax, [BDA_CURSOR_SHAPE]
    mov R_CX, ax
    jmp .done
.scroll_up:
    mov bl, R_AL
    call scroll_window_up
    jmp .done
.scroll_down:                   ; not used by boot loaders we know: clear the window
    mov bl, 0
    call scroll_window_up
    jmp .done
.read_char:
    call cursor_offset
    push es
    mov ax, 0xb800
    mov es, ax
    mov ax, [es:di]
    pop es
    mov R_AX, ax
    jmp .done
.write_char_attr:
.write_char:
    ; programs that place characters themselves (GRUB) use 09h/0Ah and
    ; move the cursor with 02h: mirror the character once
    mov al, R_AL
    cmp al, 0x20
    jb .no_mirror
    out DEBUGCON, al
.no_mirror:
    mov cx, R_CX
    call cursor_offset
    mov al, R_AL
    mov ah, R_BL
    cmp byte R_AH, 0x09
    je .put
    mov ah, 0x07
.put:
    push es
    mov dx, 0xb800
    mov es, dx
.rep:
    jcxz .put_done
    stosw
    dec cx
    jmp .rep
.put_done:
    pop es
    jmp .done
.get_mode:
    mov byte R_AL, 3
    mov byte R_AH, 80
    mov byte R_BH, 0
    jmp .done
.font:
    cmp byte R_AL, 0x30         ; get font information
    jne .done
    mov word R_CX, 16
    mov byte R_DL, 24
    jmp .done
.alt_select:
    cmp byte R_BL, 0x10         ; get EGA information: colour, 256 KiB
    jne .done
    mov word R_BX, 0x0003
    mov word R_CX, 0x0009
    jmp .done
.display_combination:
    cmp byte R_AL, 0
    jne .done
    mov byte R_AL, 0x1a
    mov word R_BX, 0x0008       ; VGA with colour display
    jmp .done
.write_string:                  ; ES:BP string, CX length, DH,DL position
    mov al, R_DL
    mov ah, R_DH
    mov [BDA_CURSOR], ax
    mov cx, R_CX
    mov si, [bp + 8]            ; the caller's BP
    mov es, R_ES
.ws:
    jcxz .done
    mov al, [es:si]
    inc si
    call tty_out
    dec cx
    jmp .ws
.done:
    LEAVE_HANDLER

; DI = offset of the cursor in the text buffer (DS = BDA)
cursor_offset:
    push ax
    push dx
    mov al, [BDA_CURSOR + 1]
    mov ah, 80
    mul ah
    movzx dx, byte [BDA_CURSOR]
    add ax, dx
    shl ax, 1
    mov di, ax
    pop dx
    pop ax
    ret

clear_screen:
    push es
    push ax
    push cx
    push di
    mov ax, 0xb800
    mov es, ax
    xor di, di
    mov ax, 0x0720
    mov cx, 80 * 25
    rep stosw
    pop di
    pop cx
    pop ax
    pop es
    ret

; scrolls the whole screen up by BL lines (0: clear)
scroll_window_up:
    push ds
    push es
    pusha
    mov ax, 0xb800
    mov ds, ax
    mov es, ax
    test bl, bl
    jz .clear
    cmp bl, 25
    jae .clear
    movzx ax, bl
    mov dx, 160
    mul dx
    mov si, ax
    xor di, di
    mov cx, 80 * 25
    shr ax, 1
    sub cx, ax
    rep movsw
    movzx cx, bl
    imul cx, cx, 80
    mov ax, 0x0720
    rep stosw
    jmp .done
.clear:
    xor di, di
    mov cx, 80 * 25
    mov ax, 0x0720
    rep stosw
.done:
    popa
    pop es
    pop ds
    ret

; tty_out: AL to the screen at the cursor (CR, LF, BS, BEL handled) and
; to the debug console. DS = BDA.
tty_out:
    pusha
    out DEBUGCON, al
    mov dl, [BDA_CURSOR]
    mov dh, [BDA_CURSOR + 1]
    cmp al, 13
    je .cr
    cmp al, 10
    je .lf
    cmp al, 8
    je .bs
    cmp al, 7
    je .out
    call cursor_offset
    push es
    mov bx, 0xb800
    mov es, bx
    mov ah, 0x07
    mov [es:di], ax
    pop es
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
    push bx
    mov bl, 1
    call scroll_window_up
    pop bx
.store:
    mov [BDA_CURSOR], dl
    mov [BDA_CURSOR + 1], dh
.out:
    popa
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
; REQ_DONE, reading or writing per REQ_WRITE. LBA48 only when the range
; goes past 28 bits (ATA-6 6.2). CF on error.
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
.sector:
    call ata_wait_drq
    jc .fail
    push cx
    mov cx, 256
    call pio_words
    pop cx
    add word [REQ_SEG], 0x20    ; 512 bytes
    inc word [REQ_DONE]
    loop .sector
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
find_drive:
    push cx
    mov di, DRIVES
    mov cx, 4
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
int13_handler:
    sti
    ENTER_HANDLER
    cld
    mov ax, EBDA_SEG
    mov ds, ax
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
    je .ok                      ; verify
    cmp al, 0x08
    je .params
    cmp al, 0x0c
    je .ok                      ; seek
    cmp al, 0x0d
    je .ok
    cmp al, 0x10
    je .ok                      ; ready
    cmp al, 0x11
    je .ok                      ; recalibrate
    cmp al, 0x15
    je .disk_type
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
    cmp al, 0x4b
    je .cd_status
    mov al, 0x01                ; invalid function
    jmp .error
.no_drive:
    cmp byte R_AH, 0x08         ; parameters of a floppy that is not there
    jne .no_drive_err
    cmp byte R_DL, 0x80
    jae .no_drive_err
    mov word R_CX, 0
    mov word R_DX, 0
.no_drive_err:
    mov al, 0x01
    jmp .error
.status:
    mov al, [LAST_STATUS]
    mov R_AL, al
    jmp .ok
.read_chs:
    mov byte [REQ_WRITE], 0
    jmp .chs
.write_chs:
    mov byte [REQ_WRITE], 1
.chs:
    cmp byte [di + D_TYPE], T_ATA
    jne .bad_cmd
    ; LBA = (C * heads + H) * spt + S - 1; C = CH | (CL 7:6) << 2
    movzx eax, byte R_CH
    movzx ebx, byte R_CL
    and bl, 0xc0
    shl ebx, 2
    or eax, ebx
    movzx ebx, byte [di + D_HEADS]
    mul ebx
    movzx ebx, byte R_DH
    add eax, ebx
    movzx ebx, byte [di + D_SPT]
    mul ebx
    movzx ebx, byte R_CL
    and bl, 0x3f
    jz .bad_cmd                 ; sectors count from 1
    dec ebx
    add eax, ebx
    mov [REQ_LBA], eax
    movzx ax, byte R_AL
    mov [REQ_COUNT], ax
    mov ax, R_ES
    mov [REQ_SEG], ax
    mov ax, R_BX
    mov [REQ_OFF], ax
    call ata_io
    mov ax, [REQ_DONE]
    mov R_AL, al
    jc .io_error
    jmp .ok
.params:                        ; AH=08h
    cmp byte [di + D_TYPE], T_ATA
    jne .bad_cmd
    mov ax, [di + D_CYLS]
    dec ax                      ; last cylinder
    mov R_CH, al
    shl ah, 6
    mov cl, [di + D_SPT]
    or cl, ah
    mov R_CL, cl
    mov al, [di + D_HEADS]
    dec al
    mov R_DH, al
    mov al, [HD_COUNT]
    mov R_DL, al
    mov word R_AX, 0
    jmp .ok_keep_ax
.disk_type:                     ; AH=15h: 3 = fixed disk, CX:DX sectors
    mov eax, [di + D_SECT]
    mov R_DX, ax
    shr eax, 16
    mov R_CX, ax
    mov byte R_AH, 3
    CLEAR_CF
    jmp .leave
.edd_check:                     ; AH=41h
    cmp word R_BX, 0x55aa
    jne .bad_cmd
    mov word R_BX, 0xaa55
    mov byte R_AH, 0x30         ; EDD 3.0
    mov word R_CX, 0x0005       ; fixed disk access (42h-44h,47h,48h) and EDD (48h)
    CLEAR_CF
    jmp .leave
.ext_read:
    mov byte [REQ_WRITE], 0
    jmp .ext
.ext_write:
    cmp byte [di + D_TYPE], T_ATAPI
    je .write_protected
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
    cmp byte [di + D_TYPE], T_ATAPI
    je .ext_cd
    call ata_io
    jmp .ext_done
.ext_cd:
    call atapi_io
.ext_done:
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
.ext_params:                    ; AH=48h: result buffer at DS:SI
    push es
    mov es, R_DS
    mov si, R_SI
    mov word [es:si], 0x1a      ; size of what we fill
    mov word [es:si + 2], 0x0002 ; CHS information valid
    movzx eax, word [di + D_CYLS]
    mov [es:si + 4], eax
    movzx eax, byte [di + D_HEADS]
    mov [es:si + 8], eax
    movzx eax, byte [di + D_SPT]
    mov [es:si + 12], eax
    mov eax, [di + D_SECT]
    mov [es:si + 16], eax
    mov dword [es:si + 20], 0
    mov word [es:si + 24], 512
    cmp byte [di + D_TYPE], T_ATAPI
    jne .ext_params_done
    mov word [es:si + 2], 0x0074 ; removable, changeline, lockable; no CHS
    mov dword [es:si + 16], 0xffffffff
    mov word [es:si + 24], 2048
.ext_params_done:
    pop es
    jmp .ok
.cd_status:                     ; AH=4Bh: El Torito emulation status
    cmp byte [di + D_TYPE], T_ATAPI
    jne .bad_cmd
    push es
    mov es, R_DS
    mov si, R_SI
    mov byte [es:si], 0x13      ; packet size
    mov byte [es:si + 1], 0     ; no emulation
    mov byte [es:si + 2], CD_DRIVE
    mov byte [es:si + 3], 0     ; controller index
    mov dword [es:si + 4], 0    ; image LBA (not emulating)
    mov word [es:si + 8], 0
    mov word [es:si + 10], 0
    mov word [es:si + 12], 0
    mov word [es:si + 14], 0
    mov word [es:si + 16], 0
    mov byte [es:si + 18], 0
    pop es
    jmp .ok
.write_protected:
    mov al, 0x03
    jmp .error
.io_error:
    mov al, 0x04                ; sector not found / read error
    jmp .error
.bad_cmd:
    mov al, 0x01
.error:
    mov [LAST_STATUS], al
    mov R_AH, al
    SET_CF
    jmp .leave
.ok:
    mov byte R_AH, 0
.ok_keep_ax:
    mov byte [LAST_STATUS], 0
    CLEAR_CF
.leave:
    LEAVE_HANDLER

; ============================================================ INT 15h
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

config_table:
    dw 8                        ; bytes that follow
    db 0xfc, 0x01, 0x00         ; model AT, submodel, revision
    db 0x70                     ; 2nd 8259, RTC, INT 15h/4Fh called by INT 09h
    db 0x40, 0x00, 0x00, 0x00   ; extended BIOS data area allocated

; ============================================================ INT 16h
; The keyboard buffer in the BDA is filled by the IRQ1 handler.
int16_handler:
    sti
    ENTER_HANDLER
    mov ax, BDA_SEG
    mov ds, ax
    mov al, R_AH
    and al, 0xef                ; 10h-12h behave as 00h-02h
    cmp al, 0x00
    je .get
    cmp al, 0x01
    je .check
    cmp al, 0x02
    je .flags
    cmp al, 0x05
    je .store
    jmp .leave                  ; 03h typematic and others: accepted
.get:
    cli
    mov bx, [BDA_KBD_HEAD]
    cmp bx, [BDA_KBD_TAIL]
    jne .take
    sti
    hlt                         ; the next interrupt may bring a key
    jmp .get
.take:
    mov ax, [bx]
    mov R_AX, ax
    call kbd_advance
    mov [BDA_KBD_HEAD], bx
    sti
    jmp .leave
.check:
    cli
    mov bx, [BDA_KBD_HEAD]
    cmp bx, [BDA_KBD_TAIL]
    sti
    je .empty
    mov ax, [bx]
    mov R_AX, ax
    and R_FLAGS, 0xffbf         ; ZF clear: a key waits
    jmp .leave
.empty:
    or R_FLAGS, 0x0040          ; ZF set
    jmp .leave
.flags:
    mov al, [BDA_KBD_FLAGS]
    mov R_AL, al
    jmp .leave
.store:
    mov ax, R_CX
    call kbd_put
    mov byte R_AL, 0
.leave:
    LEAVE_HANDLER

; kbd_advance: BX to the next slot of the circular buffer
kbd_advance:
    add bx, 2
    cmp bx, BDA_KBD_END
    jb .ok
    mov bx, BDA_KBD_BUF
.ok:
    ret

; kbd_put: stores AX (scan code << 8 | character) if there is room
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
.full:
    pop cx
    pop bx
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

; IRQ1: a scancode (set 1, the 8042 translates) becomes a key in the buffer
irq1_handler:
    push ds
    pusha
    mov ax, BDA_SEG
    mov ds, ax
    in al, 0x60
    mov ah, al
    and al, 0x7f
    cmp al, 0x2a                ; left shift
    je .shift
    cmp al, 0x36                ; right shift
    je .shift
    cmp al, 0x1d                ; ctrl
    je .ctrl
    test ah, 0x80
    jnz .eoi                    ; other releases
    cmp al, 0x3a
    jae .eoi                    ; function keys and the keypad: not mapped
    movzx bx, al
    test byte [BDA_KBD_FLAGS], 0x03
    jz .lower
    mov al, [cs:scancode_shift + bx]
    jmp .have
.lower:
    mov al, [cs:scancode_plain + bx]
.have:
    test byte [BDA_KBD_FLAGS], 0x04
    jz .store
    cmp al, 'a'
    jb .store
    cmp al, 'z'
    ja .store
    sub al, 0x60                ; ctrl+letter
.store:
    test al, al
    jz .eoi
    call kbd_put
    jmp .eoi
.shift:
    mov bl, 0x02
    jmp .modifier
.ctrl:
    mov bl, 0x04
.modifier:
    test ah, 0x80
    jnz .release
    or [BDA_KBD_FLAGS], bl
    jmp .eoi
.release:
    not bl
    and [BDA_KBD_FLAGS], bl
.eoi:
    mov al, 0x20
    out 0x20, al
    popa
    pop ds
    iret

scancode_plain:
    db 0, 27, '1234567890-=', 8, 9
    db 'qwertyuiop[]', 13, 0, 'asdfghjkl;', "'", '`', 0, '\'
    db 'zxcvbnm,./', 0, '*', 0, ' '
scancode_shift:
    db 0, 27, '!@#$%^&*()_+', 8, 9
    db 'QWERTYUIOP{}', 13, 0, 'ASDFGHJKL:"~', 0, '|'
    db 'ZXCVBNM<>?', 0, '*', 0, ' '

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
    je .ok                      ; setting the RTC: accepted, not stored
    cmp al, 0x05
    je .ok
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
    mov byte R_DL, 0
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
    ; configuration access: BH bus, BL device/function, DI register
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

; El Torito no-emulation boot (El Torito 1.0, 2.0-2.5): the boot record
; volume descriptor at sector 17 points at the boot catalog, whose initial
; entry gives the load segment, sector count and image location.
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
    cmp byte [SECTOR_BUF + 0x21], 0         ; no emulation
    jne .not_bootable
    mov ax, [SECTOR_BUF + 0x22]             ; load segment, 0 = 07C0h
    test ax, ax
    jnz .seg
    mov ax, 0x07c0
.seg:
    mov [REQ_SEG], ax
    mov word [REQ_OFF], 0
    mov cx, [SECTOR_BUF + 0x26]             ; 512-byte virtual sectors
    add cx, 3
    shr cx, 2                               ; 2048-byte blocks
    jnz .count
    inc cx
.count:
    mov [REQ_COUNT], cx
    mov eax, [SECTOR_BUF + 0x28]
    mov [REQ_LBA], eax
    mov byte [REQ_WRITE], 0
    push word [REQ_SEG]
    call atapi_io
    pop bx
    jc .read_error
    mov dl, CD_DRIVE
    push bx
    push word 0
    retf                        ; to load segment:0
.read_error:
    mov si, msg_disk_error
    call print
    ret
.not_bootable:
    mov si, msg_not_bootable
    call print
    ret

; Direct kernel boot (vmm/kernel_boot.h): the hypervisor has placed the
; kernel in RAM and a hand-off block at 0:8000h; returns if there is none.
%define KBOOT           0x8000         ; kernel_boot.h: KBOOT_HANDOFF_ADDR
%define KBOOT_MAGIC     0x4e524b5a     ; "ZKRN"
%define KBOOT_KIND      KBOOT + 4      ; 1 Linux, 2 Multiboot
%define KBOOT_SEG       KBOOT + 6
%define KBOOT_SP        KBOOT + 8
%define KBOOT_ENTRY     KBOOT + 12
%define KBOOT_EAX       KBOOT + 16
%define KBOOT_EBX       KBOOT + 20
boot_kernel:
    test word [INFO_FLAGS], 4   ; tables.h: BIOS_INFO_KERNEL_BOOT
    jz .none
    xor ax, ax
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

; cd_read_sector_buf: block EAX of the CD into SECTOR_BUF
cd_read_sector_buf:
    mov [REQ_LBA], eax
    mov word [REQ_COUNT], 1
    mov word [REQ_SEG], EBDA_SEG
    mov word [REQ_OFF], SECTOR_BUF
    mov byte [REQ_WRITE], 0
    call atapi_io
    ret

; ============================================================ strings
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

; ============================================================ reset vector
    times 0xfff0 - ($ - $$) db 0xff
    jmp ROM_SEG:post
    db "11/26/26"               ; BIOS date at F000:FFF5 (IBM PC/AT)
    times 0xfffe - ($ - $$) db 0
    db 0xfc                     ; model byte: AT
    db 0
