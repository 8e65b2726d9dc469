/* See hostapic.h. Register offsets: SDM 3A Table 11-1 (xAPIC) and 11-6
 * (x2APIC MSR = 800h + offset / 16); the ICR: SDM 3A 11.6.1. */
#include "hostapic.h"
#include "console.h"
#include "cpu.h"
#include "percpu.h"
#include "x86.h"

#define APIC_BASE_EXTD BIT(10) /* x2APIC mode */
#define APIC_BASE_EN BIT(11)

#define LAPIC_ID 0x20
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define SVR_ENABLE BIT(8)

#define ICR_FIXED (0u << 8)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_DELIVERY_PENDING BIT(12) /* xAPIC only; x2APIC has no such bit */
#define ICR_LEVEL_ASSERT BIT(14)

static volatile u32 *mmio; /* NULL in x2APIC mode */
static bool x2apic;

u32 hostapic_read(u32 reg) { return mmio ? mmio[reg / 4] : (u32)rdmsr(0x800 + reg / 16); }

void hostapic_write(u32 reg, u32 value)
{
    if (mmio)
        mmio[reg / 4] = value;
    else
        wrmsr(0x800 + reg / 16, value);
}

bool hostapic_x2apic(void) { return x2apic; }

void hostapic_init_boot(void)
{
    u64 base = rdmsr(MSR_IA32_APIC_BASE);
    x2apic = (base & APIC_BASE_EXTD) != 0;
    mmio = x2apic ? NULL : (volatile u32 *)(uintptr_t)(base & 0xfffff000ull);
    hostapic_enable_this_cpu();
}

void hostapic_enable_this_cpu(void)
{
    u64 base = rdmsr(MSR_IA32_APIC_BASE);
    /* An AP starts in xAPIC mode after INIT (SDM 3A 11.12.5): put it in
     * the boot CPU's mode; x2APIC is entered from xAPIC-enabled (11.12.1). */
    if (!(base & APIC_BASE_EN))
        wrmsr(MSR_IA32_APIC_BASE, base |= APIC_BASE_EN);
    if (x2apic && !(base & APIC_BASE_EXTD))
        wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EXTD);
    hostapic_write(LAPIC_SVR, SVR_ENABLE | HOST_SPURIOUS_VECTOR);
}

u32 hostapic_id(void)
{
    u32 id = hostapic_read(LAPIC_ID);
    return x2apic ? id : id >> 24;
}

/* One ICR write; xAPIC: destination first, then the low half, which
 * sends; wait until the APIC has taken it (delivery status idle). */
static void send_icr(u32 apic_id, u32 low)
{
    if (x2apic) {
        wrmsr(0x830, (u64)apic_id << 32 | low);
        return;
    }
    hostapic_write(LAPIC_ICR_HIGH, apic_id << 24);
    hostapic_write(LAPIC_ICR_LOW, low);
    for (unsigned spins = 0; (hostapic_read(LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING) && spins < 1000000; spins++)
        pause();
}

void hostapic_send_ipi(u32 apic_id, u8 vector) { send_icr(apic_id, ICR_FIXED | ICR_LEVEL_ASSERT | vector); }

void hostapic_send_init(u32 apic_id) { send_icr(apic_id, ICR_INIT | ICR_LEVEL_ASSERT); }

void hostapic_send_startup(u32 apic_id, u8 vector) { send_icr(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | vector); }

static inline __attribute__((always_inline)) void take_host_interrupt(u8 vector)
{
    /* The one-shot has fired: whatever was armed must be armed again
     * (host_timer_arm_tsc keeps a deadline only while it is pending). */
    if (vector == HOST_TIMER_VECTOR && percpu_ready) {
        this_cpu()->timer_deadline = 0;
        this_cpu()->timer_fired = true;
    }
    if (vector != HOST_SPURIOUS_VECTOR)
        hostapic_write(LAPIC_EOI, 0);
}

void host_interrupt(u8 vector) { take_host_interrupt(vector); }

/* The IDT's handlers for the host timer and the IPI: GCC's x86
 * interrupt attribute saves only the registers the body uses and ends
 * in IRETQ (the CPU pushed SS, RSP, RFLAGS, CS and RIP on a 16-byte
 * aligned stack, and no error code for an interrupt: SDM 3A 6.14.2),
 * where the exceptions' way (trap.asm's full frame of fifteen
 * registers, then trap_dispatch) costs some fifty instructions more.
 * These two come at every wake of an idle or halted CPU, and on AMD-V
 * after each exit the host timer caused (taken once GIF is set). Both
 * come only with the host's IF set, so its own GS is loaded. */
__attribute__((interrupt)) void host_timer_interrupt(struct interrupt_frame *frame)
{
    (void)frame;
    take_host_interrupt(HOST_TIMER_VECTOR);
}

__attribute__((interrupt)) void host_ipi_interrupt(struct interrupt_frame *frame)
{
    (void)frame;
    take_host_interrupt(HOST_IPI_VECTOR);
}
