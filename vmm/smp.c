/* See smp.h. Starting an AP follows the universal start-up algorithm
 * (MP spec 1.4 B.4; SDM 3A 10.4.4.1): INIT, 10 ms, STARTUP, 200 us,
 * STARTUP; the trampoline (vmm/ap_boot.asm) takes it from real mode to
 * long mode on Zazen's page tables. */
#include "smp.h"
#include "acpi.h"
#include "bootinfo.h"
#include "console.h"
#include "guest_state.h"
#include "hostapic.h"
#include "hosttime.h"
#include "string.h"
#include "x86.h"

extern const u8 ap_trampoline_start[], ap_trampoline_end[], ap_trampoline_data[];

/* The data block at the end of the trampoline (vmm/ap_boot.asm). */
struct PACKED ap_trampoline_data {
    u16 gdt_limit;
    u32 gdt_base;
    u16 pad0;
    u32 pm32;
    u16 cs32, pad1;
    u32 lm64;
    u16 cs64, pad2;
    u64 cr3, efer, stack, percpu, entry;
    u64 gdt_offset, pm32_offset, lm64_offset;
};

bool (*smp_cpu_setup)(char *why, size_t why_size);
static NORETURN void (*cpu_loop)(void);
static u64 boot_cr0, boot_cr4;

/* A free page below 1 MiB (but not page 0, the real-mode IVT) for the
 * trampoline: the allocator never hands out memory there (vmm/mm.c), so
 * any page the memory map calls free RAM is unused. */
static u64 find_trampoline_page(const struct bootinfo *bi)
{
    u64 best = 0;
    for (u32 i = 0; i < bi->mem_count; i++) {
        const struct bootinfo_mem *m = &bi->mem[i];
        if (m->type != MEM_USABLE && m->type != MEM_USABLE_LATER)
            continue;
        u64 start = ALIGN_UP(MAX(m->base, PAGE_SIZE), PAGE_SIZE);
        u64 end = ALIGN_DOWN(MIN(m->base + m->size, MiB), PAGE_SIZE);
        if (end > start && end - PAGE_SIZE > best)
            best = end - PAGE_SIZE; /* the highest: clear of the BIOS data area */
    }
    return best;
}

/* Where an AP lands in C, on its own stack, interrupts off. */
static NORETURN void ap_entry(struct percpu *p)
{
    write_cr0(boot_cr0);
    write_cr4(boot_cr4);
    percpu_init_this_cpu(p);
    hostapic_enable_this_cpu();
    hosttime_init_this_cpu();
    char why[160];
    bool ok = smp_cpu_setup(why, sizeof(why));
    if (ok)
        guest_state_init_this_cpu();
    if (!ok) {
        kprintf("zazen: CPU %u: %s; it stays off\n", p->index, why);
        atomic_store(&p->online, false);
        atomic_store(&p->hazard, HAZARD_STOP); /* tells the boot CPU it is done */
        halt_forever();
    }
    atomic_store(&p->online, true);
    cpu_loop();
}

static void fill_trampoline(u64 page, struct percpu *p)
{
    struct ap_trampoline_data *d = (void *)(uintptr_t)(page + (u64)(ap_trampoline_data - ap_trampoline_start));
    d->gdt_base = (u32)(page + d->gdt_offset);
    d->pm32 = (u32)(page + d->pm32_offset);
    d->lm64 = (u32)(page + d->lm64_offset);
    d->cr3 = read_cr3();
    d->efer = rdmsr(MSR_EFER) & ~(EFER_LMA | EFER_SVME);
    d->stack = (u64)(uintptr_t)p->stack_top;
    d->percpu = (u64)(uintptr_t)p;
    d->entry = (u64)(uintptr_t)ap_entry;
}

/* INIT, STARTUP, STARTUP; then waits up to a second for the AP to say it
 * is online (or that it could not be). */
static bool start_ap(u64 page, struct percpu *p)
{
    memcpy((void *)(uintptr_t)page, ap_trampoline_start, (size_t)(ap_trampoline_end - ap_trampoline_start));
    fill_trampoline(page, p);
    hostapic_send_init(p->apic_id);
    host_delay_us(10000);
    for (int i = 0; i < 2 && !atomic_load(&p->online); i++) {
        hostapic_send_startup(p->apic_id, (u8)(page >> PAGE_SHIFT));
        host_delay_us(200);
    }
    for (unsigned ms = 0; ms < 1000; ms++) {
        if (atomic_load(&p->online) || atomic_load(&p->hazard) & HAZARD_STOP)
            break;
        host_delay_us(1000);
    }
    return atomic_load(&p->online);
}

void smp_init(const struct bootinfo *bi, unsigned max_cpus, NORETURN void (*entry)(void))
{
    cpu_loop = entry;
    boot_cr0 = read_cr0();
    boot_cr4 = read_cr4() & ~CR4_VMXE; /* each CPU turns VMX on itself */
    struct percpu *boot = cpus[0];
    boot->online = true;
    cpu_count = 1;
    u32 ids[MAX_CPUS];
    unsigned n = acpi_cpu_apic_ids(ids, MAX_CPUS);
    u64 page = find_trampoline_page(bi);
    if (n > 1 && max_cpus > 1 && !page)
        kprintf("zazen: no free page below 1 MiB to start the other CPUs from\n");
    if (n > 1 && max_cpus > 1 && page && read_cr3() >> 32)
        kprintf("zazen: page tables above 4 GiB: the other CPUs cannot start\n"), page = 0;
    for (unsigned i = 0; i < n && page && cpu_count < max_cpus; i++) {
        if (ids[i] == boot->apic_id)
            continue;
        struct percpu *p = percpu_create(cpu_count, ids[i]);
        if (start_ap(page, p))
            cpu_count++;
        else
            kprintf("zazen: the CPU with APIC ID %u did not start\n", ids[i]);
    }
    kprintf("zazen: %u CPU%s online\n", cpu_count, cpu_count == 1 ? "" : "s");
}

/* ---- cross calls ---- */

void smp_call(struct percpu *c, cross_call_fn fn, void *arg)
{
    if (c == this_cpu()) {
        fn(arg);
        return;
    }
    spin_lock(&c->call.lock);
    c->call.fn = fn;
    c->call.arg = arg;
    atomic_store(&c->call.done, 0);
    cpu_raise_hazard(c, HAZARD_CALL);
    /* Another CPU may be waiting for this one the same way: keep serving
     * our own mailbox while we wait. */
    while (!atomic_load(&c->call.done)) {
        smp_service();
        pause();
    }
    spin_unlock(&c->call.lock);
}

void smp_service_slow(void)
{
    struct percpu *c = this_cpu();
    u32 h = atomic_load(&c->hazard);
    if (h & HAZARD_STOP)
        halt_forever();
    if (!(h & HAZARD_CALL))
        return;
    atomic_and(&c->hazard, ~HAZARD_CALL);
    cross_call_fn fn = atomic_load(&c->call.fn);
    if (fn && !atomic_load(&c->call.done)) {
        fn(c->call.arg);
        atomic_store(&c->call.fn, NULL);
        atomic_store(&c->call.done, 1);
    }
}

void smp_stop_others(void)
{
    if (!percpu_ready)
        return;
    struct percpu *me = this_cpu();
    for (unsigned i = 0; i < cpu_count; i++)
        if (cpus[i] && cpus[i] != me && cpus[i]->online)
            cpu_raise_hazard(cpus[i], HAZARD_STOP);
}
