; The big-disk guest (issue 17: a 4 GiB disk with 512 MiB of host RAM).
; In real mode, polling the primary IDE channel with interrupts off, it
; reads and writes sectors at the far end of disk0 (beyond 3.5 GiB):
;   IDENTIFY: the disk's size (words 60-61, LBA28; ATA8-ACS 7.16);
;   the sector MARKER_BACK before the end: the text the host wrote there;
;   the sector RUN_BACK before the end: "BIGRUN<n>" from an earlier boot
;   (or nothing), then "BIGRUN<n+1>" written, FLUSH CACHE, and read back.
; storage_scenarios.py boots it twice and reads the sector on the host.
; Built with FILL (bigfill.asm), it then writes 64 KiB at a time by
; bus-master DMA (WRITE DMA, PCI IDE Bus Master 1.0) to fresh sectors
; until a write fails, as it must once a ,volatile disk's overlay in RAM
; is used up, and says after how many; then rewrites the first 64 KiB
; (sectors the overlay holds), which must still work.
%include "lib.inc"
ROM_BEGIN

%define IDENT     0x1000          ; IDENTIFY data
%define SECTOR    0x2000          ; a sector read
%define WSECTOR   0x3000          ; the sector written
%define TOTAL     0x600           ; the disk's sectors (IDENTIFY)
%define BM_BASE   0x604           ; the bus-master registers (BAR4)
%define PRD       0x800           ; the one-entry PRD table
%define DMABUF    0x10000         ; 64 KiB, 64 KiB aligned (a PRD region may not cross 64 KiB)
%define FILL_LBA  0x100000        ; 512 MiB into the disk
%define FILL_MAX  600             ; 37.5 MiB: past a 32 MiB overlay
%define MARKER_BACK 2048          ; sectors before the end
%define RUN_BACK  8

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000
    mov dx, 0x3f6
    mov al, 0x02                ; Device Control: nIEN, the guest polls
    out dx, al

    mov dx, 0x1f6
    mov al, 0xa0                ; the master
    out dx, al
    call wait_not_busy
    mov dx, 0x1f7
    mov al, 0xec                ; IDENTIFY DEVICE
    out dx, al
    mov di, IDENT
    call read_block
    jc fail
    mov eax, [IDENT + 120]      ; words 60-61: user addressable sectors (LBA28)
    mov [TOTAL], eax
    PUTS16 msg_size
    call dec16_32
    PUTS16 msg_sectors

    mov eax, [TOTAL]
    sub eax, MARKER_BACK
    mov di, SECTOR
    call read_sector
    jc fail
    PUTS16 msg_marker
    mov si, SECTOR
    call print_ds
    PUTS16 msg_nl

    mov eax, [TOTAL]
    sub eax, RUN_BACK
    mov di, SECTOR
    call read_sector
    jc fail
    xor bl, bl                  ; the run found: 0 unless "BIGRUN<digit>"
    mov si, SECTOR
    mov di, tag
    mov cx, 6
.cmp:
    mov al, [si]
    cmp al, [cs:di]
    jne .found
    inc si
    inc di
    loop .cmp
    mov bl, [SECTOR + 6]
    sub bl, '0'
.found:
    PUTS16 msg_found
    movzx eax, bl
    call dec16_32
    PUTS16 msg_nl

    mov di, WSECTOR             ; "BIGRUN<n+1>", the rest zero
    xor al, al
    mov cx, 512
    rep stosb
    mov dword [WSECTOR], 'BIGR'
    mov word [WSECTOR + 4], 'UN'
    inc bl
    add bl, '0'
    mov [WSECTOR + 6], bl
    mov eax, [TOTAL]
    sub eax, RUN_BACK
    mov cl, 1
    mov ch, 0x30                ; WRITE SECTORS
    call command
    call wait_drq
    jc fail
    mov si, WSECTOR
    mov cx, 256
    mov dx, 0x1f0
    rep outsw
    call wait_not_busy
    test al, 0x21               ; ERR or DF
    jnz fail
    mov eax, 0
    mov cl, 0
    mov ch, 0xe7                ; FLUSH CACHE
    call command
    call wait_not_busy
    test al, 0x21
    jnz fail

    mov eax, [TOTAL]
    sub eax, RUN_BACK
    mov di, SECTOR
    call read_sector
    jc fail
    PUTS16 msg_back
    mov si, SECTOR
    call print_ds
    PUTS16 msg_nl
%ifdef FILL
    call fill
%endif
    PUTS16 msg_done
    jmp stop
fail:
    PUTS16 msg_fail
    call hex16_32               ; the status (AL) and what was being done
    PUTS16 msg_nl
stop:
    cli
    hlt
    jmp stop

; AL = status once BSY is clear
wait_not_busy:
    mov dx, 0x1f7
.w:
    in al, dx
    test al, 0x80
    jnz .w
    ret

; CF: ERR or DF instead of DRQ
wait_drq:
    call wait_not_busy
    test al, 0x21
    jnz .bad
    test al, 0x08
    jz wait_drq
    clc
    ret
.bad:
    stc
    ret

; one DRQ block into ES:DI; CF on an error
read_block:
    call wait_drq
    jc .out
    mov cx, 256
    mov dx, 0x1f0
    rep insw
    clc
.out:
    ret

; EAX = LBA (28 bits), CL = count, CH = command
command:
    push eax
    call wait_not_busy
    pop eax
    push eax
    shr eax, 24
    and al, 0x0f
    or al, 0xe0                 ; LBA, master
    mov dx, 0x1f6
    out dx, al
    pop eax
    push ax
    mov al, cl
    mov dx, 0x1f2
    out dx, al
    pop ax
    mov dx, 0x1f3
    out dx, al
    shr eax, 8
    inc dx
    out dx, al
    shr eax, 8
    inc dx
    out dx, al
    mov dx, 0x1f7
    mov al, ch
    out dx, al
    ret

; sector EAX into ES:DI
read_sector:
    mov cl, 1
    mov ch, 0x20                ; READ SECTORS
    call command
    jmp read_block

; prints the NUL-terminated text at DS:SI (at most 64 bytes)
print_ds:
    mov cx, 64
    mov dx, DEBUGCON
.next:
    lodsb
    test al, al
    jz .done
    out dx, al
    loop .next
.done:
    ret

%ifdef FILL
%include "pci.inc"

; the IDE function on bus 0 (class 01h/01h): BAR4, I/O and bus master on
setup_dma:
    mov ebx, 0x80000000
.scan:
    mov eax, ebx
    call pci_read
    cmp ax, 0xffff
    je .next
    lea eax, [ebx + 8]
    call pci_read
    shr eax, 16
    cmp ax, 0x0101
    je .found
.next:
    add ebx, 0x100
    cmp ebx, 0x80010000
    jb .scan
    stc
    ret
.found:
    lea eax, [ebx + 0x20]
    call pci_read
    and eax, 0xfffc
    jnz .have_bar
    lea eax, [ebx + 0x20]
    mov ecx, 0xc001
    call pci_write
    mov eax, 0xc000
.have_bar:
    mov [BM_BASE], eax
    lea eax, [ebx + 0x04]
    mov ecx, 0x0005
    call pci_write
    mov dword [PRD], DMABUF
    mov dword [PRD + 4], 0x80000000 ; byte count 0: 64 KiB; end of table
    clc
    ret

; WRITE DMA of 128 sectors (64 KiB from DMABUF) at LBA EAX; AL = status
dma_write:
    push eax
    mov edx, [BM_BASE]
    xor al, al
    out dx, al                  ; stop
    add dx, 2
    mov al, 0x06                ; clear Interrupt and Error
    out dx, al
    add dx, 2
    mov eax, PRD
    out dx, eax
    pop eax
    mov cl, 0x80
    mov ch, 0xca                ; WRITE DMA
    call command
    mov edx, [BM_BASE]
    mov al, 0x01                ; start, memory to device
    out dx, al
    add dx, 2
.wait:
    in al, dx
    test al, 0x04               ; Interrupt
    jz .wait
    mov edx, [BM_BASE]
    xor al, al
    out dx, al
    jmp wait_not_busy

fill:
    call setup_dma
    jc fail
    xor esi, esi
.next:
    mov eax, esi
    shl eax, 7
    add eax, FILL_LBA
    push esi
    call dma_write
    pop esi
    test al, 0x21
    jnz .full
    inc esi
    cmp esi, FILL_MAX
    jb .next
    PUTS16 msg_fill_all
    ret
.full:
    push esi
    PUTS16 msg_fill_failed
    pop eax
    call dec16_32
    PUTS16 msg_fill_writes
    mov eax, FILL_LBA
    call dma_write
    test al, 0x21
    jnz .bad
    PUTS16 msg_rewrite
    ret
.bad:
    PUTS16 msg_rewrite_bad
    ret

msg_fill_all:    db "bigdisk: all 600 writes of 64 KiB done", 10, 0
msg_fill_failed: db "bigdisk: a write failed (ERR) after ", 0
msg_fill_writes: db " writes of 64 KiB", 10, 0
msg_rewrite:     db "bigdisk: rewriting the first 64 KiB still works", 10, 0
msg_rewrite_bad: db "bigdisk: rewriting the first 64 KiB FAILED", 10, 0
%endif

LIB16
tag:         db "BIGRUN"
msg_size:    db "bigdisk: disk0 has ", 0
msg_sectors: db " sectors", 10, 0
msg_marker:  db "bigdisk: host marker: ", 0
msg_found:   db "bigdisk: found run ", 0
msg_back:    db "bigdisk: read back ", 0
msg_done:    db "bigdisk: done", 10, 0
msg_fail:    db "bigdisk: FAILED, status ", 0
msg_nl:      db 10, 0


ROM_END
