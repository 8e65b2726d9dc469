/* See hosttime.h. The local APIC is used in xAPIC mode through its MMIO
 * page, or through MSRs if the firmware left it in x2APIC mode (SDM 3A
 * 11.4, 11.12). Timer programming: SDM 3A 11.5.4. The 8254 is used only
 * here, before any guest exists (Intel 8254 datasheet; PC port 61h). */
#include "hosttime.h"
#include "console.h"
#include "cpu.h"
#include "x86.h"

#define APIC_BASE_EXTD BIT(10) /* x2APIC mode */
#define APIC_BASE_EN BIT(11)
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3e0
#define SVR_ENABLE BIT(8)
#define LVT_MASKED BIT(16)
#define DIVIDE_BY_1 0xb

#define PIT_HZ 1193182u
#define CALIBRATION_MS 10u

static struct {
    volatile u32 *mmio; /* NULL in x2APIC mode */
    u64 tsc_khz;
    u64 apic_khz;
    u64 apic_per_tsc; /* 32.32 fixed point: no 128-bit division in a freestanding build */
    u64 armed_deadline; /* the TSC deadline the one-shot counts towards; 0: none (or it fired) */
    bool fired;         /* a host timer interrupt came since the last arming */
} ht;

static u32 lapic_read(u32 reg)
{
    return ht.mmio ? ht.mmio[reg / 4] : (u32)rdmsr(0x800 + reg / 16);
}

static void lapic_write(u32 reg, u32 value)
{
    if (ht.mmio)
        ht.mmio[reg / 4] = value;
    else
        wrmsr(0x800 + reg / 16, value);
}

void host_lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

/* The rule that keeps every tick: a host timer interrupt, however it
 * arrives (through the IDT, e.g. on AMD-V at the STGI after any #VMEXIT,
 * or acknowledged by a VT-x external-interrupt exit), means the deadline
 * it was armed for is due and no one-shot counts any more. Forgetting
 * the armed deadline makes the next host_timer_arm_tsc arm it again, and
 * host_timer_fired tells the run loop that this exit, whatever its
 * reason, must take the whole way (device time, delivery, re-arming). */
void host_timer_interrupt(void)
{
    host_lapic_eoi();
    ht.armed_deadline = 0;
    ht.fired = true;
}

bool host_timer_fired(void) { return ht.fired; }

/* Counts CALIBRATION_MS on 8254 channel 2 in mode 0 (interrupt on
 * terminal count), gated through port 61h bit 0, and watches OUT2 in
 * port 61h bit 5 (as BIOSes and Linux do). Returns the TSC and APIC timer
 * ticks seen over that time. */
static void calibrate(u64 *tsc_ticks, u64 *apic_ticks)
{
    u16 count = (u16)(PIT_HZ * CALIBRATION_MS / 1000);
    outb(0x61, (u8)((inb(0x61) & ~0x02) | 0x01)); /* gate on, speaker off */
    outb(0x43, 0xb0);                              /* channel 2, lo/hi byte, mode 0, binary */
    lapic_write(LAPIC_TIMER_DIVIDE, DIVIDE_BY_1);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | HOST_TIMER_VECTOR);
    outb(0x42, (u8)count);
    u64 t0 = rdtsc();
    lapic_write(LAPIC_TIMER_INITIAL, 0xffffffff);
    outb(0x42, (u8)(count >> 8)); /* counting starts with the high byte */
    while (!(inb(0x61) & 0x20))
        pause();
    u32 remaining = lapic_read(LAPIC_TIMER_CURRENT);
    u64 t1 = rdtsc();
    lapic_write(LAPIC_TIMER_INITIAL, 0);
    *tsc_ticks = t1 - t0;
    *apic_ticks = 0xffffffffu - remaining;
}

void hosttime_init(void)
{
    u64 base = rdmsr(MSR_IA32_APIC_BASE);
    if (!(base & APIC_BASE_EN))
        wrmsr(MSR_IA32_APIC_BASE, base |= APIC_BASE_EN);
    ht.mmio = (base & APIC_BASE_EXTD) ? NULL : (volatile u32 *)(uintptr_t)(base & 0xfffff000ull);
    lapic_write(LAPIC_SVR, SVR_ENABLE | HOST_SPURIOUS_VECTOR);
    u64 tsc, apic;
    calibrate(&tsc, &apic);
    ht.tsc_khz = tsc / CALIBRATION_MS;
    ht.apic_khz = apic / CALIBRATION_MS;
    ht.apic_per_tsc = ht.tsc_khz ? (ht.apic_khz << 32) / ht.tsc_khz : 0;
    if (!ht.tsc_khz || !ht.apic_khz)
        panic("cannot calibrate the TSC (%llu) or APIC timer (%llu) against the 8254", (unsigned long long)tsc,
              (unsigned long long)apic);
    kprintf("zazen: host TSC %llu.%03llu MHz, local APIC timer %llu.%03llu MHz (%s)\n",
            (unsigned long long)(ht.tsc_khz / 1000), (unsigned long long)(ht.tsc_khz % 1000),
            (unsigned long long)(ht.apic_khz / 1000), (unsigned long long)(ht.apic_khz % 1000),
            ht.mmio ? "xAPIC" : "x2APIC");
}

u64 host_tsc_khz(void) { return ht.tsc_khz; }

void host_timer_stop(void)
{
    lapic_write(LAPIC_TIMER_INITIAL, 0);
    ht.armed_deadline = 0;
    ht.fired = false;
}

void host_timer_arm_tsc(u64 tsc_deadline)
{
    if (tsc_deadline == ~0ull) {
        host_timer_stop();
        return;
    }
    ht.fired = false;
    /* Most exits leave the next deadline where it was: while the one-shot
     * still counts towards it, leave it alone. Writing the timer costs
     * more than reading it, and under nested virtualization each write is
     * an exit of its own. Once the count reaches zero the interrupt is
     * raised (SDM 3A 11.5.4) and host_timer_interrupt forgets the
     * deadline, so a one-shot that has run out is always armed again. */
    if (tsc_deadline == ht.armed_deadline && lapic_read(LAPIC_TIMER_CURRENT) != 0)
        return;
    u64 now = rdtsc();
    u64 delta_tsc = tsc_deadline > now ? tsc_deadline - now : 0;
    /* APIC ticks = TSC ticks * apic_khz / tsc_khz, at least 1 so it fires. */
    u64 ticks = (u64)(((unsigned __int128)delta_tsc * ht.apic_per_tsc) >> 32);
    if (ticks == 0)
        ticks = 1;
    if (ticks > 0xffffffffu)
        ticks = 0xffffffffu; /* fires early; the run loop simply arms it again */
    lapic_write(LAPIC_LVT_TIMER, HOST_TIMER_VECTOR); /* one-shot, unmasked */
    lapic_write(LAPIC_TIMER_INITIAL, (u32)ticks);
    ht.armed_deadline = tsc_deadline; /* cut short, it reaches 0 early and is armed again */
}

void host_wait_for_interrupt(void)
{
    /* STI takes effect after the next instruction, so no interrupt can
     * slip in between it and HLT (SDM 2B STI). */
    __asm__ volatile("sti; hlt; cli" ::: "memory");
}
