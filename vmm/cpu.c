/* Zazen's own GDT, TSS and IDT, and what happens on an unexpected trap.
 * Descriptor formats: SDM 3A 3.4.5 (segment descriptors), 7.2.3 (64-bit
 * TSS descriptor), 6.14.1 (64-bit IDT gates). */
#include "cpu.h"
#include "console.h"
#include "hosttime.h"
#include "string.h"
#include "x86.h"

struct PACKED tss64 {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
};

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

#define IST_STACK_SIZE (16 * KiB)
enum { IST_DOUBLE_FAULT = 1, IST_NMI = 2, IST_MACHINE_CHECK = 3 };

static u64 gdt[5] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static u8 ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(16)));

extern const u64 trap_stub_table[256];
extern const u64 msr_fixups[][2];
extern const u64 msr_fixups_count;
extern const char ImageBase[]; /* start of Zazen's image, from the linker script */

static void load_gdt(void)
{
    gdt[0] = 0;
    gdt[1] = 0x00209a0000000000ull; /* 64-bit code: P, DPL0, S, type 0xA, L */
    gdt[2] = 0x0000920000000000ull; /* data: P, DPL0, S, type 0x2 (writable) */
    u64 base = (u64)(uintptr_t)&tss, limit = sizeof(tss) - 1;
    gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) /* P, available 64-bit TSS */
             | (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[4] = base >> 32;
    struct table_register r = {sizeof(gdt) - 1, (u64)(uintptr_t)gdt};
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

static void set_gate(unsigned vector, unsigned ist)
{
    u64 handler = trap_stub_table[vector];
    idt[vector] = (struct idt_gate){
        .offset_low = handler & 0xffff,
        .selector = SEL_CODE64,
        .ist = (u8)ist,
        .type_attr = 0x8e, /* P, DPL0, 64-bit interrupt gate: IF cleared on entry */
        .offset_mid = (handler >> 16) & 0xffff,
        .offset_high = (u32)(handler >> 32),
    };
}

static void load_idt(void)
{
    for (unsigned v = 0; v < 256; v++)
        set_gate(v, 0);
    /* Faults that can come with a broken stack get known-good stacks. */
    set_gate(2, IST_NMI);
    set_gate(8, IST_DOUBLE_FAULT);
    set_gate(18, IST_MACHINE_CHECK);
    struct table_register r = {sizeof(idt) - 1, (u64)(uintptr_t)idt};
    __asm__ volatile("lidt %0" ::"m"(r));
}

void cpu_init_tables(void)
{
    memset(&tss, 0, sizeof(tss));
    for (unsigned i = 0; i < 3; i++)
        tss.ist[i] = (u64)(uintptr_t)&ist_stacks[i][IST_STACK_SIZE];
    tss.iomap_base = sizeof(tss); /* no I/O bitmap */
    load_gdt();
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
    console_set_buffered(false); /* what was printed before, then the panic, at once */
    kprintf("\nZAZEN PANIC: unexpected trap: vector %llu (%s), error code 0x%llx\n",
            (unsigned long long)f->vector, name, (unsigned long long)f->error);
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

/* Host interrupts: only the local APIC timer Zazen arms for guest
 * deadlines (its work is done by the interrupted run loop: the handler
 * acknowledges it and marks the armed deadline as gone) and the APIC's spurious vector, which must not be
 * acknowledged (SDM 3A 11.9). */
void trap_dispatch(struct trap_frame *f);
void trap_dispatch(struct trap_frame *f)
{
    if (f->vector == HOST_TIMER_VECTOR) {
        host_timer_interrupt();
        return;
    }
    if (f->vector == HOST_SPURIOUS_VECTOR)
        return;
    if (apply_fixup(f))
        return;
    panic_on_trap(f);
}

NORETURN void panic(const char *fmt, ...)
{
    va_list ap;
    cli();
    console_set_buffered(false);
    kprintf("\nZAZEN PANIC: ");
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    print_backtrace((u64)(uintptr_t)__builtin_frame_address(0));
    kprintf("zazen: halted\n");
    halt_forever();
}
