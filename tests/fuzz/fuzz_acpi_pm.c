/* fuzz-sources: devmodel/acpi_pm.c devmodel/sysctl.c devmodel/debugcon.c devmodel/bus.c devmodel/clock.c */
/* The small system devices: the ACPI PM block at 0xB000 (PM1 status,
 * enable and control at any width and offset, sleep requests, the PM
 * timer and its bit-31 toggle), the reset control register 0xCF9, ports
 * 0x92 and 0x80, and the 0xE9 debug console; with the power button, the
 * platform's resets (carried out after the access, as the core does) and
 * steps of virtual time from a nanosecond to years. Checks: the PM timer
 * reads floor(ns * 3579545 / 10^9) mod 2^32 since its epoch; the SCI line
 * is what the block thinks it drives, and no other line moves; debug
 * console lines are printable and no longer than the line buffer; nothing
 * runs after power-off. */
#include "fuzz_dev.h"
#include "../../devmodel/acpi_pm.h"
#include "../../devmodel/sysctl.h"
#include "../../devmodel/debugcon.h"

#define PM_BASE 0xb000 /* PC_ACPI_PM_BASE */
#define SCI_GSI 9

static struct acpi_pm pm;
static struct sysctl sc;
static struct debugcon dc;
static bool reset_requested, powered_off;

static void on_reset(void *ctx)
{
    FUZZ_CHECK(ctx == &pm, "reset context %p", ctx);
    reset_requested = true;
}

static void on_poweroff(void *ctx)
{
    FUZZ_CHECK(ctx == &pm, "power-off context %p", ctx);
    powered_off = true;
}

static void on_post(void *ctx, u8 code)
{
    FUZZ_CHECK(ctx == &pm && code == sysctl_post_code(&sc), "POST %#x, context %p", code, ctx);
}

static void on_line(void *ctx, const char *line, unsigned len, bool complete)
{
    (void)complete;
    FUZZ_CHECK(ctx == &dc && len <= DEBUGCON_LINE_MAX, "a line of %u bytes", len);
    for (unsigned i = 0; i < len; i++)
        FUZZ_CHECK((line[i] >= 0x20 && line[i] < 0x7f) || line[i] == '\t', "byte %#x in a line", (u8)line[i]);
}

static const struct window ports[] = {
    {PM_BASE, ACPI_PM_BLOCK_SIZE}, {ACPI_PM_RESET_PORT, 1}, {SYSCTL_PORT_A, 1}, {SYSCTL_POST_PORT, 1},
    {DEBUGCON_PORT, 1},
};

/* The PM timer as ACPI defines it, computed directly. */
static u32 expected_pm_timer(void)
{
    u64 ns = fake.clock.now - pm.epoch;
    return (u32)((unsigned __int128)ns * ACPI_PM_TIMER_HZ / NS_PER_SEC);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    struct dm_env *env = fuzz_env_reset(BIT(SCI_GSI));
    memset(&pm, 0, sizeof(pm));
    memset(&sc, 0, sizeof(sc));
    reset_requested = powered_off = false;
    if (!acpi_pm_init(&pm, env, PM_BASE, SCI_GSI, on_poweroff, on_reset, &pm) ||
        !sysctl_init(&sc, env, on_reset, on_post, &pm) || !debugcon_attach(&dc, &fake.bus, on_line, &dc))
        abort();
    while (prog_more(&g) && !powered_off) {
        switch (take8(&g) % 6) {
        case 0: {
            u16 port = take_port(&g, ports, ARRAY_SIZE(ports));
            u8 io_size = take_io_size(&g);
            u32 expected = expected_pm_timer();
            u32 v = fuzz_in(port, io_size);
            if (port == PM_BASE + ACPI_PM_TMR && io_size == 4)
                FUZZ_CHECK(v == expected, "PM timer %#x, expected %#x at %llu ns", v, expected,
                           (unsigned long long)fake.clock.now);
            break;
        }
        case 1:
            fuzz_any_out(&g, ports, ARRAY_SIZE(ports));
            break;
        case 2: /* OSPM's 16-bit PM1 accesses */
            fuzz_out(PM_BASE + 2 * (take8(&g) % 3), 2, take16(&g));
            break;
        case 3:
            fuzz_advance(take_delay(&g));
            break;
        case 4:
            acpi_pm_power_button(&pm);
            break;
        case 5:
            if (take8(&g) == 0xa5)
                reset_requested = true;
            break;
        }
        if (reset_requested) { /* what pc_reset does for these chips */
            reset_requested = false;
            acpi_pm_reset(&pm);
            sysctl_reset(&sc);
        }
        FUZZ_CHECK(fake.level[SCI_GSI] == pm.sci_level, "the SCI is %d, the PM block drives %d", fake.level[SCI_GSI],
                   pm.sci_level);
    }
    debugcon_flush(&dc);
    return 0;
}
