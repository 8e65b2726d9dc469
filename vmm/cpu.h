/* The host CPU as Zazen owns it: descriptor tables, traps, panics. */
#ifndef ZAZEN_CPU_H
#define ZAZEN_CPU_H

#include "types.h"

#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18

/* What the trap stubs (vmm/trap.asm) push, lowest address first. */
struct trap_frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8;
    u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector, error;
    u64 rip, cs, rflags, rsp, ss; /* pushed by the CPU (SDM 3A 6.14.2) */
};

struct PACKED tss64 {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
};

#define IST_STACK_SIZE (16 * KiB)
#define IST_STACKS 3 /* NMI, #DF, #MC */

/* One CPU's descriptor tables: each CPU needs its own TSS (its IST stacks,
 * and the busy bit LTR sets in the descriptor, SDM 3A 8.2.2), so each has
 * its own GDT holding it. The IDT is shared. */
struct cpu_tables {
    u64 gdt[5] __attribute__((aligned(16)));
    struct tss64 tss __attribute__((aligned(16)));
    u8 *ist_stacks; /* IST_STACKS * IST_STACK_SIZE bytes */
};

/* Builds this CPU's GDT and TSS in t (with its IST stacks) and loads them
 * and the shared IDT. */
void cpu_init_tables(struct cpu_tables *t, u8 *ist_stacks);
/* The GDT's base, for VT-x's host-state area. */
static inline u64 cpu_gdt_base(const struct cpu_tables *t) { return (u64)(uintptr_t)t->gdt; }
static inline u64 cpu_tss_base(const struct cpu_tables *t) { return (u64)(uintptr_t)&t->tss; }
/* The IDT every CPU shares. */
u64 cpu_idt_base(void);

NORETURN void panic(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* rdmsr/wrmsr that return false instead of faulting when the MSR does not
 * exist (#GP, SDM 4 ch. 2). */
bool rdmsr_safe(u32 msr, u64 *value);
bool wrmsr_safe(u32 msr, u64 value);

NORETURN void halt_forever(void);

#endif
