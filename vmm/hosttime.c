/* See hosttime.h. Timer programming: SDM 3A 11.5.4. The 8254 is used only
 * here, before any guest exists (Intel 8254 datasheet; PC port 61h). */
#include "hosttime.h"
#include "console.h"
#include "cpu.h"
#include "percpu.h"
#include "x86.h"

#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3e0
#define LVT_MASKED BIT(16)
#define DIVIDE_BY_1 0xb

#define PIT_HZ 1193182u
#define CALIBRATION_MS 10u

static struct {
    u64 tsc_khz;
    u64 apic_khz;
    u64 apic_per_tsc; /* 32.32 fixed point: no 128-bit division in a freestanding build */
} ht;

/* How long (TSC ticks) to wait for OUT2 before giving a measurement up:
 * 2^32 is more than 10 ms on any TSC slower than 400 GHz, and a few
 * seconds at most on a real one. Once, on QEMU 7.2 TCG on a loaded host,
 * OUT2 never rose and Zazen waited for ever before saying anything
 * (cause not found); now that measurement is taken again. */
#define OUT2_WAIT_TSC (1ull << 32)

/* Counts CALIBRATION_MS on 8254 channel 2 in mode 0 (interrupt on
 * terminal count), gated through port 61h bit 0, and watches OUT2 in
 * port 61h bit 5 (as BIOSes and Linux do). Gives the TSC and APIC timer
 * ticks seen over that time; false if OUT2 did not rise. */
static bool calibrate(u64 *tsc_ticks, u64 *apic_ticks)
{
    u16 count = (u16)(PIT_HZ * CALIBRATION_MS / 1000);
    outb(0x61, (u8)((inb(0x61) & ~0x02) | 0x01)); /* gate on, speaker off */
    outb(0x43, 0xb0);                              /* channel 2, lo/hi byte, mode 0, binary */
    hostapic_write(LAPIC_TIMER_DIVIDE, DIVIDE_BY_1);
    hostapic_write(LAPIC_LVT_TIMER, LVT_MASKED | HOST_TIMER_VECTOR);
    outb(0x42, (u8)count);
    u64 t0 = rdtsc();
    hostapic_write(LAPIC_TIMER_INITIAL, 0xffffffff);
    outb(0x42, (u8)(count >> 8)); /* counting starts with the high byte */
    while (!(inb(0x61) & 0x20)) {
        if (rdtsc() - t0 > OUT2_WAIT_TSC) {
            hostapic_write(LAPIC_TIMER_INITIAL, 0);
            return false;
        }
        pause();
    }
    u32 remaining = hostapic_read(LAPIC_TIMER_CURRENT);
    u64 t1 = rdtsc();
    hostapic_write(LAPIC_TIMER_INITIAL, 0);
    *tsc_ticks = t1 - t0;
    *apic_ticks = 0xffffffffu - remaining;
    return true;
}

/* A measurement can only come out too long: if the CPU is held up (an
 * SMI, or under an emulator the host running something else) between
 * starting the 8254 and reading the TSC, or before it sees OUT2 rise.
 * So several are taken and the shortest kept. */
#define CALIBRATION_RUNS 5

void hosttime_init(void)
{
    hostapic_init_boot();
    u64 tsc = ~0ull, apic = 0;
    for (unsigned i = 0; i < CALIBRATION_RUNS; i++) {
        u64 t, a;
        if (!calibrate(&t, &a)) {
            kprintf("zazen: the 8254's OUT2 (port 61h bit 5) did not rise in %llu TSC ticks; measuring again\n",
                    (unsigned long long)OUT2_WAIT_TSC);
            continue;
        }
        if (t < tsc) {
            tsc = t;
            apic = a;
        }
    }
    if (tsc == ~0ull)
        panic("cannot calibrate the TSC or APIC timer: the 8254's OUT2 never rose in %u measurements",
              CALIBRATION_RUNS);
    ht.tsc_khz = tsc / CALIBRATION_MS;
    ht.apic_khz = apic / CALIBRATION_MS;
    ht.apic_per_tsc = ht.tsc_khz ? (ht.apic_khz << 32) / ht.tsc_khz : 0;
    if (!ht.tsc_khz || !ht.apic_khz)
        panic("cannot calibrate the TSC (%llu) or APIC timer (%llu) against the 8254", (unsigned long long)tsc,
              (unsigned long long)apic);
    kprintf("zazen: host TSC %llu.%03llu MHz, local APIC timer %llu.%03llu MHz (%s)\n",
            (unsigned long long)(ht.tsc_khz / 1000), (unsigned long long)(ht.tsc_khz % 1000),
            (unsigned long long)(ht.apic_khz / 1000), (unsigned long long)(ht.apic_khz % 1000),
            hostapic_x2apic() ? "x2APIC" : "xAPIC");
    hosttime_init_this_cpu();
}

/* The timer's LVT is written once here, one-shot and unmasked: a count
 * of 0 keeps it from firing (SDM 3A 11.5.4: writing 0 to the initial
 * count stops the timer), so arming it is one write of the count. The
 * count is stopped first, so nothing counting from before fires. */
void hosttime_init_this_cpu(void)
{
    hostapic_write(LAPIC_TIMER_DIVIDE, DIVIDE_BY_1);
    hostapic_write(LAPIC_TIMER_INITIAL, 0);
    hostapic_write(LAPIC_LVT_TIMER, HOST_TIMER_VECTOR); /* one-shot, unmasked */
}

u64 host_tsc_khz(void) { return ht.tsc_khz; }

u64 host_tsc_deadline_ms(u64 ms)
{
    u64 khz = host_tsc_khz();
    return rdtsc() + ms * (khz ? khz : 3000000);
}

void host_delay_us(u64 us)
{
    u64 end = rdtsc() + us * ht.tsc_khz / 1000;
    while (rdtsc() < end)
        pause();
}


void host_timer_expired(void)
{
    this_cpu()->timer_deadline = 0;
    this_cpu()->timer_fired = true;
}

void host_timer_stop(void)
{
    hostapic_write(LAPIC_TIMER_INITIAL, 0);
    this_cpu()->timer_deadline = 0;
    this_cpu()->timer_fired = false;
}

void host_timer_arm_tsc(u64 tsc_deadline)
{
    struct percpu *c = this_cpu();
    if (tsc_deadline == ~0ull) {
        if (c->timer_deadline)
            host_timer_stop();
        return;
    }
    c->timer_fired = false;
    /* Most exits leave the next deadline where it was: while the one-shot
     * still counts towards it, leave it alone. The timer interrupt's
     * handler forgets the deadline (host_interrupt), so one that fired
     * (even in a world switch's interrupt window, after an exit of another
     * reason) is armed again. Writing the timer costs more than this test,
     * and under nested virtualization each write is an exit of its own. */
    if (tsc_deadline == c->timer_deadline)
        return;
    u64 now = rdtsc();
    u64 delta_tsc = tsc_deadline > now ? tsc_deadline - now : 0;
    /* APIC ticks = TSC ticks * apic_khz / tsc_khz, at least 1 so it fires. */
    u64 ticks = (u64)(((unsigned __int128)delta_tsc * ht.apic_per_tsc) >> 32);
    if (ticks == 0)
        ticks = 1;
    if (ticks > 0xffffffffu)
        ticks = 0xffffffffu; /* fires early; the scheduler simply arms it again */
    hostapic_write(LAPIC_TIMER_INITIAL, (u32)ticks); /* the LVT: hosttime_init_this_cpu */
    c->timer_deadline = tsc_deadline; /* cut short, it reaches 0 early and is armed again */
}

void host_wait_for_interrupt(void)
{
    /* STI takes effect after the next instruction, so no interrupt can
     * slip in between it and HLT (SDM 2B STI). */
    __asm__ volatile("sti; hlt; cli" ::: "memory");
}
