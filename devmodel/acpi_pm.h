/* The ACPI power-management block of a PIIX4-like chipset and its reset
 * control register. Specifications: ACPI 6.4, section 4.8 (fixed
 * hardware features and registers); Intel 82371AB PCI-to-ISA/IDE Xcelerator
 * (PIIX4) datasheet (290562), power-management I/O registers (the SLP_TYP
 * encoding) and the Reset Control Register at I/O 0xCF9.
 *
 * Layout at base (what the guest BIOS's FADT must say):
 *   PM1a_EVT_BLK  base + 0, PM1_EVT_LEN 4 (PM1_STS at +0, PM1_EN at +2)
 *   PM1a_CNT_BLK  base + 4, PM1_CNT_LEN 2
 *   PM_TMR_BLK    base + 8, PM_TMR_LEN 4, 32-bit (FADT flag TMR_VAL_EXT)
 *   RESET_REG     system I/O 0xCF9, 8 bits, RESET_VALUE 0x06
 *   no SMI_CMD: the block comes out of reset in ACPI mode (SCI_EN set). */
#ifndef ZAZEN_DEVMODEL_ACPI_PM_H
#define ZAZEN_DEVMODEL_ACPI_PM_H

#include "devmodel.h"

/* Register offsets from base. */
#define ACPI_PM1_STS 0
#define ACPI_PM1_EN 2
#define ACPI_PM1_CNT 4
#define ACPI_PM_TMR 8
#define ACPI_PM_BLOCK_SIZE 12

/* PM1_STS (ACPI 6.4 Table 4.11), write 1 to clear. */
#define ACPI_PM1_TMR_STS 0x0001
#define ACPI_PM1_BM_STS 0x0010
#define ACPI_PM1_GBL_STS 0x0020
#define ACPI_PM1_PWRBTN_STS 0x0100
#define ACPI_PM1_SLPBTN_STS 0x0200
#define ACPI_PM1_RTC_STS 0x0400
#define ACPI_PM1_WAK_STS 0x8000
/* PM1_EN (Table 4.12): the enable for each status bit sits at its place. */
#define ACPI_PM1_TMR_EN 0x0001
#define ACPI_PM1_GBL_EN 0x0020
#define ACPI_PM1_PWRBTN_EN 0x0100
#define ACPI_PM1_SLPBTN_EN 0x0200
#define ACPI_PM1_RTC_EN 0x0400
/* PM1_CNT (Table 4.13). */
#define ACPI_PM1_SCI_EN 0x0001
#define ACPI_PM1_BM_RLD 0x0002
#define ACPI_PM1_GBL_RLS 0x0004 /* write-only */
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK 0x1c00
#define ACPI_PM1_SLP_EN 0x2000 /* write-only */

/* SLP_TYP values of the PIIX4 (its PMCNTRL SUS_TYP field), which the
 * guest's DSDT puts in \_S5 and friends. */
#define ACPI_PM_SLP_TYP_S5 0 /* soft off */
#define ACPI_PM_SLP_TYP_S3 1 /* suspend to RAM: not supported */
#define ACPI_PM_SLP_TYP_S0 5 /* working */

#define ACPI_PM_TIMER_HZ 3579545u

#define ACPI_PM_RESET_PORT 0xcf9
#define ACPI_PM_RESET_VALUE 0x06 /* the FADT's RESET_VALUE: hard reset */

struct acpi_pm {
    u16 base;
    unsigned sci_gsi;
    u16 sts, en, cnt;
    u8 reset_ctl;              /* 0xCF9 */
    u64 epoch;                 /* ns at which the PM timer read 0 */
    struct dm_rate_count tick_count; /* the ticks since epoch, from a kept whole second (pm_ticks) */
    struct dm_timer msb_timer; /* the next toggle of the timer's bit 31 */
    bool sci_level;
    unsigned sleeps_ignored;   /* SLP_EN writes for a state other than S5 (for the core's trace) */
    void (*poweroff)(void *ctx);
    void (*reset)(void *ctx);
    void *ctx;
    struct dm_env *env;
};

/* Claims base .. base+7 and the timer at base+8 .. base+11 (width 4),
 * and port 0xCF9 (width 1). poweroff is
 * called when the guest enters S5, reset when it writes the reset
 * register. The SCI is level-triggered, active high on sci_gsi. */
bool acpi_pm_init(struct acpi_pm *pm, struct dm_env *env, u16 base, unsigned sci_gsi, void (*poweroff)(void *ctx),
                  void (*reset)(void *ctx), void *ctx);
void acpi_pm_reset(struct acpi_pm *pm);
/* The fixed-feature power button is pressed (for the core to ask a guest
 * to shut down): PWRBTN_STS, and an SCI if PWRBTN_EN. */
void acpi_pm_power_button(struct acpi_pm *pm);

#endif
