/* See percpu.h. */
#include "percpu.h"
#include "console.h"
#include "hostapic.h"
#include "mm.h"
#include "string.h"
#include "x86.h"

#define AP_STACK_SIZE (64 * KiB)

struct percpu *cpus[MAX_CPUS];
unsigned cpu_count;
bool percpu_ready;

/* The boot CPU's: it needs them before the allocator exists. */
static struct percpu boot_cpu;
static u8 boot_ist_stacks[IST_STACKS * IST_STACK_SIZE] __attribute__((aligned(16)));

struct percpu *percpu_create(unsigned index, u32 apic_id)
{
    struct percpu *p;
    if (index == 0) {
        p = &boot_cpu;
        p->tables.ist_stacks = boot_ist_stacks;
    } else {
        p = page_alloc(sizeof(*p));
        u8 *ist = page_alloc(IST_STACKS * IST_STACK_SIZE);
        u8 *stack = page_alloc(AP_STACK_SIZE);
        if (!p || !ist || !stack)
            panic("out of memory for CPU %u's per-CPU data", index);
        p->tables.ist_stacks = ist;
        p->stack_top = stack + AP_STACK_SIZE;
    }
    p->self = p;
    p->index = index;
    p->tsc_aux = ~0ull; /* no guest value yet: the first entry loads one */
    p->apic_id = apic_id;
    spin_init(&p->call.lock, "mailbox");
    cpus[index] = p;
    return p;
}

void percpu_init_this_cpu(struct percpu *p)
{
    cpu_init_tables(&p->tables, p->tables.ist_stacks);
    /* GS is loaded with the null selector by cpu_init_tables; its base
     * comes from the MSR (SDM 3A 3.4.4), which Zazen's code never changes
     * except across a guest's run (VMLOAD/VM exit restore it). */
    wrmsr(MSR_GS_BASE, (u64)(uintptr_t)p);
    if (p->index == 0)
        percpu_ready = true;
}

void cpu_raise_hazard(struct percpu *c, u32 hazard)
{
    atomic_or(&c->hazard, hazard);
    if (c != this_cpu())
        hostapic_send_ipi(c->apic_id, HOST_IPI_VECTOR);
}
