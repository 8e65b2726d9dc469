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

/* Loads Zazen's GDT, TSS and IDT on this CPU. */
void cpu_init_tables(void);

NORETURN void panic(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* rdmsr/wrmsr that return false instead of faulting when the MSR does not
 * exist (#GP, SDM 4 ch. 2). */
bool rdmsr_safe(u32 msr, u64 *value);
bool wrmsr_safe(u32 msr, u64 value);

NORETURN void halt_forever(void);

#endif
