; The device-model proof guest. In flat 32-bit protected mode, with its
; own IDT, it drives each emulated chip through its ports and MMIO as an
; OS would, and prints one line per result on the debug console:
;   8259 + 8254: ten IRQ0 ticks, their rate checked with the ACPI PM timer;
;   local APIC timer: one-shot and periodic interrupts;
;   I/O APIC: IRQ0 routed to a vector of its own;
;   16550: loopback with THR-empty and receive interrupts, then a line on COM1;
;   MC146818: the date and time, the CMOS memory size, periodic interrupts;
;   PCI: the PIIX3 IDE function found by a bus scan;
;   IDE: PIO and bus-master DMA reads of known sectors, a write read back,
;        and a DMA aimed outside RAM, which must fail with an ATA error;
;   reset: through the 8042 (port 64h) and through port 92h.
; The disk (disk0) is made by mkdisk.py. RAM at 600h survives the resets
; and counts the boots.
%include "lib.inc"
ROM_BEGIN

%define ROM(x) (0xf0000 + (x))

; memory layout (physical = linear, flat segments)
%define STAGE      0x600          ; "ZZ" + stage byte: which boot this is
%define TICKS      0x700          ; interrupt counters, one dword each
%define LAPIC_TICKS 0x704
%define IOAPIC_TICKS 0x708
%define UART_THRE  0x70c
%define UART_RX    0x710
%define UART_BYTE  0x714
%define RTC_TICKS  0x718
%define IDE_IRQS   0x71c
%define PM_T0      0x720
%define BM_BASE    0x724
%define IDT        0x1000
%define PRD        0x20000
%define BUF        0x30000
%define WBUF       0x40000
%define RBUF       0x50000
%define STACK      0x90000

%define PM_TMR     0xb008         ; the PM timer of the emulated ACPI block
%define LAPIC      0xfee00000
%define IOAPIC     0xfec00000
%define COM1       0x3f8

start:
    cli
    cld
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    cmp word [STAGE], 'ZZ'
    jne .first_boot
    cmp byte [STAGE + 2], 1
    je .after_kbc_reset
    PUTS16 msg_back_92
    PUTS16 msg_done
    mov word [STAGE], 0
    cli
    hlt
.after_kbc_reset:
    PUTS16 msg_back_64
    mov byte [STAGE + 2], 2
    in al, 0x92
    and al, 0xfe
    out 0x92, al
    or al, 1                ; bit 0 going 0 -> 1: fast reset
    out 0x92, al
    jmp $
.first_boot:
    o32 lgdt [cs:gdt_ptr]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp dword 0x08:ROM(pm32)

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, STACK
    xor eax, eax
    mov edi, TICKS
    mov ecx, 16
    rep stosd
    call setup_idt
    call init_pics
    call cmos_memory
    call lapic_virtual_wire
    call test_pit
    call test_lapic_timer
    call test_ioapic
    call test_uart
    call test_rtc
    call test_pci_ide
    call report_timer_interrupts
    ; last: reset through the keyboard controller; the next boot goes on
    mov word [STAGE], 'ZZ'
    mov byte [STAGE + 2], 1
    mov esi, ROM(msg_resetting)
    call print32
    mov al, 0xfe
    out 0x64, al
    jmp $

; ---------------------------------------------------------------- IDT
setup_idt:
    mov edi, IDT
    mov ecx, 256
    mov eax, ROM(isr_unexpected)
.fill:
    call set_gate
    add edi, 8
    loop .fill
    mov ebx, 0x20
    mov eax, ROM(isr_irq0)
    call gate_at
    mov ebx, 0x24
    mov eax, ROM(isr_irq4)
    call gate_at
    mov ebx, 0x27
    mov eax, ROM(isr_spurious_master)
    call gate_at
    mov ebx, 0x28
    mov eax, ROM(isr_irq8)
    call gate_at
    mov ebx, 0x2e
    mov eax, ROM(isr_irq14)
    call gate_at
    mov ebx, 0x40
    mov eax, ROM(isr_lapic_timer)
    call gate_at
    mov ebx, 0x50
    mov eax, ROM(isr_ioapic_irq0)
    call gate_at
    mov ebx, 0xff
    mov eax, ROM(isr_spurious)
    call gate_at
    lidt [ROM(idt_ptr)]
    ret
gate_at:                        ; EBX = vector, EAX = handler
    lea edi, [IDT + ebx * 8]
set_gate:                       ; EDI = gate, EAX = handler: 32-bit interrupt gate
    mov [edi], ax
    mov word [edi + 2], 0x08
    mov word [edi + 4], 0x8e00
    push eax
    shr eax, 16
    mov [edi + 6], ax
    pop eax
    ret

isr_unexpected:
    mov esi, ROM(msg_unexpected)
    call print32
    cli
    hlt
isr_irq0:
    inc dword [TICKS]
    push eax
    mov al, 0x20
    out 0x20, al
    pop eax
    iret
isr_irq4:
    push eax
    push edx
.more:
    mov dx, COM1 + 2        ; IIR
    in al, dx
    test al, 1
    jnz .none               ; bit 0 set: nothing (more) pending
    and al, 0x0e
    cmp al, 0x02            ; THR empty
    jne .not_thre
    inc dword [UART_THRE]
    jmp .more
.not_thre:
    cmp al, 0x04            ; received data available
    je .rx
    cmp al, 0x0c            ; character timeout
    jne .more
.rx:
    mov dx, COM1
    in al, dx
    mov [UART_BYTE], al
    inc dword [UART_RX]
    jmp .more
.none:
    mov al, 0x20
    out 0x20, al
    pop edx
    pop eax
    iret
isr_irq8:
    push eax
    mov al, 0x0c            ; read register C: acknowledges the RTC
    out 0x70, al
    in al, 0x71
    inc dword [RTC_TICKS]
    mov al, 0x20
    out 0xa0, al
    out 0x20, al
    pop eax
    iret
isr_irq14:
    push eax
    push edx
    mov dx, 0x1f7           ; status: acknowledges the drive
    in al, dx
    inc dword [IDE_IRQS]
    mov al, 0x20
    out 0xa0, al
    out 0x20, al
    pop edx
    pop eax
    iret
isr_lapic_timer:
    inc dword [LAPIC_TICKS]
    mov dword [LAPIC + 0xb0], 0     ; EOI
    iret
isr_ioapic_irq0:
    inc dword [IOAPIC_TICKS]
    mov dword [LAPIC + 0xb0], 0
    iret
isr_spurious_master:            ; IRQ7 with nothing in service: no EOI
isr_spurious:
    iret

; ---------------------------------------------------------------- 8259s
init_pics:
    mov al, 0x11            ; ICW1: edge, cascade, ICW4 needed
    out 0x20, al
    out 0xa0, al
    mov al, 0x20            ; ICW2: vectors 20h and 28h
    out 0x21, al
    mov al, 0x28
    out 0xa1, al
    mov al, 0x04            ; ICW3: slave on IR2
    out 0x21, al
    mov al, 0x02
    out 0xa1, al
    mov al, 0x01            ; ICW4: 8086 mode
    out 0x21, al
    out 0xa1, al
    mov al, 0xff            ; everything masked
    out 0x21, al
    out 0xa1, al
    ret

; unmask: AL = IRQ number (0-15)
unmask_irq:
    push ecx
    push edx
    movzx ecx, al
    mov dx, 0x21
    cmp cl, 8
    jb .master
    sub cl, 8
    mov dx, 0xa1
    in al, 0x21
    and al, 0xfb            ; the cascade line too
    out 0x21, al
.master:
    in al, dx
    btr eax, ecx
    out dx, al
    pop edx
    pop ecx
    ret

; ---------------------------------------------------------------- CMOS
cmos_memory:
    mov al, 0x31
    out 0x70, al
    in al, 0x71
    mov ah, al
    mov al, 0x30
    out 0x70, al
    in al, 0x71
    movzx eax, ax
    mov esi, ROM(msg_cmos)
    call print32
    call dec32
    mov esi, ROM(msg_cmos_end)
    call print32
    ret

; ---------------------------------------------------------------- APIC
lapic_virtual_wire:
    mov dword [LAPIC + 0xf0], 0x1ff     ; SVR: enabled, spurious vector FFh
    mov dword [LAPIC + 0x350], 0x700    ; LINT0: ExtINT, the 8259's INTR
    mov dword [LAPIC + 0x360], 0x400    ; LINT1: NMI
    ret

; ---------------------------------------------------------------- 8254
wait_ticks:                     ; waits until dword [EBX] >= ECX, halting
    cli
    cmp [ebx], ecx
    jae .done
    sti
    hlt
    jmp wait_ticks
.done:
    sti
    ret

start_pit_100hz:
    mov al, 0x34            ; channel 0, lo/hi, mode 2, binary
    out 0x43, al
    mov ax, 11932           ; 1193182 Hz / 100
    out 0x40, al
    mov al, ah
    out 0x40, al
    ret
stop_pit:
    mov al, 0x30            ; channel 0, mode 0: one terminal count, then quiet
    out 0x43, al
    mov al, 0xff
    out 0x40, al
    out 0x40, al
    ret

test_pit:
    mov al, 0
    call unmask_irq
    call start_pit_100hz
    mov ebx, TICKS
    mov ecx, 1
    call wait_ticks
    mov dx, PM_TMR
    in eax, dx
    mov [PM_T0], eax
    mov ecx, 11
    call wait_ticks
    mov dx, PM_TMR
    in eax, dx
    cli
    sub eax, [PM_T0]        ; PM timer ticks for ten IRQ0 periods
    mov ebx, 1000
    mul ebx
    mov ebx, 3579545
    div ebx                 ; milliseconds
    push eax
    in al, 0x21
    or al, 1
    out 0x21, al
    call stop_pit
    mov esi, ROM(msg_pit)
    call print32
    pop eax
    cmp eax, 85
    jb .bad
    cmp eax, 115
    ja .bad
    mov esi, ROM(msg_pit_rate_ok)
    call print32
    ret
.bad:
    mov esi, ROM(msg_pit_rate_bad)
    call print32
    call dec32
    NEWLINE
    ret

test_lapic_timer:
    mov dword [LAPIC + 0x3e0], 0xb          ; divide by 1
    mov dword [LAPIC + 0x320], 0x40         ; one-shot, vector 40h
    mov dword [LAPIC + 0x380], 1000000
    mov ebx, LAPIC_TICKS
    mov ecx, 1
    call wait_ticks
    mov dword [LAPIC + 0x320], 0x20040      ; periodic, every 4 ms (an OS tick, not a stress test)
    mov dword [LAPIC + 0x380], 4000000
    mov ecx, 4
    call wait_ticks
    mov dword [LAPIC + 0x380], 0            ; stop
    mov dword [LAPIC + 0x320], 0x10040      ; masked
    cli
    mov esi, ROM(msg_lapic)
    call print32
    ret

test_ioapic:
    mov dword [IOAPIC], 0x01                ; version register
    mov eax, [IOAPIC + 0x10]
    shr eax, 16
    and eax, 0xff
    cmp eax, 23
    jne .bad
    ; IRQ0 arrives on pin 2 (the ISA override); the 8259s stay masked
    mov dword [IOAPIC], 0x10 + 2 * 2 + 1
    mov dword [IOAPIC + 0x10], 0            ; destination APIC 0
    mov dword [IOAPIC], 0x10 + 2 * 2
    mov dword [IOAPIC + 0x10], 0x50         ; fixed, physical, edge, high, unmasked
    call start_pit_100hz
    mov ebx, IOAPIC_TICKS
    mov ecx, 5
    call wait_ticks
    cli
    mov dword [IOAPIC + 0x10], 0x10050      ; masked again
    call stop_pit
    mov esi, ROM(msg_ioapic)
    call print32
    ret
.bad:
    mov esi, ROM(msg_ioapic_bad)
    call print32
    ret

; ---------------------------------------------------------------- 16550
test_uart:
    mov dx, COM1 + 3
    mov al, 0x80            ; DLAB
    out dx, al
    mov dx, COM1
    mov al, 1               ; divisor 1: 115200 baud
    out dx, al
    inc dx
    xor al, al
    out dx, al
    mov dx, COM1 + 3
    mov al, 0x03            ; 8N1
    out dx, al
    mov dx, COM1 + 2
    mov al, 0x07            ; FIFOs on and cleared, trigger level 1
    out dx, al
    mov dx, COM1 + 4
    mov al, 0x18            ; loopback, OUT2 (the PC's interrupt gate)
    out dx, al
    mov al, 4
    call unmask_irq
    mov dx, COM1 + 1
    mov al, 0x03            ; interrupts: received data, THR empty
    out dx, al
    mov ebx, UART_THRE
    mov ecx, 1
    call wait_ticks
    mov dx, COM1
    mov al, 'Z'
    out dx, al
    mov ebx, UART_RX
    mov ecx, 1
    call wait_ticks
    mov ebx, UART_THRE
    mov ecx, 2
    call wait_ticks
    cli
    mov dx, COM1 + 1
    xor al, al
    out dx, al
    mov dx, COM1 + 4
    mov al, 0x0b            ; DTR, RTS, OUT2; loopback off
    out dx, al
    cmp byte [UART_BYTE], 'Z'
    jne .bad
    mov esi, ROM(msg_uart)
    call print32
    mov esi, ROM(msg_com1_line)
    call print_com1
    ret
.bad:
    mov esi, ROM(msg_uart_bad)
    call print32
    ret

print_com1:                     ; polled output of [ESI] on COM1
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov dx, COM1
    mov al, ah
    out dx, al
    jmp print_com1
.done:
    ret

; ---------------------------------------------------------------- RTC
rtc_read:                       ; AL = register -> AL = value
    out 0x70, al
    in al, 0x71
    ret
bcd_out:                        ; prints the BCD byte in AL as two digits
    push eax
    shr al, 4
    add al, '0'
    out DEBUGCON, al
    pop eax
    and al, 0x0f
    add al, '0'
    out DEBUGCON, al
    ret
test_rtc:
.uip:
    mov al, 0x0a
    call rtc_read
    test al, 0x80           ; update in progress: wait
    jnz .uip
    mov esi, ROM(msg_rtc)
    call print32
    mov al, 0x32            ; century
    call rtc_read
    call bcd_out
    mov al, 0x09
    call rtc_read
    call bcd_out
    mov al, '-'
    out DEBUGCON, al
    mov al, 0x08
    call rtc_read
    call bcd_out
    mov al, '-'
    out DEBUGCON, al
    mov al, 0x07
    call rtc_read
    call bcd_out
    mov al, ' '
    out DEBUGCON, al
    mov al, 0x04
    call rtc_read
    call bcd_out
    mov al, ':'
    out DEBUGCON, al
    mov al, 0x02
    call rtc_read
    call bcd_out
    mov al, ':'
    out DEBUGCON, al
    mov al, 0x00
    call rtc_read
    call bcd_out
    NEWLINE
    ; periodic interrupt at 256 Hz (rate 8), sixteen of them
    mov al, 0x8a            ; register A, NMI masked while we program
    out 0x70, al
    mov al, 0x28
    out 0x71, al
    mov al, 0x8b
    out 0x70, al
    in al, 0x71
    or al, 0x40             ; PIE
    mov ah, al
    mov al, 0x8b
    out 0x70, al
    mov al, ah
    out 0x71, al
    mov al, 8
    call unmask_irq
    mov ebx, RTC_TICKS
    mov ecx, 16
    call wait_ticks
    cli
    mov al, 0x8b
    out 0x70, al
    in al, 0x71
    and al, 0xbf
    mov ah, al
    mov al, 0x8b
    out 0x70, al
    mov al, ah
    out 0x71, al
    mov esi, ROM(msg_rtc_periodic)
    call print32
    ret

; ---------------------------------------------------------------- PCI, IDE
%include "pci.inc"

test_pci_ide:
    ; scan bus 0 for a mass-storage IDE function (class 01h, subclass 01h)
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
    add ebx, 0x100          ; next function
    cmp ebx, 0x80010000
    jb .scan
    mov esi, ROM(msg_no_ide)
    call print32
    ret
.found:
    mov esi, ROM(msg_pci)
    call print32
    mov eax, ebx
    shr eax, 11
    and eax, 0x1f
    call hex8
    mov al, '.'
    out DEBUGCON, al
    mov eax, ebx
    shr eax, 8
    and eax, 7
    call hex8
    mov al, ' '
    out DEBUGCON, al
    mov eax, ebx
    call pci_read
    call hex32              ; device:vendor
    NEWLINE
    ; BAR4: the bus-master registers; give it an address if it has none
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
    mov ecx, 0x0005         ; I/O space, bus master
    call pci_write

    mov al, 14
    call unmask_irq
    call ide_pio_read
    call ide_dma_read
    call ide_write_read_back
    call ide_dma_outside_ram
    ret

ide_wait_ready:                 ; waits for BSY clear; AL = status
    mov dx, 0x1f7
.w:
    in al, dx
    test al, 0x80
    jnz .w
    ret

; LBA28 command: EAX = LBA, CL = sector count, CH = command
ide_command:
    push eax
    call ide_wait_ready
    pop eax
    mov dx, 0x1f6
    push eax
    shr eax, 24
    and al, 0x0f
    or al, 0xe0             ; LBA, master
    out dx, al
    pop eax
    mov dx, 0x1f2
    push eax
    mov al, cl
    out dx, al
    pop eax
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

; compares [EDI] with the 26-byte header of sector EAX (from mkdisk.py)
check_sector_header:
    push edi
    mov esi, ROM(sector_header)
    mov ecx, 18             ; "ZAZEN-TEST-SECTOR "
    repe cmpsb
    jne .bad
    ; eight decimal digits of EAX
    mov ebx, 10
    mov ecx, 8
    add edi, 7
.digit:
    xor edx, edx
    div ebx
    add dl, '0'
    cmp [edi], dl
    jne .bad
    dec edi
    loop .digit
    pop edi
    clc
    ret
.bad:
    pop edi
    stc
    ret

ide_pio_read:
    mov eax, 5
    mov cl, 1
    mov ch, 0x20            ; READ SECTORS
    call ide_command
.drq:
    mov dx, 0x1f7
    in al, dx
    test al, 0x80
    jnz .drq
    test al, 0x01
    jnz .bad
    test al, 0x08
    jz .drq
    mov edi, BUF
    mov ecx, 256
    mov dx, 0x1f0
    rep insw                ; string port I/O through Zazen's emulator
    mov edi, BUF
    mov eax, 5
    call check_sector_header
    jc .bad
    mov esi, ROM(msg_pio)
    call print32
    ret
.bad:
    mov esi, ROM(msg_pio_bad)
    call print32
    ret

; bus-master DMA of CL sectors at LBA EAX into the buffer ESI ... uses PRD
; at PRD; returns AL = ATA status, AH = bus-master status
ide_dma:
    push eax
    push ecx
    mov edx, [BM_BASE]
    xor al, al
    out dx, al              ; stop
    add dx, 2
    mov al, 0x06            ; clear interrupt and error
    out dx, al
    add dx, 2
    mov eax, PRD
    out dx, eax
    sub dx, 4
    mov al, bl              ; direction: 08h device->memory (read), 00h memory->device
    out dx, al
    pop ecx
    pop eax
    push edx
    call ide_command
    pop edx
    in al, dx
    or al, 1                ; start
    out dx, al
    add dx, 2
.wait:
    in al, dx
    test al, 0x04           ; interrupt
    jz .wait
    mov ah, al
    sub dx, 2
    xor al, al
    out dx, al              ; stop
    mov dx, 0x1f7
    in al, dx
    ret

ide_dma_read:
    mov dword [PRD], BUF
    mov dword [PRD + 4], 1024 | 0x80000000
    mov dword [BUF], 0
    mov dword [BUF + 512], 0
    mov eax, 7
    mov cl, 2
    mov ch, 0xc8            ; READ DMA
    mov bl, 0x08
    call ide_dma
    test al, 0x01
    jnz .bad
    test ah, 0x02
    jnz .bad
    mov edi, BUF
    mov eax, 7
    call check_sector_header
    jc .bad
    mov edi, BUF + 512
    mov eax, 8
    call check_sector_header
    jc .bad
    mov esi, ROM(msg_dma)
    call print32
    ret
.bad:
    mov esi, ROM(msg_dma_bad)
    call print32
    ret

ide_write_read_back:
    ; a sector of our own: a text and a byte pattern
    mov edi, WBUF
    mov esi, ROM(written_text)
    mov ecx, written_text_end - written_text
    rep movsb
    mov ecx, 512 - (written_text_end - written_text)
    mov al, 0x5a
.fill:
    stosb
    inc al
    loop .fill
    mov eax, 100
    mov cl, 1
    mov ch, 0x30            ; WRITE SECTORS
    call ide_command
.drq:
    mov dx, 0x1f7
    in al, dx
    test al, 0x80
    jnz .drq
    test al, 0x08
    jz .drq
    mov esi, WBUF
    mov ecx, 256
    mov dx, 0x1f0
    rep outsw
    call ide_wait_ready
    test al, 0x01
    jnz .bad
    mov eax, 0
    mov cl, 0
    mov ch, 0xe7            ; FLUSH CACHE
    call ide_command
    call ide_wait_ready
    ; read it back by DMA into another buffer
    mov dword [PRD], RBUF
    mov dword [PRD + 4], 512 | 0x80000000
    mov eax, 100
    mov cl, 1
    mov ch, 0xc8
    mov bl, 0x08
    call ide_dma
    test al, 0x01
    jnz .bad
    mov esi, WBUF
    mov edi, RBUF
    mov ecx, 512
    repe cmpsb
    jne .bad
    mov esi, ROM(msg_write)
    call print32
    ret
.bad:
    mov esi, ROM(msg_write_bad)
    call print32
    ret

ide_dma_outside_ram:
    mov dword [PRD], 0xf0000000             ; not RAM: the PCI hole
    mov dword [PRD + 4], 512 | 0x80000000
    mov eax, 9
    mov cl, 1
    mov ch, 0xc8
    mov bl, 0x08
    call ide_dma
    test al, 0x01           ; ERR must be set
    jz .bad
    test ah, 0x02           ; and the bus-master error bit
    jz .bad
    mov dx, 0x1f1
    in al, dx
    test al, 0x04           ; ABRT
    jz .bad
    mov esi, ROM(msg_outside)
    call print32
    ret
.bad:
    mov esi, ROM(msg_outside_bad)
    call print32
    ret

; How many LAPIC timer and I/O APIC IRQ0 interrupts the handlers took,
; each with one LAPIC EOI (an MMIO write): the tests wait for 4 and 5,
; but ticks a busy host left owed come back to back (the reinject
; policy) while the guest still has interrupts enabled, so on a loaded
; host there may be more. The scenario checks the MMIO exits against
; these counts.
report_timer_interrupts:
    mov esi, ROM(msg_timer_irqs)
    call print32
    mov eax, [LAPIC_TICKS]
    call dec32
    mov esi, ROM(msg_timer_irqs_ioapic)
    call print32
    mov eax, [IOAPIC_TICKS]
    call dec32
    NEWLINE
    ret

; ---------------------------------------------------------------- output
dec32:                          ; EAX in decimal
    push eax
    push ebx
    push ecx
    push edx
    mov ebx, 10
    xor ecx, ecx
.div:
    xor edx, edx
    div ebx
    push edx
    inc ecx
    test eax, eax
    jnz .div
.out:
    pop eax
    add al, '0'
    out DEBUGCON, al
    loop .out
    pop edx
    pop ecx
    pop ebx
    pop eax
    ret

LIB16
LIB32
LIB32_HEX8

align 8
gdt:
    dq 0
    dq 0x00cf9b000000ffff
    dq 0x00cf93000000ffff
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd ROM(gdt)
idt_ptr:
    dw 256 * 8 - 1
    dd IDT

sector_header:    db "ZAZEN-TEST-SECTOR "
written_text:     db "written by the devices guest, sector 100"
written_text_end:
msg_unexpected:   db "devices: unexpected interrupt or exception", 10, 0
msg_cmos:         db "devices: CMOS says ", 0
msg_cmos_end:     db " KiB of memory above 1 MiB", 10, 0
msg_pit:          db "devices: 10 IRQ0 ticks from the PIT through the 8259", 10, 0
msg_pit_rate_ok:  db "devices: PIT rate of 100 Hz confirmed by the ACPI PM timer", 10, 0
msg_pit_rate_bad: db "devices: PIT rate wrong: ten ticks took ms: ", 0
msg_lapic:        db "devices: LAPIC timer one-shot and periodic interrupts", 10, 0
msg_ioapic:       db "devices: 5 IRQ0 ticks through the I/O APIC", 10, 0
msg_ioapic_bad:   db "devices: I/O APIC version register wrong", 10, 0
msg_uart:         db "devices: UART loopback sent and received 'Z' with THR-empty and receive interrupts", 10, 0
msg_uart_bad:     db "devices: UART loopback FAILED", 10, 0
msg_com1_line:    db "devices: hello on COM1", 13, 10, 0
msg_rtc:          db "devices: RTC date ", 0
msg_rtc_periodic: db "devices: 16 RTC periodic interrupts at 256 Hz", 10, 0
msg_pci:          db "devices: PCI IDE function at 00:", 0
msg_no_ide:       db "devices: no IDE function found on PCI bus 0", 10, 0
msg_pio:          db "devices: IDE PIO read of sector 5 matches the disk", 10, 0
msg_pio_bad:      db "devices: IDE PIO read FAILED", 10, 0
msg_dma:          db "devices: IDE bus-master DMA read of sectors 7-8 matches the disk", 10, 0
msg_dma_bad:      db "devices: IDE DMA read FAILED", 10, 0
msg_write:        db "devices: IDE write of sector 100 read back by DMA", 10, 0
msg_write_bad:    db "devices: IDE write/read back FAILED", 10, 0
msg_outside:      db "devices: DMA outside guest RAM refused with an ATA error", 10, 0
msg_outside_bad:  db "devices: DMA outside guest RAM was NOT refused", 10, 0
msg_timer_irqs:   db "devices: timer interrupts taken: LAPIC timer ", 0
msg_timer_irqs_ioapic: db ", IRQ0 through the I/O APIC ", 0
msg_resetting:    db "devices: resetting through the keyboard controller", 10, 0
msg_back_64:      db "devices: back from a reset through port 64h", 10, 0
msg_back_92:      db "devices: back from a reset through port 92h", 10, 0
msg_done:         db "devices: all device tests done", 10, 0

ROM_END
