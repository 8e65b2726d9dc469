/* The PC's 8254 programmable interval timer at 0x40-0x43 and system
 * control port B at 0x61 (counter 2's gate and OUT, the speaker enable,
 * the refresh toggle). Counter 0's OUT is IRQ0; counter 1 drives nothing.
 * Datasheets: Intel 8254 Programmable Interval Timer (231164); Intel
 * 82371AB PIIX4 (290562), NMI Status and Control Register (port 61h). */
#ifndef ZAZEN_DEVMODEL_PIT_H
#define ZAZEN_DEVMODEL_PIT_H

#include "devmodel.h"

#define PIT_HZ 1193182u  /* the CLK input of all three counters */
#define PIT_BASE 0x40    /* counters 0-2, then the control word at 0x43 */
#define PIT_PORT_B 0x61  /* system control port B */
#define PIT_IRQ 0        /* GSI of counter 0's OUT */

/* One counter. Its counting element (CE) is not stepped: it is computed
 * from the virtual clock as a function of the CLK edge number (the edges
 * of a 1.193182 MHz clock running since the domain started). */
struct pit;

struct pit_channel {
    /* A plain read (pit.c, pit_counter_read): from CLK edge `plain_from`
     * on (DM_NEVER: no read is plain), the CE is start - plain_step *
     * ((clk - plain_origin) % plain_divisor), modulo 2^16, and its byte
     * `read_shift` (0 or 8) is read, the next one read_shift ^
     * read_toggle. Kept by every other path of the chip
     * (channel_keep_plain_read) after it changed the counter. */
    u64 plain_from;
    u64 plain_origin;
    u32 plain_divisor;
    u32 plain_step;
    u8 read_shift;       /* the read byte flip-flop: 0 the LSB next, 8 the MSB */
    u8 read_toggle;      /* 8 in LSB-then-MSB access, else 0 */
    struct dm_clock *clock;
    struct dm_rate_count read_clk; /* now_clk's whole second, for the counter's plain reads */
    struct pit *pit;

    u8 control;          /* RW1 RW0 M2 M1 M0 BCD as written: the status byte's low bits */
    u8 mode;             /* 0-5 */
    u8 access;           /* 1: LSB only, 2: MSB only, 3: LSB then MSB */
    bool bcd;
    u16 cr;              /* the count register, as written */
    u8 write_lsb;        /* the first byte of a two-byte count */
    bool write_msb_next; /* the write byte flip-flop (the read one: read_shift) */
    bool has_count;      /* a count was written since the control word */
    bool gate;
    bool count_latched, status_latched; /* the output latch and status latch */
    u16 latched_count;
    u8 latched_status;
    bool null_count;     /* the CR has not reached the CE yet... */
    u64 null_until;      /* ...which it does on this CLK edge (DM_NEVER: a trigger) */

    /* The counting element: while counting, from CLK edge `base` on. */
    bool counting;
    u64 base;
    u32 start;           /* modes 0, 1, 4, 5: CLK edges to terminal count; modes 2, 3: the count N */
    u32 phase;           /* modes 2, 3: CLK edges into the period at `base` */
    bool tc_done;        /* modes 0, 4: terminal count already reached */
    u32 held;            /* the CE while not counting, and before `base` */
    bool out_held;       /* OUT likewise */
    /* Modes 2, 3: a count written while counting, taken at the end of
     * the period (mode 2) or half-cycle (mode 3). */
    bool switch_pending;
    u64 switch_at;
    u32 switch_start, switch_phase;

    /* Counter 0 only: its OUT on IRQ0. */
    struct dm_timer out_timer; /* modes 0, 1, 4, 5: the next change of OUT */
    struct dm_periodic tick;   /* modes 2, 3: OUT's rising edges */
    bool irq_level;
};

struct pit {
    struct pit_channel ch[3];
    u8 port61; /* the writable bits 0-3 of port 0x61 */
    struct dm_rate_count clk_count; /* the CLK edges since time 0, from a kept whole second (now_clk) */
    struct dm_env *env;
};

/* The platform says whether a pulse on IRQ0 could still change anything
 * (an 8259 input whose IRR bit is clear, an unmasked I/O APIC pin): if
 * not, counter 0's periodic ticks are muted (no timer armed at their
 * rate); the counters stay readable, computed from time. */
void pit_mute_irq0(struct pit *p, bool mute);

/* The reinject policy of counter 0's periodic ticks (dm_periodic, as
 * KVM's in-kernel PIT does by default): the platform holds IRQ0 while
 * the last tick raised waits for the guest's acknowledgement (in an
 * 8259's IRR or ISR, or a local APIC's for the I/O APIC pin's vector);
 * released, the next owed tick is raised at once. True if one was. */
bool pit_hold_irq0(struct pit *p, bool hold);

/* Claims 0x40-0x43 and 0x61 (width 1); resets. */
bool pit_init(struct pit *p, struct dm_env *env);
/* Power-on state (undefined in the datasheet): every counter in mode 0,
 * binary, LSB then MSB, no count written, not counting; gate 2 low. */
void pit_reset(struct pit *p);

#endif
