; A Multiboot v1 kernel (not a ROM): prints the command line its loader
; passed on the debug console, then cli; hlt ends the domain. Loaded by
; `kernel =` (vmm/kernel_boot.c); the mbcmdline scenario gives it the
; longest command line a config takes, as kvm-unit-tests' vmx entry
; gives its 430 characters.
; Multiboot Specification 0.6.96: 3.1.1 header (magic 1BADB002h, flags,
; checksum; flags bit 16: the address fields follow, so a flat binary
; loads as is), 3.2 machine state (EAX 2BADB002h, EBX the information
; structure, flat 32-bit protected mode), 3.3 information (flags bit 2:
; cmdline at offset 16, a physical address).
BITS 32
ORG 0x100000

MB_MAGIC equ 0x1badb002
MB_FLAGS equ 1 << 16
DEBUGCON equ 0xe9

header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
    dd header                ; header_addr
    dd header                ; load_addr: the file's first byte
    dd image_end             ; load_end_addr
    dd image_end             ; bss_end_addr: no bss
    dd start                 ; entry_addr

start:
    mov esi, msg_magic
    cmp eax, 0x2badb002
    jne fail
    mov esi, msg_nocmdline
    test dword [ebx], 1 << 2
    jz fail
    mov esi, msg_cmdline
    call puts
    mov esi, [ebx + 16]
    call puts
    mov esi, msg_end
fail:
    call puts
    cli
    hlt
    jmp fail                 ; not reached: HLT with IF=0 never resumes

; puts: the NUL-terminated string at ESI to the debug console.
puts:
    mov dx, DEBUGCON
.next:
    lodsb
    test al, al
    jz .done
    out dx, al
    jmp .next
.done:
    ret

msg_magic:     db "mbcmdline: not entered by a Multiboot loader", 10, 0
msg_nocmdline: db "mbcmdline: no command line (flags bit 2 clear)", 10, 0
msg_cmdline:   db "mbcmdline: [", 0
msg_end:       db "]", 10, 0
image_end:
