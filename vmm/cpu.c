/* Zazen's own GDT, TSS and IDT, and what happens on an unexpected trap.
 * Descriptor formats: SDM 3A 3.4.5 (segment descriptors), 7.2.3 (64-bit
 * TSS descriptor), 6.14.1 (64-bit IDT gates). */
#include "cpu.h"
#include "arch.h"
#include "console.h"
#include "hostapic.h"
#include "percpu.h"
#include "string.h"
#include "x86.h"

struct PACKED idt_gate {
    u16 offset_low;
    u16 selector;
    u8 ist;
    u8 type_attr;
    u16 offset_mid;
    u32 offset_high;
    u32 reserved;
};

struct PACKED table_register {
    u16 limit;
    u64 base;
};

enum { IST_DOUBLE_FAULT = 1, IST_NMI = 2, IST_MACHINE_CHECK = 3 };

static struct idt_gate idt[256] __attribute__((aligned(16)));
static bool idt_built;

extern const u64 trap_stub_table[256];
extern const u64 msr_fixups[][2];
extern const u64 msr_fixups_count;
extern const char ImageBase[]; /* start of Zazen's image, from the linker script */

static void load_gdt(struct cpu_tables *t)
{
    u64 *gdt = t->gdt;
    gdt[0] = 0;
    gdt[1] = 0x00209a0000000000ull; /* 64-bit code: P, DPL0, S, type 0xA, L */
    gdt[2] = 0x0000920000000000ull; /* data: P, DPL0, S, type 0x2 (writable) */
    u64 base = (u64)(uintptr_t)&t->tss, limit = sizeof(t->tss) - 1;
    gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) /* P, available 64-bit TSS */
             | (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[4] = base >> 32;
    struct table_register r = {sizeof(t->gdt) - 1, (u64)(uintptr_t)gdt};
    __asm__ volatile("lgdt %0\n\t"
                     "pushq %1\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movl %2, %%eax\n\t"
                     "movl %%eax, %%ds\n\t"
                     "movl %%eax, %%es\n\t"
                     "movl %%eax, %%ss\n\t"
                     "xorl %%eax, %%eax\n\t"
                     "movl %%eax, %%fs\n\t"
                     "movl %%eax, %%gs\n\t"
                     :
                     : "m"(r), "i"(SEL_CODE64), "i"(SEL_DATA)
                     : "rax", "memory");
    /* A non-null TR is also what VM entry requires of the host (SDM 3C 26.2.3). */
    __asm__ volatile("ltr %w0" ::"r"(SEL_TSS));
}

static void set_gate_to(unsigned vector, u64 handler, unsigned ist)
{
    idt[vector] = (struct idt_gate){
        .offset_low = handler & 0xffff,
        .selector = SEL_CODE64,
        .ist = (u8)ist,
        .type_attr = 0x8e, /* P, DPL0, 64-bit interrupt gate: IF cleared on entry */
        .offset_mid = (handler >> 16) & 0xffff,
        .offset_high = (u32)(handler >> 32),
    };
}

static void set_gate(unsigned vector, unsigned ist) { set_gate_to(vector, trap_stub_table[vector], ist); }

static void load_idt(void)
{
    if (!idt_built) { /* once, by the boot CPU; the others load the same */
        for (unsigned v = 0; v < 256; v++)
            set_gate(v, 0);
        /* Faults that can come with a broken stack get known-good stacks. */
        set_gate(2, IST_NMI);
        set_gate(8, IST_DOUBLE_FAULT);
        set_gate(18, IST_MACHINE_CHECK);
        /* The host's own interrupts without the exceptions' frame (hostapic.c). */
        set_gate_to(HOST_TIMER_VECTOR, (u64)(uintptr_t)host_timer_interrupt, 0);
        set_gate_to(HOST_IPI_VECTOR, (u64)(uintptr_t)host_ipi_interrupt, 0);
        idt_built = true;
    }
    struct table_register r = {sizeof(idt) - 1, (u64)(uintptr_t)idt};
    __asm__ volatile("lidt %0" ::"m"(r));
}

u64 cpu_idt_base(void) { return (u64)(uintptr_t)idt; }

void cpu_init_tables(struct cpu_tables *t, u8 *ist_stacks)
{
    memset(&t->tss, 0, sizeof(t->tss));
    t->ist_stacks = ist_stacks;
    for (unsigned i = 0; i < IST_STACKS; i++)
        t->tss.ist[i] = (u64)(uintptr_t)(ist_stacks + (i + 1) * IST_STACK_SIZE);
    t->tss.iomap_base = sizeof(t->tss); /* no I/O bitmap */
    load_gdt(t);
    load_idt();
}

NORETURN void halt_forever(void)
{
    for (;;) {
        cli();
        hlt();
    }
}

static const char *const exception_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
    "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved", "#MF x87 error", "#AC alignment check", "#MC machine check",
    "#XM SIMD exception", "#VE virtualization exception", "#CP control protection",
};

static void print_backtrace(u64 rbp)
{
    kprintf("stack trace (image base %p; addresses as zazen+offset):\n", (void *)ImageBase);
    for (unsigned depth = 0; depth < 16 && rbp && IS_ALIGNED(rbp, 8); depth++) {
        const u64 *frame = (const u64 *)(uintptr_t)rbp;
        u64 ret = frame[1];
        if (!ret)
            break;
        kprintf("  #%u %016llx zazen+0x%llx\n", depth, (unsigned long long)ret,
                (unsigned long long)(ret - (u64)(uintptr_t)ImageBase));
        if (frame[0] <= rbp)
            break; /* frames grow upwards; anything else is garbage */
        rbp = frame[0];
    }
}

static NORETURN void panic_on_trap(const struct trap_frame *f)
{
    const char *name = f->vector < 32 && exception_names[f->vector] ? exception_names[f->vector] : "interrupt";
    console_panic_begin(); /* the other CPUs stop; what was printed before, then the panic, at once */
    kprintf("\nZAZEN PANIC: unexpected trap on CPU %u: vector %llu (%s), error code 0x%llx\n",
            percpu_ready ? this_cpu()->index : 0, (unsigned long long)f->vector, name, (unsigned long long)f->error);
    kprintf("RIP %016llx (zazen+0x%llx) CS %04llx RFLAGS %016llx\n", (unsigned long long)f->rip,
            (unsigned long long)(f->rip - (u64)(uintptr_t)ImageBase), (unsigned long long)f->cs,
            (unsigned long long)f->rflags);
    kprintf("RSP %016llx SS %04llx CR2 %016llx CR3 %016llx\n", (unsigned long long)f->rsp,
            (unsigned long long)f->ss, (unsigned long long)read_cr2(), (unsigned long long)read_cr3());
    kprintf("RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n", (unsigned long long)f->rax,
            (unsigned long long)f->rbx, (unsigned long long)f->rcx, (unsigned long long)f->rdx);
    kprintf("RSI %016llx RDI %016llx RBP %016llx R8  %016llx\n", (unsigned long long)f->rsi,
            (unsigned long long)f->rdi, (unsigned long long)f->rbp, (unsigned long long)f->r8);
    kprintf("R9  %016llx R10 %016llx R11 %016llx R12 %016llx\n", (unsigned long long)f->r9,
            (unsigned long long)f->r10, (unsigned long long)f->r11, (unsigned long long)f->r12);
    kprintf("R13 %016llx R14 %016llx R15 %016llx\n", (unsigned long long)f->r13,
            (unsigned long long)f->r14, (unsigned long long)f->r15);
    print_backtrace(f->rbp);
    kprintf("zazen: halted\n");
    halt_forever();
}

static bool apply_fixup(struct trap_frame *f)
{
    if (f->vector != 13)
        return false;
    for (u64 i = 0; i < msr_fixups_count; i++)
        if (msr_fixups[i][0] == f->rip) {
            f->rip = msr_fixups[i][1];
            return true;
        }
    return false;
}

/* Host interrupts: the local APIC timer Zazen arms for deadlines, the IPI
 * other CPUs send after setting a hazard, and the APIC's spurious vector.
 * The handlers only acknowledge: the work is done by the code the
 * interrupt woke (the scheduler, after a VM exit or out of HLT), which
 * looks at the clock and at its hazard word. */
void trap_dispatch(struct trap_frame *f);
void trap_dispatch(struct trap_frame *f)
{
    /* Before anything that needs this CPU's GS: the trap may come while
     * the guest's GS and TR are loaded (svm_host_debug_trap). */
    if (f->vector == 1 && arch_host_debug_trap_is_guests(f->rip))
        return;
    if (f->vector == HOST_TIMER_VECTOR || f->vector == HOST_IPI_VECTOR || f->vector == HOST_SPURIOUS_VECTOR) {
        host_interrupt((u8)f->vector);
        return;
    }
    if (apply_fixup(f))
        return;
    panic_on_trap(f);
}

NORETURN void panic(const char *fmt, ...)
{
    va_list ap;
    cli();
    console_panic_begin();
    kprintf("\nZAZEN PANIC on CPU %u: ", percpu_ready ? this_cpu()->index : 0);
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    print_backtrace((u64)(uintptr_t)__builtin_frame_address(0));
    kprintf("zazen: halted\n");
    halt_forever();
}
