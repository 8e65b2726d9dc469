/* The Virtual Machine Control Block, AMD APM Vol. 2 Appendix B
 * (Table B-1 control area, Table B-2 state save area). */
#ifndef ZAZEN_SVM_VMCB_H
#define ZAZEN_SVM_VMCB_H

#include "../vmm/types.h"

struct PACKED vmcb_segment {
    u16 selector;
    u16 attrib; /* access byte in 7:0, flags nibble (AVL, L, D/B, G) in 11:8 */
    u32 limit;
    u64 base;
};

struct PACKED vmcb_control {
    u32 intercept_cr;        /* 0x000: reads in 15:0, writes in 31:16 */
    u32 intercept_dr;        /* 0x004 */
    u32 intercept_exceptions;/* 0x008: bit n = vector n */
    u32 intercept_misc1;     /* 0x00c */
    u32 intercept_misc2;     /* 0x010 */
    u32 intercept_misc3;     /* 0x014 */
    u8 reserved0[0x03c - 0x018];
    u16 pause_filter_threshold; /* 0x03c */
    u16 pause_filter_count;     /* 0x03e */
    u64 iopm_base_pa;        /* 0x040 */
    u64 msrpm_base_pa;       /* 0x048 */
    u64 tsc_offset;          /* 0x050 */
    u32 guest_asid;          /* 0x058 */
    u8 tlb_control;          /* 0x05c */
    u8 reserved1[3];
    u64 vintr;               /* 0x060: V_TPR, V_IRQ, V_INTR_PRIO, V_IGN_TPR, V_INTR_MASKING, V_INTR_VECTOR */
    u64 interrupt_shadow;    /* 0x068 */
    u64 exitcode;            /* 0x070 */
    u64 exitinfo1;           /* 0x078 */
    u64 exitinfo2;           /* 0x080 */
    u64 exitintinfo;         /* 0x088 */
    u64 np_enable;           /* 0x090 */
    u64 avic_apic_bar;       /* 0x098 */
    u64 ghcb_pa;             /* 0x0a0 */
    u64 eventinj;            /* 0x0a8 */
    u64 n_cr3;               /* 0x0b0 */
    u64 virt_ext;            /* 0x0b8: LBR virtualization, virtual VMSAVE/VMLOAD */
    u32 clean_bits;          /* 0x0c0 */
    u32 reserved2;
    u64 next_rip;            /* 0x0c8 */
    u8 insn_fetched;         /* 0x0d0 */
    u8 insn_bytes[15];       /* 0x0d1 */
    u8 reserved3[0x400 - 0x0e0];
};

struct PACKED vmcb_save {
    struct vmcb_segment es, cs, ss, ds, fs, gs; /* 0x400 .. 0x45f */
    struct vmcb_segment gdtr, ldtr, idtr, tr;   /* 0x460 .. 0x49f */
    u8 reserved0[0x4cb - 0x4a0];
    u8 cpl;                  /* 0x4cb */
    u32 reserved1;
    u64 efer;                /* 0x4d0 */
    u8 reserved2[0x548 - 0x4d8];
    u64 cr4;                 /* 0x548 */
    u64 cr3;                 /* 0x550 */
    u64 cr0;                 /* 0x558 */
    u64 dr7;                 /* 0x560 */
    u64 dr6;                 /* 0x568 */
    u64 rflags;              /* 0x570 */
    u64 rip;                 /* 0x578 */
    u8 reserved3[0x5d8 - 0x580];
    u64 rsp;                 /* 0x5d8 */
    u8 reserved4[0x5f8 - 0x5e0];
    u64 rax;                 /* 0x5f8 */
    u64 star;                /* 0x600 */
    u64 lstar;               /* 0x608 */
    u64 cstar;               /* 0x610 */
    u64 sfmask;              /* 0x618 */
    u64 kernel_gs_base;      /* 0x620 */
    u64 sysenter_cs;         /* 0x628 */
    u64 sysenter_esp;        /* 0x630 */
    u64 sysenter_eip;        /* 0x638 */
    u64 cr2;                 /* 0x640 */
    u8 reserved5[0x668 - 0x648];
    u64 g_pat;               /* 0x668 */
    u64 dbgctl;              /* 0x670 */
    u64 br_from, br_to, last_excp_from, last_excp_to; /* 0x678 .. 0x697 */
    u8 reserved6[0x1000 - 0x698];
};

struct vmcb {
    struct vmcb_control control;
    struct vmcb_save save;
};

_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB control area is 1 KiB");
_Static_assert(__builtin_offsetof(struct vmcb, save.cpl) == 0x4cb, "CPL offset");
_Static_assert(__builtin_offsetof(struct vmcb, save.efer) == 0x4d0, "EFER offset");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr4) == 0x548, "CR4 offset");
_Static_assert(__builtin_offsetof(struct vmcb, save.rip) == 0x578, "RIP offset");
_Static_assert(__builtin_offsetof(struct vmcb, save.rsp) == 0x5d8, "RSP offset");
_Static_assert(__builtin_offsetof(struct vmcb, save.rax) == 0x5f8, "RAX offset");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr2) == 0x640, "CR2 offset");
_Static_assert(__builtin_offsetof(struct vmcb, save.g_pat) == 0x668, "G_PAT offset");
_Static_assert(sizeof(struct vmcb) == 0x1000, "a VMCB is one page");

/* CR intercepts (offset 0x000): reads in bits 15:0, writes in 31:16 */
#define SVM_INTERCEPT_CR4_WRITE BIT(16 + 4)
#define SVM_INTERCEPT_CR8_WRITE BIT(16 + 8)

/* Intercept vector 3 (offset 0x00c), APM 2 Table B-1 */
#define SVM_INTERCEPT_INTR BIT(0)
#define SVM_INTERCEPT_NMI BIT(1)
#define SVM_INTERCEPT_SMI BIT(2)
#define SVM_INTERCEPT_INIT BIT(3)
#define SVM_INTERCEPT_VINTR BIT(4)
#define SVM_INTERCEPT_CPUID BIT(18)
#define SVM_INTERCEPT_IRET BIT(20)
#define SVM_INTERCEPT_INVD BIT(22)
#define SVM_INTERCEPT_PAUSE BIT(23)
#define SVM_INTERCEPT_HLT BIT(24)
#define SVM_INTERCEPT_INVLPGA BIT(26)
#define SVM_INTERCEPT_IOIO_PROT BIT(27)
#define SVM_INTERCEPT_MSR_PROT BIT(28)
#define SVM_INTERCEPT_TASK_SWITCH BIT(29)
#define SVM_INTERCEPT_SHUTDOWN BIT(31)
/* Intercept vector 4 (offset 0x010) */
#define SVM_INTERCEPT_VMRUN BIT(0)
#define SVM_INTERCEPT_VMMCALL BIT(1)
#define SVM_INTERCEPT_VMLOAD BIT(2)
#define SVM_INTERCEPT_VMSAVE BIT(3)
#define SVM_INTERCEPT_STGI BIT(4)
#define SVM_INTERCEPT_CLGI BIT(5)
#define SVM_INTERCEPT_SKINIT BIT(6)
#define SVM_INTERCEPT_RDTSCP BIT(7)
#define SVM_INTERCEPT_ICEBP BIT(8)
#define SVM_INTERCEPT_WBINVD BIT(9)
#define SVM_INTERCEPT_MONITOR BIT(10)
#define SVM_INTERCEPT_MWAIT BIT(11)
#define SVM_INTERCEPT_MWAIT_ARMED BIT(12)
#define SVM_INTERCEPT_XSETBV BIT(13)

/* VINTR (offset 0x060), APM 2 15.21 */
#define SVM_VINTR_V_TPR 0xfu
#define SVM_VINTR_V_IRQ BIT(8)
#define SVM_VINTR_PRIO_SHIFT 16
#define SVM_VINTR_PRIO_MASK (0xfull << SVM_VINTR_PRIO_SHIFT)
#define SVM_VINTR_V_IGN_TPR BIT(20)
#define SVM_VINTR_MASKING BIT(24)
#define SVM_VINTR_VECTOR_SHIFT 32

/* TLB_CONTROL (offset 0x05c), APM 2 15.16.1 */
#define SVM_TLB_DO_NOTHING 0
#define SVM_TLB_FLUSH_ALL 1
#define SVM_TLB_FLUSH_ASID 3

/* EVENTINJ and EXITINTINFO (APM 2 15.20, 15.7.2) */
#define SVM_EVENT_VALID BIT(31)
#define SVM_EVENT_ERROR_VALID BIT(11)
#define SVM_EVENT_TYPE_SHIFT 8
#define SVM_EVENT_TYPE_INTR 0
#define SVM_EVENT_TYPE_NMI 2
#define SVM_EVENT_TYPE_EXCEPTION 3
#define SVM_EVENT_TYPE_SOFTINT 4

/* Exit codes, APM 2 Appendix C */
#define SVM_EXIT_CR0_READ 0x000
#define SVM_EXIT_CR0_WRITE 0x010
#define SVM_EXIT_CR4_WRITE 0x014
#define SVM_EXIT_CR8_WRITE 0x018
#define SVM_EXIT_EXCEPTION_BASE 0x040
#define SVM_EXIT_INTR 0x060
#define SVM_EXIT_NMI 0x061
#define SVM_EXIT_SMI 0x062
#define SVM_EXIT_INIT 0x063
#define SVM_EXIT_VINTR 0x064
#define SVM_EXIT_CPUID 0x072
#define SVM_EXIT_IRET 0x074
#define SVM_EXIT_INVD 0x076
#define SVM_EXIT_PAUSE 0x077
#define SVM_EXIT_HLT 0x078
#define SVM_EXIT_INVLPGA 0x07a
#define SVM_EXIT_IOIO 0x07b
#define SVM_EXIT_MSR 0x07c
#define SVM_EXIT_TASK_SWITCH 0x07d
#define SVM_EXIT_SHUTDOWN 0x07f
#define SVM_EXIT_VMRUN 0x080
#define SVM_EXIT_VMMCALL 0x081
#define SVM_EXIT_VMLOAD 0x082
#define SVM_EXIT_VMSAVE 0x083
#define SVM_EXIT_STGI 0x084
#define SVM_EXIT_CLGI 0x085
#define SVM_EXIT_SKINIT 0x086
#define SVM_EXIT_RDTSCP 0x087
#define SVM_EXIT_WBINVD 0x089
#define SVM_EXIT_MONITOR 0x08a
#define SVM_EXIT_MWAIT 0x08b
#define SVM_EXIT_MWAIT_ARMED 0x08c
#define SVM_EXIT_XSETBV 0x08d
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID 0xffffffffu /* VMRUN refused the state; compare 32 bits */

#endif
