/* lapic.c: the local APIC, xAPIC and x2APIC modes. Intel SDM Vol. 3A
 * chapter 11, "Advanced Programmable Interrupt Controller (APIC)"; the
 * register map is Table 11-1 (MMIO) and Table 11-6 (x2APIC MSRs, 11.12).
 *
 * MMIO accesses: the SDM (11.4.1) asks for aligned 32-bit accesses and
 * leaves others model specific or undefined. Here a read of any size
 * returns, for each byte, byte 0-3 of the 16-byte slot's register or 0
 * for bytes 4-15; a write counts only if it is 32 bits wide at the start
 * of a slot, and is dropped otherwise. Reserved offsets read as 0 and,
 * read or written, log "illegal register address" in the ESR (11.5.3).
 *
 * Delivery is instantaneous, so the delivery status bits of the ICR and
 * the LVT always read idle, and the spurious vector is never needed: the
 * core calls lapic_pending and lapic_ack back to back, so an interrupt
 * cannot vanish between INTR and INTA (11.9). */
#include "lapic.h"
#include "../vmm/string.h"

/* Register offsets, SDM 3A Table 11-1. */
#define REG_ID 0x020
#define REG_VERSION 0x030
#define REG_TPR 0x080
#define REG_APR 0x090
#define REG_PPR 0x0a0
#define REG_EOI 0x0b0
#define REG_RRD 0x0c0
#define REG_LDR 0x0d0
#define REG_DFR 0x0e0
#define REG_SVR 0x0f0
#define REG_ISR 0x100 /* 8 registers, to 0x170 */
#define REG_TMR 0x180 /* to 0x1f0 */
#define REG_IRR 0x200 /* to 0x270 */
#define REG_ESR 0x280
#define REG_LVT_CMCI 0x2f0
#define REG_ICR_LO 0x300
#define REG_ICR_HI 0x310
#define REG_LVT_TIMER 0x320 /* then thermal, perf, LINT0, LINT1, error, 16 apart */
#define REG_LVT_ERROR 0x370
#define REG_TIMER_INITIAL 0x380
#define REG_TIMER_CURRENT 0x390
#define REG_TIMER_DIVIDE 0x3e0
#define REG_SLOT 16 /* registers sit 16 bytes apart (11.4.1) */
#define REG_BANK_SIZE (8 * REG_SLOT)

/* Version register (11.4.8): version 14H (xAPIC), max LVT entry 5, no
 * EOI-broadcast suppression (bit 24 clear, so SVR bit 12 is reserved). */
#define LAPIC_VERSION 0x00050014u

#define ID_MASK 0xff000000u  /* 11.4.6: 8-bit xAPIC ID in bits 31:24 */
#define LDR_MASK 0xff000000u /* 11.6.2.2: logical APIC ID in bits 31:24 */
#define DFR_MODEL_MASK 0xf0000000u
#define DFR_RESERVED_ONES 0x0fffffffu
#define DFR_MODEL_FLAT 0xf0000000u
#define DFR_MODEL_CLUSTER 0x00000000u
#define TPR_MASK 0xffu

/* Spurious-interrupt vector register, 11.9. */
#define SVR_VECTOR 0xffu
#define SVR_APIC_ENABLE BIT(8)
#define SVR_FOCUS_DISABLE BIT(9)
#define SVR_RESET 0xffu /* 11.4.7.1 */

/* Error status register bits, 11.5.3. */
#define ESR_SEND_ILLEGAL_VECTOR BIT(5)
#define ESR_RECEIVE_ILLEGAL_VECTOR BIT(6)
#define ESR_ILLEGAL_REGISTER BIT(7)

/* LVT entry fields, 11.5.1, Figure 11-8. */
#define LVT_VECTOR 0xffu
#define LVT_DELIVERY_MODE_SHIFT 8
#define LVT_DELIVERY_MODE (7u << LVT_DELIVERY_MODE_SHIFT)
#define LVT_POLARITY_LOW BIT(13)
#define LVT_REMOTE_IRR BIT(14)
#define LVT_TRIGGER_LEVEL BIT(15)
#define LVT_MASKED BIT(16)
#define LVT_TIMER_MODE_SHIFT 17
#define LVT_TIMER_MODE (3u << LVT_TIMER_MODE_SHIFT)
#define TIMER_ONE_SHOT 0u /* Table 11-2 */
#define TIMER_PERIODIC 1u
#define TIMER_TSC_DEADLINE 2u /* 3 is reserved: treated as one-shot */

/* Interrupt command register, 11.6.1, Figure 11-12. */
#define ICR_VECTOR 0xffu
#define ICR_DELIVERY_MODE_SHIFT 8
#define ICR_LOGICAL BIT(11)
#define ICR_LEVEL_ASSERT BIT(14)
#define ICR_TRIGGER_LEVEL BIT(15)
#define ICR_SHORTHAND_SHIFT 18
#define ICR_LO_WRITABLE 0x000ccfffu /* all but delivery status (12) and reserved bits */
#define ICR_HI_DEST_SHIFT 24
#define ICR_HI_WRITABLE 0xff000000u
#define SHORTHAND_NONE LAPIC_SHORTHAND_NONE
#define SHORTHAND_SELF LAPIC_SHORTHAND_SELF
#define SHORTHAND_ALL_INCLUDING_SELF LAPIC_SHORTHAND_ALL_INCLUDING_SELF
#define SHORTHAND_ALL_EXCLUDING_SELF LAPIC_SHORTHAND_ALL_EXCLUDING_SELF

/* Divide configuration register, 11.5.4, Figure 11-10: bits 0, 1 and 3. */
#define DIVIDE_MASK 0xbu

/* 11.5.2: vectors 0-15 are reserved; the APIC refuses them. */
#define FIRST_VALID_VECTOR 16

/* IA32_APIC_BASE bits 0-7 and 9 are reserved (11.4.4, Figure 11-26);
 * bit 10 is EXTD, the x2APIC enable. */
#define BASE_RESERVED_LOW (0xffull | BIT(9))

/* The LVT entries, in the order lvt[] keeps them. */
enum lvt_entry { LVT_CMCI, LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR };
_Static_assert(LVT_ERROR + 1 == LAPIC_LVT_ENTRIES, "one lvt[] slot per entry");

#define NS_PER_TIMER_TICK (NS_PER_SEC / LAPIC_TIMER_HZ)
_Static_assert(NS_PER_SEC % LAPIC_TIMER_HZ == 0, "the timer clock must divide 1 GHz");

/* ---- 256-bit vector registers (IRR, ISR, TMR) ---- */

static void vec_set(u32 r[8], u8 v) { r[v / 32] |= 1u << (v % 32); }
static void vec_clear(u32 r[8], u8 v) { r[v / 32] &= ~(1u << (v % 32)); }

static u32 priority_class(u32 v) { return (v >> 4) & 0xf; }

/* ---- state ---- */

static bool hw_enabled(const struct lapic *l) { return l->apic_base & LAPIC_BASE_EN; }
static bool sw_enabled(const struct lapic *l) { return l->svr & SVR_APIC_ENABLE; }

/* Something arrived that this APIC's CPU must look at: on a system bus
 * the platform hears of it (it may be another CPU's APIC that changed). */
static void signal_cpu(struct lapic *l)
{
    if (l->system_bus)
        l->system_bus->signal(l->system_bus->ctx, l);
}
static u32 timer_mode(const struct lapic *l) { return (l->lvt[LVT_TIMER] & LVT_TIMER_MODE) >> LVT_TIMER_MODE_SHIFT; }
static u32 lvt_delivery_mode(u32 lvt) { return (lvt & LVT_DELIVERY_MODE) >> LVT_DELIVERY_MODE_SHIFT; }

/* PPR, 11.8.3.1: the TPR, or the class of the highest in-service vector
 * if that is higher. */
static u32 lapic_ppr(const struct lapic *l)
{
    int isrv = lapic_vec_highest(l->isr, l->isr_words);
    u32 isr_class = isrv < 0 ? 0 : priority_class((u32)isrv);
    if (priority_class(l->tpr) >= isr_class)
        return l->tpr & TPR_MASK;
    return isr_class << 4;
}

/* APR, 11.6.2.4 (P6 lowest-priority arbitration), computed as the SDM
 * gives it; nothing here arbitrates with it. */
u32 lapic_arbitration_priority(const struct lapic *l)
{
    int irrv = lapic_vec_highest(l->irr, l->irr_words), isrv = lapic_vec_highest(l->isr, l->isr_words);
    u32 tpr_class = priority_class(l->tpr);
    u32 irr_class = irrv < 0 ? 0 : priority_class((u32)irrv);
    u32 isr_class = isrv < 0 ? 0 : priority_class((u32)isrv);
    if (tpr_class >= irr_class && tpr_class > isr_class)
        return l->tpr & TPR_MASK;
    return MAX(tpr_class & isr_class, irr_class) << 4;
}

/* ---- errors (11.5.3) ---- */

static void lapic_accept_fixed(struct lapic *l, u8 vector, bool level);

/* Logs an error; the first one since the ESR was last written raises the
 * LVT error interrupt if it is unmasked (an ESR write rearms it). */
static void lapic_error(struct lapic *l, u32 bit)
{
    u32 lvt = l->lvt[LVT_ERROR];
    l->esr_pending |= bit;
    if (!l->error_armed || (lvt & LVT_MASKED))
        return;
    l->error_armed = false; /* before delivery: an illegal error vector logs again, once */
    lapic_accept_fixed(l, (u8)(lvt & LVT_VECTOR), false);
}

/* The ESR is write-then-read: a write latches the errors seen since the
 * previous write and clears them (the value written does not matter). */
static void lapic_write_esr(struct lapic *l)
{
    l->esr = l->esr_pending;
    l->esr_pending = 0;
    l->error_armed = true;
}

/* ---- accepting interrupts ---- */

/* 11.8.4: a fixed interrupt goes to the IRR; the TMR bit records its
 * trigger mode for the EOI (11.8.5). Vectors 0-15 are refused (11.5.2). */
static void lapic_accept_fixed(struct lapic *l, u8 vector, bool level)
{
    if (vector < FIRST_VALID_VECTOR) {
        lapic_error(l, ESR_RECEIVE_ILLEGAL_VECTOR);
        return;
    }
    if (!lapic_vec_test(l->irr, vector)) {
        lapic_vec_set_summed(l->irr, &l->irr_words, vector);
    }
    if (level)
        vec_set(l->tmr, vector);
    else
        vec_clear(l->tmr, vector);
    signal_cpu(l);
}

/* An NMI for this CPU: at most two wait, one for delivery and one the
 * CPU holds while the first one's handler runs (SDM 3A 6.7.1); KVM's
 * process_nmi allows as many. Two arriving close together (from two
 * CPUs) are two NMIs: kvm-unit-tests' apic "multiple nmi". The core
 * keeps one while the guest's NMI handler runs (lapic_hold_one_nmi). */
static void latch_nmi(struct lapic *l)
{
    if (l->nmi_pending < 2)
        l->nmi_pending++;
}

void lapic_hold_one_nmi(struct lapic *l)
{
    if (l->nmi_pending > 1)
        l->nmi_pending = 1;
}

/* A local interrupt from an LVT entry (11.5.1), edge triggered. The timer
 * and error entries have no delivery mode field: it reads 0, fixed. An
 * ExtINT LINT0 is not signalled here: the 8259's INTR passes through
 * (lapic_passes_extint). */
static void lapic_lvt_signal(struct lapic *l, enum lvt_entry which)
{
    u32 lvt = l->lvt[which];
    if (lvt & LVT_MASKED)
        return;
    switch (lvt_delivery_mode(lvt)) {
    case APIC_DM_FIXED:
        lapic_accept_fixed(l, (u8)(lvt & LVT_VECTOR), false); /* signals */
        return;
    case APIC_DM_NMI:
        latch_nmi(l);
        break;
    case APIC_DM_INIT:
        l->init_pending = true;
        break;
    default: /* SMI: no SMM; ExtINT: see above */
        return;
    }
    signal_cpu(l);
}

void lapic_deliver(struct lapic *l, const struct apic_message *m)
{
    if (!hw_enabled(l)) /* 11.4.3: as a processor without an APIC */
        return;
    switch (m->delivery_mode) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST: /* one vCPU: the lowest-priority one is this one */
        /* 11.4.7.2: software-disabled, the APIC only answers INIT, NMI,
         * SMI and SIPI. */
        if (sw_enabled(l))
            lapic_accept_fixed(l, m->vector, m->level_triggered);
        break;
    case APIC_DM_NMI:
        latch_nmi(l);
        break;
    case APIC_DM_INIT:
        l->init_pending = true;
        break;
    case APIC_DM_STARTUP:
        l->sipi_pending = true;
        l->sipi_vector = m->vector;
        break;
    case APIC_DM_EXTINT:
        if (sw_enabled(l))
            l->extint_pending = true;
        break;
    default: /* SMI (no SMM), reserved modes */
        return;
    }
    if (m->delivery_mode != APIC_DM_FIXED && m->delivery_mode != APIC_DM_LOWEST)
        signal_cpu(l);
}

/* xAPIC mode: 11.6.2.1 (physical) and 11.6.2.2 (logical, flat and
 * cluster models), 8-bit destinations. */
static bool xapic_matches(const struct lapic *l, bool logical, u8 dest)
{
    if (dest == APIC_BROADCAST_8)
        return true;
    if (!logical)
        return dest == l->id >> 24;
    u8 ldr = (u8)(l->ldr >> 24);
    if (l->dfr_model == DFR_MODEL_FLAT)
        return (ldr & dest) != 0;
    if (l->dfr_model == DFR_MODEL_CLUSTER)
        return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xf) != 0;
    return false;
}

/* x2APIC mode: 11.12.9, physical, the 32-bit x2APIC ID; 11.12.10.2,
 * logical, cluster only: bits 31:16 the cluster, bits 15:0 a mask of its
 * members, against the LDR. An 8-bit destination (the I/O APIC's, or
 * MSI's, without interrupt remapping: the SDM does not define it for an
 * x2APIC) is taken as the same value zero-extended, with FFh still the
 * broadcast: physical IDs 0-254 and logical cluster 0, as KVM reads it. */
static bool x2apic_matches(const struct lapic *l, const struct apic_message *m)
{
    u32 dest = m->dest;
    if (dest == (m->wide ? APIC_BROADCAST_32 : APIC_BROADCAST_8))
        return true;
    if (!m->logical)
        return dest == lapic_x2apic_id(l);
    return (dest >> 16) == (l->ldr >> 16) && (dest & l->ldr & 0xffff) != 0;
}

bool lapic_accepts(const struct lapic *l, const struct apic_message *m)
{
    if (lapic_x2apic_mode(l))
        return x2apic_matches(l, m);
    if (m->wide) /* an x2APIC's ICR reaching an xAPIC: its low 8 bits, or broadcast */
        return m->dest == APIC_BROADCAST_32 || (m->dest <= 0xff && xapic_matches(l, m->logical, (u8)m->dest));
    return xapic_matches(l, m->logical, (u8)m->dest);
}

bool lapic_matches_dest(const struct lapic *l, bool logical, u8 dest)
{
    struct apic_message m = {.logical = logical, .dest = dest};
    return lapic_accepts(l, &m);
}

int lapic_pending(const struct lapic *l)
{
    if (!hw_enabled(l) || !l->irr_words)
        return -1;
    int irrv = lapic_vec_highest(l->irr, l->irr_words);
    /* 11.8.3.1: only a priority class above the processor priority's. */
    if (irrv < 0 || priority_class((u32)irrv) <= priority_class(lapic_ppr(l)))
        return -1;
    return irrv;
}

void lapic_set_tpr(struct lapic *l, u8 tpr) { l->tpr = tpr & TPR_MASK; }

u8 lapic_tpr_threshold_slow(const struct lapic *l)
{
    if (!hw_enabled(l) || !l->irr_words)
        return 0;
    int irrv = lapic_vec_highest(l->irr, l->irr_words);
    u32 class = irrv < 0 ? 0 : priority_class((u32)irrv);
    return class && class <= priority_class(l->tpr) ? (u8)class : 0;
}

void lapic_ack(struct lapic *l, u8 vector)
{
    if (!lapic_vec_test(l->irr, vector))
        return;
    lapic_vec_clear_summed(l->irr, &l->irr_words, vector); /* 11.8.4: IRR to ISR on INTA */
    lapic_vec_set_summed(l->isr, &l->isr_words, vector);
}

/* ---- LINT0/LINT1 ---- */

static bool lint_input_active(u32 lvt, bool level) { return level != ((lvt & LVT_POLARITY_LOW) != 0); }

/* 11.5.1: NMI, SMI and INIT are always edge-sensitive, ExtINT always
 * level-sensitive (and passes through), and LINT1 takes edges only; so
 * only a fixed LINT0 can be level triggered. */
static bool lint_is_level(const struct lapic *l, unsigned pin)
{
    u32 lvt = l->lvt[LVT_LINT0 + pin];
    return pin == 0 && (lvt & LVT_TRIGGER_LEVEL) && lvt_delivery_mode(lvt) == APIC_DM_FIXED;
}

/* A level-triggered LINT0 interrupts while asserted, once per EOI: the
 * remote IRR flag is set when the interrupt is accepted and cleared by the
 * EOI of its vector (11.5.1). */
static void lapic_lint_level_check(struct lapic *l, unsigned pin)
{
    u32 *lvt = &l->lvt[LVT_LINT0 + pin];
    if (!lint_is_level(l, pin) || (*lvt & (LVT_MASKED | LVT_REMOTE_IRR)))
        return;
    if (!lint_input_active(*lvt, l->lint_level[pin]))
        return;
    *lvt |= LVT_REMOTE_IRR;
    lapic_accept_fixed(l, (u8)(*lvt & LVT_VECTOR), true);
}

void lapic_set_lint(struct lapic *l, unsigned pin, bool level)
{
    if (pin > 1)
        return;
    bool was = l->lint_level[pin];
    l->lint_level[pin] = level;
    if (!hw_enabled(l)) {
        /* 11.4.3: hardware-disabled, the processor acts as one without an
         * APIC, whose LINT0/LINT1 pins are INTR and NMI. INTR is
         * lapic_passes_extint's business; NMI is taken on the rising edge. */
        if (pin == 1 && level && !was)
            latch_nmi(l);
        return;
    }
    u32 lvt = l->lvt[LVT_LINT0 + pin];
    if (lint_is_level(l, pin))
        lapic_lint_level_check(l, pin);
    else if (lint_input_active(lvt, level) && !lint_input_active(lvt, was))
        lapic_lvt_signal(l, pin == 0 ? LVT_LINT0 : LVT_LINT1);
}

bool lapic_passes_extint(const struct lapic *l)
{
    if (!hw_enabled(l))
        return true;
    u32 lint0 = l->lvt[LVT_LINT0];
    return !(lint0 & LVT_MASKED) && lvt_delivery_mode(lint0) == APIC_DM_EXTINT;
}

static bool take_flag(bool *flag)
{
    bool was = *flag;
    *flag = false;
    return was;
}

bool lapic_take_nmi(struct lapic *l)
{
    if (!l->nmi_pending)
        return false;
    l->nmi_pending--;
    return true;
}
bool lapic_take_init(struct lapic *l) { return take_flag(&l->init_pending); }
bool lapic_take_extint(struct lapic *l) { return take_flag(&l->extint_pending); }

int lapic_take_sipi(struct lapic *l) { return take_flag(&l->sipi_pending) ? l->sipi_vector : -1; }

/* ---- EOI (11.8.5) ---- */

static void lapic_eoi(struct lapic *l)
{
    int v = lapic_vec_highest(l->isr, l->isr_words);
    if (v < 0)
        return;
    lapic_vec_clear_summed(l->isr, &l->isr_words, (u8)v);
    if (!lapic_vec_test(l->tmr, (u8)v))
        return;
    /* A level-triggered interrupt: LINT0's remote IRR clears (11.5.1) and
     * the EOI goes to the I/O APICs (11.8.5). */
    u32 *lint0 = &l->lvt[LVT_LINT0];
    if ((*lint0 & LVT_REMOTE_IRR) && (*lint0 & LVT_VECTOR) == (u32)v) {
        *lint0 &= ~LVT_REMOTE_IRR;
        lapic_lint_level_check(l, 0);
    }
    if (l->eoi_broadcast)
        l->eoi_broadcast(l->ctx, (u8)v);
}

static void lapic_write_initial_count(struct lapic *l, u32 value);

/* A doubleword write at addr reaches register reg of this APIC: it
 * answers at its page (enabled, in xAPIC mode: lapic_map/lapic_unmap keep
 * mmio_claimed) and, on a system bus, that page is the one the platform
 * claims for every CPU's APIC (the default base, devmodel/pc.c). */
static bool xapic_write_reaches(const struct lapic *l, u64 addr, u8 size, u32 reg)
{
    return size == 4 && l->mmio_claimed && !lapic_x2apic_mode(l) && hw_enabled(l) && addr == l->mmio_base + reg &&
           (!l->system_bus || l->mmio_base == LAPIC_DEFAULT_BASE);
}

/* As lapic_mmio_write, a doubleword at the register's offset, any value
 * (11.8.5: only x2APIC mode faults a non-zero EOI). */
bool lapic_xapic_quiet_eoi(struct lapic *l, u64 addr, u8 size)
{
    return xapic_write_reaches(l, addr, size, REG_EOI) && lapic_quiet_eoi(l);
}

bool lapic_xapic_timer_count_at(const struct lapic *l, u64 addr, u8 size)
{
    return xapic_write_reaches(l, addr, size, REG_TIMER_INITIAL);
}

void lapic_write_timer_count(struct lapic *l, u32 value) { lapic_write_initial_count(l, value); }

/* ---- interprocessor interrupts (11.6) ---- */

/* The message the ICR describes: in xAPIC mode the destination is ICR
 * bits 63:56 (11.6.1), in x2APIC mode bits 63:32 (11.12.9). */
static struct apic_message icr_message(const struct lapic *l)
{
    u32 lo = l->icr_lo;
    bool x2 = lapic_x2apic_mode(l);
    return (struct apic_message){
        .vector = (u8)(lo & ICR_VECTOR),
        .delivery_mode = (u8)((lo >> ICR_DELIVERY_MODE_SHIFT) & 7),
        .logical = lo & ICR_LOGICAL,
        .wide = x2,
        .dest = x2 ? l->icr_dest32 : (u8)(l->icr_hi >> ICR_HI_DEST_SHIFT),
        .level_triggered = lo & ICR_TRIGGER_LEVEL,
    };
}

/* Does the ICR address this APIC? 11.6.2 and the shorthands of 11.6.1. */
static bool icr_targets_self(const struct lapic *l, u32 shorthand, const struct apic_message *m)
{
    switch (shorthand) {
    case SHORTHAND_SELF:
    case SHORTHAND_ALL_INCLUDING_SELF:
        return true;
    case SHORTHAND_NONE:
        return lapic_accepts(l, m);
    default:
        return false;
    }
}

/* Table 11-3 (valid ICR combinations): with the self and all-including-
 * self shorthands only fixed, edge-triggered IPIs are valid. Addressed by
 * destination, this APIC also takes lowest priority (it is the only
 * candidate) and NMI. INIT, start-up and SMI to itself are dropped: one
 * vCPU has nobody else to start. */
static bool icr_mode_accepted(u32 shorthand, u32 mode, bool level_trigger)
{
    if (shorthand != SHORTHAND_NONE)
        return mode == APIC_DM_FIXED && !level_trigger;
    return mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST || mode == APIC_DM_NMI;
}

/* A write to the ICR's low dword sends the IPI (11.6.1). Only this
 * APIC is on the bus: IPIs for others are dropped. */
static void lapic_send_ipi(struct lapic *l)
{
    u32 lo = l->icr_lo;
    u32 mode = (lo >> ICR_DELIVERY_MODE_SHIFT) & 7;
    u32 shorthand = (lo >> ICR_SHORTHAND_SHIFT) & 3;
    bool level_trigger = lo & ICR_TRIGGER_LEVEL;
    struct apic_message m = icr_message(l);
    if ((mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) && m.vector < FIRST_VALID_VECTOR)
        lapic_error(l, ESR_SEND_ILLEGAL_VECTOR); /* still sent: the receiver refuses it too */
    if (!icr_targets_self(l, shorthand, &m) || !icr_mode_accepted(shorthand, mode, level_trigger))
        return;
    /* Level-triggered IPIs with the level flag clear are de-asserts: only
     * INIT uses them (11.6.1), and not on xAPIC processors. */
    if (level_trigger && !(lo & ICR_LEVEL_ASSERT))
        return;
    lapic_deliver(l, &m);
}

/* On a system bus: the platform finds the destinations (11.6.2) and
 * delivers. Table 11-3: with the self shorthand only fixed IPIs are
 * valid; SMI is refused (no SMM); a level de-assert (the INIT "level
 * de-assert" of older processors) does nothing on an xAPIC. */
static void lapic_send_ipi_on_bus(struct lapic *l)
{
    u32 lo = l->icr_lo;
    u32 mode = (lo >> ICR_DELIVERY_MODE_SHIFT) & 7;
    u32 shorthand = (lo >> ICR_SHORTHAND_SHIFT) & 3;
    bool level_trigger = lo & ICR_TRIGGER_LEVEL;
    struct apic_message m = icr_message(l);
    m.level_triggered = false; /* IPIs are edges: 11.6.1, trigger mode is for INIT de-assert only */
    if ((mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) && m.vector < FIRST_VALID_VECTOR)
        lapic_error(l, ESR_SEND_ILLEGAL_VECTOR);
    if (level_trigger && !(lo & ICR_LEVEL_ASSERT))
        return;
    if (mode == APIC_DM_SMI || mode == 3 || mode == APIC_DM_EXTINT)
        return;
    if (shorthand == SHORTHAND_SELF && mode != APIC_DM_FIXED)
        return;
    l->system_bus->send_ipi(l->system_bus->ctx, l, &m, shorthand);
}

/* A write to the ICR (its low dword in xAPIC mode) sends. */
static void lapic_icr_send(struct lapic *l)
{
    if (l->system_bus)
        lapic_send_ipi_on_bus(l);
    else
        lapic_send_ipi(l);
}

/* ---- the timer (11.5.4) ---- */

/* Divide configuration (Figure 11-10): bits 3,1:0 = n gives divide by
 * 2^(n+1), and 111b divides by 1. */
static u32 timer_divisor(const struct lapic *l)
{
    u32 n = ((l->timer_divide >> 1) & 4) | (l->timer_divide & 3);
    return 1u << ((n + 1) & 7);
}

static void timer_stop(struct lapic *l)
{
    timer_cancel(l->env->clock, &l->timer);
    periodic_stop(&l->periodic);
}

static bool timer_counting(const struct lapic *l)
{
    switch (timer_mode(l)) {
    case TIMER_PERIODIC:
        return l->periodic.period != 0;
    case TIMER_TSC_DEADLINE:
        return false;
    default:
        return l->timer.armed;
    }
}

/* Counts down from `count` now, at the divisor now configured. */
static void timer_count_from(struct lapic *l, u32 count)
{
    u64 now = clock_now(l->env->clock);
    timer_stop(l);
    l->count_ns = (u64)timer_divisor(l) * NS_PER_TIMER_TICK;
    if (!count)
        return;
    if (timer_mode(l) == TIMER_PERIODIC)
        periodic_start(&l->periodic, now + count * l->count_ns, l->timer_initial * l->count_ns);
    else
        timer_arm(l->env->clock, &l->timer, now + count * l->count_ns);
}

/* The current count, from the time left to the next expiry: it reads the
 * initial count right after the start and reaches 0 at the expiry. */
static u32 timer_current_count(const struct lapic *l)
{
    if (!timer_counting(l))
        return 0;
    u64 now = clock_now(l->env->clock);
    /* Periodic: the next reload, computed from the phase (a masked timer
     * keeps counting with no timer armed, lapic_gate_timer). */
    u64 next = timer_mode(l) == TIMER_PERIODIC ? periodic_next(&l->periodic, now) : l->timer.deadline;
    if (next <= now)
        return 0;
    return (u32)((next - now + l->count_ns - 1) / l->count_ns);
}

/* A masked timer interrupt reaches no one: a periodic timer then keeps
 * counting (the count runs whether the LVT entry is masked or not, SDM 3A
 * 11.5.4) but arms no timer at its rate, which would keep a host timer
 * busy for nothing; unmasked, it ticks on in phase. A one-shot or
 * TSC-deadline timer fires once, masked or not (it ends its count). */
static void lapic_gate_timer(struct lapic *l)
{
    periodic_mute(&l->periodic, (l->lvt[LVT_TIMER] & LVT_MASKED) != 0);
}

/* Writing the initial count (re)starts counting; 0 stops the timer. In
 * TSC-deadline mode the write is ignored (11.5.4.1). */
static void lapic_write_initial_count(struct lapic *l, u32 value)
{
    if (timer_mode(l) == TIMER_TSC_DEADLINE)
        return;
    l->timer_initial = value;
    timer_count_from(l, value);
}

/* A new divisor applies to the rest of the current count at once: the
 * divider sits before the counter. */
static void lapic_write_divide(struct lapic *l, u32 value)
{
    u32 left = timer_current_count(l);
    bool counting = timer_counting(l);
    l->timer_divide = value & DIVIDE_MASK;
    if (counting)
        timer_count_from(l, left);
}

/* One-shot expiry, or the TSC deadline reached: the timer disarms itself
 * and, in TSC-deadline mode, clears IA32_TSC_DEADLINE (11.5.4.1). */
static void lapic_timer_fired(void *dev, u64 now)
{
    struct lapic *l = dev;
    (void)now;
    if (timer_mode(l) == TIMER_TSC_DEADLINE)
        l->tsc_deadline = 0;
    lapic_lvt_signal(l, LVT_TIMER); /* masked: counts, no interrupt */
}

static void lapic_timer_tick(void *dev, u64 now)
{
    (void)now;
    lapic_lvt_signal(dev, LVT_TIMER);
}

/* The earliest virtual time at which the guest TSC has reached tsc: the
 * clock's conversions round, so step forward until they agree (one or two
 * steps). A deadline too far away for the conversions to agree on is
 * centuries off: DM_NEVER. */
static u64 tsc_reached_at(const struct dm_clock *c, u64 tsc)
{
    u64 ns = clock_tsc_to_ns(c, tsc);
    for (int step = 0; step < 8; step++) {
        u64 at = clock_ns_to_tsc(c, ns);
        if (at >= tsc)
            return ns;
        ns += clock_tsc_to_ns(c, c->tsc_base + (tsc - at)) + 1;
    }
    return DM_NEVER;
}

u64 lapic_read_tsc_deadline(const struct lapic *l)
{
    /* 11.5.4.1: reads 0 in the other timer modes. */
    return timer_mode(l) == TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
}

/* 11.5.4.1: writes are ignored outside TSC-deadline mode; 0 disarms; a
 * deadline the TSC has already reached interrupts at once. The CPU's TSC
 * is the device clock's plus tsc_adjust, so the deadline falls on the
 * clock's at tsc - tsc_adjust. */
void lapic_write_tsc_deadline(struct lapic *l, u64 tsc)
{
    if (timer_mode(l) != TIMER_TSC_DEADLINE)
        return;
    struct dm_clock *c = l->env->clock;
    timer_cancel(c, &l->timer);
    l->tsc_deadline = tsc;
    if (!tsc)
        return;
    u64 now = clock_ns_to_tsc(c, clock_now(c)) + (u64)l->tsc_adjust;
    if (now >= tsc) {
        lapic_timer_fired(l, clock_now(c));
        return;
    }
    u64 at = tsc_reached_at(c, tsc - (u64)l->tsc_adjust);
    if (at != DM_NEVER)
        timer_arm(c, &l->timer, at);
}

void lapic_set_tsc_adjust(struct lapic *l, s64 adjust)
{
    l->tsc_adjust = adjust;
    if (timer_mode(l) == TIMER_TSC_DEADLINE && l->tsc_deadline)
        lapic_write_tsc_deadline(l, l->tsc_deadline);
}

/* ---- LVT writes ---- */

/* The bits software may write in each entry (11.5.1, Figure 11-8);
 * delivery status and remote IRR are read-only. */
static u32 lvt_writable(enum lvt_entry which)
{
    u32 common = LVT_VECTOR | LVT_MASKED;
    switch (which) {
    case LVT_TIMER:
        return common | LVT_TIMER_MODE;
    case LVT_LINT0:
    case LVT_LINT1:
        return common | LVT_DELIVERY_MODE | LVT_POLARITY_LOW | LVT_TRIGGER_LEVEL;
    case LVT_ERROR:
        return common;
    default: /* CMCI, thermal, performance counters */
        return common | LVT_DELIVERY_MODE;
    }
}

/* A new timer mode. SDM 3A 11.5.4.1 says a write that changes the mode
 * disarms the timer, in the section on TSC-deadline mode; between
 * one-shot and periodic the processors keep counting from the current
 * count (what kvm-unit-tests' apic "change mode" checks, and KVM
 * does): periodic then reloads the initial count at zero, one-shot
 * stops there; a count already at zero stays at zero. To or from
 * TSC-deadline mode the timer is disarmed. `left` is the current count
 * in the old mode. */
static void lapic_timer_mode_changed(struct lapic *l, u32 old_lvt, u32 left)
{
    bool deadline = (old_lvt & LVT_TIMER_MODE) >> LVT_TIMER_MODE_SHIFT == TIMER_TSC_DEADLINE || timer_mode(l) == TIMER_TSC_DEADLINE;
    if (deadline || !left) {
        timer_stop(l);
        l->tsc_deadline = 0;
        return;
    }
    timer_count_from(l, left);
}

static void lapic_write_lvt(struct lapic *l, enum lvt_entry which, u32 value)
{
    u32 old = l->lvt[which];
    u32 left = which == LVT_TIMER ? timer_current_count(l) : 0;
    u32 writable = lvt_writable(which);
    u32 v = (old & ~writable) | (value & writable);
    if (!sw_enabled(l)) /* 11.4.7.2: masks stay set while software-disabled */
        v |= LVT_MASKED;
    l->lvt[which] = v;
    if (which == LVT_TIMER && (old & LVT_TIMER_MODE) != (v & LVT_TIMER_MODE))
        lapic_timer_mode_changed(l, old, left);
    if (which == LVT_TIMER)
        lapic_gate_timer(l);
    if (which == LVT_LINT0) {
        if (!lint_is_level(l, 0))
            l->lvt[which] &= ~LVT_REMOTE_IRR;
        lapic_lint_level_check(l, 0); /* unmasking an asserted level LINT0 */
    }
}

static void lapic_write_svr(struct lapic *l, u32 value)
{
    bool was_enabled = sw_enabled(l);
    l->svr = value & (SVR_VECTOR | SVR_APIC_ENABLE | SVR_FOCUS_DISABLE);
    if (was_enabled && !sw_enabled(l)) /* 11.4.7.2 */
        for (unsigned i = 0; i < LAPIC_LVT_ENTRIES; i++)
            l->lvt[i] |= LVT_MASKED;
    lapic_gate_timer(l);
}

/* ---- the register file ---- */

static bool in_bank(u32 off, u32 bank) { return off >= bank && off < bank + REG_BANK_SIZE; }

/* The LVT entry at off, or -1. */
static int lvt_at(u32 off)
{
    if (off == REG_LVT_CMCI)
        return LVT_CMCI;
    if (off >= REG_LVT_TIMER && off <= REG_LVT_ERROR)
        return LVT_TIMER + (int)((off - REG_LVT_TIMER) / REG_SLOT);
    return -1;
}

/* Offsets of Table 11-1 that hold no register. */
static bool reg_reserved(u32 off)
{
    switch (off) {
    case REG_ID: case REG_VERSION: case REG_TPR: case REG_APR: case REG_PPR: case REG_EOI:
    case REG_RRD: case REG_LDR: case REG_DFR: case REG_SVR: case REG_ESR: case REG_ICR_LO:
    case REG_ICR_HI: case REG_TIMER_INITIAL: case REG_TIMER_CURRENT: case REG_TIMER_DIVIDE:
        return false;
    default:
        return lvt_at(off) < 0 && !in_bank(off, REG_ISR) && !in_bank(off, REG_TMR) && !in_bank(off, REG_IRR);
    }
}

static u32 lapic_read_reg(struct lapic *l, u32 off)
{
    int lvt = lvt_at(off);
    if (lvt >= 0)
        return l->lvt[lvt];
    if (in_bank(off, REG_ISR))
        return l->isr[(off - REG_ISR) / REG_SLOT];
    if (in_bank(off, REG_TMR))
        return l->tmr[(off - REG_TMR) / REG_SLOT];
    if (in_bank(off, REG_IRR))
        return l->irr[(off - REG_IRR) / REG_SLOT];
    switch (off) {
    case REG_ID: return l->id;
    case REG_VERSION: return LAPIC_VERSION;
    case REG_TPR: return l->tpr;
    case REG_APR: return lapic_arbitration_priority(l);
    case REG_PPR: return lapic_ppr(l);
    case REG_EOI: return 0;                 /* write-only */
    case REG_RRD: return 0;                 /* remote read: not on xAPIC (11.6.1) */
    case REG_LDR: return l->ldr;
    case REG_DFR: return l->dfr_model | DFR_RESERVED_ONES;
    case REG_SVR: return l->svr;
    case REG_ESR: return l->esr;
    case REG_ICR_LO: return l->icr_lo;      /* delivery status: always idle */
    case REG_ICR_HI: return l->icr_hi;
    case REG_TIMER_INITIAL: return l->timer_initial;
    case REG_TIMER_CURRENT: return timer_current_count(l);
    case REG_TIMER_DIVIDE: return l->timer_divide;
    default:
        lapic_error(l, ESR_ILLEGAL_REGISTER);
        return 0;
    }
}

static void lapic_write_reg(struct lapic *l, u32 off, u32 value)
{
    int lvt = lvt_at(off);
    if (lvt >= 0) {
        lapic_write_lvt(l, (enum lvt_entry)lvt, value);
        return;
    }
    switch (off) {
    case REG_ID: l->id = value & ID_MASK; break;
    case REG_TPR: l->tpr = value & TPR_MASK; break;
    case REG_EOI: lapic_eoi(l); break;
    case REG_LDR: l->ldr = value & LDR_MASK; break;
    case REG_DFR: l->dfr_model = value & DFR_MODEL_MASK; break;
    case REG_SVR: lapic_write_svr(l, value); break;
    case REG_ESR: lapic_write_esr(l); break;
    case REG_ICR_LO:
        l->icr_lo = value & ICR_LO_WRITABLE;
        lapic_icr_send(l);
        break;
    case REG_ICR_HI: l->icr_hi = value & ICR_HI_WRITABLE; break;
    case REG_TIMER_INITIAL: lapic_write_initial_count(l, value); break;
    case REG_TIMER_DIVIDE: lapic_write_divide(l, value); break;
    default:
        if (reg_reserved(off))
            lapic_error(l, ESR_ILLEGAL_REGISTER);
        break; /* read-only registers ignore writes */
    }
}

/* ---- x2APIC mode: the MSR interface (SDM 3A 11.12) ---- */

/* 11.12.10.2: the logical x2APIC ID, derived from the x2APIC ID: the
 * cluster (ID bits 19:4) in bits 31:16, and one bit, 1 << ID[3:0], for
 * the member. Read-only in x2APIC mode. */
static u32 x2apic_logical_id(u32 x2apic_id) { return ((x2apic_id >> 4) << 16) | (1u << (x2apic_id & 0xf)); }

#define X2APIC_REG(off) (X2APIC_MSR_FIRST + ((off) >> 4)) /* 11.12.1.2: MSR 800H + offset / 16 */
#define MSR_SELF_IPI 0x83fu
#define X2APIC_ICR_LO_DEFINED ICR_LO_WRITABLE /* Figure 11-28: bits 31:20, 17:16, 13, 12 reserved */
#define X2APIC_SVR_DEFINED (SVR_VECTOR | SVR_APIC_ENABLE | SVR_FOCUS_DISABLE) /* no EOI-broadcast suppression */

/* The bits Figure 11-8 defines in an LVT entry: what software writes,
 * and the read-only delivery status (12) and remote IRR (14, LINTs).
 * Writing a 1 elsewhere is a reserved-bit #GP in x2APIC mode (11.12.1.3). */
static u32 lvt_defined(enum lvt_entry which)
{
    u32 v = lvt_writable(which) | BIT(12);
    return which == LVT_LINT0 || which == LVT_LINT1 ? v | LVT_REMOTE_IRR : v;
}

/* The xAPIC offset of an x2APIC MSR whose register reads and writes as in
 * xAPIC mode (Table 11-6), or 0 if the MSR is not one of those. */
static u32 x2apic_shared_offset(u32 msr)
{
    u32 off = (msr - X2APIC_MSR_FIRST) << 4;
    switch (off) {
    case REG_VERSION: case REG_TPR: case REG_PPR: case REG_SVR: case REG_ESR:
    case REG_TIMER_INITIAL: case REG_TIMER_CURRENT: case REG_TIMER_DIVIDE:
        return off;
    default:
        return lvt_at(off) >= 0 || in_bank(off, REG_ISR) || in_bank(off, REG_TMR) || in_bank(off, REG_IRR) ? off : 0;
    }
}

bool lapic_msr_read(struct lapic *l, u32 msr, u64 *value)
{
    if (!lapic_x2apic_mode(l) || msr < X2APIC_MSR_FIRST || msr > X2APIC_MSR_LAST)
        return false;
    switch (msr) {
    case X2APIC_REG(REG_ID): *value = lapic_x2apic_id(l); return true;
    case X2APIC_REG(REG_LDR): *value = l->ldr; return true;
    case X2APIC_REG(REG_ICR_LO): *value = (u64)l->icr_dest32 << 32 | l->icr_lo; return true;
    default:
        break; /* EOI and SELF IPI are write-only; APR, RRD, DFR, 831H reserved */
    }
    u32 off = x2apic_shared_offset(msr);
    if (!off)
        return false;
    *value = lapic_read_reg(l, off);
    return true;
}

/* 11.12.11: SELF IPI, a fixed edge-triggered interrupt to this APIC,
 * as the ICR with the self shorthand. */
static void lapic_self_ipi(struct lapic *l, u8 vector)
{
    struct apic_message m = {.vector = vector, .delivery_mode = APIC_DM_FIXED};
    if (vector < FIRST_VALID_VECTOR)
        lapic_error(l, ESR_SEND_ILLEGAL_VECTOR);
    lapic_deliver(l, &m);
}

/* 11.12.1.3: a 1 in a reserved bit faults; so does anything in bits
 * 63:32 of a 32-bit register. */
static bool x2apic_write_allowed(u32 msr, u64 value)
{
    if (msr == X2APIC_REG(REG_ICR_LO))
        return !((u32)value & ~X2APIC_ICR_LO_DEFINED);
    if (value >> 32)
        return false;
    u32 v = (u32)value, off = (msr - X2APIC_MSR_FIRST) << 4;
    int lvt = lvt_at(off);
    if (lvt >= 0)
        return !(v & ~lvt_defined((enum lvt_entry)lvt));
    switch (msr) {
    case X2APIC_REG(REG_TPR): return !(v & ~TPR_MASK);
    case X2APIC_REG(REG_SVR): return !(v & ~X2APIC_SVR_DEFINED);
    case X2APIC_REG(REG_EOI): /* Table 11-6: WRMSR of a non-zero value #GP(0) */
    case X2APIC_REG(REG_ESR): return v == 0;
    case X2APIC_REG(REG_TIMER_INITIAL): return true;
    case X2APIC_REG(REG_TIMER_DIVIDE): return !(v & ~DIVIDE_MASK);
    case MSR_SELF_IPI: return !(v & ~ICR_VECTOR);
    default: return false; /* read-only (ID, version, PPR, LDR, ISR, TMR, IRR, current count) or reserved */
    }
}

bool lapic_msr_write(struct lapic *l, u32 msr, u64 value)
{
    if (!lapic_x2apic_mode(l) || msr < X2APIC_MSR_FIRST || msr > X2APIC_MSR_LAST ||
        !x2apic_write_allowed(msr, value))
        return false;
    switch (msr) {
    case X2APIC_REG(REG_ICR_LO): /* one 64-bit register, one write sends (11.12.9) */
        l->icr_lo = (u32)value;
        l->icr_dest32 = (u32)(value >> 32);
        lapic_icr_send(l);
        return true;
    case MSR_SELF_IPI:
        lapic_self_ipi(l, (u8)value);
        return true;
    default:
        lapic_write_reg(l, (msr - X2APIC_MSR_FIRST) << 4, (u32)value);
        return true;
    }
}

/* Each byte of a read is byte 0-3 of its slot's register, or 0. */
static u64 lapic_mmio_read(void *dev, u64 addr, u8 size)
{
    struct lapic *l = dev;
    u32 off = (u32)(addr - l->mmio_base);
    u32 slot = ~0u, reg = 0;
    u64 value = 0;
    for (u32 i = 0; i < size && off + i < LAPIC_MMIO_SIZE; i++) {
        u32 byte = off + i;
        if (byte % REG_SLOT >= 4)
            continue;
        if (slot != byte / REG_SLOT) {
            slot = byte / REG_SLOT;
            reg = lapic_read_reg(l, slot * REG_SLOT);
        }
        value |= (u64)((reg >> (8 * (byte % 4))) & 0xff) << (8 * i);
    }
    return value;
}

static void lapic_mmio_write(void *dev, u64 addr, u8 size, u64 value)
{
    struct lapic *l = dev;
    u32 off = (u32)(addr - l->mmio_base);
    if (size != 4 || off % REG_SLOT)
        return;
    lapic_write_reg(l, off, (u32)value);
}

/* ---- the MMIO page and IA32_APIC_BASE ---- */

bool lapic_page_read(struct lapic *l, u64 addr, u8 size, u64 *value)
{
    if (!l->mmio_claimed || addr - l->mmio_base >= LAPIC_MMIO_SIZE)
        return false;
    *value = lapic_mmio_read(l, addr, size);
    return true;
}

void lapic_page_write(struct lapic *l, u64 addr, u8 size, u64 value)
{
    if (l->mmio_claimed && addr - l->mmio_base < LAPIC_MMIO_SIZE)
        lapic_mmio_write(l, addr, size, value);
}

/* On a system bus the platform owns the page: "claimed" only records
 * where this APIC answers. */
static void lapic_unmap(struct lapic *l)
{
    if (!l->mmio_claimed)
        return;
    l->mmio_claimed = false;
    if (l->system_bus)
        l->system_bus->release_page(l->system_bus->ctx, l->mmio_base);
    else
        bus_release_mmio(l->env->bus, l->mmio_base, l);
}

static bool lapic_map(struct lapic *l, u64 base)
{
    if (l->system_bus) {
        l->mmio_claimed = l->system_bus->claim_page(l->system_bus->ctx, base);
        l->mmio_base = base;
        return l->mmio_claimed;
    }
    l->mmio_claimed = bus_claim_mmio(l->env->bus, base, LAPIC_MMIO_SIZE, lapic_mmio_read, lapic_mmio_write, l, "lapic");
    if (l->mmio_claimed)
        l->mmio_base = base;
    return l->mmio_claimed;
}

static u64 base_address(u64 apic_base) { return apic_base & ~(PAGE_SIZE - 1); }

/* 11.4.7.1: every register but the APIC base; the version is constant. */
static void lapic_reset_registers(struct lapic *l)
{
    timer_stop(l);
    l->id = (u32)l->reset_id << 24;
    l->tpr = l->ldr = 0;
    l->dfr_model = DFR_MODEL_MASK; /* DFR all ones */
    l->svr = SVR_RESET;            /* software-disabled */
    memset(l->irr, 0, sizeof(l->irr));
    memset(l->isr, 0, sizeof(l->isr));
    l->irr_words = l->isr_words = 0;
    memset(l->tmr, 0, sizeof(l->tmr));
    l->esr = l->esr_pending = 0;
    l->error_armed = true;
    l->icr_lo = l->icr_hi = l->icr_dest32 = 0;
    /* x2APIC mode survives INIT (only RESET or IA32_APIC_BASE leaves it,
     * 11.12.5.1), and its LDR is the derived logical ID, not 0. */
    if (lapic_x2apic_mode(l))
        l->ldr = x2apic_logical_id(lapic_x2apic_id(l));
    for (unsigned i = 0; i < LAPIC_LVT_ENTRIES; i++)
        l->lvt[i] = LVT_MASKED;
    lapic_gate_timer(l);
    l->timer_initial = l->timer_divide = 0;
    l->count_ns = timer_divisor(l) * NS_PER_TIMER_TICK;
    l->tsc_deadline = 0;
    l->nmi_pending = 0;
    l->init_pending = l->sipi_pending = l->extint_pending = false;
    l->sipi_vector = 0;
}

void lapic_init_ipi(struct lapic *l)
{
    bool sipi = l->sipi_pending;
    u8 vector = l->sipi_vector;
    lapic_reset_registers(l);
    l->sipi_pending = sipi;
    l->sipi_vector = vector;
}

void lapic_reset(struct lapic *l)
{
    lapic_reset_registers(l);
    l->apic_base = LAPIC_DEFAULT_BASE | LAPIC_BASE_EN | (l->bsp ? LAPIC_BASE_BSP : 0);
    lapic_unmap(l);
    lapic_map(l, LAPIC_DEFAULT_BASE);
}

static bool lapic_setup(struct lapic *l, struct dm_env *env, u8 apic_id, bool bsp,
                        void (*eoi_broadcast)(void *ctx, u8 vector), void *ctx,
                        const struct lapic_system_bus *system_bus, unsigned index)
{
    memset(l, 0, sizeof(*l));
    l->system_bus = system_bus;
    l->index = index;
    l->env = env;
    l->reset_id = apic_id;
    l->bsp = bsp;
    l->eoi_broadcast = eoi_broadcast;
    l->ctx = ctx;
    l->maxphyaddr = 52;
    l->x2apic_offered = true;
    timer_init(&l->timer, lapic_timer_fired, l);
    periodic_init(&l->periodic, env->clock, lapic_timer_tick, l);
    lapic_reset(l);
    return l->mmio_claimed;
}

bool lapic_init(struct lapic *l, struct dm_env *env, u8 apic_id, bool bsp,
                void (*eoi_broadcast)(void *ctx, u8 vector), void *ctx)
{
    return lapic_setup(l, env, apic_id, bsp, eoi_broadcast, ctx, NULL, 0);
}

bool lapic_init_on_bus(struct lapic *l, struct dm_env *env, u8 apic_id, bool bsp,
                       void (*eoi_broadcast)(void *ctx, u8 vector), void *ctx,
                       const struct lapic_system_bus *system_bus, unsigned index)
{
    return lapic_setup(l, env, apic_id, bsp, eoi_broadcast, ctx, system_bus, index);
}

u64 lapic_get_base(const struct lapic *l) { return l->apic_base; }

static u64 base_reserved_bits(const struct lapic *l)
{
    u64 above_maxphyaddr = l->maxphyaddr >= 64 ? 0 : ~0ull << l->maxphyaddr;
    return BASE_RESERVED_LOW | above_maxphyaddr | (l->x2apic_offered ? 0 : LAPIC_BASE_EXTD);
}

/* The APIC's state as IA32_APIC_BASE's EN (11) and EXTD (10) give it,
 * SDM 3A 11.12.5, Table 11-5. */
enum apic_mode { MODE_DISABLED, MODE_INVALID, MODE_XAPIC, MODE_X2APIC };
static enum apic_mode mode_of(u64 base)
{
    return (enum apic_mode)((base & LAPIC_BASE_EN ? 2 : 0) | (base & LAPIC_BASE_EXTD ? 1 : 0));
}

/* 11.12.5, Figure 11-27: EN = 0 with EXTD = 1 is invalid; x2APIC mode is
 * left only for the disabled state (then xAPIC again), and entered only
 * from xAPIC mode. Each refused write raises #GP. */
static bool transition_allowed(enum apic_mode from, enum apic_mode to)
{
    if (to == MODE_INVALID)
        return false;
    if (from == MODE_X2APIC && to == MODE_XAPIC)
        return false;
    return !(from == MODE_DISABLED && to == MODE_X2APIC);
}

bool lapic_set_base(struct lapic *l, u64 value)
{
    if (value & base_reserved_bits(l))
        return false;
    value = (value & ~LAPIC_BASE_BSP) | (l->apic_base & LAPIC_BASE_BSP);
    enum apic_mode from = mode_of(l->apic_base), to = mode_of(value);
    if (!transition_allowed(from, to))
        return false;
    u64 old_page = base_address(l->apic_base), page = base_address(value);
    /* The MMIO page answers in xAPIC mode only (11.12.2: in x2APIC mode
     * the memory-mapped interface is gone and the page reads as nothing). */
    if (to == MODE_XAPIC && (from != MODE_XAPIC || page != old_page)) {
        lapic_unmap(l);
        if (!lapic_map(l, page)) {
            if (from == MODE_XAPIC)
                lapic_map(l, old_page);
            return false;
        }
    }
    if (to == MODE_X2APIC && from == MODE_XAPIC) {
        /* 11.12.5.1: the x2APIC ID is the initial APIC ID and the LDR the
         * logical x2APIC ID (11.12.10.2); the other registers carry over. */
        lapic_unmap(l);
        l->ldr = x2apic_logical_id(lapic_x2apic_id(l));
        l->icr_dest32 = 0;
    }
    if (to == MODE_DISABLED && from != MODE_DISABLED) {
        /* 11.4.3: the APIC may lose its state; it comes back as after
         * RESET when enabled again. */
        lapic_unmap(l);
        l->apic_base = value; /* before the reset: it looks at the mode */
        lapic_reset_registers(l);
    }
    l->apic_base = value;
    return true;
}
