/* pic.c: the PC's two cascaded 8259A interrupt controllers and the PIIX
 * edge/level control registers.
 * Datasheets: Intel 8259A Programmable Interrupt Controller (231468),
 * sections cited by name below; Intel 82371AB PIIX4 (290562), ELCR1 and
 * ELCR2 (the PIIX3 has the same registers).
 *
 * Only the 8086 (x86) interrupt sequence is emulated: the vector is ICW2
 * T7-T3 plus the IR number whatever ICW4 uPM says, and ICW1 ADI and A7-A5,
 * ICW4 BUF and M/S do not matter to an emulated bus.
 *
 * Edge triggered inputs, and a line that drops before the acknowledge
 * (our choice): "Edge and Level Triggered Modes" asks the IR input of a
 * real 8259A to stay high until the first INTA, or a default IR7 is
 * given. Devices here pulse their lines in zero time (dm_irq_pulse, the
 * PIT's OUT0), so an edge input keeps its IRR bit from the rising edge
 * until the request is acknowledged (INTA or poll) or the chip is
 * re-initialized (ICW1), even if the line has dropped meanwhile. The same
 * holds for the master's IR2, which the slave's INT drives. A request
 * still disappears before INTA when it is masked (OCW1) or when a level
 * triggered line drops: INTA then gives the spurious IR7 vector. */
#include "pic.h"
#include "../vmm/string.h"

/* Port offsets: the A0 address input. */
#define PIC_PORT_COMMAND 0 /* A0=0: ICW1, OCW2, OCW3; reads IRR, ISR, poll */
#define PIC_PORT_DATA 1    /* A0=1: ICW2-ICW4, OCW1; reads IMR */

/* ICW1 ("Initialization Command Words"). */
#define ICW1_IC4 0x01  /* ICW4 follows */
#define ICW1_SNGL 0x02 /* single: no ICW3 */
#define ICW1_LTIM 0x08 /* level triggered mode */
#define ICW1_ID 0x10   /* D4=1 on A0=0 makes the byte an ICW1 */
/* ICW2: T7-T3 of the vector. */
#define ICW2_VECTOR_MASK 0xf8
/* ICW4. */
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10
/* ICW3 of a slave: its ID, bits 2-0. */
#define ICW3_SLAVE_ID 0x07

/* OCW2 ("Operation Command Words"): R SL EOI 0 0 L2 L1 L0. */
#define OCW2_LEVEL 0x07
#define OCW2_COMMAND 0xe0
#define OCW2_ROTATE_AEOI_CLEAR 0x00
#define OCW2_NONSPECIFIC_EOI 0x20
#define OCW2_NOP 0x40
#define OCW2_SPECIFIC_EOI 0x60
#define OCW2_ROTATE_AEOI_SET 0x80
#define OCW2_ROTATE_NONSPECIFIC_EOI 0xa0
#define OCW2_SET_PRIORITY 0xc0
#define OCW2_ROTATE_SPECIFIC_EOI 0xe0
/* OCW3: 0 ESMM SMM 0 1 P RR RIS. */
#define OCW3_ID 0x08 /* D4=0, D3=1 on A0=0 makes the byte an OCW3 */
#define OCW3_RIS 0x01
#define OCW3_RR 0x02
#define OCW3_POLL 0x04
#define OCW3_SMM 0x20
#define OCW3_ESMM 0x40
/* The poll word ("Poll Command"): I - - - - W2 W1 W0. */
#define POLL_INTERRUPT 0x80

/* PIIX4 ELCR1/ELCR2: 1 = level. IRQ0, 1, 2, 8 and 13 are reserved bits,
 * read as 0: those inputs are always edge triggered. */
#define ELCR1_WRITABLE 0xf8
#define ELCR2_WRITABLE 0xde

#define IR7 7
#define NO_IR (-1)
#define FLOATING_BUS_VECTOR 0xff /* no chip drives the data bus */

enum { ICW_DONE = 0, ICW_EXPECT_2 = 2, ICW_EXPECT_3, ICW_EXPECT_4 };

static u8 ir_bit(unsigned ir) { return (u8)(1u << ir); }

/* ---- one chip ---------------------------------------------------------- */

/* "Interrupt Priorities": IR (lowest + 1) mod 8 has the highest priority;
 * rotation only moves `lowest`. */
static unsigned ir_of_priority(const struct pic_chip *c, unsigned priority) { return (c->lowest + 1 + priority) & 7; }

/* bits (one per IR) in priority order: bit p stands for the level of
 * priority p, so the highest priority set is the lowest bit set (an
 * 8-bit rotation by the level of priority 0), found by one bit scan
 * rather than a walk over eight priorities on every EOI and INTA. */
static unsigned by_priority(const struct pic_chip *c, u8 bits)
{
    unsigned first = (c->lowest + 1u) & 7;
    return ((unsigned)bits >> first | (unsigned)bits << (8 - first)) & 0xff;
}

static int highest_priority_ir(const struct pic_chip *c, u8 bits)
{
    if (!bits)
        return NO_IR;
    return (int)ir_of_priority(c, (unsigned)__builtin_ctz(by_priority(c, bits)));
}

/* The inputs where a slave answers the acknowledge ("Cascade Mode"). */
static u8 cascade_inputs(const struct pic_chip *c, bool master) { return master && !c->single ? c->icw3 : 0; }

/* The priority resolver: the request INT stands for, or NO_IR. A request
 * is served when no level of equal or higher priority is in service
 * ("Fully Nested Mode"). In special mask mode a masked in-service level
 * stops inhibiting the others ("Special Mask Mode"); in special fully
 * nested mode a slave's input in service still lets that slave's further
 * requests through ("Special Fully Nested Mode"). */
static int chip_pending_ir(const struct pic_chip *c, bool master)
{
    u8 requests = c->irr & (u8)~c->imr;
    u8 inhibiting = c->special_mask ? c->isr & (u8)~c->imr : c->isr;
    if (!requests)
        return NO_IR;
    /* The first level, in priority order, that is in service or asks. */
    int ir = highest_priority_ir(c, requests | inhibiting);
    u8 b = ir_bit((unsigned)ir);
    if (inhibiting & b)
        return c->sfnm && (cascade_inputs(c, master) & b) && (requests & b) ? ir : NO_IR;
    return ir;
}

/* An edge input latches its rising edge; a level input's IRR follows the
 * line ("Edge and Level Triggered Modes"; see the top of the file). */
static void chip_set_line(struct pic_chip *c, unsigned ir, bool high)
{
    u8 b = ir_bit(ir);
    bool was_high = c->lines & b;
    if (high) {
        c->lines |= b;
        if ((c->level & b) || !was_high)
            c->irr |= b;
    } else {
        c->lines &= (u8)~b;
        if (c->level & b)
            c->irr &= (u8)~b;
    }
}

static void chip_set_trigger_modes(struct pic_chip *c, u8 level)
{
    c->level = level;
    c->irr = (u8)((c->irr & ~level) | (c->lines & level));
}

/* "Interrupt Sequence": the first INTA sets the ISR bit and resets the
 * IRR bit; in AEOI mode the ISR bit is reset at the end of the second
 * INTA ("Automatic End of Interrupt Mode"), which with rotation on AEOI
 * also makes the level the lowest priority ("Automatic Rotation"). A
 * level input's IRR bit stays as long as its line is high. */
static void chip_acknowledge(struct pic_chip *c, unsigned ir)
{
    u8 b = ir_bit(ir);
    if (!(c->level & b))
        c->irr &= (u8)~b;
    if (!c->auto_eoi)
        c->isr |= b;
    else if (c->rotate_aeoi)
        c->lowest = (u8)ir;
}

/* "End of Interrupt": the non-specific EOI resets the highest priority
 * ISR bit; in special mask mode a masked ISR bit is left alone. */
static inline __attribute__((always_inline)) int chip_nonspecific_eoi(struct pic_chip *c)
{
    u8 candidates = c->special_mask ? c->isr & (u8)~c->imr : c->isr;
    int ir = highest_priority_ir(c, candidates);
    if (ir != NO_IR)
        c->isr &= (u8)~ir_bit((unsigned)ir);
    return ir;
}

static void chip_write_ocw2(struct pic_chip *c, u8 v)
{
    unsigned level = v & OCW2_LEVEL;
    int ir;
    switch (v & OCW2_COMMAND) {
    case OCW2_NONSPECIFIC_EOI:
        chip_nonspecific_eoi(c);
        break;
    case OCW2_SPECIFIC_EOI:
        c->isr &= (u8)~ir_bit(level);
        break;
    case OCW2_ROTATE_NONSPECIFIC_EOI: /* "Automatic Rotation": the level just reset becomes lowest */
        ir = chip_nonspecific_eoi(c);
        if (ir != NO_IR)
            c->lowest = (u8)ir;
        break;
    case OCW2_ROTATE_SPECIFIC_EOI: /* "Specific Rotation" */
        c->isr &= (u8)~ir_bit(level);
        c->lowest = (u8)level;
        break;
    case OCW2_SET_PRIORITY:
        c->lowest = (u8)level;
        break;
    case OCW2_ROTATE_AEOI_SET:
        c->rotate_aeoi = true;
        break;
    case OCW2_ROTATE_AEOI_CLEAR:
        c->rotate_aeoi = false;
        break;
    case OCW2_NOP:
    default:
        break;
    }
}

/* OCW3: SMM counts only with ESMM, RIS only with RR; a poll overrides a
 * register read selected in the same OCW3 ("Reading the 8259A Status"). */
static void chip_write_ocw3(struct pic_chip *c, u8 v)
{
    if (v & OCW3_ESMM)
        c->special_mask = v & OCW3_SMM;
    if (v & OCW3_RR)
        c->read_isr = v & OCW3_RIS;
    c->poll = v & OCW3_POLL;
}

/* "Initialization Command Words", what ICW1 does: the edge sense
 * circuit is reset (an input must go low to high again), the IMR is
 * cleared, IR7 gets the lowest priority, the slave address is set to 7,
 * special mask mode is cleared and status read is set to IRR; without
 * IC4, the ICW4 functions are zero. Our choices beyond the list: the ISR
 * is cleared too, and so are a pending poll and rotation in AEOI mode,
 * so a re-initialized chip starts from a clean slate. */
static void chip_write_icw1(struct pic_chip *c, u8 v)
{
    c->irr = 0;
    c->isr = 0;
    c->imr = 0;
    c->lowest = IR7;
    c->icw3 = IR7;
    c->special_mask = false;
    c->read_isr = false;
    c->poll = false;
    c->rotate_aeoi = false;
    c->ltim = v & ICW1_LTIM;
    c->single = v & ICW1_SNGL;
    c->need_icw4 = v & ICW1_IC4;
    if (!c->need_icw4) {
        c->auto_eoi = false;
        c->sfnm = false;
    }
    c->init_step = ICW_EXPECT_2;
}

static u8 icw_after_icw2(const struct pic_chip *c)
{
    if (!c->single)
        return ICW_EXPECT_3;
    return c->need_icw4 ? ICW_EXPECT_4 : ICW_DONE;
}

/* The odd port: ICW2, ICW3 and ICW4 in sequence after an ICW1, then OCW1
 * (the IMR). */
static void chip_write_data(struct pic_chip *c, u8 v)
{
    switch (c->init_step) {
    case ICW_EXPECT_2:
        c->vector_base = v & ICW2_VECTOR_MASK;
        c->init_step = icw_after_icw2(c);
        break;
    case ICW_EXPECT_3:
        c->icw3 = v;
        c->init_step = c->need_icw4 ? ICW_EXPECT_4 : ICW_DONE;
        break;
    case ICW_EXPECT_4:
        c->auto_eoi = v & ICW4_AEOI;
        c->sfnm = v & ICW4_SFNM;
        c->init_step = ICW_DONE;
        break;
    default:
        c->imr = v;
        break;
    }
}

/* "Poll Command": the read counts as an INTA (the ISR bit is set if there
 * is a request) and returns I and the level; 0 without a request. */
static u8 chip_poll(struct pic_chip *c, bool master)
{
    int ir = chip_pending_ir(c, master);
    c->poll = false;
    if (ir == NO_IR)
        return 0;
    chip_acknowledge(c, (unsigned)ir);
    return (u8)(POLL_INTERRUPT | ir);
}

static void chip_reset(struct pic_chip *c)
{
    u8 lines = c->lines; /* driven from outside */
    memset(c, 0, sizeof(*c));
    c->lines = lines;
    /* The datasheet leaves the power-on state undefined; everything
     * masked keeps an unprogrammed pair from interrupting the CPU. */
    c->imr = 0xff;
    c->lowest = IR7;
}

/* ---- the pair ---------------------------------------------------------- */

static struct pic_chip *master_of(struct pic *p) { return &p->chip[0]; }
static struct pic_chip *slave_of(struct pic *p) { return &p->chip[1]; }

/* The slave's INT output drives the master's IR2. */
static void update_cascade_line(struct pic *p)
{
    chip_set_line(master_of(p), PIC_CASCADE_IR, chip_pending_ir(slave_of(p), false) != NO_IR);
}

/* An acknowledge (INTA or poll) takes the slave's request: its INT drops,
 * and a request still pending raises it again as a new edge on IR2. */
static void slave_acknowledged(struct pic *p)
{
    chip_set_line(master_of(p), PIC_CASCADE_IR, false);
    update_cascade_line(p);
}

/* Each input is level triggered if its chip's ICW1 LTIM or its ELCR bit
 * says so. */
static void apply_trigger_modes(struct pic *p)
{
    for (unsigned i = 0; i < 2; i++)
        chip_set_trigger_modes(&p->chip[i], (u8)((p->chip[i].ltim ? 0xff : 0) | p->elcr[i]));
}

static unsigned chip_index(u16 port) { return (port & ~1u) == PIC_SLAVE_BASE ? 1 : 0; }

static u32 pic_port_read(void *dev, u16 port, u8 size)
{
    struct pic *p = dev;
    unsigned i = chip_index(port);
    struct pic_chip *c = &p->chip[i];
    (void)size; /* byte wide */
    if ((port & 1) == PIC_PORT_DATA)
        return c->imr; /* "Reading the 8259A Status": the IMR needs no OCW3 */
    if (!c->poll)
        return c->read_isr ? c->isr : c->irr;
    u8 word = chip_poll(c, i == 0);
    if (i == 1 && (word & POLL_INTERRUPT))
        slave_acknowledged(p);
    return word;
}

/* The slave's INT, the master's IR2, follows the slave's state alone: a
 * write to the master leaves it as it was (an ICW1 there keeps the line
 * and asks for a new edge; apply_trigger_modes gave a level IR2 its
 * request back). */
static void chip_written(struct pic *p, const struct pic_chip *c)
{
    if (c == slave_of(p))
        update_cascade_line(p);
}

static void __attribute__((noinline)) chip_write_command(struct pic *p, struct pic_chip *c, u8 v)
{
    if (v & ICW1_ID) {
        chip_write_icw1(c, v);
        apply_trigger_modes(p);
    } else if (v & OCW3_ID)
        chip_write_ocw3(c, v);
    else
        chip_write_ocw2(c, v);
    chip_written(p, c);
}

static void pic_port_write(void *dev, u16 port, u8 size, u32 value)
{
    struct pic *p = dev;
    struct pic_chip *c = &p->chip[chip_index(port)];
    u8 v = (u8)value;
    (void)size;
    if ((port & 1) == PIC_PORT_DATA) {
        chip_write_data(c, v);
        chip_written(p, c);
    } else if (v == OCW2_NONSPECIFIC_EOI) { /* after every interrupt: on its own, first */
        chip_nonspecific_eoi(c);
        chip_written(p, c);
    } else
        chip_write_command(p, c, v);
}

static u32 elcr_read(void *dev, u16 port, u8 size)
{
    struct pic *p = dev;
    (void)size;
    return p->elcr[port - PIC_ELCR_BASE];
}

static void elcr_write(void *dev, u16 port, u8 size, u32 value)
{
    static const u8 writable[2] = {ELCR1_WRITABLE, ELCR2_WRITABLE};
    struct pic *p = dev;
    unsigned i = port - PIC_ELCR_BASE;
    (void)size;
    p->elcr[i] = (u8)value & writable[i];
    apply_trigger_modes(p);
    update_cascade_line(p);
}

void pic_reset(struct pic *p)
{
    chip_reset(master_of(p));
    chip_reset(slave_of(p));
    p->elcr[0] = p->elcr[1] = 0;
    apply_trigger_modes(p);
    update_cascade_line(p);
}

bool pic_init(struct pic *p, struct dm_env *env)
{
    memset(p, 0, sizeof(*p));
    p->env = env;
    pic_reset(p);
    /* A write (an ICW, a mask, an EOI, a trigger mode) changes only what
     * the 8259s request of the CPU, which reaches it through the PC's
     * signal, and reads no clock: requests, not full (bus.h), so an EOI
     * takes the fast way without moving device time. */
    return bus_claim_io(env->bus, PIC_MASTER_BASE, 2, 1, pic_port_read, pic_port_write, p, "pic-master") &&
           bus_claim_io(env->bus, PIC_SLAVE_BASE, 2, 1, pic_port_read, pic_port_write, p, "pic-slave") &&
           bus_claim_io(env->bus, PIC_ELCR_BASE, 2, 1, elcr_read, elcr_write, p, "elcr") &&
           bus_set_writes(env->bus, PIC_MASTER_BASE, BUS_WRITES_REQUESTS) &&
           bus_set_writes(env->bus, PIC_SLAVE_BASE, BUS_WRITES_REQUESTS) &&
           bus_set_writes(env->bus, PIC_ELCR_BASE, BUS_WRITES_REQUESTS);
}

void pic_set_irq(struct pic *p, unsigned irq, bool level)
{
    if (irq >= 16 || irq == PIC_CASCADE_IR)
        return;
    chip_set_line(&p->chip[irq / 8], irq % 8, level);
    update_cascade_line(p);
}

bool pic_intr(const struct pic *p) { return chip_pending_ir(&p->chip[0], true) != NO_IR; }

/* The slave's part of the acknowledge, when the master's request was its
 * IR2: the slave puts its vector on the bus, or its IR7 vector if its
 * request is gone, and only if its ICW3 ID is the one the master put on
 * the CAS lines ("Cascade Mode"). */
static int slave_inta(struct pic *p)
{
    struct pic_chip *s = slave_of(p);
    if ((s->icw3 & ICW3_SLAVE_ID) != PIC_CASCADE_IR)
        return FLOATING_BUS_VECTOR;
    int ir = chip_pending_ir(s, false);
    int vector = s->vector_base | IR7;
    if (ir != NO_IR) {
        chip_acknowledge(s, (unsigned)ir);
        vector = s->vector_base | ir;
    }
    slave_acknowledged(p);
    return vector;
}

/* "Interrupt Sequence": with no request left at the first INTA the master
 * gives its IR7 vector and sets no ISR bit. A request on an input with a
 * slave is vectored by that slave; only IR2 has one on the PC. */
int pic_inta(struct pic *p)
{
    struct pic_chip *m = master_of(p);
    int ir = chip_pending_ir(m, true);
    if (ir == NO_IR)
        return m->vector_base | IR7;
    chip_acknowledge(m, (unsigned)ir);
    if (!(cascade_inputs(m, true) & ir_bit((unsigned)ir)))
        return m->vector_base | ir;
    if (ir != PIC_CASCADE_IR)
        return FLOATING_BUS_VECTOR;
    return slave_inta(p);
}
