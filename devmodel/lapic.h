/* The local APIC of one vCPU, in xAPIC mode (memory-mapped registers)
 * or x2APIC mode (MSRs 800H-8FFH, SDM 3A 11.12).
 * SDM 3A chapter 11, "Advanced Programmable Interrupt Controller (APIC)".
 *
 * The lapic has no CPU: before entering the guest the core asks
 * lapic_pending() for the vector to inject and tells lapic_ack() it did;
 * it polls lapic_take_nmi()/_init()/_sipi()/_extint() for the interrupts
 * that bypass the IRR (SDM 3A 11.8.4 note), and lapic_passes_extint() for
 * whether the 8259's INTR may reach the CPU at all. */
#ifndef ZAZEN_DEVMODEL_LAPIC_H
#define ZAZEN_DEVMODEL_LAPIC_H

#include "devmodel.h"
#include "apic.h"

#define LAPIC_DEFAULT_BASE 0xfee00000ull
#define LAPIC_MMIO_SIZE 0x1000ull

/* The timer's input clock, before the divide configuration register.
 * The SDM leaves it model specific (the bus clock, or the core crystal
 * clock that CPUID leaf 15H reports); guests measure it against the PIT or
 * the TSC. 1 GHz makes one input tick one nanosecond of the virtual clock,
 * so counts and deadlines convert exactly, with no rounding and no
 * division on the timer's path. */
#define LAPIC_TIMER_HZ 1000000000u

/* IA32_APIC_BASE (MSR 1BH), SDM 3A 11.4.4, Figure 11-5. */
#define LAPIC_BASE_BSP BIT(8)
#define LAPIC_BASE_EXTD BIT(10) /* x2APIC enable (11.12.1) */
#define LAPIC_BASE_EN BIT(11)   /* APIC global enable */

/* ICR destination shorthands, bits 19:18 (SDM 3A 11.6.1, Figure 11-12). */
#define LAPIC_SHORTHAND_NONE 0u
#define LAPIC_SHORTHAND_SELF 1u
#define LAPIC_SHORTHAND_ALL_INCLUDING_SELF 2u
#define LAPIC_SHORTHAND_ALL_EXCLUDING_SELF 3u

struct lapic;

/* The system bus between the local APICs of an SMP platform (devmodel/
 * pc.c): the platform routes what an ICR sends, is told when an APIC
 * gets something its CPU must look at (so the core can wake or kick that
 * vCPU), and owns the shared MMIO page, routing each access to the APIC
 * of the CPU that makes it (every CPU sees its own APIC at the same
 * address, SDM 3A 11.4.1). Without one, an APIC is alone: IPIs reach
 * itself only and it claims its page on the bus. */
struct lapic_system_bus {
    void (*send_ipi)(void *ctx, struct lapic *from, const struct apic_message *m, unsigned shorthand);
    void (*signal)(void *ctx, struct lapic *to);
    /* Where an APIC's page now is (IA32_APIC_BASE may move it, SDM 3A
     * 11.4.5): the platform answers at every page some APIC claims, and
     * each access goes to the accessing CPU's APIC if it is there. False:
     * the page cannot be had (another device's). */
    bool (*claim_page)(void *ctx, u64 base);
    void (*release_page)(void *ctx, u64 base);
    void *ctx;
};

/* The local vector table entries: CMCI, timer, thermal, performance
 * counters, LINT0, LINT1, error (SDM 3A 11.5.1). */
#define LAPIC_LVT_ENTRIES 7

struct lapic {
    /* Registers, as the guest reads them unless said otherwise. */
    u32 id;           /* APIC ID in bits 31:24 */
    u32 tpr, ldr, svr;
    u32 dfr_model;    /* DFR bits 31:28; bits 27:0 read as ones */
    u32 irr[8], isr[8], tmr[8]; /* 256 bits each, vector n at bit n%32 of word n/32 */
    /* Which words of irr and isr have a bit set (bit i: word i), kept with
     * them: "nothing requested" and "nothing in service" without a scan,
     * and the highest vector in two bit scans (as KVM keeps its ISR count
     * and highest-ISR cache), on the EOI's and each delivery's way. */
    u8 irr_words, isr_words;
    u32 esr;          /* what the last ESR write latched */
    u32 esr_pending;  /* errors seen since the last ESR write */
    bool error_armed; /* may raise the LVT error interrupt (rearmed by an ESR write) */
    u32 icr_lo, icr_hi;
    u32 icr_dest32;   /* x2APIC mode: ICR bits 63:32, the destination (11.12.9) */
    u32 lvt[LAPIC_LVT_ENTRIES]; /* in the order above */
    u32 timer_initial, timer_divide;

    /* The timer. The same dm_timer serves one-shot and TSC-deadline mode
     * (they exclude each other); periodic mode runs on dm_periodic. */
    u64 count_ns;     /* ns per count at the divisor latched when counting started */
    struct dm_timer timer;
    struct dm_periodic periodic;
    u64 tsc_deadline; /* IA32_TSC_DEADLINE; 0: disarmed */
    /* How far the CPU's TSC runs ahead of the device clock's TSC
     * (IA32_TSC_ADJUST, lapic_set_tsc_adjust): a deadline is the CPU's
     * TSC value, compared with its own TSC (SDM 3A 11.5.4.1). The CPU's,
     * not the APIC's: no reset of the APIC changes it. */
    s64 tsc_adjust;

    /* Inputs and what bypasses the IRR, for the core to take. */
    bool lint_level[2]; /* LINT0, LINT1 as driven by the platform */
    u8 nmi_pending; /* NMIs waiting: 0 to 2 (latch_nmi) */
    bool init_pending, sipi_pending, extint_pending;
    u8 sipi_vector;

    u64 apic_base;    /* IA32_APIC_BASE */
    u64 mmio_base;    /* where the page is claimed, while mmio_claimed */
    bool mmio_claimed;
    /* MAXPHYADDR for the reserved-bit check of IA32_APIC_BASE: 52 (the
     * architectural maximum) after lapic_init; the platform may lower it
     * to what CPUID 80000008H reports to the guest. */
    u8 maxphyaddr;
    /* x2APIC mode is offered (CPUID.1:ECX.x2APIC): true after lapic_init;
     * without it IA32_APIC_BASE.EXTD is reserved (11.12.1). */
    bool x2apic_offered;

    u8 reset_id;      /* the APIC ID RESET restores */
    unsigned index;   /* its CPU's number on the platform (lapic_init_on_bus) */
    const struct lapic_system_bus *system_bus; /* NULL: alone */
    bool bsp;
    void (*eoi_broadcast)(void *ctx, u8 vector);
    /* A vector whose EOI the platform must see, so never a quiet one
     * (0: none; 0-15 are never in service, 11.5.2): the PIT's IRQ0
     * through the I/O APIC, whose acknowledgement releases the next owed
     * tick (pit_hold_irq0). */
    u8 eoi_watch;
    void *ctx;
    struct dm_env *env;
};

/* Claims the MMIO page at 0xFEE00000; false if it cannot. The lapic must
 * not move in memory afterwards (its timers point into it). */
bool lapic_init(struct lapic *l, struct dm_env *env, u8 apic_id, bool bsp,
                void (*eoi_broadcast)(void *ctx, u8 vector), void *ctx);
/* The same for one APIC of several on a system bus: the platform owns
 * the MMIO pages (claim_page, lapic_page_read/_write) and routes IPIs. */
bool lapic_init_on_bus(struct lapic *l, struct dm_env *env, u8 apic_id, bool bsp,
                       void (*eoi_broadcast)(void *ctx, u8 vector), void *ctx,
                       const struct lapic_system_bus *system_bus, unsigned index);
/* An access to the APIC page by this APIC's CPU (on a system bus). False
 * from lapic_page_read when the APIC does not answer there (disabled, or
 * moved elsewhere): the access goes nowhere. */
bool lapic_page_read(struct lapic *l, u64 addr, u8 size, u64 *value);
void lapic_page_write(struct lapic *l, u64 addr, u8 size, u64 value);
/* INIT (SDM 3A 11.4.7.3): the registers as after RESET but the APIC ID
 * and base, and a start-up IPI that is waiting stays. */
void lapic_init_ipi(struct lapic *l);
/* 11.6.2.4: the arbitration priority, for lowest-priority delivery. */
u32 lapic_arbitration_priority(const struct lapic *l);

/* The state after RESET (SDM 3A 11.4.7.1), IA32_APIC_BASE included. */
void lapic_reset(struct lapic *l);

/* IA32_APIC_BASE (RDMSR/WRMSR 1BH). lapic_set_base returns false for a
 * write that must #GP: reserved bits, or a transition SDM 3A 11.12.5
 * forbids (EXTD without EN; x2APIC to xAPIC; disabled to x2APIC).
 * The BSP flag is read-only. Moving the base moves the MMIO page;
 * clearing EN hardware-disables the APIC (and returns its registers to
 * the reset state, SDM 3A 11.4.3); setting EXTD enters x2APIC mode, where
 * the MMIO page no longer answers. Also false (state unchanged) if the
 * new page overlaps another device's range on the bus. */
u64 lapic_get_base(const struct lapic *l);
bool lapic_set_base(struct lapic *l, u64 value);

/* Accepts a message addressed to this APIC (the caller routes; see
 * lapic_matches_dest). Fixed and lowest priority go to the IRR (and TMR
 * for level); NMI, INIT, SIPI and ExtINT are recorded for the core; SMI is
 * dropped (no SMM). */
void lapic_deliver(struct lapic *l, const struct apic_message *m);
/* Is this APIC a destination of the message? SDM 3A 11.6.2 (xAPIC),
 * 11.12.9 and 11.12.10 (x2APIC: 32-bit physical IDs, logical cluster
 * destinations). lapic_matches_dest is the same for an 8-bit destination. */
bool lapic_accepts(const struct lapic *l, const struct apic_message *m);
bool lapic_matches_dest(const struct lapic *l, bool logical, u8 dest);

/* x2APIC mode (SDM 3A 11.12): IA32_APIC_BASE EN and EXTD both set. */
static inline bool lapic_x2apic_mode(const struct lapic *l)
{
    return (l->apic_base & (LAPIC_BASE_EN | LAPIC_BASE_EXTD)) == (LAPIC_BASE_EN | LAPIC_BASE_EXTD);
}
/* The IRR's and the ISR's words with their summary (struct lapic:
 * irr_words, isr_words). The highest vector set, or -1: the
 * highest-priority one (11.8.3); the highest non-zero word is the
 * summary's highest bit. */
static inline int lapic_vec_highest(const u32 r[8], u8 words)
{
    if (!words)
        return -1;
    int i = 31 - __builtin_clz(words);
    return i * 32 + 31 - __builtin_clz(r[i]);
}

static inline bool lapic_vec_test(const u32 r[8], u8 v) { return r[v / 32] & (1u << (v % 32)); }

/* These two keep the summary true (the one setter and the one clearer
 * of the IRR and the ISR). */
static inline void lapic_vec_set_summed(u32 r[8], u8 *words, u8 v)
{
    r[v / 32] |= 1u << (v % 32);
    *words |= (u8)(1u << (v / 32));
}

static inline void lapic_vec_clear_summed(u32 r[8], u8 *words, u8 v)
{
    r[v / 32] &= ~(1u << (v % 32));
    if (!r[v / 32])
        *words &= (u8)~(1u << (v / 32));
}

/* An EOI (11.8.5) that changes nothing but the ISR: nothing requested
 * (IRR empty, so none can become deliverable as the PPR drops,
 * 11.8.3.1), and the interrupt it ends, if any, edge-triggered (no
 * EOI message to the I/O APICs, no LINT0 remote IRR) and not one the
 * platform watches (eoi_watch). Carries it out and returns true; false
 * leaves everything as it was, for the full EOI. Inline: the fast way
 * asks it on each x2APIC EOI (vmm/msr.c fast_msr_write). */
static inline bool lapic_quiet_eoi(struct lapic *l)
{
    if (l->irr_words)
        return false;
    int v = lapic_vec_highest(l->isr, l->isr_words);
    if (v < 0)
        return true; /* an EOI with no interrupt in service does nothing */
    if (lapic_vec_test(l->tmr, (u8)v) || (l->eoi_watch && v == l->eoi_watch))
        return false;
    lapic_vec_clear_summed(l->isr, &l->isr_words, (u8)v);
    return true;
}

/* The same for an x2APIC EOI (WRMSR 80BH): only in x2APIC mode. */
static inline bool lapic_x2apic_quiet_eoi(struct lapic *l) { return lapic_x2apic_mode(l) && lapic_quiet_eoi(l); }

/* The x2APIC ID: the initial APIC ID, 32 bits (11.12.5.1; CPUID 0BH EDX). */
static inline u32 lapic_x2apic_id(const struct lapic *l) { return l->reset_id; }

/* The x2APIC registers, MSRs 800H-8FFH (11.12.1.2, Table 11-6). Both
 * return false for an access that must #GP: any access outside x2APIC
 * mode, a reserved address (80EH, 831H, ...), a read of a write-only
 * register (EOI, SELF IPI), a write to a read-only one, a write setting a
 * reserved bit (11.12.1.3, bits 63:32 of all but the ICR), a non-zero
 * write to EOI or ESR. */
#define X2APIC_MSR_FIRST 0x800u
#define X2APIC_MSR_LAST 0x8ffu
bool lapic_msr_read(struct lapic *l, u32 msr, u64 *value);
bool lapic_msr_write(struct lapic *l, u32 msr, u64 value);
/* lapic_quiet_eoi for a write of size bytes at guest-physical addr, the xAPIC
 * EOI register when this APIC's page is there (11.4.1, 11.8.5): true if
 * it was such an EOI and is done, as the MMIO write would have done it. */
bool lapic_xapic_quiet_eoi(struct lapic *l, u64 addr, u8 size);
/* Does a write of size bytes at addr reach this APIC's timer
 * initial-count register (11.5.4), by the same rules? Then
 * lapic_write_timer_count does what the MMIO write would: the count
 * starts (0 stops it; ignored in TSC-deadline mode). */
bool lapic_xapic_timer_count_at(const struct lapic *l, u64 addr, u8 size);
void lapic_write_timer_count(struct lapic *l, u32 value);

/* The vector the CPU should take now (highest IRR whose priority class is
 * above the PPR's), or -1. */
int lapic_pending(const struct lapic *l);
/* The CPU takes vector: IRR to ISR (the PPR follows). */
void lapic_ack(struct lapic *l, u8 vector);

/* The local interrupt pins: LINT0 (the 8259's INTR) and LINT1 (NMI),
 * as the platform drives them. pin is 0 or 1. */
void lapic_set_lint(struct lapic *l, unsigned pin, bool level);
/* May the 8259's INTR reach the CPU? True when the APIC is
 * hardware-disabled, or LINT0 is unmasked with delivery mode ExtINT
 * (virtual-wire mode). */
bool lapic_passes_extint(const struct lapic *l);
/* Is the vector requested (IRR) or in service (ISR) here? */
static inline bool lapic_vector_pending_or_in_service(const struct lapic *l, u8 v)
{
    return ((l->irr[v / 32] | l->isr[v / 32]) >> (v % 32)) & 1;
}

/* What bypasses the IRR, each consumed by the call. */
bool lapic_take_nmi(struct lapic *l);    /* LINT1 in NMI mode, an NMI message or IPI */
static inline bool lapic_nmi_waiting(const struct lapic *l) { return l->nmi_pending != 0; }
/* While the CPU's NMI handler runs it holds one NMI, not two (6.7.1). */
void lapic_hold_one_nmi(struct lapic *l);
bool lapic_take_init(struct lapic *l);   /* an INIT message: the core resets the vCPU */
int lapic_take_sipi(struct lapic *l);    /* a start-up message: its vector, or -1 */
bool lapic_take_extint(struct lapic *l); /* an ExtINT message: the core asks the 8259 for the vector */

/* The task-priority register, also the guest's CR8 (TPR[7:4] = CR8[3:0],
 * SDM 3A 11.8.6.1): the core keeps the two one value (vmm/tpr.c). */
static inline u8 lapic_get_tpr(const struct lapic *l) { return (u8)l->tpr; }
void lapic_set_tpr(struct lapic *l, u8 tpr);
/* The priority class of the highest requested interrupt if only the TPR
 * holds it back (a lower TPR would let it through), else 0. Asked before
 * every entry: nothing requested is the common answer, without a call. */
u8 lapic_tpr_threshold_slow(const struct lapic *l);
static inline u8 lapic_tpr_threshold(const struct lapic *l) { return l->irr_words ? lapic_tpr_threshold_slow(l) : 0; }

/* IA32_TSC_DEADLINE (MSR 6E0H), SDM 3A 11.5.4.1. */
u64 lapic_read_tsc_deadline(const struct lapic *l);
void lapic_write_tsc_deadline(struct lapic *l, u64 tsc);
/* The CPU's TSC now runs adjust ahead of the device clock's: an armed
 * deadline keeps its TSC value, which comes sooner or later (or has
 * passed, and it fires). */
void lapic_set_tsc_adjust(struct lapic *l, s64 adjust);

#endif
