; The `make bench` guest: times one round trip of each kind of VM exit with
; RDTSC around a single instruction. The same disk image boots under Zazen
; (its BIOS, disk0) and directly on the emulated CPU (Bochs's BIOS), so
; the difference of the two figures is the hypervisor's path length.
;
; Under Bochs with `clock: sync=none` the TSC advances one tick per
; instruction (the `calibrate` line shows it), so ticks are instructions:
; the guest's and, under Zazen, the hypervisor's in between. Each figure is
; the minimum over many iterations: the round trip without a host timer
; interrupt (Zazen's 10 ms console poll) landing inside it. The mean is
; printed too.
;
; Output, on COM1 (115200 8N1), one line per figure:
;   bench: NAME min MIN mean MEAN
;   bench: lapic-timer LAPIC_TICKS per TSC_TICKS
;   bench: hlt-wait TSC_TICKS
; Layout: a boot sector at 7C00h that loads the rest (EDD read, INT 13h
; AH=42h) to 7E00h, then 32-bit flat protected mode without paging.

%define COM1 0x3f8
%define DEBUGCON 0xe9
%define LAPIC 0xfee00000
%define LAPIC_EOI (LAPIC + 0xb0)
%define LAPIC_SVR (LAPIC + 0xf0)
%define LAPIC_LVT_TIMER (LAPIC + 0x320)
%define LAPIC_TIMER_INITIAL (LAPIC + 0x380)
%define LAPIC_TIMER_CURRENT (LAPIC + 0x390)
%define LAPIC_TIMER_DIVIDE (LAPIC + 0x3e0)
%define TIMER_VECTOR 0x40
%define ITERATIONS 2000
%define HLT_ITERATIONS 200
%define CALIBRATE_TSC_TICKS 20000000 ; the LAPIC timer's rate is measured over this
%define HLT_WAIT_TSC_TICKS 20000     ; how long each HLT sleeps, about
%define SETTLE_FIRST_PM_TICKS 1073864 ; 300 ms: the boot messages leave the serial line
%define SETTLE_PM_TICKS 35795        ; 10 ms: one result line leaves it

bits 16
org 0x7c00

boot:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    mov si, dap
    mov ah, 0x42            ; EDD extended read (DL: the boot drive)
    int 0x13
    jc .failed
    jmp 0:main16
.failed:
    mov si, msg_read_failed
.print:
    lodsb
    test al, al
    jz .stop
    mov ah, 0x0e            ; teletype
    int 0x10
    jmp .print
.stop:
    hlt
    jmp .stop

dap:
    db 0x10, 0
    dw PAYLOAD_SECTORS
    dw 0x7e00, 0
    dq 1
msg_read_failed: db "bench: disk read failed", 13, 10, 0

    times 510 - ($ - $$) db 0
    dw 0xaa55

; ---- 7E00h: real mode, then into protected mode ----
main16:
    in al, 0x92             ; A20 on (fast A20, port 92h): ACPI tables may sit above 1 MiB
    or al, 2
    and al, 0xfe
    out 0x92, al
    mov al, 0xff            ; mask both PICs: only the LAPIC timer interrupts
    out 0x21, al
    out 0xa1, al
    lgdt [gdt_descriptor]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp 0x08:main32

align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff   ; 08h: flat 32-bit code
    dq 0x00cf92000000ffff   ; 10h: flat data
gdt_descriptor:
    dw gdt_descriptor - gdt - 1
    dd gdt

bits 32
main32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7c00
    call build_idt
    lidt [idt_descriptor]
    call uart_init
    mov esi, msg_start
    call print
    call find_pm_timer
    mov [pm_timer_port], dx
    mov ecx, SETTLE_FIRST_PM_TICKS
    call settle

    call bench_empty
    call calibrate
    call bench_cpuid
    call bench_debugcon
    call bench_pit
    call bench_pci_config
    call bench_uart
    call bench_pic_eoi
    call bench_lapic_eoi
    call bench_lapic_eoi_paged
    call bench_pm_timer
    call bench_hlt
    call bench_tsc_deadline
    call bench_x2apic       ; last: x2APIC mode is left only through a disabled APIC

    mov esi, msg_done
    call print
.stop:
    cli
    hlt
    jmp .stop

; ---- measuring ----
; A loop of ITERATIONS round trips, each timed alone, in a function of
; its own (the local label .again is the loop):
;   BENCH_BEGIN ; the instruction(s) under test ; BENCH_END "name"
; EBP holds the start TSC (CPUID and IN leave it alone), EDI the count.
%macro BENCH_BEGIN 0
    call stats_reset
    mov edi, ITERATIONS
.again:
    push edi
    rdtsc
    mov ebp, eax
%endmacro

%macro BENCH_END 1
    rdtsc
    sub eax, ebp
    call stats_add
    pop edi
    dec edi
    jnz .again
    mov esi, %%name
    jmp stats_print
%%name: db %1, 0
%endmacro

; The same loop without the report, for a caller that must first restore
; what the loop changed: it then prints with stats_print.
%macro BENCH_END_QUIET 0
    rdtsc
    sub eax, ebp
    call stats_add
    pop edi
    dec edi
    jnz .again
%endmacro

stats_reset:
    push ecx
    mov ecx, SETTLE_PM_TICKS
    call settle
    pop ecx
    mov dword [stat_min], 0xffffffff
    mov dword [stat_sum], 0
    mov dword [stat_sum + 4], 0
    mov dword [stat_count], 0
    ret

; EAX: one round trip's ticks.
stats_add:
    cmp eax, [stat_min]
    jae .sum
    mov [stat_min], eax
.sum:
    add [stat_sum], eax
    adc dword [stat_sum + 4], 0
    inc dword [stat_count]
    ret

; "bench: NAME min MIN mean MEAN" for the name at ESI.
stats_print:
    push esi
    mov esi, msg_bench
    call print
    pop esi
    call print
    mov esi, msg_min
    call print
    mov eax, [stat_min]
    call print_dec
    mov esi, msg_mean
    call print
    mov eax, [stat_sum]
    mov edx, [stat_sum + 4]
    div dword [stat_count]
    call print_dec
    call print_newline
    ret

; ---- the round trips ----
bench_empty:                ; RDTSC to RDTSC: the measuring's own cost
    BENCH_BEGIN
    BENCH_END "empty"

bench_cpuid:
    BENCH_BEGIN
    xor eax, eax
    cpuid
    BENCH_END "cpuid"

bench_debugcon:             ; a CR, which Zazen's debug console drops
    BENCH_BEGIN
    mov al, 13
    out DEBUGCON, al
    BENCH_END "out-debugcon"

bench_pit:
    BENCH_BEGIN
    in al, 0x40
    BENCH_END "in-pit"

; A PCI configuration read by mechanism #1 (PCI 3.0 3.2.2.3.2): the
; address to CONFIG_ADDRESS (a dword OUT to CF8h), then CONFIG_DATA (an
; IN from CFCh), here the host bridge's class code and revision: two
; exits a round trip.
bench_pci_config:
    BENCH_BEGIN
    mov eax, 0x80000008
    mov dx, 0xcf8
    out dx, eax
    mov dl, 0xfc
    in eax, dx
    BENCH_END "pci-config-read"

; The UART in loopback (MCR bit 4, 16550 datasheet): each THR byte comes
; back in the receive buffer instead of going out.
bench_uart:
    mov dx, COM1 + 4
    mov al, 0x10
    out dx, al
    BENCH_BEGIN
    mov dx, COM1
    mov al, 'z'
    out dx, al
    BENCH_END_QUIET
    mov dx, COM1 + 4
    mov al, 0x03            ; DTR, RTS
    out dx, al
.drain:
    mov dx, COM1 + 5
    in al, dx
    test al, 1              ; data ready
    jz .drained
    mov dx, COM1
    in al, dx
    jmp .drain
.drained:
    mov esi, msg_uart
    jmp stats_print

bench_pic_eoi:              ; non-specific EOI to the master 8259
    BENCH_BEGIN
    mov al, 0x20
    out 0x20, al
    BENCH_END "out-pic-eoi"

bench_lapic_eoi:
    call lapic_enable
    BENCH_BEGIN
    mov dword [LAPIC_EOI], 0
    BENCH_END "mmio-lapic-eoi"

; The same EOI with paging on, as a guest's kernel writes it: PAE paging
; (SDM 3A 4.4) with 4 KiB pages, so that an instruction's address goes
; through three levels of tables (PDPT, page directory, page table). The
; first 4 MiB and the local APIC's page (uncached) are mapped 1:1; paging
; is turned off again after the loop.
%define PAE_PDPT 0x80000
%define PAE_PD0  0x81000
%define PAE_PD3  0x82000
%define PAE_PT0  0x83000            ; 0-2 MiB, then PAE_PT1 at 84000h for 2-4 MiB
%define PAE_PTA  0x85000            ; the local APIC's page
bench_lapic_eoi_paged:
    mov edi, PAE_PDPT
    mov ecx, 6 * 4096 / 4
    xor eax, eax
    rep stosd
    mov dword [PAE_PDPT], PAE_PD0 | 1
    mov dword [PAE_PDPT + 3 * 8], PAE_PD3 | 1
    mov dword [PAE_PD0], PAE_PT0 | 3
    mov dword [PAE_PD0 + 8], (PAE_PT0 + 0x1000) | 3
    mov dword [PAE_PD3 + ((LAPIC >> 21) & 511) * 8], PAE_PTA | 3
    mov dword [PAE_PTA + ((LAPIC >> 12) & 511) * 8], LAPIC | 0x13 ; present, writable, PCD
    xor ecx, ecx
.pte:
    mov eax, ecx
    shl eax, 12
    or eax, 3
    mov [PAE_PT0 + ecx * 8], eax
    inc ecx
    cmp ecx, 1024
    jne .pte
    mov eax, PAE_PDPT
    mov cr3, eax
    mov eax, cr4
    or eax, 1 << 5                  ; CR4.PAE
    mov cr4, eax
    mov eax, cr0
    or eax, 1 << 31                 ; CR0.PG
    mov cr0, eax
    call lapic_eoi_paged_loop
    mov eax, cr0
    and eax, ~(1 << 31)
    mov cr0, eax
    mov eax, cr4
    and eax, ~(1 << 5)
    mov cr4, eax
    mov esi, msg_lapic_eoi_paged
    jmp stats_print

lapic_eoi_paged_loop:
    BENCH_BEGIN
    mov dword [LAPIC_EOI], 0
    BENCH_END_QUIET
    ret

bench_pm_timer:
    call find_pm_timer
    test edx, edx
    jz .none
    mov [pm_timer_port], dx
    BENCH_BEGIN
    mov dx, [pm_timer_port]
    in eax, dx
    BENCH_END "in-acpi-pm-timer"
.none:
    mov esi, msg_no_pm_timer
    jmp print

; HLT until the LAPIC timer (one-shot, divide by 1) fires; the handler
; writes EOI. The figure is the whole round trip (arm the timer, HLT, wake,
; EOI, IRET) less the sleep itself, HLT_WAIT_TSC_TICKS converted to timer
; ticks with the rate `calibrate` measured; `hlt-wait` prints the sleep.
bench_hlt:
    call lapic_enable
    mov dword [LAPIC_LVT_TIMER], TIMER_VECTOR ; one-shot, unmasked
    mov eax, HLT_WAIT_TSC_TICKS
    mul dword [lapic_ticks]
    div dword [lapic_tsc_ticks]
    mov [hlt_count], eax
    mul dword [lapic_tsc_ticks]    ; the sleep in TSC ticks, as the timer will do it
    div dword [lapic_ticks]
    mov [hlt_wait], eax
    mov esi, msg_hlt_wait
    call print
    call print_dec
    call print_newline
    call stats_reset
    mov edi, HLT_ITERATIONS
.again:
    rdtsc
    mov ebp, eax
    mov eax, [hlt_count]
    mov [LAPIC_TIMER_INITIAL], eax
    sti
    hlt
    cli
    rdtsc
    sub eax, ebp
    sub eax, [hlt_wait]
    call stats_add
    dec edi
    jnz .again
    mov esi, msg_hlt
    jmp stats_print

; A write of IA32_TSC_DEADLINE (MSR 6E0H, SDM 3A 11.5.4.1), where the CPU
; offers TSC-deadline mode (CPUID.1:ECX bit 24): each write moves the
; deadline 2^32 ticks past the loop's start (tens of seconds), so it
; never fires while the loop runs. The round trip of a timer re-arm, as
; Linux's TSC-deadline clockevent makes one for each timer it programs.
%define MSR_TSC_DEADLINE 0x6e0
bench_tsc_deadline:
    mov eax, 1
    cpuid
    bt ecx, 24
    jnc .none
    mov dword [LAPIC_LVT_TIMER], (2 << 17) | TIMER_VECTOR ; TSC-deadline mode, unmasked
    call bench_tsc_deadline_write
    mov ecx, MSR_TSC_DEADLINE
    xor eax, eax
    xor edx, edx
    wrmsr                           ; disarmed
    mov dword [LAPIC_LVT_TIMER], 0x10000 | TIMER_VECTOR ; masked
    ret
.none:
    mov esi, msg_no_tsc_deadline
    jmp print

bench_tsc_deadline_write:
    BENCH_BEGIN                     ; EDX: the TSC's high half at the start
    mov eax, ebp
    inc edx
    mov ecx, MSR_TSC_DEADLINE
    wrmsr
    BENCH_END "msr-tsc-deadline"

; x2APIC mode (SDM 3A 11.12), where the CPU offers it (CPUID.1:ECX bit
; 21): EOI as a WRMSR of 0 to 80BH, a TPR write (WRMSR of 0 to 808H: no
; exit on VT-x with "virtualize x2APIC mode", SDM 3C 29.5), and an ICR
; write (one 64-bit WRMSR to 830H: fixed, vector 41h, physical
; destination x2APIC ID 10h, which no CPU has, so the figure is the send
; alone with no delivery).
%define MSR_APIC_BASE 0x1b
%define MSR_X2APIC_TPR 0x808
%define MSR_X2APIC_EOI 0x80b
%define MSR_X2APIC_SVR 0x80f
%define MSR_X2APIC_ICR 0x830
bench_x2apic:
    mov eax, 1
    cpuid
    test ecx, 1 << 21
    jz .none
    mov ecx, MSR_APIC_BASE
    rdmsr
    or eax, (1 << 11) | (1 << 10) ; EN, EXTD
    wrmsr
    mov ecx, MSR_X2APIC_SVR
    mov eax, 0x1ff
    xor edx, edx
    wrmsr
    call bench_x2apic_eoi
    call bench_x2apic_tpr
    jmp bench_x2apic_icr
.none:
    mov esi, msg_no_x2apic
    jmp print

bench_x2apic_eoi:
    BENCH_BEGIN
    mov ecx, MSR_X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    BENCH_END "msr-x2apic-eoi"

bench_x2apic_tpr:
    BENCH_BEGIN
    mov ecx, MSR_X2APIC_TPR
    xor eax, eax
    xor edx, edx
    wrmsr
    BENCH_END "msr-x2apic-tpr"

bench_x2apic_icr:
    BENCH_BEGIN
    mov ecx, MSR_X2APIC_ICR
    mov eax, 0x4041
    mov edx, 0x10
    wrmsr
    BENCH_END "msr-x2apic-icr"

; Ticks per instruction: 1000 NOPs between the RDTSCs, then the LAPIC
; timer's rate against the TSC (masked, counting down from the top).
calibrate:
    call stats_reset
    mov edi, 100
.again:
    rdtsc
    mov ebp, eax
    times 1000 nop
    rdtsc
    sub eax, ebp
    call stats_add
    dec edi
    jnz .again
    mov esi, msg_calibrate
    call stats_print

    call lapic_enable
    mov dword [LAPIC_LVT_TIMER], 0x10000 | TIMER_VECTOR ; masked
    mov dword [LAPIC_TIMER_INITIAL], 0xffffffff
    rdtsc
    mov ebp, eax
.spin:
    rdtsc
    sub eax, ebp
    cmp eax, CALIBRATE_TSC_TICKS
    jb .spin
    mov ebx, [LAPIC_TIMER_CURRENT]
    rdtsc
    sub eax, ebp
    mov [lapic_tsc_ticks], eax
    mov eax, 0xffffffff
    sub eax, ebx
    mov [lapic_ticks], eax
    mov dword [LAPIC_TIMER_INITIAL], 0
    mov esi, msg_lapic_rate
    call print
    call print_dec
    mov esi, msg_per
    call print
    mov eax, [lapic_tsc_ticks]
    call print_dec
    mov esi, msg_tsc
    call print
    ret

lapic_enable:
    mov dword [LAPIC_SVR], 0x1ff   ; enabled, spurious vector FFh
    mov dword [LAPIC_TIMER_DIVIDE], 0xb ; divide by 1
    ret

; The ACPI PM timer's port from the FADT (ACPI 2.0 5.2.9: PM_TMR_BLK at
; offset 76), found through the RSDP (16-byte aligned in the EBDA's first
; KiB or in E0000h-FFFFFh, ACPI 5.2.5.1) and the RSDT. EDX: the port, 0
; if there is none.
find_pm_timer:
    movzx esi, word [0x40e] ; the EBDA's segment, from the BIOS data area
    shl esi, 4
    lea ecx, [esi + 1024]
    call scan_rsdp
    je .found
    mov esi, 0xe0000
    mov ecx, 0x100000
    call scan_rsdp
    je .found
    xor edx, edx
    ret
.found:
    mov ebx, [esi + 16]     ; RSDT
    mov ecx, [ebx + 4]      ; its length
    sub ecx, 36
    shr ecx, 2
    lea esi, [ebx + 36]
.table:
    mov eax, [esi]
    cmp dword [eax], 'FACP'
    je .fadt
    add esi, 4
    loop .table
    xor edx, edx
    ret
.fadt:
    mov edx, [eax + 76]
    ret

; Waits ECX ticks of the ACPI PM timer (3.579545 MHz, 24 bits at least),
; so that what was printed has left the console before a loop is timed:
; under Zazen, output still draining at the serial line rate costs the
; exits that overlap it. Without a PM timer it returns at once.
settle:
    push eax
    push ebx
    push edx
    mov dx, [pm_timer_port]
    test dx, dx
    jz .done
    in eax, dx
    mov ebx, eax
.wait:
    in eax, dx
    sub eax, ebx
    and eax, 0xffffff       ; elapsed, across a 24-bit wrap
    cmp eax, ecx
    jb .wait
.done:
    pop edx
    pop ebx
    pop eax
    ret

; ESI..ECX: ZF set and ESI at "RSD PTR " if found.
scan_rsdp:
    cmp dword [esi], 'RSD '
    jne .next
    cmp dword [esi + 4], 'PTR '
    je .done
.next:
    add esi, 16
    cmp esi, ecx
    jb scan_rsdp
    or esi, esi             ; ZF clear: ESI is not 0 here
.done:
    ret

; ---- interrupts ----
build_idt:
    mov edi, idt
    mov ecx, 256
.entry:
    mov eax, unexpected
    cmp ecx, 256 - TIMER_VECTOR
    jne .set
    mov eax, timer_interrupt
.set:
    mov [edi], ax
    mov word [edi + 2], 0x08
    mov word [edi + 4], 0x8e00  ; present, 32-bit interrupt gate
    shr eax, 16
    mov [edi + 6], ax
    add edi, 8
    loop .entry
    ret

timer_interrupt:
    mov dword [LAPIC_EOI], 0
    iret

unexpected:
    mov esi, msg_unexpected
    call print
.stop:
    cli
    hlt
    jmp .stop

; ---- COM1 output ----
uart_init:
    mov dx, COM1 + 1
    xor al, al
    out dx, al              ; no UART interrupts
    mov dx, COM1 + 3
    mov al, 0x80            ; DLAB
    out dx, al
    mov dx, COM1
    mov al, 1               ; divisor 1: 115200 baud
    out dx, al
    mov dx, COM1 + 1
    xor al, al
    out dx, al
    mov dx, COM1 + 3
    mov al, 0x03            ; 8N1
    out dx, al
    mov dx, COM1 + 4
    mov al, 0x03
    out dx, al
    ret

putc:                       ; AL
    push edx
    push eax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20           ; THR empty
    jz .wait
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

print:                      ; the NUL-terminated string at ESI
    push eax
    push esi
.next:
    lodsb
    test al, al
    jz .done
    call putc
    jmp .next
.done:
    pop esi
    pop eax
    ret

print_newline:
    push eax
    mov al, 13
    call putc
    mov al, 10
    call putc
    pop eax
    ret

print_dec:                  ; EAX, unsigned
    push eax
    push ebx
    push ecx
    push edx
    mov ebx, 10
    xor ecx, ecx
.divide:
    xor edx, edx
    div ebx
    push edx
    inc ecx
    test eax, eax
    jnz .divide
.emit:
    pop eax
    add al, '0'
    call putc
    loop .emit
    pop edx
    pop ecx
    pop ebx
    pop eax
    ret

msg_start:       db "bench: Zazen exit-path bench guest", 13, 10, 0
msg_done:        db "bench: done", 13, 10, 0
msg_bench:       db "bench: ", 0
msg_min:         db " min ", 0
msg_mean:        db " mean ", 0
msg_calibrate:   db "calibrate-1000-nops", 0
msg_lapic_rate:  db "bench: lapic-timer ", 0
msg_per:         db " per ", 0
msg_tsc:         db " tsc", 13, 10, 0
msg_hlt_wait:    db "bench: hlt-wait ", 0
msg_hlt:         db "hlt-lapic-timer", 0
msg_lapic_eoi_paged: db "mmio-lapic-eoi-paged", 0
msg_uart:        db "out-uart-thr", 0
msg_no_x2apic:   db "bench: x2apic none (CPUID.1:ECX.x2APIC clear)", 13, 10, 0
msg_no_tsc_deadline: db "bench: msr-tsc-deadline none (CPUID.1:ECX.TSC_DEADLINE clear)", 13, 10, 0
msg_no_pm_timer: db "bench: in-acpi-pm-timer none (no FADT)", 13, 10, 0
msg_unexpected:  db "bench: unexpected interrupt or exception", 13, 10, 0

align 4
stat_min:        dd 0
stat_sum:        dq 0
stat_count:      dd 0
lapic_ticks:     dd 0
lapic_tsc_ticks: dd 0
hlt_count:       dd 0
hlt_wait:        dd 0
pm_timer_port:   dw 0

; The IDT lives past the image, in RAM nothing is loaded into.
idt equ 0x20000
idt_descriptor:
    dw 256 * 8 - 1
    dd idt

align 512, db 0
payload_end:
PAYLOAD_SECTORS equ (payload_end - main16) / 512
