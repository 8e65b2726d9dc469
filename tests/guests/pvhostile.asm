; A hostile Xen PVH guest (type = pvh): an ELF32 image with the PVH entry
; note (XEN_ELFNOTE_PHYS32_ENTRY, 18), entered in 32-bit flat protected
; mode with paging off. It installs the hypercall page through the MSR that
; CPUID 4000_0002h names (as pre-2024 kernels do), then throws at Zazen:
;   every hypercall number 0-63 with wild arguments (outside RAM, in the
;   LAPIC's MMIO, straddling the end of RAM, unmapped high addresses);
;   the same from CPL 3 (Xen answers -EPERM);
;   event-channel ports out of range; grant and physmap requests out of
;   range; xenstore messages too long and with unknown transactions, then a
;   flood of requests whose responses it never reads;
;   a blkif ring for xvda with a wild producer index, which must end this
;   domain alone.
; Lines go to the domain's console through console_io (CONSOLEIO_write).
; Hypercall ABI for 32-bit callers: EAX number, EBX, ECX, EDX, ESI, EDI.

bits 32
org 0x100000

BASE        equ 0x100000
HCALL_PAGE  equ 0x180000         ; the hypercall page (bss)
RING_PAGE   equ 0x1a0000         ; the blkif ring (bss)
STACK_TOP   equ 0x19f000
USER_STACK  equ 0x19c000
SHINFO_PFN  equ 0x200            ; shared_info at 2 MiB (RAM)
GRANT_PFN   equ 0x10000          ; grant frame 0 at 256 MiB: past this 128 MiB domain's RAM
RAM_END     equ 0x8000000

XEN_ENOSYS  equ -38
XEN_EINVAL  equ -22
XEN_EFAULT  equ -14
XEN_EPERM   equ -1

; ---- ELF header (System V gABI) ----
ehdr:
    db 0x7f, "ELF", 1, 1, 1, 0
    times 8 db 0
    dw 2                          ; ET_EXEC
    dw 3                          ; EM_386
    dd 1
    dd entry
    dd phdrs - $$
    dd 0
    dd 0
    dw 52, 32, 2, 0, 0, 0
phdrs:
    dd 1                          ; PT_LOAD: the whole file at 1 MiB, bss after it
    dd 0, BASE, BASE
    dd file_end - $$, 0xa1000
    dd 7, 0x1000
    dd 4                          ; PT_NOTE
    dd note - $$, note, note
    dd note_end - note, note_end - note
    dd 4, 4
note:
    dd 4, 4, 18                   ; namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY
    db "Xen", 0
    dd entry
note_end:

; ---- hypercalls through the page: HC nr ----
%macro HC 1
    call HCALL_PAGE + (%1) * 32
%endmacro

entry:
    cli
    mov esp, STACK_TOP
    mov [start_info], ebx
    mov esi, msg_start
    call print_raw_io             ; before the page: through its own VMCALL/VMMCALL choice
    ; CPUID 4000_0000h: "XenVMMXenVMM"; 4000_0002h EBX: the page MSR
    mov eax, 0x40000000
    cpuid
    cmp ebx, 0x566e6558
    jne fail_cpuid
    mov eax, 0x40000002
    cpuid
    mov ecx, ebx
    mov eax, HCALL_PAGE
    xor edx, edx
    wrmsr
    mov esi, msg_page
    call print

; ---- every hypercall number with wild arguments ----
    xor ebp, ebp                  ; nr
.nr_loop:
    xor edi, edi                  ; pattern index
.pat_loop:
    mov eax, ebp
    shl eax, 5
    add eax, HCALL_PAGE
    cmp ebp, 23                   ; __HYPERVISOR_iret: ud2 in the page
    je .skip
    cmp ebp, 29                   ; sched_op: block/shutdown with wild pointers are covered below
    je .sched
    mov ebx, [cmds + edi * 4]
    mov ecx, [ptrs + edi * 4]
    mov edx, [ptrs + edi * 4]
    mov esi, [ptrs + edi * 4]
    push edi
    mov edi, [ptrs + edi * 4]
    call eax
    pop edi
    jmp .next
.sched:
    mov ebx, 2                    ; SCHEDOP_shutdown with a wild reason pointer: -EFAULT
    mov ecx, [ptrs + edi * 4]
    call eax
.next:
.skip:
    inc edi
    cmp edi, NPATTERNS
    jb .pat_loop
    inc ebp
    cmp ebp, 64
    jb .nr_loop
    HC 63                         ; unknown: -ENOSYS
    cmp eax, XEN_ENOSYS
    jne fail_enosys
    mov esi, msg_all
    call print

; ---- CPL 3 ----
    call enter_user
    cmp dword [user_result], XEN_EPERM
    jne fail_cpl3
    mov esi, msg_cpl3
    call print

; ---- event channels ----
    mov dword [xatp_space], 0     ; XENMAPSPACE_shared_info
    mov dword [xatp_idx], 0
    mov dword [xatp_gpfn], SHINFO_PFN
    mov ebx, 7                    ; XENMEM_add_to_physmap
    mov ecx, xatp
    HC 12
    test eax, eax
    jnz fail_shinfo
    mov esi, bad_ports
.port_loop:
    mov eax, [esi]
    cmp eax, 0xdeadbeef
    je .ports_done
    mov [evt_arg], eax
    push esi
    mov ebx, 4                    ; EVTCHNOP_send
    mov ecx, evt_arg
    HC 32
    cmp eax, XEN_EINVAL
    jne fail_port
    mov ebx, 9                    ; EVTCHNOP_unmask
    mov ecx, evt_arg
    HC 32
    cmp eax, XEN_EINVAL
    jne fail_port
    mov ebx, 3                    ; EVTCHNOP_close
    mov ecx, evt_arg
    HC 32
    cmp eax, XEN_EINVAL
    jne fail_port
    pop esi
    add esi, 4
    jmp .port_loop
.ports_done:
    mov dword [virq_arg], 99      ; bind_virq of no VIRQ
    mov ebx, 1
    mov ecx, virq_arg
    HC 32
    cmp eax, XEN_EINVAL
    jne fail_port
    mov esi, msg_ports
    call print

; ---- SCHEDOP_poll (public/sched.h): too many ports, a wild array, a
; port past the last, then no port and a timeout already past, with
; interrupts off: the vCPU blocks until the timeout's timer, and returns
    mov dword [poll_nr], 129
    mov ebx, 3
    mov ecx, poll_arg
    HC 29
    cmp eax, XEN_EINVAL
    jne fail_poll
    mov dword [poll_nr], 1
    mov dword [poll_ports], 0xfffff000
    mov ebx, 3
    mov ecx, poll_arg
    HC 29
    cmp eax, XEN_EFAULT
    jne fail_poll
    mov dword [poll_ports], poll_port
    mov ebx, 3
    mov ecx, poll_arg
    HC 29
    cmp eax, XEN_EINVAL
    jne fail_poll
    mov dword [poll_nr], 0
    mov dword [poll_timeout], 1
    mov ebx, 3
    mov ecx, poll_arg
    HC 29
    test eax, eax
    jne fail_poll
    mov esi, msg_poll
    call print

; ---- grants and physmap ----
    mov dword [xatp_space], 1     ; XENMAPSPACE_grant_table
    mov dword [xatp_idx], 99      ; no such frame
    mov dword [xatp_gpfn], GRANT_PFN
    mov ebx, 7
    mov ecx, xatp
    HC 12
    cmp eax, XEN_EINVAL
    jne fail_grant
    mov dword [xatp_idx], 0
    mov dword [xatp_gpfn], 0x300  ; over RAM
    mov ebx, 7
    mov ecx, xatp
    HC 12
    cmp eax, XEN_EINVAL
    jne fail_grant
    mov dword [xatp_space], 9     ; no such space
    mov ebx, 7
    mov ecx, xatp
    HC 12
    cmp eax, XEN_EINVAL
    jne fail_grant
    mov ebx, 6                    ; GNTTABOP_query_size with count 2
    mov ecx, gnt_query
    mov edx, 2
    HC 20
    cmp eax, XEN_EINVAL
    jne fail_grant
    mov dword [xatp_space], 1     ; and the good one, for the ring below
    mov dword [xatp_idx], 0
    mov dword [xatp_gpfn], GRANT_PFN
    mov ebx, 7
    mov ecx, xatp
    HC 12
    test eax, eax
    jnz fail_grant
    mov esi, msg_grant
    call print

; ---- xenstore ----
    mov dword [param_index], 1    ; HVM_PARAM_STORE_PFN
    call get_param
    shl eax, 12
    mov [store], eax
    mov dword [param_index], 2    ; HVM_PARAM_STORE_EVTCHN
    call get_param
    mov [store_port], eax
    ; a message whose header says 5000 bytes: E2BIG, and the payload skipped
    mov dword [xs_hdr], 2         ; XS_READ
    mov dword [xs_hdr + 4], 1
    mov dword [xs_hdr + 8], 0
    mov dword [xs_hdr + 12], 5000
    mov esi, xs_hdr
    mov ecx, 16
    call xs_put
    mov ecx, 5000                 ; the 5000 bytes, in ring-sized pieces
.long_loop:
    push ecx
    mov esi, zeros
    mov ecx, 500
    call xs_put
    pop ecx
    sub ecx, 500
    jnz .long_loop
    mov eax, 16                   ; XS_ERROR
    mov ebx, 1
    mov esi, e2big
    call xs_expect
    ; a READ in transaction 77, never started: ENOENT
    mov dword [xs_hdr], 2
    mov dword [xs_hdr + 4], 2
    mov dword [xs_hdr + 8], 77
    mov dword [xs_hdr + 12], domid_path_len
    mov esi, xs_hdr
    mov ecx, 16
    call xs_put
    mov esi, domid_path
    mov ecx, domid_path_len
    call xs_put
    mov eax, 16
    mov ebx, 2
    mov esi, enoent
    call xs_expect

; ---- the blkif ring's handshake (before the flood stops the store) ----
    mov dword [gnt_ref], 1        ; a grant table frame's entry 8: permit_access, domid 0, the ring
    mov eax, [xatp_gpfn]
    mov dword [alloc_arg], 0x00007ff0 ; dom = DOMID_SELF, remote_dom = 0
    mov ebx, 6                    ; EVTCHNOP_alloc_unbound
    mov ecx, alloc_arg
    HC 32
    test eax, eax
    jnz fail_blk
    mov eax, [alloc_arg + 4]
    mov [blk_port], eax
    mov edi, GRANT_PFN << 12
    mov word [edi + 8 * 8 + 2], 0          ; domid 0
    mov dword [edi + 8 * 8 + 4], RING_PAGE >> 12
    mov word [edi + 8 * 8], 1              ; flags last: GTF_permit_access
    mov dword [RING_PAGE + 4], 1           ; req_event
    mov dword [RING_PAGE + 12], 1          ; rsp_event
    mov esi, w_ring_ref
    call xs_write
    mov eax, [blk_port]
    add al, '0'
    mov [w_evtchn_val], al
    mov esi, w_evtchn
    call xs_write
    mov esi, w_state
    call xs_write

; ---- the flood: requests whose responses are never read ----
    mov ebp, 3000
.flood:
    mov dword [xs_hdr], 2
    mov [xs_hdr + 4], ebp
    mov dword [xs_hdr + 8], 0
    mov dword [xs_hdr + 12], domid_path_len
    mov edx, [store]
    mov eax, [edx + 2052]         ; req_prod
    sub eax, [edx + 2048]         ; - req_cons
    cmp eax, 1024 - 64
    ja .flood_full                ; the ring is full: Zazen stopped taking requests
    mov esi, xs_hdr
    mov ecx, 16
    call xs_put_nokick
    mov esi, domid_path
    mov ecx, domid_path_len
    call xs_put_nokick
    call xs_kick
    dec ebp
    jnz .flood
    jmp fail_flood                ; 3000 requests all taken: nothing bounded it
.flood_full:
    mov esi, msg_xs
    call print

; ---- blkif: a wild producer index ----
    mov esi, msg_blk
    call print
    mov dword [RING_PAGE], 1000   ; req_prod
    mov eax, [blk_port]
    mov [evt_arg], eax
    mov ebx, 4
    mov ecx, evt_arg
    HC 32
    mov esi, msg_survived         ; not reached: Zazen ends this domain
    call print
    cli
    hlt

; ---- helpers ----

; print: the NUL-terminated string at ESI through console_io.
print:
    push ebx
    push ecx
    push edx
    mov edx, esi
    xor ecx, ecx
.len:
    cmp byte [esi + ecx], 0
    je .go
    inc ecx
    jmp .len
.go:
    xor ebx, ebx                  ; CONSOLEIO_write
    HC 18
    pop edx
    pop ecx
    pop ebx
    ret

; print_raw_io: the same before the page exists, by VMCALL or VMMCALL
; after the CPU's vendor (AMD's "AuthenticAMD": EBX "Auth").
print_raw_io:
    mov edx, esi
    xor ecx, ecx
.len:
    cmp byte [esi + ecx], 0
    je .go
    inc ecx
    jmp .len
.go:
    push edx
    push ecx
    xor eax, eax
    cpuid
    mov eax, ebx
    pop ecx
    pop edx
    xor ebx, ebx                  ; CONSOLEIO_write
    cmp eax, 0x68747541           ; "Auth"
    mov eax, 18
    je .amd
    vmcall
    ret
.amd:
    vmmcall
    ret

; get_param: HVMOP_get_param of [param_index]; the value in EAX.
get_param:
    mov word [param_domid], 0x7ff0
    mov ebx, 1                    ; HVMOP_get_param
    mov ecx, param
    HC 34
    test eax, eax
    jnz fail_param
    mov eax, [param_value]
    ret

; xs_put: ECX bytes at ESI into the store's request ring, then a kick.
xs_put:
    call xs_put_nokick
xs_kick:
    push eax
    push ebx
    push ecx
    mov eax, [store_port]
    mov [evt_arg], eax
    mov ebx, 4                    ; EVTCHNOP_send
    mov ecx, evt_arg
    HC 32
    pop ecx
    pop ebx
    pop eax
    ret

xs_put_nokick:
    push edx
    push edi
    mov edx, [store]
.byte:
    test ecx, ecx
    jz .done
    mov edi, [edx + 2052]         ; req_prod
    mov eax, edi
    and eax, 1023
    mov bl, [esi]
    mov [edx + eax], bl
    inc edi
    mov [edx + 2052], edi
    inc esi
    dec ecx
    jmp .byte
.done:
    pop edi
    pop edx
    ret

; xs_expect: the next response must be type EAX with req_id EBX and the
; payload string at ESI; it is consumed.
xs_expect:
    mov edx, [store]
    mov edi, [edx + 2056]         ; rsp_cons
    mov ecx, edi
    and ecx, 1023
    cmp eax, [edx + 1024 + ecx]
    jne fail_xs
    add edi, 4
    mov ecx, edi
    and ecx, 1023
    cmp ebx, [edx + 1024 + ecx]
    jne fail_xs
    add edi, 8
    mov ecx, edi
    and ecx, 1023
    mov ebp, [edx + 1024 + ecx]   ; len
    add edi, 4
.cmp:
    mov ecx, edi
    and ecx, 1023
    mov al, [edx + 1024 + ecx]
    cmp al, [esi]
    jne fail_xs
    inc esi
    inc edi
    dec ebp
    jnz .cmp
    mov [edx + 2056], edi
    ret

; xs_write: a WRITE of the record at ESI (dd path length, path, dd value
; length, value); its OK is consumed.
xs_write:
    mov eax, [esi]
    add eax, [esi + 4 + eax]
    mov dword [xs_hdr], 11        ; XS_WRITE
    mov dword [xs_hdr + 4], 9
    mov dword [xs_hdr + 8], 0
    mov [xs_hdr + 12], eax
    push esi
    mov esi, xs_hdr
    mov ecx, 16
    call xs_put_nokick
    pop esi
    mov ecx, [esi]
    add esi, 4
    push ecx
    push esi
    call xs_put_nokick
    pop esi
    pop ecx
    add esi, ecx
    mov ecx, [esi]
    add esi, 4
    call xs_put
    mov eax, 11
    mov ebx, 9
    mov esi, ok_str
    call xs_expect
    ret

; enter_user: a GDT with ring-3 segments, an IDT gate for INT 80h open
; to ring 3, the TSS's ESP0/SS0 (Zazen's entry TR has base 0), then IRET
; to ring 3, which makes one hypercall and comes back through INT 80h.
enter_user:
    mov [saved_esp], esp
    lgdt [gdt_desc]
    jmp 0x08:.reload
.reload:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov dword [0x4], STACK_TOP - 0x100  ; TSS ESP0
    mov dword [0x8], 0x10                ; TSS SS0
    mov ax, 0x28                  ; our own TR (QEMU's TCG refuses to take an interrupt through a
    ltr ax                        ; TR it did not load itself as busy: it checks the cached type)
    mov eax, back_to_ring0
    mov [idt + 0x80 * 8], ax
    mov word [idt + 0x80 * 8 + 2], 0x08  ; ring-0 code
    mov byte [idt + 0x80 * 8 + 5], 0xee  ; present, DPL 3, 32-bit interrupt gate
    shr eax, 16
    mov [idt + 0x80 * 8 + 6], ax
    lidt [idt_desc]
    push 0x23                     ; SS
    push USER_STACK
    push 0x2                      ; EFLAGS: IF=0
    push 0x1b                     ; CS
    push user_code
    iret
user_code:
    mov ax, 0x23
    mov ds, ax
    mov es, ax
    xor ebx, ebx
    mov eax, 17                   ; xen_version, through the page
    call HCALL_PAGE + 17 * 32
    mov [user_result], eax
    int 0x80
back_to_ring0:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov esp, [saved_esp]
    ret

fail_cpuid:  mov esi, f_cpuid
             jmp fail
fail_enosys: mov esi, f_enosys
             jmp fail
fail_cpl3:   mov esi, f_cpl3
             jmp fail
fail_shinfo: mov esi, f_shinfo
             jmp fail
fail_port:   mov esi, f_port
             jmp fail
fail_poll:   mov esi, f_poll
             jmp fail
fail_grant:  mov esi, f_grant
             jmp fail
fail_param:  mov esi, f_param
             jmp fail
fail_xs:     mov esi, f_xs
             jmp fail
fail_flood:  mov esi, f_flood
             jmp fail
fail_blk:    mov esi, f_blk
fail:
    call print
    cli
    hlt

; ---- data ----
align 4
NPATTERNS equ 5
cmds: dd 0xffffffff, 0x7fffffff, 2, 7, 9
ptrs: dd 0xfffff000, 0xfee00000, RAM_END - 2, 0x40000000, 0xffffffff
bad_ports: dd 0, 4096, 1024, 0xffffffff, 77, 0xdeadbeef

start_info: dd 0
saved_esp: dd 0
user_result: dd 0
store: dd 0
store_port: dd 0
blk_port: dd 0
evt_arg: dd 0
poll_arg:                         ; struct sched_poll
poll_ports: dd 0, 0
poll_nr: dd 0, 0
poll_timeout: dd 0, 0
poll_port: dd 0xffffff
virq_arg: dd 0, 0, 0
alloc_arg: dd 0, 0
gnt_ref: dd 0
gnt_query: times 4 dd 0
xatp:
xatp_domid: dw 0x7ff0, 0
xatp_space: dd 0
xatp_idx: dd 0, 0
xatp_gpfn: dd 0, 0
param:
param_domid: dw 0x7ff0, 0
param_index: dd 0
param_value: dd 0, 0
xs_hdr: times 4 dd 0
zeros: times 500 db 0

domid_path: db "domid", 0
domid_path_len equ $ - domid_path

%macro XSREC 2
    dd %%p_end - %%p
%%p: db %1, 0
%%p_end:
    dd %%v_end - %%v
%%v: db %2
%%v_end:
%endmacro
w_ring_ref: XSREC "device/vbd/51712/ring-ref", "8"
w_evtchn:   dd w_evtchn_pend - w_evtchn_p
w_evtchn_p: db "device/vbd/51712/event-channel", 0
w_evtchn_pend:
            dd 1
w_evtchn_val: db "0"
w_state:    XSREC "device/vbd/51712/state", "3"

ok_str: db "OK", 0
e2big: db "E2BIG", 0
enoent: db "ENOENT", 0

align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff         ; 08: ring-0 code
    dq 0x00cf92000000ffff         ; 10: ring-0 data
    dq 0x00cffa000000ffff         ; 18: ring-3 code
    dq 0x00cff2000000ffff         ; 20: ring-3 data
    dq 0x0000890000000067         ; 28: a 32-bit TSS at 0, limit 67h (ours, loaded with LTR)
gdt_end:
gdt_desc: dw gdt_end - gdt - 1
          dd gdt
align 8
idt: times 256 dq 0
idt_end:
idt_desc: dw idt_end - idt - 1
          dd idt

msg_start: db "pvhostile: start", 10, 0
msg_page: db "pvhostile: hypercall page installed through MSR 40000000h", 10, 0
msg_all: db "pvhostile: hypercalls 0-63 from CPL 0: all answered", 10, 0
msg_cpl3: db "pvhostile: CPL 3 hypercalls: -EPERM", 10, 0
msg_ports: db "pvhostile: bad ports: -EINVAL", 10, 0
msg_poll: db "pvhostile: SCHEDOP_poll: refusals, and a past timeout wakes it", 10, 0
msg_grant: db "pvhostile: bad grant/physmap arguments: refused", 10, 0
msg_xs: db "pvhostile: xenstore: long message E2BIG, bad transaction ENOENT, flood bounded", 10, 0
msg_blk: db "pvhostile: blkif: wild producer index", 10, 0
msg_survived: db "pvhostile: FAILED: still running after the wild ring", 10, 0
f_cpuid: db "pvhostile: FAILED: no Xen CPUID leaves", 10, 0
f_enosys: db "pvhostile: FAILED: hypercall 63 did not return -ENOSYS", 10, 0
f_cpl3: db "pvhostile: FAILED: a CPL 3 hypercall was not refused with -EPERM", 10, 0
f_shinfo: db "pvhostile: FAILED: shared_info not mapped", 10, 0
f_port: db "pvhostile: FAILED: a bad port was not refused with -EINVAL", 10, 0
f_grant: db "pvhostile: FAILED: a bad grant or physmap request was not refused", 10, 0
f_poll: db "pvhostile: FAILED: SCHEDOP_poll answered wrongly", 10, 0
f_param: db "pvhostile: FAILED: HVMOP_get_param", 10, 0
f_xs: db "pvhostile: FAILED: xenstore answered wrongly", 10, 0
f_flood: db "pvhostile: FAILED: the xenstore took a flood of 3000 requests without reading one response", 10, 0
f_blk: db "pvhostile: FAILED: EVTCHNOP_alloc_unbound", 10, 0
file_end:
