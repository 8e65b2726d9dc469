/* acpi_pm.c: the ACPI fixed-hardware registers of a PIIX4-like chipset
 * (PM1 event and control blocks, the PM timer) and the reset control
 * register at 0xCF9. See acpi_pm.h for the specifications and layout.
 *
 * The registers accept any access width at any offset of the block: each
 * byte of an access goes to the register it falls in, as the PIIX4
 * decodes them (OSPM uses 16-bit accesses for PM1 and 32-bit for the
 * timer, but a byte access must do what its bytes say). */
#include "acpi_pm.h"

/* Status bits this block implements; all are write-1-to-clear (ACPI 6.4
 * section 4.8.4.1.1). BM_STS and GBL_STS have no source here (no bus
 * masters to watch, no SMI firmware to release the global lock) but
 * clear like the others. */
#define STS_BITS                                                                                         \
    (ACPI_PM1_TMR_STS | ACPI_PM1_BM_STS | ACPI_PM1_GBL_STS | ACPI_PM1_PWRBTN_STS | ACPI_PM1_SLPBTN_STS | \
     ACPI_PM1_RTC_STS | ACPI_PM1_WAK_STS)
#define EN_BITS (ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN | ACPI_PM1_PWRBTN_EN | ACPI_PM1_SLPBTN_EN | ACPI_PM1_RTC_EN)
/* Status bits that raise the SCI when enabled (section 4.8.4.1.2: each
 * enable bit sits at its status bit's place). WAK_STS has no enable. */
#define SCI_EVENTS EN_BITS
/* PM1_CNT bits that read back; GBL_RLS and SLP_EN are write-only and read
 * as 0 (section 4.8.4.2.1). */
#define CNT_RW_BITS (ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP_MASK)

/* The timer's bit 31 toggles every 2^31 ticks, about every 10 minutes,
 * and each toggle sets TMR_STS (section 4.8, "Power Management Timer";
 * 4.8.4.3). */
#define TMR_MSB_PERIOD (1ull << 31)

/* Reset Control Register (PIIX4 datasheet, "RC - Reset Control Register";
 * the same bits on the ICH as RST_CNT). */
#define RC_SYS_RST 0x02  /* 1: the next CPU reset is a hard (system) reset, 0: soft (INIT) */
#define RC_RST_CPU 0x04  /* a 0 -> 1 transition starts the reset */
#define RC_FULL_RST 0x08 /* ICH: full power cycle; kept, no other effect */
#define RC_BITS (RC_SYS_RST | RC_RST_CPU | RC_FULL_RST)

enum pm_reg { PM_REG_STS, PM_REG_EN, PM_REG_CNT, PM_REG_TMR, PM_REG_COUNT };

static const struct {
    u8 offset, len;
} pm_regs[PM_REG_COUNT] = {
    [PM_REG_STS] = {ACPI_PM1_STS, 2},
    [PM_REG_EN] = {ACPI_PM1_EN, 2},
    [PM_REG_CNT] = {ACPI_PM1_CNT, 2},
    [PM_REG_TMR] = {ACPI_PM_TMR, 4},
};

/* ---- the PM timer ---- */

/* The first nanosecond at which the timer has counted ticks (the inverse
 * of pm_ticks: floor(ns * HZ / 10^9) >= ticks). */
static u64 ticks_to_ns(u64 ticks)
{
    u64 rem = ticks % ACPI_PM_TIMER_HZ;
    return ticks / ACPI_PM_TIMER_HZ * NS_PER_SEC + (rem * NS_PER_SEC + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;
}

/* Ticks of the 3.579545 MHz clock since epoch, rounded down
 * (devmodel/clock.h rate_count_at: no overflow, no 128-bit division). */
static u64 pm_ticks(struct acpi_pm *pm) { return rate_count_at(&pm->tick_count, ACPI_PM_TIMER_HZ, clock_now(pm->env->clock) - pm->epoch); }

/* The timer is 32 bits wide (TMR_VAL_EXT) and wraps (section 4.8.4.3). */
static u32 pm_timer_value(struct acpi_pm *pm) { return (u32)pm_ticks(pm); }

static void pm_arm_msb_timer(struct acpi_pm *pm)
{
    u64 next_toggle = (pm_ticks(pm) / TMR_MSB_PERIOD + 1) * TMR_MSB_PERIOD;
    timer_arm(pm->env->clock, &pm->msb_timer, pm->epoch + ticks_to_ns(next_toggle));
}

/* ---- the SCI ---- */

/* The SCI is asserted while an enabled status bit is set and SCI_EN routes
 * events to it (section 4.8, "Legacy/ACPI Select and the SCI
 * Interrupt"); it is level-triggered, shareable, active high (FADT
 * SCI_INT, section 5.2.9). */
static void pm_update_sci(struct acpi_pm *pm)
{
    bool level = (pm->cnt & ACPI_PM1_SCI_EN) && (pm->sts & pm->en & SCI_EVENTS);
    if (level != pm->sci_level) {
        pm->sci_level = level;
        dm_irq_set(pm->env->irq, pm->sci_gsi, level);
    }
}

static void pm_msb_toggled(void *dev, u64 now)
{
    struct acpi_pm *pm = dev;
    (void)now;
    pm->sts |= ACPI_PM1_TMR_STS;
    pm_update_sci(pm);
    pm_arm_msb_timer(pm);
}

/* ---- sleeping ---- */

/* SLP_EN written as 1 with SLP_TYP: the transition (section 4.8,
 * "Sleeping/Wake Control"; chapter 16). Only S5, soft off, is a state this
 * platform has: the domain powers off. Any other SLP_TYP is not entered:
 * the block answers as if the system had slept and woken at once, by
 * setting WAK_STS, because OSPM spins on WAK_STS after SLP_EN (ACPICA's
 * legacy sleep does) and would otherwise wait forever. The DSDT should
 * offer only \_S5 anyway. The callback comes last: it may reset this
 * block. */
static void pm_sleep(struct acpi_pm *pm, unsigned slp_typ)
{
    if (slp_typ == ACPI_PM_SLP_TYP_S5) {
        if (pm->poweroff)
            pm->poweroff(pm->ctx);
        return;
    }
    pm->sleeps_ignored++;
    pm->sts |= ACPI_PM1_WAK_STS;
}

/* ---- register access ---- */

static u32 pm_reg_read(struct acpi_pm *pm, enum pm_reg reg)
{
    switch (reg) {
    case PM_REG_STS:
        return pm->sts;
    case PM_REG_EN:
        return pm->en;
    case PM_REG_CNT:
        return pm->cnt;
    case PM_REG_TMR:
        return pm_timer_value(pm);
    default:
        return 0;
    }
}

/* value and mask are in the register's own bit positions; mask has the
 * bytes the access wrote. */
static void pm_reg_write(struct acpi_pm *pm, enum pm_reg reg, u32 value, u32 mask)
{
    u32 written = value & mask;
    switch (reg) {
    case PM_REG_STS: /* write 1 to clear; 0 leaves a bit alone (4.8.4.1.1) */
        pm->sts &= (u16)~(written & STS_BITS);
        pm_update_sci(pm);
        break;
    case PM_REG_EN:
        pm->en = (u16)((pm->en & ~mask) | (written & EN_BITS));
        pm_update_sci(pm);
        break;
    case PM_REG_CNT:
        /* GBL_RLS would raise an SMI to firmware that does not exist: no
         * effect. SLP_EN starts the transition to the SLP_TYP this very
         * write leaves in the register. */
        pm->cnt = (u16)((pm->cnt & ~(mask & CNT_RW_BITS)) | (written & CNT_RW_BITS));
        pm_update_sci(pm);
        if (written & ACPI_PM1_SLP_EN)
            pm_sleep(pm, (pm->cnt & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT);
        break;
    default: /* PM_TMR is read-only */
        break;
    }
}

static bool pm_reg_holds(enum pm_reg reg, unsigned offset)
{
    return offset >= pm_regs[reg].offset && offset < (unsigned)pm_regs[reg].offset + pm_regs[reg].len;
}

static u32 pm_io_read(void *dev, u16 port, u8 size)
{
    struct acpi_pm *pm = dev;
    unsigned first = (unsigned)(port - pm->base);
    u32 value = 0;
    /* A whole register at once (the PM timer's 32-bit read, which OSes
     * repeat in loops): no byte-by-byte assembly. */
    for (unsigned r = 0; r < PM_REG_COUNT; r++)
        if (pm_regs[r].offset == first && pm_regs[r].len == size)
            return pm_reg_read(pm, r);
    for (unsigned i = 0; i < size; i++)
        for (unsigned r = 0; r < PM_REG_COUNT; r++)
            if (pm_reg_holds(r, first + i)) {
                unsigned byte = first + i - pm_regs[r].offset;
                value |= ((pm_reg_read(pm, r) >> (8 * byte)) & 0xff) << (8 * i);
            }
    return value; /* the reserved bytes at +6 and +7 read as 0 */
}

static void pm_io_write(void *dev, u16 port, u8 size, u32 value)
{
    struct acpi_pm *pm = dev;
    unsigned first = (unsigned)(port - pm->base);
    for (unsigned r = 0; r < PM_REG_COUNT; r++) {
        u32 reg_value = 0, reg_mask = 0;
        for (unsigned i = 0; i < size; i++)
            if (pm_reg_holds(r, first + i)) {
                unsigned byte = first + i - pm_regs[r].offset;
                reg_value |= ((value >> (8 * i)) & 0xff) << (8 * byte);
                reg_mask |= 0xffu << (8 * byte);
            }
        if (reg_mask)
            pm_reg_write(pm, r, reg_value, reg_mask);
    }
}

/* The PM timer's own range (PMBASE+8, four bytes): the register OSes
 * read in loops, a 32-bit IN each, answered without the block's search
 * (pm_io_read). A narrower read or one at +9..+11 takes the register's
 * bytes from there on (the bus masks the width); the timer is read-only
 * (section 4.8.4.3), so a write changes nothing (no write function). */
static u32 pm_timer_io_read(void *dev, u16 port, u8 size)
{
    struct acpi_pm *pm = dev;
    (void)size;
    return pm_timer_value(pm) >> (8 * (unsigned)(port - pm->base - ACPI_PM_TMR));
}

/* ---- 0xCF9 ---- */

static u32 rc_io_read(void *dev, u16 port, u8 size)
{
    const struct acpi_pm *pm = dev;
    (void)port;
    (void)size;
    return pm->reset_ctl;
}

/* RST_CPU's 0 -> 1 transition resets the processor, hard or soft as
 * SYS_RST says. Both restart the domain here. The reset it starts clears
 * the register, so every write with RST_CPU set is such a transition
 * (0x02 then 0x06, as Linux writes, or the FADT's single 0x06); one that
 * comes before the core has reset the domain asks again, which is
 * harmless. */
static void rc_io_write(void *dev, u16 port, u8 size, u32 value)
{
    struct acpi_pm *pm = dev;
    (void)port;
    (void)size;
    pm->reset_ctl = (u8)(value & RC_BITS);
    if ((value & RC_RST_CPU) && pm->reset)
        pm->reset(pm->ctx);
}

/* ---- the platform ---- */

void acpi_pm_power_button(struct acpi_pm *pm)
{
    /* The fixed-feature power button (section 4.8, "Fixed Power
     * Button"): PWRBTN_STS, an SCI if PWRBTN_EN. */
    pm->sts |= ACPI_PM1_PWRBTN_STS;
    pm_update_sci(pm);
}

void acpi_pm_reset(struct acpi_pm *pm)
{
    pm->sts = 0;
    pm->en = 0;
    /* ACPI mode from the start: the FADT has no SMI_CMD, which tells OSPM
     * the hardware is already in it, and SCI_EN is how OSPM checks
     * (section 4.8, "Legacy/ACPI Select and the SCI Interrupt"). */
    pm->cnt = ACPI_PM1_SCI_EN;
    pm->reset_ctl = 0;
    pm->sleeps_ignored = 0;
    pm->epoch = clock_now(pm->env->clock);
    pm->tick_count = (struct dm_rate_count){0, 0};
    pm->sci_level = false;
    dm_irq_set(pm->env->irq, pm->sci_gsi, false);
    pm_arm_msb_timer(pm);
}

bool acpi_pm_init(struct acpi_pm *pm, struct dm_env *env, u16 base, unsigned sci_gsi, void (*poweroff)(void *ctx),
                  void (*reset)(void *ctx), void *ctx)
{
    pm->env = env;
    pm->base = base;
    pm->sci_gsi = sci_gsi;
    pm->poweroff = poweroff;
    pm->reset = reset;
    pm->ctx = ctx;
    timer_init(&pm->msb_timer, pm_msb_toggled, pm);
    acpi_pm_reset(pm);
    /* Reading the block (status, enables, control, the timer) changes
     * nothing, and what it reads follows the clock alone (the timer, the
     * status its MSB toggle sets): OSes poll the timer in loops, each
     * read a VM exit. The
     * timer is a range of its own, whose writes do nothing either. A read
     * of the block's first range that runs into the timer (four bytes at
     * +6) still gets its bytes there (pm_io_read knows every register). */
    return bus_claim_io(env->bus, base, ACPI_PM_TMR, 4, pm_io_read, pm_io_write, pm, "acpi pm") &&
           bus_set_clock_reads(env->bus, base) &&
           bus_claim_io(env->bus, (u16)(base + ACPI_PM_TMR), ACPI_PM_BLOCK_SIZE - ACPI_PM_TMR, 4, pm_timer_io_read,
                        NULL, pm, "acpi pm timer") &&
           bus_set_clock_reads(env->bus, (u16)(base + ACPI_PM_TMR)) &&
           bus_set_writes(env->bus, (u16)(base + ACPI_PM_TMR), BUS_WRITES_QUIET) &&
           bus_claim_io(env->bus, ACPI_PM_RESET_PORT, 1, 1, rc_io_read, rc_io_write, pm, "reset control");
}
