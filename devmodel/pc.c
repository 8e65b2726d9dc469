/* See pc.h. Interrupt routing follows the PC/AT and the MultiProcessor
 * Specification 1.4 (virtual wire mode, 3.6.2.2; ISA IRQ0 on I/O APIC pin
 * 2, the override the ACPI MADT will describe); CMOS contents follow the
 * IBM PC/AT Technical Reference and common BIOS practice. */
#include "pc.h"
#include "../vmm/format.h"
#include "../vmm/string.h"

/* ---- the APIC system bus (SDM 3A 11.6.2 destinations, 11.6.1
 * shorthands; 82093AA 3.2.4 for the I/O APIC's messages) ---- */

static u32 all_cpus(const struct pc *pc) { return (u32)(BIT(pc->cpus) - 1); }

/* The APICs a message's destination reaches, one bit each. */
static u32 destinations(const struct pc *pc, const struct apic_message *m)
{
    u32 set = 0;
    for (unsigned i = 0; i < pc->cpus; i++)
        if (lapic_accepts(&pc->lapic[i], m))
            set |= (u32)BIT(i);
    return set;
}

/* Lowest priority (11.6.2.4): the destination whose arbitration priority
 * class is lowest; among equals the choice rotates, so a busy interrupt
 * is spread over the CPUs as the chipset's round robin does. */
static unsigned lowest_priority_of(struct pc *pc, u32 targets)
{
    unsigned best = 0;
    u32 best_class = ~0u;
    for (unsigned k = 0; k < pc->cpus; k++) {
        unsigned i = (pc->lowest_priority_next + k) % pc->cpus;
        if (!(targets & BIT(i)))
            continue;
        u32 class = lapic_arbitration_priority(&pc->lapic[i]) >> 4;
        if (class < best_class) {
            best = i;
            best_class = class;
        }
    }
    pc->lowest_priority_next = (best + 1) % pc->cpus;
    return best;
}

static void deliver_to(struct pc *pc, const struct apic_message *m, u32 targets)
{
    if (!targets)
        return;
    if (m->delivery_mode == APIC_DM_LOWEST) {
        lapic_deliver(&pc->lapic[lowest_priority_of(pc, targets)], m);
        return;
    }
    for (unsigned i = 0; i < pc->cpus; i++)
        if (targets & BIT(i))
            lapic_deliver(&pc->lapic[i], m);
}

static void apic_bus_send_ipi(void *ctx, struct lapic *from, const struct apic_message *m, unsigned shorthand)
{
    struct pc *pc = ctx;
    u32 self = (u32)BIT(from->index), targets;
    switch (shorthand) {
    case LAPIC_SHORTHAND_SELF: targets = self; break;
    case LAPIC_SHORTHAND_ALL_INCLUDING_SELF: targets = all_cpus(pc); break;
    case LAPIC_SHORTHAND_ALL_EXCLUDING_SELF: targets = all_cpus(pc) & ~self; break;
    default: targets = destinations(pc, m); break;
    }
    deliver_to(pc, m, targets);
}

static struct apic_page *apic_page_at(struct pc *pc, u64 base)
{
    for (unsigned i = 0; i < PC_MAX_CPUS; i++)
        if (pc->apic_pages[i].users && pc->apic_pages[i].base == base)
            return &pc->apic_pages[i];
    return NULL;
}

static u64 apic_page_read(void *dev, u64 addr, u8 size);
static void apic_page_write(void *dev, u64 addr, u8 size, u64 value);

/* The first APIC to claim a page puts the APIC page's handlers there
 * (one slot per APIC is enough: each claims one page at a time). */
static bool apic_bus_claim_page(void *ctx, u64 base)
{
    struct pc *pc = ctx;
    struct apic_page *page = apic_page_at(pc, base);
    if (page) {
        page->users++;
        return true;
    }
    for (unsigned i = 0; i < PC_MAX_CPUS; i++) {
        if (pc->apic_pages[i].users)
            continue;
        if (!bus_claim_mmio(&pc->bus, base, LAPIC_MMIO_SIZE, apic_page_read, apic_page_write, pc, "lapic"))
            return false;
        pc->apic_pages[i] = (struct apic_page){base, 1};
        return true;
    }
    return false;
}

static void apic_bus_release_page(void *ctx, u64 base)
{
    struct pc *pc = ctx;
    struct apic_page *page = apic_page_at(pc, base);
    if (page && !--page->users)
        bus_release_mmio(&pc->bus, base, pc);
}

static void apic_bus_signal(void *ctx, struct lapic *to)
{
    struct pc *pc = ctx;
    if (pc->cpu_signal)
        pc->cpu_signal(pc->ctx, to->index);
}

/* The APIC page: every CPU reaches its own APIC at the address (11.4.1). */
static struct lapic *accessing_apic(struct pc *pc)
{
    unsigned cpu = pc->current_cpu ? pc->current_cpu(pc->ctx) : 0;
    return &pc->lapic[cpu < pc->cpus ? cpu : 0];
}

/* An APIC that does not answer (disabled, or in x2APIC mode, SDM 3A
 * 11.12.2) leaves the access to nothing: all ones, as the bus reads an
 * unclaimed address. */
static u64 apic_page_read(void *dev, u64 addr, u8 size)
{
    u64 value = 0;
    if (!lapic_page_read(accessing_apic(dev), addr, size, &value))
        value = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    return value;
}

static void apic_page_write(void *dev, u64 addr, u8 size, u64 value)
{
    lapic_page_write(accessing_apic(dev), addr, size, value);
}

/* ---- interrupt lines ---- */

/* An ISA IRQ goes to its 8259 input and to the matching I/O APIC pin;
 * IRQ0 is wired to pin 2, the I/O APIC's pin 0 being the 8259's INTR
 * in PC chipsets. */
static unsigned ioapic_pin_of(unsigned gsi) { return gsi == 0 ? PC_IOAPIC_PIN_IRQ0 : gsi; }

/* The 8259's INTR reaches every CPU's LINT0 (MP spec 3.6.2.2, virtual
 * wire); the CPUs that let it through must look. */
static void signal_extint(struct pc *pc)
{
    if (!pc->cpu_signal || !pic_intr(&pc->pic))
        return;
    for (unsigned i = 0; i < pc->cpus; i++)
        if (lapic_passes_extint(&pc->lapic[i]))
            pc->cpu_signal(pc->ctx, i);
}

static void pc_set_irq(void *ctx, unsigned gsi, bool level)
{
    struct pc *pc = ctx;
    if (gsi < 16) {
        pic_set_irq(&pc->pic, gsi, level);
        if (level && pc->cpus > 1)
            signal_extint(pc);
    }
    if (pc->kind == PC_PCI && gsi < 24 && gsi != 2)
        ioapic_set_irq(&pc->ioapic, ioapic_pin_of(gsi), level);
}

/* One CPU: its APIC takes every message (as before SMP); several: the
 * message's destination decides. */
static void ioapic_to_lapic(void *ctx, const struct apic_message *m)
{
    struct pc *pc = ctx;
    if (pc->cpus == 1)
        lapic_deliver(&pc->lapic[0], m);
    else
        deliver_to(pc, m, destinations(pc, m));
}

static void lapic_eoi_to_ioapic(void *ctx, u8 vector)
{
    struct pc *pc = ctx;
    if (pc->kind == PC_PCI)
        ioapic_eoi(&pc->ioapic, vector);
}

int pc_interrupt_source_slow(const struct pc *pc, unsigned cpu)
{
    const struct lapic *l = &pc->lapic[cpu];
    int vector = lapic_pending(l);
    if (vector >= 0)
        return vector;
    return lapic_passes_extint(l) && pic_intr(&pc->pic) ? PC_INTERRUPT_FROM_PIC : PC_INTERRUPT_NONE;
}

bool pc_nmi_ack(struct pc *pc, unsigned cpu) { return lapic_take_nmi(&pc->lapic[cpu]); }
void pc_nmi_blocked(struct pc *pc, unsigned cpu) { lapic_hold_one_nmi(&pc->lapic[cpu]); }

int pc_interrupt_take(struct pc *pc, unsigned cpu, int source)
{
    if (source == PC_INTERRUPT_FROM_PIC)
        return pic_inta(&pc->pic);
    if (source < 0)
        return -1;
    lapic_ack(&pc->lapic[cpu], (u8)source);
    return source;
}

/* ---- IRQ0 and the PIT's ticks ---- */

/* Does the master 8259's INTR reach a CPU (LINT0 in ExtINT mode, or an
 * APIC that is off)? */
static bool pic_output_reaches_a_cpu(const struct pc *pc)
{
    for (unsigned i = 0; i < pc->cpus; i++)
        if (lapic_passes_extint(&pc->lapic[i]))
            return true;
    return false;
}

/* IRQ0's I/O APIC pin as a fixed or lowest-priority interrupt: its
 * vector, whose IRR and ISR bits at the local APICs show whether the
 * last tick was acknowledged (82093AA 3.2.4: bits 7:0 the vector, 10:8
 * the delivery mode); -1 if the pin is masked, or sends something
 * without a vector (NMI, ExtINT...). */
static int irq0_apic_vector(const struct pc *pc)
{
    if (pc->kind != PC_PCI || ioapic_pin_masked(&pc->ioapic, PC_IOAPIC_PIN_IRQ0))
        return -1;
    u64 entry = pc->ioapic.redir[PC_IOAPIC_PIN_IRQ0];
    unsigned mode = (entry >> 8) & 7;
    return mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST ? (int)(entry & 0xff) : -1;
}

static bool irq0_vector_unacknowledged(const struct pc *pc, u8 vector)
{
    for (unsigned i = 0; i < pc->cpus; i++)
        if (lapic_vector_pending_or_in_service(&pc->lapic[i], vector))
            return true;
    return false;
}

/* Where IRQ0's last pulse may wait for the guest:
 * - the 8259 (IRQ0 unmasked in IMR, its INTR reaching a CPU): from the
 *   edge latched in IRR through INTA (IRR to ISR) to the EOI that clears
 *   ISR (8259A datasheet, "Interrupt Sequence", "End of Interrupt"); in
 *   automatic EOI mode INTA ends it;
 * - the I/O APIC pin (unmasked): its vector in a local APIC's IRR, then
 *   ISR until the EOI (SDM 3A 11.8.4, 11.8.5); the EOI of that vector is
 *   never quiet (lapic.eoi_watch), so the run loop sees it.
 * Neither route open: IRQ0 is masked. A pulse still latches in the
 * 8259's IRR while its bit is clear (the mask acts after IRR, "Interrupt
 * Mask Register"), so the ticks run until one is latched, then are
 * muted: no host timer at their rate (issue 12), and nothing is owed
 * for the time masked (periodic_mute). */
/* The EOI of IRQ0's vector is not quiet (lapic.eoi_watch) while a tick
 * may wait there; the APICs are written only when the vector changes. */
static void watch_irq0_eoi(struct pc *pc, u8 vector)
{
    if (vector == pc->irq0_eoi_watch)
        return;
    pc->irq0_eoi_watch = vector;
    for (unsigned i = 0; i < pc->cpus; i++)
        pc->lapic[i].eoi_watch = vector;
}

bool pc_gate_timers(struct pc *pc)
{
    /* Counter 0 stopped with no tick held (Linux stops it once its local
     * APIC timer runs): no timer to mute, nothing owed, nothing to watch. */
    const struct dm_periodic *tick = &pc->pit.ch[0].tick;
    if (!tick->period && !tick->held) {
        watch_irq0_eoi(pc, 0);
        return false;
    }
    const struct pic_chip *master = &pc->pic.chip[0];
    bool pic_open = !(master->imr & 1) && pic_output_reaches_a_cpu(pc);
    int vector = irq0_apic_vector(pc);
    watch_irq0_eoi(pc, vector > 0 ? (u8)vector : 0);
    if (!pic_open && vector < 0) {
        bool mute = (master->irr & 1) != 0;
        if (mute != pc->pit.ch[0].tick.muted)
            pit_mute_irq0(&pc->pit, mute);
        return pit_hold_irq0(&pc->pit, false);
    }
    if (pc->pit.ch[0].tick.muted)
        pit_mute_irq0(&pc->pit, false);
    bool raised = false;
    for (;;) {
        bool waiting = (pic_open && ((master->irr | master->isr) & 1)) ||
                       (vector >= 0 && irq0_vector_unacknowledged(pc, (u8)vector));
        if (!pit_hold_irq0(&pc->pit, waiting))
            return raised;
        raised = true; /* the tick just raised waits in its turn: look again */
    }
}

/* ---- CMOS ---- */

static void set_cmos_word(struct rtc *r, u8 index, u64 value)
{
    if (value > 0xffff)
        value = 0xffff;
    rtc_nvram_write(r, index, (u8)value);
    rtc_nvram_write(r, (u8)(index + 1), (u8)(value >> 8));
}

/* Memory sizes where BIOSes and OSes look for them: base memory in KiB
 * (15h), extended memory above 1 MiB in KiB (17h, and 30h as POST found
 * it; at most FFFFh), memory above 16 MiB in 64 KiB units (34h, where
 * SeaBIOS takes its RAM size from when fw_cfg has no etc/e820), above
 * 4 GiB in 64 KiB units (5Bh-5Dh), and the CPU count less one (5Fh, as
 * SeaBIOS and QEMU have it). */
static void fill_cmos(struct pc *pc, u64 ram, unsigned cpus)
{
    struct rtc *r = &pc->rtc;
    set_cmos_word(r, 0x15, 640);
    u64 above_1m = ram > (1u << 20) ? (ram - (1u << 20)) >> 10 : 0;
    set_cmos_word(r, 0x17, above_1m);
    set_cmos_word(r, 0x30, above_1m);
    set_cmos_word(r, 0x34, ram > (16u << 20) ? (ram - (16u << 20)) >> 16 : 0);
    rtc_nvram_write(r, 0x5b, 0);
    rtc_nvram_write(r, 0x5c, 0);
    rtc_nvram_write(r, 0x5d, 0);
    rtc_nvram_write(r, 0x5f, (u8)(cpus - 1));
    rtc_nvram_write(r, 0x10, 0x00); /* no floppy drives */
    rtc_nvram_write(r, 0x14, 0x02); /* equipment: FPU present, EGA/VGA, no floppy */
}

/* ---- building ---- */

static bool fail(char *why, size_t size, const char *chip)
{
    snprintf(why, size, "cannot set up the %s", chip);
    return false;
}

/* One local APIC per vCPU: alone, on the bus as before; with several,
 * on the APIC bus (IPIs between them) behind one MMIO page that answers
 * for the vCPU touching it. An hvm PC and the PVH container (Linux
 * brings a PVH domain's APs up with INIT and start-up IPIs) alike. */
static bool attach_lapics(struct pc *pc, struct dm_env *env)
{
    if (pc->cpus == 1)
        return lapic_init(&pc->lapic[0], env, 0, true, lapic_eoi_to_ioapic, pc);
    memset(pc->apic_pages, 0, sizeof(pc->apic_pages)); /* a fresh bus (the PVH container builds it twice) */
    bool mapped = true;
    for (unsigned i = 0; i < pc->cpus; i++)
        mapped &= lapic_init_on_bus(&pc->lapic[i], env, (u8)i, i == 0, lapic_eoi_to_ioapic, pc, &pc->apic_bus, i);
    return mapped;
}

bool pc_init(struct pc *pc, const struct dm_memory *mem, const struct pc_config *cfg, char *why, size_t why_size)
{
    memset(pc, 0, sizeof(*pc));
    pc->kind = cfg->kind;
    pc->cpus = cfg->cpus ? MIN(cfg->cpus, PC_MAX_CPUS) : 1;
    pc->current_cpu = cfg->current_cpu;
    pc->cpu_signal = cfg->cpu_signal;
    pc->ctx = cfg->ctx;
    pc->apic_bus = (struct lapic_system_bus){apic_bus_send_ipi, apic_bus_signal, apic_bus_claim_page,
                                             apic_bus_release_page, pc};
    clock_init(&pc->clock);
    bus_init(&pc->bus);
    pc->irq = (struct dm_irq){pc_set_irq, pc};
    pc->mem = *mem;
    pc->env = (struct dm_env){&pc->bus, &pc->clock, &pc->irq, &pc->mem};
    struct dm_env *env = &pc->env;

    if (!pic_init(&pc->pic, env))
        return fail(why, why_size, "8259 PICs");
    if (!pit_init(&pc->pit, env))
        return fail(why, why_size, "8254 PIT");
    if (!uart_init(&pc->com1, env, 0x3f8, 4, cfg->com1_tx, cfg->ctx) || !uart_init(&pc->com2, env, 0x2f8, 3, NULL, NULL))
        return fail(why, why_size, "16550 UARTs");
    if (!rtc_init(&pc->rtc, env, &cfg->time))
        return fail(why, why_size, "RTC");
    fill_cmos(pc, cfg->ram_size, pc->cpus);
    if (!kbc_init(&pc->kbc, env, cfg->reset, cfg->ctx))
        return fail(why, why_size, "8042 keyboard controller");
    if (!acpi_pm_init(&pc->pm, env, PC_ACPI_PM_BASE, PC_SCI_GSI, cfg->poweroff, cfg->reset, cfg->ctx))
        return fail(why, why_size, "ACPI PM block");
    if (!sysctl_init(&pc->sysctl, env, cfg->reset, cfg->post, cfg->ctx))
        return fail(why, why_size, "ports 92h and 80h");
    if (!attach_lapics(pc, env))
        return fail(why, why_size, "local APICs");
    if (!fw_cfg_init(&pc->fw_cfg, env))
        return fail(why, why_size, "fw_cfg device");
    struct ide_disk *disks[4];
    memcpy(disks, cfg->disks, sizeof(disks));
    if (!ide_init(&pc->ide, env, disks))
        return fail(why, why_size, "IDE controller");
    if (cfg->kind == PC_PCI) {
        if (!ioapic_init(&pc->ioapic, env, PC_IOAPIC_BASE, ioapic_to_lapic, pc))
            return fail(why, why_size, "I/O APIC");
        if (!pci_init(&pc->pci, env) || !piix_init(&pc->piix, env, &pc->pci, &pc->ide, cfg->pam_changed, cfg->ctx))
            return fail(why, why_size, "PCI chipset");
    }
    if (cfg->kind == PC_PVH) { /* the bus again, with the chips a PVH domain reaches */
        bus_init(&pc->bus);
        if (!attach_lapics(pc, env) || !pit_init(&pc->pit, env) ||
            !acpi_pm_init(&pc->pm, env, PC_ACPI_PM_BASE, PC_SCI_GSI, cfg->poweroff, cfg->reset, cfg->ctx))
            return fail(why, why_size, "PVH container");
    }
    /* x2APIC mode where the config asks for it (docs/smp.md), hvm and pvh
     * alike. Under Xen's CPUID signature Linux switches to x2APIC mode
     * whenever CPUID offers it (xen_x2apic_available returns
     * x2apic_supported(), arch/x86/xen/enlighten_hvm.c): the PVH
     * container's local APICs then take the MSR interface and start the
     * APs through the 64-bit ICR (qemu-svm/pvh-linux-smp-x2apic). */
    for (unsigned i = 0; i < pc->cpus; i++) {
        pc->lapic[i].x2apic_offered = cfg->x2apic;
        if (cfg->maxphyaddr)
            pc->lapic[i].maxphyaddr = cfg->maxphyaddr;
    }
    return true;
}

void pc_reset(struct pc *pc)
{
    pic_reset(&pc->pic);
    pit_reset(&pc->pit);
    uart_reset(&pc->com1);
    uart_reset(&pc->com2);
    rtc_reset(&pc->rtc);
    kbc_reset(&pc->kbc);
    acpi_pm_reset(&pc->pm);
    sysctl_reset(&pc->sysctl);
    for (unsigned i = 0; i < pc->cpus; i++)
        lapic_reset(&pc->lapic[i]);
    fw_cfg_reset(&pc->fw_cfg);
    if (pc->kind == PC_PCI) {
        ioapic_reset(&pc->ioapic);
        pci_reset(&pc->pci);
        piix_reset(&pc->piix); /* resets the IDE too, and releases the bus-master ports */
    } else {
        ide_reset(&pc->ide);
    }
}

/* ---- the interrupt picture, for the host's `debug-keys i` ---- */

static void describe(char *buf, size_t size, size_t *len, const char *fmt, ...) PRINTF_LIKE(4, 5);
static void describe(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = MIN(size, *len + (size_t)n);
}

/* The set bits of a 256-bit APIC vector register, as "31 ef" (hex). */
static void describe_vectors(char *buf, size_t size, size_t *len, const char *name, const u32 *bits)
{
    describe(buf, size, len, " %s", name);
    bool any = false;
    for (unsigned v = 0; v < 256; v++)
        if (bits[v / 32] & BIT(v % 32)) {
            describe(buf, size, len, " %02x", v);
            any = true;
        }
    if (!any)
        describe(buf, size, len, " -");
}

size_t pc_describe_interrupts(const struct pc *pc, char *buf, size_t size)
{
    size_t len = 0;
    if (size)
        buf[0] = 0;
    const struct acpi_pm *pm = &pc->pm;
    describe(buf, size, &len, "pm1: sts %04x en %04x cnt %04x, SCI (GSI %u) %s\n", pm->sts, pm->en, pm->cnt,
             pm->sci_gsi, pm->sci_level ? "asserted" : "low");
    for (unsigned c = 0; c < 2; c++) {
        const struct pic_chip *p = &pc->pic.chip[c];
        describe(buf, size, &len, "8259 %s: irr %02x isr %02x imr %02x lines %02x level %02x base %02x\n",
                 c ? "slave" : "master", p->irr, p->isr, p->imr, p->lines, p->level, p->vector_base);
    }
    if (pc->kind == PC_PCI) {
        const struct ioapic *io = &pc->ioapic;
        describe(buf, size, &len, "ioapic:");
        bool any = false;
        for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
            u64 e = io->redir[pin];
            bool masked = e & BIT(16);
            if (masked && !io->pin_level[pin] && !(e & BIT(14)))
                continue; /* masked and quiet: nothing to say */
            describe(buf, size, &len, " pin %u: vec %02x dest %02x%s%s%s%s%s;", pin, (unsigned)(e & 0xff),
                     (unsigned)(e >> 56), e & BIT(11) ? " logical" : "", e & BIT(15) ? " level" : " edge",
                     masked ? " masked" : "", e & BIT(14) ? " remote-irr" : "", io->pin_level[pin] ? " high" : "");
            any = true;
        }
        describe(buf, size, &len, "%s\n", any ? "" : " every pin masked and low");
    }
    for (unsigned i = 0; i < pc->cpus; i++) {
        const struct lapic *l = &pc->lapic[i];
        describe(buf, size, &len, "lapic %u: id %02x svr %03x tpr %02x", i, l->id >> 24, l->svr, l->tpr);
        describe_vectors(buf, size, &len, "irr", l->irr);
        describe_vectors(buf, size, &len, "isr", l->isr);
        describe_vectors(buf, size, &len, "tmr", l->tmr);
        describe(buf, size, &len, "%s%s\n", l->nmi_pending ? " nmi-pending" : "",
                 l->extint_pending ? " extint-pending" : "");
    }
    return len;
}
