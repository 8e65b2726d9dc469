/* pit.c: the 8254 interval timer and port 0x61.
 * Datasheets: Intel 8254 Programmable Interval Timer (231164), sections
 * cited by name below; Intel 82371AB PIIX4 (290562), NMI Status and
 * Control Register (port 61h).
 *
 * Nothing ticks: CLK edge k happens at k / PIT_HZ seconds of virtual time,
 * and each counter keeps where its counting element (CE) started, so a
 * read at any moment gives the count and OUT the chip would show then.
 * Only counter 0 arms timers, for IRQ0: a dm_periodic on OUT's rising
 * edges in modes 2 and 3, whose ticks are pulses (and which carries the
 * missed-tick policy), and a dm_timer on the changes of OUT in the other
 * modes, where IRQ0 follows OUT's level.
 *
 * "Counter loading": a count written is loaded into the CE on the next
 * CLK edge, which does not decrement it (hence N+1 edges to terminal
 * count in mode 0). The GATE is sampled on CLK edges. */
#include "pit.h"
#include "../vmm/string.h"

#define PIT_PORT_CONTROL (PIT_BASE + 3)

/* The control word ("Control Word Format"): SC1 SC0 RW1 RW0 M2 M1 M0 BCD. */
#define CW_BCD 0x01
#define CW_MODE_SHIFT 1
#define CW_MODE_MASK 0x07
#define CW_RW_SHIFT 4
#define CW_RW_MASK 0x03
#define CW_SC_SHIFT 6
#define CW_SC_READ_BACK 3
#define CW_PROGRAM_MASK 0x3f /* RW, M and BCD: what the status byte shows */
#define RW_LATCH 0           /* "Counter Latch Command" */
#define RW_LSB 1
#define RW_MSB 2
#define RW_LSB_MSB 3
/* "Read-Back Command": 1 1 COUNT# STATUS# CNT2 CNT1 CNT0 0. */
#define RB_NO_COUNT 0x20
#define RB_NO_STATUS 0x10
#define RB_COUNTER(n) (0x02u << (n))
/* The status byte ("Status Byte"): OUTPUT NULL-COUNT RW1 RW0 M2 M1 M0 BCD. */
#define STATUS_OUT 0x80
#define STATUS_NULL_COUNT 0x40

/* Port 61h (PIIX4 NMISC). Bits 2-3 are the NMI source enables, kept as
 * written; bits 6-7 report NMI sources, of which there are none. */
#define P61_GATE2 0x01
#define P61_SPEAKER_DATA 0x02
#define P61_WRITABLE 0x0f
#define P61_REFRESH_TOGGLE 0x10
#define P61_OUT2 0x20
#define REFRESH_TOGGLE_NS 15085 /* the refresh request bit toggles every 15.085 us */

#define BINARY_MODULUS 65536u /* "count 0 is the largest": 2^16 in binary... */
#define BCD_MODULUS 10000u    /* ...and 10^4 in BCD */

/* ---- CLK edges and nanoseconds ------------------------------------------ */

/* The number of CLK edges in (0, ns]; split so nothing overflows 64 bits. */
static u64 clk_at(u64 ns) { return ns / NS_PER_SEC * PIT_HZ + ns % NS_PER_SEC * PIT_HZ / NS_PER_SEC; }

/* The first nanosecond at which CLK edge k has happened. */
static u64 ns_of_clk(u64 k)
{
    return k / PIT_HZ * NS_PER_SEC + (k % PIT_HZ * NS_PER_SEC + PIT_HZ - 1) / PIT_HZ;
}

static u64 period_ns(u32 clocks) { return ((u64)clocks * NS_PER_SEC + PIT_HZ / 2) / PIT_HZ; }

/* clk_at(now), the CLK edges since time 0 (devmodel/clock.h rate_count_at). */
static u64 now_clk(struct pit *p) { return rate_count_at(&p->clk_count, PIT_HZ, clock_now(p->env->clock)); }

/* ---- counts ------------------------------------------------------------- */

static u32 bcd_to_binary(u16 v)
{
    return (v & 0xfu) + (v >> 4 & 0xfu) * 10 + (v >> 8 & 0xfu) * 100 + (v >> 12 & 0xfu) * 1000;
}

static u16 binary_to_bcd(u32 v)
{
    return (u16)(v % 10 | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000 % 10) << 12);
}

static u32 modulus(const struct pit_channel *ch) { return ch->bcd ? BCD_MODULUS : BINARY_MODULUS; }

/* The initial count N the CR holds; 0 stands for the modulus. */
static u32 initial_count(const struct pit_channel *ch)
{
    u32 n = ch->bcd ? bcd_to_binary(ch->cr) : ch->cr;
    return n ? n : modulus(ch);
}

static bool periodic_mode(const struct pit_channel *ch) { return ch->mode == 2 || ch->mode == 3; }

/* "Mode 3": an even N is loaded and counted down by two each edge, OUT
 * flipping and N reloaded when it expires; an odd N loads as N-1, and OUT
 * goes low one edge after it expires, so OUT is high (N+1)/2 edges and
 * low (N-1)/2. p is the edge within the period, 0 the first high one. */
static u32 mode3_count(u32 n, u32 p)
{
    if (n % 2 == 0)
        return n - 2 * (p % (n / 2));
    u32 high = (n + 1) / 2;
    return n - 1 - 2 * (p < high ? p : p - high);
}

static u32 period_position(const struct pit_channel *ch, u64 clk)
{
    return (u32)((clk - ch->base + ch->phase) % ch->start);
}

/* The CE at CLK edge clk, in [0, modulus] (the modulus reads as 0). */
static u32 ce_at(const struct pit_channel *ch, u64 clk)
{
    if (!ch->counting || clk < ch->base)
        return ch->held;
    u64 elapsed = clk - ch->base;
    u32 m = modulus(ch);
    switch (ch->mode) {
    case 2: /* "Mode 2": N down to 1, then reloaded */
        return ch->start - period_position(ch, clk);
    case 3:
        return mode3_count(ch->start, period_position(ch, clk));
    default: /* modes 0, 1, 4, 5 count on past terminal count, wrapping */
        return (u32)((ch->start + m - elapsed % m) % m);
    }
}

/* OUT at CLK edge clk. */
static bool out_at(const struct pit_channel *ch, u64 clk)
{
    if (!ch->counting || clk < ch->base)
        return ch->out_held;
    u64 elapsed = clk - ch->base;
    switch (ch->mode) {
    case 0: /* "Mode 0": high from terminal count on */
    case 1: /* "Mode 1": low from the load after a trigger to terminal count */
        return ch->tc_done || elapsed >= ch->start;
    case 2: /* low while the CE is 1 */
        return period_position(ch, clk) != ch->start - 1;
    case 3:
        return period_position(ch, clk) < (ch->start + 1) / 2;
    default: /* "Mode 4", "Mode 5": low for the one edge of terminal count */
        return ch->tc_done || elapsed != ch->start;
    }
}

/* Brings lazily kept state up to edge clk: a count waiting for the end of
 * a period takes over, a loaded CR stops showing null count. */
static void channel_sync(struct pit_channel *ch, u64 clk)
{
    if (ch->switch_pending && clk >= ch->switch_at) {
        ch->base = ch->switch_at;
        ch->start = ch->switch_start;
        ch->phase = ch->switch_phase;
        ch->switch_pending = false;
    }
    if (ch->null_count && clk >= ch->null_until)
        ch->null_count = false;
}

/* Stops the CE where it is at edge clk (gate low in modes 0, 2, 3, 4, a
 * control word, the first byte of a mode 0 count). Modes 0 and 4 keep
 * the edges left to terminal count, so counting can resume. */
static void channel_freeze(struct pit_channel *ch, u64 clk)
{
    if (!ch->counting)
        return;
    u64 at = clk < ch->base ? ch->base : clk; /* a count due on the next edge counts as loaded */
    bool out = out_at(ch, clk);
    if (ch->mode == 0 || ch->mode == 4) {
        u64 elapsed = at - ch->base;
        bool tc = ch->tc_done || elapsed >= ch->start;
        ch->held = tc ? ce_at(ch, at) : ch->start - (u32)elapsed;
        ch->tc_done = tc;
    } else
        ch->held = ce_at(ch, at);
    ch->out_held = out;
    ch->counting = false;
    ch->switch_pending = false;
}

/* The CE starts from `from` on edge `edge`. */
static void channel_start(struct pit_channel *ch, u64 edge, u32 from, u32 phase)
{
    ch->counting = true;
    ch->base = edge;
    ch->start = from;
    ch->phase = phase;
    ch->switch_pending = false;
}

/* The CR reaches the CE on edge `edge`: null count clears then. */
static void cr_loaded_at(struct pit_channel *ch, u64 edge)
{
    if (ch->null_count)
        ch->null_until = edge;
}

/* ---- programming ------------------------------------------------------- */

static u8 decode_mode(u8 control)
{
    u8 m = (control >> CW_MODE_SHIFT) & CW_MODE_MASK;
    return m >= 6 ? (u8)(m - 4) : m; /* "Control Word Format": X10 is mode 2, X11 mode 3 */
}

/* "Operation Common to All Modes": a control word resets the control
 * logic and sets OUT to its initial state, low in mode 0 and high in
 * the others; the count is then undefined until one is written. */
static void channel_set_control(struct pit_channel *ch, u8 control, u64 clk)
{
    channel_freeze(ch, clk);
    ch->control = control & CW_PROGRAM_MASK;
    ch->access = (control >> CW_RW_SHIFT) & CW_RW_MASK;
    ch->mode = decode_mode(control);
    ch->bcd = control & CW_BCD;
    ch->out_held = ch->mode != 0;
    ch->tc_done = false;
    ch->has_count = false;
    ch->null_count = true; /* "Null Count Operation" */
    ch->null_until = DM_NEVER;
    ch->write_msb_next = false;
    ch->read_shift = ch->access == RW_MSB ? 8 : 0;
    ch->read_toggle = ch->access == RW_LSB_MSB ? 8 : 0;
    ch->count_latched = ch->status_latched = false;
}

/* Modes 0 and 4 start counting down on the edge after the write; with
 * the gate low the count is loaded all the same but waits. */
static void start_countdown(struct pit_channel *ch, u32 n, u64 clk)
{
    ch->tc_done = false;
    cr_loaded_at(ch, clk + 1);
    if (ch->gate)
        channel_start(ch, clk + 1, n, 0);
    else
        ch->held = n;
}

/* Modes 2 and 3: a count written while counting does not disturb the
 * current period (mode 2) or half-cycle (mode 3); it is loaded at its
 * end. A mode 3 count taken at the end of a high half starts low. */
static void schedule_count_switch(struct pit_channel *ch, u32 n, u64 clk)
{
    u32 p = period_position(ch, clk);
    u32 high = (ch->start + 1) / 2;
    if (ch->mode == 3 && p < high) {
        ch->switch_at = clk + (high - p);
        ch->switch_phase = (n + 1) / 2;
    } else {
        ch->switch_at = clk + (ch->start - p);
        ch->switch_phase = 0;
    }
    ch->switch_start = n;
    ch->switch_pending = true;
    cr_loaded_at(ch, ch->switch_at);
}

/* A whole count was written to the CR ("Mode 0" ... "Mode 5" on what a
 * new count does in each mode). */
static void channel_count_written(struct pit_channel *ch, u64 clk)
{
    u32 n = initial_count(ch);
    ch->has_count = true;
    ch->null_count = true;
    ch->null_until = DM_NEVER;
    switch (ch->mode) {
    case 0: /* OUT goes low; counting restarts from the new count */
        channel_freeze(ch, clk);
        ch->out_held = false;
        start_countdown(ch, n, clk);
        break;
    case 4: /* a new strobe; OUT is not affected */
        channel_freeze(ch, clk);
        start_countdown(ch, n, clk);
        break;
    case 2:
    case 3:
        if (ch->counting && clk >= ch->base)
            schedule_count_switch(ch, n, clk);
        else if (ch->counting || ch->gate) { /* loaded on the next edge */
            channel_start(ch, clk + 1, n, 0);
            cr_loaded_at(ch, clk + 1);
        }
        break;
    default: /* modes 1, 5: the next trigger loads it */
        break;
    }
}

/* "Mode 0": writing the first byte of a two-byte count stops counting
 * and sets OUT low at once. */
static void mode0_first_byte(struct pit_channel *ch, u64 clk)
{
    channel_freeze(ch, clk);
    ch->out_held = false;
    ch->tc_done = false;
}

/* "Write Operations": in LSB-then-MSB access, bytes alternate with the
 * write flip-flop; one-byte access leaves the other byte zero. */
static void channel_write(struct pit_channel *ch, u8 v, u64 clk)
{
    switch (ch->access) {
    case RW_LSB:
        ch->cr = v;
        break;
    case RW_MSB:
        ch->cr = (u16)(v << 8);
        break;
    default:
        ch->write_msb_next = !ch->write_msb_next;
        if (ch->write_msb_next) {
            ch->write_lsb = v;
            if (ch->mode == 0)
                mode0_first_byte(ch, clk);
            return;
        }
        ch->cr = (u16)(ch->write_lsb | v << 8);
        break;
    }
    channel_count_written(ch, clk);
}

/* ---- the gate ----------------------------------------------------------- */

/* "Gate" (the table of gate operations per mode): a rising edge triggers
 * modes 1 and 5 and reloads modes 2 and 3 on the next CLK edge; a high
 * level enables counting in modes 0, 2, 3 and 4. */
static void gate_rising(struct pit_channel *ch, u64 clk)
{
    if (!ch->has_count)
        return;
    switch (ch->mode) {
    case 0:
    case 4: /* resumes; a count written while low first loads on its edge */
        if (!ch->counting)
            channel_start(ch, ch->null_count && ch->null_until > clk ? ch->null_until : clk, ch->held, 0);
        break;
    default: /* 1, 2, 3, 5 */
        ch->held = ce_at(ch, clk);
        ch->out_held = out_at(ch, clk);
        ch->tc_done = false;
        channel_start(ch, clk + 1, initial_count(ch), 0);
        cr_loaded_at(ch, clk + 1);
        break;
    }
}

/* A falling edge stops counting in modes 0, 2, 3 and 4; in modes 2 and 3
 * OUT goes high at once. A count waiting for the end of a period now
 * waits for the next trigger. */
static void gate_falling(struct pit_channel *ch, u64 clk)
{
    bool waiting = ch->switch_pending;
    switch (ch->mode) {
    case 0:
    case 4:
        channel_freeze(ch, clk);
        break;
    case 2:
    case 3:
        channel_freeze(ch, clk);
        ch->out_held = true;
        if (waiting)
            ch->null_until = DM_NEVER;
        break;
    default: /* modes 1, 5: the level does not matter */
        break;
    }
}

static void channel_set_gate(struct pit_channel *ch, bool high, u64 clk)
{
    if (high == ch->gate)
        return;
    ch->gate = high;
    if (high)
        gate_rising(ch, clk);
    else
        gate_falling(ch, clk);
}

/* ---- reading ------------------------------------------------------------ */

/* The CE as the bus sees it: 16 bits, in BCD digits in BCD mode. */
static u16 visible_count(const struct pit_channel *ch, u64 clk)
{
    u32 v = ce_at(ch, clk) % modulus(ch);
    return ch->bcd ? binary_to_bcd(v) : (u16)v;
}

/* "Counter Latch Command" and the read-back's count: latched once, kept
 * until read; a second latch before that is ignored. */
static void latch_count(struct pit_channel *ch, u64 clk)
{
    if (ch->count_latched)
        return;
    ch->latched_count = visible_count(ch, clk);
    ch->count_latched = true;
}

static void latch_status(struct pit_channel *ch, u64 clk)
{
    if (ch->status_latched)
        return;
    ch->latched_status = (u8)((out_at(ch, clk) ? STATUS_OUT : 0) | (ch->null_count ? STATUS_NULL_COUNT : 0) |
                              ch->control);
    ch->status_latched = true;
}

/* "Read Operations": a latched status comes first, then the latched
 * count, else the live CE; two-byte counts alternate with the read
 * flip-flop (independent of the write one). */
static u8 channel_read(struct pit_channel *ch, u64 clk)
{
    if (ch->status_latched) {
        ch->status_latched = false;
        return ch->latched_status;
    }
    u16 count = ch->count_latched ? ch->latched_count : visible_count(ch, clk);
    u8 shift = ch->read_shift;
    ch->read_shift = shift ^ ch->read_toggle;
    if (shift || ch->access == RW_LSB)
        ch->count_latched = false; /* the whole count has been read */
    return (u8)(count >> shift);
}

/* The plain read's terms (pit.h) for the counter as it now is, or none:
 * a read is plain while the counter counts in binary, nothing is latched,
 * no count waits for the end of a period, and the CE is one term of the
 * position in a period of the clock:
 * - modes 0, 1, 4, 5: start - (clk - base), counting on past terminal
 *   count and wrapping at 2^16 (ce_at), so of (clk - base) % 2^16;
 * - mode 2: N - p, p = (clk - base + phase) % N;
 * - mode 3 with N even: N - 2 (p % (N/2)), which is N - 2 ((clk - base
 *   + phase) % (N/2)) since N/2 divides N. An odd N's two halves count
 *   differently (mode3_count): not plain.
 * Before `base` the CE holds: the read is not plain until then. */
static void channel_keep_plain_read(struct pit_channel *ch)
{
    bool plain = ch->counting && !ch->bcd && !ch->switch_pending && !ch->count_latched && !ch->status_latched &&
                 !(ch->mode == 3 && ch->start % 2);
    ch->plain_from = plain ? ch->base : DM_NEVER;
    ch->plain_step = 1;
    if (!periodic_mode(ch)) {
        ch->plain_origin = ch->base;
        ch->plain_divisor = BINARY_MODULUS;
        return;
    }
    ch->plain_origin = ch->base - ch->phase; /* modulo 2^64: clk - origin is clk - base + phase */
    ch->plain_divisor = ch->start;
    if (ch->mode == 3) {
        ch->plain_divisor = ch->start / 2;
        ch->plain_step = 2;
    }
}

static void pit_keep_plain_reads(struct pit *p)
{
    for (unsigned i = 0; i < ARRAY_SIZE(p->ch); i++)
        channel_keep_plain_read(&p->ch[i]);
}

/* ---- counter 0 and IRQ0 ------------------------------------------------- */

static void set_irq0(struct pit *p, bool level)
{
    struct pit_channel *ch = &p->ch[0];
    if (ch->irq_level == level)
        return;
    ch->irq_level = level;
    dm_irq_set(p->env->irq, PIT_IRQ, level);
}

/* The first edge after clk where OUT, in mode 2 or 3, rises: the reload
 * (mode 2) or the start of the high half (mode 3), where the position in
 * the period is 0. N = 1 has none (mode 2: always low; mode 3: high). */
static u64 rising_edge_after(u64 base, u32 n, u32 phase, u64 clk)
{
    if (n < 2)
        return DM_NEVER;
    u64 from = (clk > base ? clk : base) + 1;
    u32 p = (u32)((from - base + phase) % n);
    return from + (p ? n - p : 0);
}

static u64 next_rising_edge(const struct pit_channel *ch, u64 clk)
{
    if (!ch->counting)
        return DM_NEVER;
    u64 edge = rising_edge_after(ch->base, ch->start, ch->phase, clk);
    if (!ch->switch_pending || edge <= ch->switch_at)
        return edge;
    return rising_edge_after(ch->switch_at, ch->switch_start, ch->switch_phase, ch->switch_at);
}

static u32 period_at(const struct pit_channel *ch, u64 edge)
{
    return ch->switch_pending && edge >= ch->switch_at ? ch->switch_start : ch->start;
}

/* The first edge after clk where OUT may change, in modes 0, 1, 4, 5. */
static u64 next_out_change(const struct pit_channel *ch, u64 clk)
{
    if (!ch->counting)
        return DM_NEVER;
    u64 candidates[3] = {ch->base, DM_NEVER, DM_NEVER};
    if (!ch->tc_done) {
        candidates[1] = ch->base + ch->start;
        if (ch->mode == 4 || ch->mode == 5)
            candidates[2] = ch->base + ch->start + 1;
    }
    for (unsigned i = 0; i < ARRAY_SIZE(candidates); i++)
        if (candidates[i] != DM_NEVER && candidates[i] > clk)
            return candidates[i];
    return DM_NEVER;
}

/* Re-arms what drives IRQ0 after counter 0 changed: pulses on the rising
 * edges in modes 2 and 3 (the line rests low between them), the level of
 * OUT in the others. */
static void counter0_rearm(struct pit *p, u64 clk)
{
    struct pit_channel *ch = &p->ch[0];
    struct dm_clock *clock = p->env->clock;
    if (periodic_mode(ch)) {
        timer_cancel(clock, &ch->out_timer);
        set_irq0(p, false);
        u64 edge = next_rising_edge(ch, clk);
        if (edge == DM_NEVER)
            periodic_stop(&ch->tick);
        else /* the exact edge each time: no drift from a rounded period */
            periodic_start(&ch->tick, ns_of_clk(edge), period_ns(period_at(ch, edge)));
        return;
    }
    periodic_stop(&ch->tick);
    set_irq0(p, out_at(ch, clk));
    u64 next = next_out_change(ch, clk);
    if (next == DM_NEVER)
        timer_cancel(clock, &ch->out_timer);
    else
        timer_arm(clock, &ch->out_timer, ns_of_clk(next));
}

/* OUT0 changes at the timer's deadline, which may be long before `now`
 * (the clock is brought up to date in jumps): evaluate OUT there, so a
 * mode 4 or 5 strobe one clock wide still gives its falling and rising
 * edge; the follow-up deadline, already past, fires in the same
 * clock_advance. Linux's one-shot clockevent is mode 4. */
static void counter0_out_changed(void *dev, u64 now)
{
    struct pit *p = dev;
    u64 at = p->ch[0].out_timer.deadline;
    u64 clk = clk_at(at < now ? at : now);
    channel_sync(&p->ch[0], clk);
    counter0_rearm(p, clk);
    channel_keep_plain_read(&p->ch[0]);
}

/* A rising edge of OUT0 in mode 2 or 3, delivered once even when late
 * (the dm_periodic counts the ones missed). */
static void counter0_tick(void *dev, u64 now)
{
    struct pit *p = dev;
    u64 clk = clk_at(now);
    channel_sync(&p->ch[0], clk);
    dm_irq_pulse(p->env->irq, PIT_IRQ);
    counter0_rearm(p, clk);
    channel_keep_plain_read(&p->ch[0]);
}

bool pit_hold_irq0(struct pit *p, bool hold) { return periodic_hold(&p->ch[0].tick, hold); }

void pit_mute_irq0(struct pit *p, bool mute)
{
    struct pit_channel *ch = &p->ch[0];
    if (mute == ch->tick.muted)
        return;
    periodic_mute(&ch->tick, mute);
    if (!mute) { /* tick on from OUT0's next rising edge, exactly */
        u64 clk = now_clk(p);
        channel_sync(ch, clk);
        counter0_rearm(p, clk);
        channel_keep_plain_read(ch);
    }
}

/* ---- ports -------------------------------------------------------------- */

static void read_back(struct pit *p, u8 cmd, u64 clk)
{
    for (unsigned i = 0; i < ARRAY_SIZE(p->ch); i++) {
        struct pit_channel *ch = &p->ch[i];
        if (!(cmd & RB_COUNTER(i)))
            continue;
        channel_sync(ch, clk);
        if (!(cmd & RB_NO_COUNT))
            latch_count(ch, clk);
        if (!(cmd & RB_NO_STATUS))
            latch_status(ch, clk);
    }
}

static void write_control(struct pit *p, u8 cw, u64 clk)
{
    unsigned sc = cw >> CW_SC_SHIFT;
    if (sc == CW_SC_READ_BACK) {
        read_back(p, cw, clk);
        return;
    }
    struct pit_channel *ch = &p->ch[sc];
    channel_sync(ch, clk);
    if (((cw >> CW_RW_SHIFT) & CW_RW_MASK) == RW_LATCH) {
        latch_count(ch, clk);
        return;
    }
    channel_set_control(ch, cw, clk);
    if (sc == 0)
        counter0_rearm(p, clk);
}

/* A read that is not plain: a latch, a count waiting, BCD, mode 3 with
 * an odd count, a counter stopped or not yet loaded. */
static __attribute__((noinline)) u8 counter_read_whole(struct pit_channel *ch, u64 clk)
{
    channel_sync(ch, clk);
    u8 v = channel_read(ch, clk);
    channel_keep_plain_read(ch);
    return v;
}

/* A counter's port (its own range: dev is the counter). The common read,
 * a counter counting with nothing latched (Linux's TSC calibration polls
 * counter 2, the BIOS and the bench counter 0), is the plain one: one
 * division and the byte (channel_keep_plain_read), without the sync,
 * the latch tests or the mode's switch. */
static u32 pit_counter_read(void *dev, u16 port, u8 size)
{
    struct pit_channel *ch = dev;
    (void)port;
    (void)size; /* byte wide */
    u64 clk = rate_count_at(&ch->read_clk, PIT_HZ, clock_now(ch->clock));
    if (__builtin_expect(clk < ch->plain_from, 0))
        return counter_read_whole(ch, clk);
    u32 count = ch->start - ch->plain_step * (u32)((clk - ch->plain_origin) % ch->plain_divisor);
    u8 shift = ch->read_shift;
    ch->read_shift = shift ^ ch->read_toggle;
    return (u8)(count >> shift);
}

static void pit_counter_write(void *dev, u16 port, u8 size, u32 value)
{
    struct pit_channel *ch = dev;
    struct pit *p = ch->pit;
    u64 clk = now_clk(p);
    (void)port;
    (void)size;
    channel_sync(ch, clk);
    channel_write(ch, (u8)value, clk);
    if (ch == &p->ch[0])
        counter0_rearm(p, clk);
    channel_keep_plain_read(ch);
}

/* The control word register (write-only: a read finds no driver, all
 * ones, as the bus gives a range without a read function). */
static void pit_control_write(void *dev, u16 port, u8 size, u32 value)
{
    struct pit *p = dev;
    (void)port;
    (void)size;
    write_control(p, (u8)value, now_clk(p));
    pit_keep_plain_reads(p); /* a read-back latches any of them */
}

static u32 port61_read(void *dev, u16 port, u8 size)
{
    struct pit *p = dev;
    u64 now = clock_now(p->env->clock);
    u64 clk = clk_at(now);
    (void)port;
    (void)size;
    channel_sync(&p->ch[2], clk);
    channel_keep_plain_read(&p->ch[2]);
    u8 v = p->port61 & P61_WRITABLE;
    if ((now / REFRESH_TOGGLE_NS) & 1)
        v |= P61_REFRESH_TOGGLE;
    if (out_at(&p->ch[2], clk))
        v |= P61_OUT2;
    return v;
}

static void port61_write(void *dev, u16 port, u8 size, u32 value)
{
    struct pit *p = dev;
    u64 clk = now_clk(p);
    (void)port;
    (void)size;
    p->port61 = (u8)value & P61_WRITABLE; /* bit 1 (speaker data) has no sound to make */
    channel_sync(&p->ch[2], clk);
    channel_set_gate(&p->ch[2], value & P61_GATE2, clk);
    channel_keep_plain_read(&p->ch[2]);
}

/* ---- life cycle --------------------------------------------------------- */

static void channel_reset(struct pit_channel *ch, struct dm_clock *clock, bool gate)
{
    timer_cancel(clock, &ch->out_timer);
    periodic_stop(&ch->tick);
    struct dm_timer out_timer = ch->out_timer;
    struct dm_periodic tick = ch->tick;
    struct pit *p = ch->pit;
    memset(ch, 0, sizeof(*ch));
    ch->out_timer = out_timer;
    ch->tick = tick;
    ch->pit = p;
    ch->clock = clock;
    ch->access = RW_LSB_MSB;
    ch->read_toggle = 8;
    ch->control = RW_LSB_MSB << CW_RW_SHIFT;
    ch->gate = gate;
    ch->null_until = DM_NEVER;
    channel_keep_plain_read(ch);
}

void pit_reset(struct pit *p)
{
    /* Gates 0 and 1 are tied high on the PC; gate 2 is port 61h bit 0. */
    for (unsigned i = 0; i < ARRAY_SIZE(p->ch); i++)
        channel_reset(&p->ch[i], p->env->clock, i != 2);
    p->port61 = 0;
    dm_irq_set(p->env->irq, PIT_IRQ, false);
}

bool pit_init(struct pit *p, struct dm_env *env)
{
    memset(p, 0, sizeof(*p));
    p->env = env;
    for (unsigned i = 0; i < ARRAY_SIZE(p->ch); i++) {
        p->ch[i].pit = p;
        timer_init(&p->ch[i].out_timer, counter0_out_changed, p);
        periodic_init(&p->ch[i].tick, env->clock, counter0_tick, p);
    }
    /* Counter 0's missed ticks follow the guest's acknowledgements
     * (pit_hold_irq0): Linux's check_timer wants more than four IRQ0s in
     * 10 ticks' time, however long the vCPU was away (docs/devices.md). */
    p->ch[0].tick.reinject = true;
    pit_reset(p);
    /* Each counter is a range of its own, whose device is the counter
     * (pit_counter_read), and the control word one that cannot be read.
     * A counter read moves only the channel's read state (latch, byte
     * order): no OUT edge, no IRQ0, no deadline. A read of port 61h only
     * looks at counter 2's OUT and the refresh toggle (counter 2 has no
     * interrupt and arms no timer): quiet too. Linux's pit_calibrate_tsc
     * polls it in a loop that must run 1000 times in 10 ms. Both answers
     * follow the clock alone (bus_set_clock_reads). */
    static const char *const names[] = {"pit counter 0", "pit counter 1", "pit counter 2"};
    for (unsigned i = 0; i < ARRAY_SIZE(p->ch); i++)
        if (!bus_claim_io(env->bus, (u16)(PIT_BASE + i), 1, 1, pit_counter_read, pit_counter_write, &p->ch[i],
                          names[i]) ||
            !bus_set_clock_reads(env->bus, (u16)(PIT_BASE + i)))
            return false;
    return bus_claim_io(env->bus, PIT_PORT_CONTROL, 1, 1, NULL, pit_control_write, p, "pit control") &&
           bus_set_timeless_reads(env->bus, PIT_PORT_CONTROL) &&
           bus_claim_io(env->bus, PIT_PORT_B, 1, 1, port61_read, port61_write, p, "port61") &&
           bus_set_clock_reads(env->bus, PIT_PORT_B);
}
