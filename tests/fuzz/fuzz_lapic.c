/* fuzz-sources: devmodel/lapic.c devmodel/bus.c devmodel/clock.c */
/* The local APIC through its MMIO page and MSRs, with the core's side: any
 * access to the page (aligned register writes and reads, and accesses of
 * every size and offset), IA32_APIC_BASE writes that move, disable and
 * re-enable it, IA32_TSC_DEADLINE, interrupt messages of every delivery
 * mode, LINT0/LINT1 levels, the core taking interrupts (pending/ack, NMI,
 * INIT, SIPI, ExtINT), and virtual time for the timer in its three modes,
 * on a guest TSC of any rate. Checks: vectors 0-15 never reach the IRR or
 * ISR; the vector offered is pending in the IRR and moves to the ISR when
 * taken; the current count never exceeds the initial count; EOI
 * broadcasts name valid vectors; the APIC drives no GSI. */
#include "fuzz_dev.h"
#include "../../devmodel/lapic.h"

#define REG_EOI 0xb0
#define REG_TIMER_INITIAL 0x380
#define REG_TIMER_CURRENT 0x390

static struct lapic apic;

static void on_eoi_broadcast(void *ctx, u8 vector)
{
    FUZZ_CHECK(ctx == &apic && vector >= 16, "EOI broadcast of vector %u", vector);
}

static bool vec_test(const u32 r[8], unsigned v) { return r[v / 32] >> (v % 32) & 1; }

/* Where the page is now; accesses while it is unmapped go to nobody. */
static u64 page(void) { return apic.mmio_claimed ? apic.mmio_base : LAPIC_DEFAULT_BASE; }

static void check_state(void)
{
    FUZZ_CHECK(!(apic.irr[0] & 0xffff) && !(apic.isr[0] & 0xffff), "IRR %#x ISR %#x: vectors below 16",
               apic.irr[0], apic.isr[0]);
    FUZZ_CHECK(!apic.mmio_claimed || (apic.apic_base & LAPIC_BASE_EN), "page claimed while disabled (base %#llx)",
               (unsigned long long)apic.apic_base);
}

/* The core before a VM entry: take whatever is pending. */
static void core_takes_interrupts(struct prog *g)
{
    int v = lapic_pending(&apic);
    if (v >= 0) {
        FUZZ_CHECK(v >= 16 && v <= 255 && vec_test(apic.irr, (unsigned)v), "pending vector %d not in the IRR", v);
        if (take_bool(g)) {
            lapic_ack(&apic, (u8)v);
            FUZZ_CHECK(vec_test(apic.isr, (unsigned)v) && !vec_test(apic.irr, (unsigned)v),
                       "vector %d taken but not in service", v);
        }
    }
    lapic_take_nmi(&apic);
    lapic_take_init(&apic);
    lapic_take_extint(&apic);
    int sipi = lapic_take_sipi(&apic);
    FUZZ_CHECK(sipi >= -1 && sipi <= 255, "SIPI vector %d", sipi);
    lapic_passes_extint(&apic);
}

/* IA32_APIC_BASE values: mostly a page with EN and BSP as chosen, now and
 * then reserved bits or x2APIC enable (which must #GP). */
static u64 take_apic_base(struct prog *g)
{
    u8 how = take8(g);
    u64 v = (u64)take32(g) << 12;
    if (how & 1)
        v |= LAPIC_BASE_EN;
    if (how & 2)
        v |= LAPIC_BASE_BSP;
    if (how & 4)
        v = (v & 0xfffff000ull) | LAPIC_DEFAULT_BASE; /* near the usual place */
    if ((how & 0xf0) == 0x10)
        v |= LAPIC_BASE_EXTD;
    if ((how & 0xf0) == 0x20)
        v |= take64(g);
    return v;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    struct dm_env *env = fuzz_env_reset(0);
    /* The guest TSC runs at 100 MHz to 10 GHz from any value at time 0. */
    clock_set_tsc(&fake.clock, 100000 + take32(&g) % 10000000, take64(&g) >> (take8(&g) % 64));
    bool bsp = take_bool(&g);
    if (!lapic_init(&apic, env, take8(&g), bsp, on_eoi_broadcast, &apic))
        abort();
    while (prog_more(&g)) {
        switch (take8(&g) % 12) {
        case 0: {
            u8 mmio_size = take_mmio_size(&g);
            fuzz_mmio_read(page() + take_page_offset(&g, mmio_size), mmio_size);
            break;
        }
        case 1: {
            u8 mmio_size = take_mmio_size(&g);
            u64 addr = page() + take_page_offset(&g, mmio_size);
            fuzz_mmio_write(addr, mmio_size, take_value(&g, mmio_size));
            break;
        }
        case 2: /* a register write, as software makes them */
            fuzz_mmio_write(page() + (take8(&g) & 0x3f) * 16u, 4, take32(&g));
            break;
        case 3: {
            u32 off = (take8(&g) & 0x3f) * 16u;
            u32 initial = apic.timer_initial;
            u32 v = (u32)fuzz_mmio_read(page() + off, 4);
            if (off == REG_TIMER_CURRENT && apic.mmio_claimed)
                FUZZ_CHECK(v <= initial, "current count %u above the initial count %u", v, initial);
            break;
        }
        case 4:
            fuzz_advance(take_delay(&g));
            break;
        case 5: {
            struct apic_message m;
            m.vector = take8(&g);
            u8 flags = take8(&g);
            m.delivery_mode = flags & 7;
            m.logical = flags & 8;
            m.level_triggered = flags & 16;
            m.dest = take8(&g);
            if (lapic_matches_dest(&apic, m.logical, m.dest) || (flags & 32))
                lapic_deliver(&apic, &m);
            break;
        }
        case 6:
            core_takes_interrupts(&g);
            break;
        case 7: {
            u8 b = take8(&g);
            lapic_set_lint(&apic, b % 3, b & 0x80); /* pin 2: none, ignored */
            break;
        }
        case 8: {
            u64 old = lapic_get_base(&apic);
            if (!lapic_set_base(&apic, take_apic_base(&g)))
                FUZZ_CHECK(lapic_get_base(&apic) == old, "refused base write changed it to %#llx",
                           (unsigned long long)lapic_get_base(&apic));
            break;
        }
        case 9: { /* a deadline near the guest TSC now, or anywhere */
            u64 tsc = clock_ns_to_tsc(&fake.clock, fake.clock.now);
            u8 how = take8(&g);
            u64 delta = take64(&g) >> (how % 64);
            lapic_write_tsc_deadline(&apic, how & 0x80 ? tsc - delta : how & 0x40 ? delta : tsc + delta);
            lapic_read_tsc_deadline(&apic);
            break;
        }
        case 10: /* software's EOI and timer programming, the common steps */
            fuzz_mmio_write(page() + (take_bool(&g) ? REG_EOI : REG_TIMER_INITIAL), 4, take32(&g) >> (take8(&g) % 32));
            break;
        case 11:
            if (take8(&g) == 0xa5)
                lapic_reset(&apic);
            break;
        }
        check_state();
    }
    return 0;
}
