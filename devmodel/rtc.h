/* The PC's real-time clock and CMOS RAM: a Motorola MC146818A at ports
 * 0x70 (index) and 0x71 (data), on IRQ 8. Datasheet: Motorola MC146818A
 * "CMOS Real-Time Clock plus RAM (RTC)". See rtc.c for what is modelled. */
#ifndef ZAZEN_DEVMODEL_RTC_H
#define ZAZEN_DEVMODEL_RTC_H

#include "devmodel.h"

#define RTC_INDEX_PORT 0x70
#define RTC_DATA_PORT 0x71
#define RTC_GSI 8
#define RTC_REGISTERS 128 /* the PC's 128-byte CMOS: 14 clock registers, then RAM */
#define RTC_NVRAM_FIRST 0x0e
#define RTC_CENTURY 0x32  /* the century byte (IBM AT convention; ACPI FADT CENTURY) */

struct rtc_time { u16 year; u8 month, day, hour, minute, second; }; /* binary, 24 h; year e.g. 2026 */

struct rtc {
    /* The calendar, kept in binary and 24 h; registers 0x00-0x09 and the
     * century byte show it in the format register B asks for. */
    u8 second, minute, hour, weekday, day, month, year, century;
    u8 alarm[3];      /* alarm seconds, minutes, hours: as written */
    u8 reg_a;         /* bits 6:0 (UIP is computed) */
    u8 reg_b;
    u8 flags;         /* register C: PF, AF, UF (IRQF is computed) */
    u8 index;         /* port 0x70 bits 6:0 */
    bool nmi_masked;  /* port 0x70 bit 7 */
    bool fall_back_done; /* DSE: the October hour was repeated today */
    bool irq_level;
    u8 nvram[RTC_REGISTERS]; /* 0x0E-0x7F (the century byte is kept above) */

    u64 divider_origin; /* virtual ns when the divider chain last started */
    u64 next_update;    /* virtual ns of the next update cycle */
    u64 pf_seen;        /* periodic boundaries already reflected in PF (while PIE = 0) */
    struct dm_timer update_timer; /* armed while UIE or AIE needs the update on time */
    struct dm_periodic periodic;  /* ticking while PIE = 1 */
    struct dm_env *env;
};

/* at_start is the time at virtual time 0; claims 0x70-0x71, width 1. */
bool rtc_init(struct rtc *r, struct dm_env *env, const struct rtc_time *at_start);
/* The RESET pin: keeps the time, the NVRAM and the data format; clears the
 * interrupt enables and flags and lowers IRQ 8. */
void rtc_reset(struct rtc *r);
/* CMOS RAM 0x0E-0x7F for the platform (memory size, equipment, ...);
 * other indices are ignored (write) or read as 0. RTC_CENTURY is the
 * century register, in the data format register B selects. */
void rtc_nvram_write(struct rtc *r, u8 index, u8 value);
u8 rtc_nvram_read(const struct rtc *r, u8 index);
/* Port 0x70 bit 7 as the guest last wrote it: NMIs masked. */
bool rtc_nmi_masked(const struct rtc *r);

#endif
