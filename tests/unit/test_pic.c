/* unit-sources: devmodel/pic.c devmodel/bus.c devmodel/clock.c */
/* The 8259A pair: initialization, masking, priorities and rotation, EOIs,
 * AEOI, cascade, edge and level triggering (LTIM, ELCR), spurious IRQ7 and
 * IRQ15, poll, status reads and special mask mode. */
#include "unit.h"
#include "dm_fake.h"
#include "../../devmodel/pic.h"

#define M 0x20 /* master command port */
#define S 0xa0 /* slave command port */

static struct pic pic;

static bool setup(void)
{
    return pic_init(&pic, fake_env_reset());
}

/* The master alone: ICW1 as given, vectors from 0x20, a slave on IR2,
 * ICW4 8086 mode. */
static void init_master(u8 icw1)
{
    outb_(M, icw1);
    outb_(M + 1, 0x20);
    outb_(M + 1, 0x04);
    outb_(M + 1, 0x01);
}

/* The PC BIOS/Linux sequence: vectors 0x20 and 0x28, slave on IR2. */
static void init_pair(u8 icw4)
{
    outb_(M, 0x11);
    outb_(M + 1, 0x20);
    outb_(M + 1, 0x04);
    outb_(M + 1, icw4);
    outb_(S, 0x11);
    outb_(S + 1, 0x28);
    outb_(S + 1, 0x02);
    outb_(S + 1, icw4);
}

static u8 read_irr(u16 cmd)
{
    outb_(cmd, 0x0a);
    return inb_(cmd);
}

static u8 read_isr(u16 cmd)
{
    outb_(cmd, 0x0b);
    return inb_(cmd);
}

static void pulse(unsigned irq)
{
    pic_set_irq(&pic, irq, true);
    pic_set_irq(&pic, irq, false);
}

static void eoi(u16 cmd) { outb_(cmd, 0x20); }

TEST(pic_init_sequence_and_vector_base)
{
    CHECK(setup());
    /* power-on: all masked, nothing reaches the CPU */
    CHECK_EQ(inb_(M + 1), 0xff);
    CHECK_EQ(inb_(S + 1), 0xff);
    /* the writes of both chips and the ELCR are watched (bus.h) */
    for (u16 port = M; port < M + 2; port++)
        CHECK_EQ(bus_fast_range(&fake.bus, port, 1)->writes, BUS_WRITES_REQUESTS);
    for (u16 port = S; port < S + 2; port++)
        CHECK_EQ(bus_fast_range(&fake.bus, port, 1)->writes, BUS_WRITES_REQUESTS);
    for (u16 port = PIC_ELCR_BASE; port < PIC_ELCR_BASE + 2; port++)
        CHECK_EQ(bus_fast_range(&fake.bus, port, 1)->writes, BUS_WRITES_REQUESTS);
    pulse(1);
    CHECK(!pic_intr(&pic));

    init_pair(0x01);
    CHECK_EQ(inb_(M + 1), 0x00); /* ICW1 cleared the IMR */
    CHECK_EQ(read_irr(M), 0x00); /* and the edge that came before */
    pulse(1);
    CHECK(pic_intr(&pic));
    CHECK_EQ(pic_inta(&pic), 0x21);
    CHECK(!pic_intr(&pic));
    CHECK_EQ(read_isr(M), 0x02);
    eoi(M);
    CHECK_EQ(read_isr(M), 0x00);

    /* ICW2's low three bits are not part of the base */
    outb_(M, 0x11);
    outb_(M + 1, 0x47);
    outb_(M + 1, 0x04);
    outb_(M + 1, 0x01);
    pulse(4);
    CHECK_EQ(pic_inta(&pic), 0x44);
    eoi(M);

    /* single, with ICW4: no ICW3, so the third odd byte is ICW4 and the
     * fourth is OCW1 */
    outb_(M, 0x13);
    outb_(M + 1, 0x08);
    outb_(M + 1, 0x03); /* ICW4: 8086, AEOI */
    outb_(M + 1, 0x01); /* OCW1: IR0 masked */
    CHECK_EQ(inb_(M + 1), 0x01);
    pulse(0);
    CHECK(!pic_intr(&pic));
    pulse(5);
    CHECK_EQ(pic_inta(&pic), 0x0d);
    CHECK_EQ(read_isr(M), 0x00); /* AEOI from that ICW4 */

    /* without IC4 the ICW4 functions are cleared: no more AEOI */
    outb_(M, 0x10);
    outb_(M + 1, 0x08);
    outb_(M + 1, 0x04); /* ICW3 */
    outb_(M + 1, 0x00); /* already OCW1 */
    pulse(5);
    CHECK_EQ(pic_inta(&pic), 0x0d);
    CHECK_EQ(read_isr(M), 0x20);
}

TEST(pic_masking)
{
    CHECK(setup());
    init_pair(0x01);
    outb_(M + 1, 0x02);
    CHECK_EQ(inb_(M + 1), 0x02);
    pulse(1);
    CHECK(!pic_intr(&pic));
    CHECK_EQ(read_irr(M), 0x02); /* requested, only masked */
    outb_(M + 1, 0x00);
    CHECK(pic_intr(&pic));
    CHECK_EQ(pic_inta(&pic), 0x21);

    /* masking the cascade input hides the whole slave */
    eoi(M);
    outb_(M + 1, 0x04);
    pulse(12);
    CHECK(!pic_intr(&pic));
    outb_(M + 1, 0x00);
    CHECK_EQ(pic_inta(&pic), 0x2c);
    /* and a slave mask works on its own */
    eoi(S);
    eoi(M);
    outb_(S + 1, 0x10);
    pulse(12);
    CHECK(!pic_intr(&pic));
    CHECK_EQ(read_irr(S), 0x10);
}

TEST(pic_fully_nested_priorities_and_eoi)
{
    CHECK(setup());
    init_pair(0x01);
    pulse(3);
    pulse(1);
    CHECK_EQ(pic_inta(&pic), 0x21); /* IR1 before IR3 */
    CHECK(!pic_intr(&pic));         /* IR3 waits: lower than IR1 in service */
    pulse(0);
    CHECK(pic_intr(&pic)); /* IR0 nests */
    CHECK_EQ(pic_inta(&pic), 0x20);
    CHECK_EQ(read_isr(M), 0x03);
    eoi(M); /* non-specific: the highest in service, IR0 */
    CHECK_EQ(read_isr(M), 0x02);
    CHECK(!pic_intr(&pic));
    eoi(M);
    CHECK_EQ(read_isr(M), 0x00);
    CHECK_EQ(pic_inta(&pic), 0x23);

    /* specific EOI clears the level named, not the highest */
    pulse(1);
    CHECK_EQ(pic_inta(&pic), 0x21);
    CHECK_EQ(read_isr(M), 0x0a);
    outb_(M, 0x63);
    CHECK_EQ(read_isr(M), 0x02);
    outb_(M, 0x40); /* no operation */
    CHECK_EQ(read_isr(M), 0x02);
    outb_(M, 0x61);
    CHECK_EQ(read_isr(M), 0x00);
}

TEST(pic_rotation)
{
    CHECK(setup());
    init_pair(0x01);
    /* set priority: IR4 lowest, so IR5 highest: IR6 beats IR1 */
    outb_(M, 0xc4);
    pulse(1);
    pulse(6);
    CHECK_EQ(pic_inta(&pic), 0x26);
    /* rotate on non-specific EOI: IR6 becomes lowest, IR7 highest;
     * IR1 now beats IR5 */
    outb_(M, 0xa0);
    CHECK_EQ(read_isr(M), 0x00);
    pulse(5);
    CHECK_EQ(pic_inta(&pic), 0x21);
    /* rotate on specific EOI: IR1 reset and made lowest, so the order is
     * now 2,3,4,5,6,7,0,1 */
    outb_(M, 0xe1);
    CHECK_EQ(read_isr(M), 0x00);
    pulse(0);
    CHECK_EQ(pic_inta(&pic), 0x25); /* IR5 was still pending and beats IR0 */
    eoi(M);
    CHECK_EQ(pic_inta(&pic), 0x20);
    eoi(M);

    /* rotation in automatic EOI mode */
    outb_(M, 0x11);
    outb_(M + 1, 0x20);
    outb_(M + 1, 0x04);
    outb_(M + 1, 0x03); /* AEOI */
    outb_(M, 0x80);     /* rotate in AEOI: set */
    pulse(1);
    CHECK_EQ(pic_inta(&pic), 0x21); /* IR1 is now lowest */
    pulse(0);
    pulse(3);
    CHECK_EQ(pic_inta(&pic), 0x23); /* order 2,...,7,0,1 */
    CHECK_EQ(pic_inta(&pic), 0x20); /* IR3 lowest: 4,...,7,0,1,2,3 */
    outb_(M, 0x00);                 /* rotate in AEOI: clear */
    pulse(4);
    pulse(1);
    CHECK_EQ(pic_inta(&pic), 0x21); /* IR0 lowest: 1 first */
    CHECK_EQ(pic_inta(&pic), 0x24); /* and no rotation after it */
    pulse(3);
    pulse(1);
    CHECK_EQ(pic_inta(&pic), 0x21);
}

TEST(pic_auto_eoi)
{
    CHECK(setup());
    init_pair(0x03);
    pulse(1);
    CHECK_EQ(pic_inta(&pic), 0x21);
    CHECK_EQ(read_isr(M), 0x00);
    pulse(3); /* no EOI needed for the next, even a lower one */
    CHECK(pic_intr(&pic));
    CHECK_EQ(pic_inta(&pic), 0x23);
}

TEST(pic_cascade_slave_irq10)
{
    CHECK(setup());
    init_pair(0x01);
    pulse(10);
    CHECK(pic_intr(&pic));
    CHECK_EQ(read_irr(M), 0x04);
    CHECK_EQ(read_irr(S), 0x04);
    CHECK_EQ(pic_inta(&pic), 0x2a);
    CHECK_EQ(read_isr(M), 0x04);
    CHECK_EQ(read_isr(S), 0x04);
    CHECK_EQ(read_irr(M), 0x00);
    CHECK_EQ(read_irr(S), 0x00);

    /* a higher slave request while IR2 is in service on the master waits
     * for the master's EOI (fully nested) */
    pulse(8);
    CHECK(!pic_intr(&pic));
    pulse(12); /* lower than 10 on the slave */
    eoi(S);
    CHECK_EQ(read_isr(S), 0x00);
    CHECK(!pic_intr(&pic));
    eoi(M);
    CHECK(pic_intr(&pic));
    CHECK_EQ(pic_inta(&pic), 0x28);
    eoi(S);
    eoi(M);
    CHECK_EQ(pic_inta(&pic), 0x2c);
    eoi(S);
    eoi(M);
    CHECK(!pic_intr(&pic));
    /* master IR1 beats the slave; IR3 does not */
    pulse(11);
    pulse(3);
    pulse(1);
    CHECK_EQ(pic_inta(&pic), 0x21);
    eoi(M);
    CHECK_EQ(pic_inta(&pic), 0x2b);
}

/* The master's IR2 follows the slave's INT alone (pic_port_write updates
 * it after slave writes only): writing the master leaves the line as it
 * is, and an ICW1 there wants a new edge from the slave's INT, which a
 * level input does not. */
TEST(pic_master_writes_leave_the_cascade_line)
{
    CHECK(setup());
    init_pair(0x01);
    pulse(10);
    CHECK_EQ(read_irr(M), 0x04);
    outb_(M + 1, 0x04); /* mask IR2: the slave still asks */
    CHECK(!pic_intr(&pic));
    outb_(M + 1, 0x00);
    CHECK(pic_intr(&pic));
    eoi(M); /* nothing in service: nothing moves */
    CHECK_EQ(read_irr(M), 0x04);
    /* the master alone re-initialized, edge triggered: IRR cleared, and the
     * slave's INT, still high, is no new edge */
    init_master(0x11);
    CHECK_EQ(read_irr(M), 0x00);
    CHECK(!pic_intr(&pic));
    CHECK_EQ(read_irr(S), 0x04);
    /* ...level triggered (LTIM): IR2 follows the line, high */
    init_master(0x19);
    CHECK_EQ(read_irr(M), 0x04);
    CHECK_EQ(pic_inta(&pic), 0x2a);
}

/* IR0's IRR, ISR and IMR bits, packed: what the PC's timer gate reads of
 * the master (devmodel/pc.h pc_irq0_gate_inputs); no other IR moves it. */
TEST(pic_ir0_bits)
{
    CHECK(setup());
    init_pair(0x01);
    CHECK_EQ(pic_chip_ir0_bits(&pic.chip[0]), 0u);
    pulse(1);
    outb_(M + 1, 0xfe);
    CHECK_EQ(pic_chip_ir0_bits(&pic.chip[0]), 0u);
    pulse(0);
    CHECK_EQ(pic_chip_ir0_bits(&pic.chip[0]), 0x000001u); /* IRR */
    outb_(M + 1, 0xff);
    CHECK_EQ(pic_chip_ir0_bits(&pic.chip[0]), 0x010001u); /* IMR */
    outb_(M + 1, 0x00);
    CHECK_EQ(pic_inta(&pic), 0x20);
    CHECK_EQ(pic_chip_ir0_bits(&pic.chip[0]), 0x000100u); /* ISR */
    eoi(M);
    CHECK_EQ(pic_chip_ir0_bits(&pic.chip[0]), 0u);
}

TEST(pic_cascade_auto_eoi_delivers_every_slave_request)
{
    CHECK(setup());
    init_pair(0x03);
    pulse(10);
    pulse(11);
    CHECK_EQ(pic_inta(&pic), 0x2a);
    CHECK(pic_intr(&pic)); /* the slave still asks: a new edge on IR2 */
    CHECK_EQ(pic_inta(&pic), 0x2b);
    CHECK(!pic_intr(&pic));
    CHECK_EQ(read_isr(M) | read_isr(S), 0x00);
}

TEST(pic_special_fully_nested_mode)
{
    CHECK(setup());
    init_pair(0x01);
    outb_(M, 0x11); /* master again with SFNM */
    outb_(M + 1, 0x20);
    outb_(M + 1, 0x04);
    outb_(M + 1, 0x11);
    pulse(10);
    CHECK_EQ(pic_inta(&pic), 0x2a);
    pulse(8);
    CHECK(pic_intr(&pic)); /* the slave's higher request gets through */
    CHECK_EQ(pic_inta(&pic), 0x28);
    CHECK_EQ(read_isr(S), 0x05);
    pulse(11);
    CHECK(!pic_intr(&pic)); /* the slave's own priority still holds */
}

TEST(pic_level_and_edge_triggering)
{
    CHECK(setup());
    init_pair(0x01);
    /* PIIX: IRQ0, 1, 2, 8, 13 cannot be level */
    outb_(0x4d0, 0xff);
    outb_(0x4d1, 0xff);
    CHECK_EQ(inb_(0x4d0), 0xf8);
    CHECK_EQ(inb_(0x4d1), 0xde);
    outb_(0x4d0, 0x00);
    outb_(0x4d1, 0x04); /* IRQ10 level, IRQ11 edge */

    pic_set_irq(&pic, 10, true);
    CHECK_EQ(pic_inta(&pic), 0x2a);
    eoi(S);
    eoi(M);
    CHECK(pic_intr(&pic)); /* still high: requested again */
    CHECK_EQ(pic_inta(&pic), 0x2a);
    pic_set_irq(&pic, 10, false);
    CHECK_EQ(read_irr(S), 0x00);
    eoi(S);
    eoi(M);
    CHECK(!pic_intr(&pic));

    pic_set_irq(&pic, 11, true); /* edge, held high */
    CHECK_EQ(pic_inta(&pic), 0x2b);
    eoi(S);
    eoi(M);
    CHECK(!pic_intr(&pic)); /* no new edge, no new request */
    pic_set_irq(&pic, 11, true); /* driven high again: still no edge */
    CHECK(!pic_intr(&pic));
    pic_set_irq(&pic, 11, false);
    CHECK(!pic_intr(&pic));
    pic_set_irq(&pic, 11, true);
    CHECK_EQ(pic_inta(&pic), 0x2b);
    eoi(S);
    eoi(M);

    /* edge: a pulse stays requested after the line drops (our choice) */
    pulse(3);
    CHECK_EQ(read_irr(M), 0x08);
    CHECK_EQ(pic_inta(&pic), 0x23);
    eoi(M);

    /* ICW1 LTIM makes every input of that chip level triggered */
    outb_(M, 0x19);
    outb_(M + 1, 0x20);
    outb_(M + 1, 0x04);
    outb_(M + 1, 0x01);
    pic_set_irq(&pic, 4, true);
    CHECK_EQ(pic_inta(&pic), 0x24);
    eoi(M);
    CHECK(pic_intr(&pic));
    pic_set_irq(&pic, 4, false);
    CHECK(!pic_intr(&pic));
    /* IR2 is level too now: it follows the slave's INT, which is low
     * although IRQ11's line is still high (its edge was taken) */
    CHECK_EQ(read_irr(M), 0x00);
}

TEST(pic_spurious_irq7_and_irq15)
{
    CHECK(setup());
    init_pair(0x01);
    /* masked between INTR and INTA */
    pulse(1);
    CHECK(pic_intr(&pic));
    outb_(M + 1, 0x02);
    CHECK_EQ(pic_inta(&pic), 0x27);
    CHECK_EQ(read_isr(M), 0x00);
    outb_(M + 1, 0x00);
    CHECK_EQ(pic_inta(&pic), 0x21); /* still requested */
    eoi(M);

    /* a level line that drops before INTA */
    outb_(0x4d0, 0x20);
    pic_set_irq(&pic, 5, true);
    CHECK(pic_intr(&pic));
    pic_set_irq(&pic, 5, false);
    CHECK_EQ(pic_inta(&pic), 0x27);
    CHECK_EQ(read_isr(M), 0x00);

    /* a real IRQ7 sets its ISR bit */
    pulse(7);
    CHECK_EQ(pic_inta(&pic), 0x27);
    CHECK_EQ(read_isr(M), 0x80);
    eoi(M);

    /* the slave's request goes away after it raised IR2 on the master:
     * the master takes IR2 in service, the slave answers with IRQ15's
     * vector and sets nothing */
    outb_(0x4d1, 0x04);
    pic_set_irq(&pic, 10, true);
    pic_set_irq(&pic, 10, false);
    CHECK(pic_intr(&pic));
    CHECK_EQ(pic_inta(&pic), 0x2f);
    CHECK_EQ(read_isr(M), 0x04);
    CHECK_EQ(read_isr(S), 0x00);
    eoi(M);
    CHECK_EQ(read_isr(M), 0x00);
    CHECK(!pic_intr(&pic));
}

TEST(pic_poll_command)
{
    CHECK(setup());
    init_pair(0x01);
    outb_(M, 0x0c);
    CHECK_EQ(inb_(M), 0x00); /* nothing requested */
    pulse(3);
    pulse(5);
    outb_(M, 0x0e); /* poll and read IRR: the poll wins */
    CHECK_EQ(inb_(M), 0x83);
    CHECK_EQ(read_isr(M), 0x08); /* the poll acknowledged IR3 */
    outb_(M, 0x0a);
    CHECK_EQ(inb_(M), 0x20); /* one read only: back to IRR */
    eoi(M);
    outb_(M, 0x0c);
    CHECK_EQ(inb_(M), 0x85);

    /* polling the pair: the master says IR2, the slave which one */
    eoi(M);
    pulse(9);
    outb_(M, 0x0c);
    CHECK_EQ(inb_(M), 0x82);
    outb_(S, 0x0c);
    CHECK_EQ(inb_(S), 0x81);
    CHECK_EQ(read_isr(S), 0x02);
}

TEST(pic_irr_isr_reads)
{
    CHECK(setup());
    init_pair(0x01);
    pulse(1);
    pulse(4);
    CHECK_EQ(inb_(M), 0x12); /* IRR is selected after ICW1 */
    CHECK_EQ(pic_inta(&pic), 0x21);
    outb_(M, 0x0b);
    CHECK_EQ(inb_(M), 0x02);
    CHECK_EQ(inb_(M), 0x02); /* the selection stays */
    outb_(M, 0x08);          /* RR=0: no change */
    CHECK_EQ(inb_(M), 0x02);
    outb_(M, 0x0a);
    CHECK_EQ(inb_(M), 0x10);
    CHECK_EQ(inb_(M + 1), 0x00); /* the odd port is always the IMR */
}

TEST(pic_special_mask_mode)
{
    CHECK(setup());
    init_pair(0x01);
    pulse(1);
    CHECK_EQ(pic_inta(&pic), 0x21);
    pulse(3);
    CHECK(!pic_intr(&pic)); /* IR1 in service holds IR3 off */
    outb_(M + 1, 0x02);     /* mask IR1... */
    CHECK(!pic_intr(&pic));
    outb_(M, 0x68); /* ...and set special mask mode */
    CHECK(pic_intr(&pic));
    CHECK_EQ(pic_inta(&pic), 0x23);
    CHECK_EQ(read_isr(M), 0x0a);
    pulse(5); /* IR5: lower than IR3 in service, unmasked */
    CHECK(!pic_intr(&pic));
    eoi(M); /* non-specific: masked IR1 is skipped, IR3 goes */
    CHECK_EQ(read_isr(M), 0x02);
    CHECK(pic_intr(&pic));
    CHECK_EQ(pic_inta(&pic), 0x25);
    eoi(M);
    outb_(M, 0x48); /* reset special mask mode */
    outb_(M + 1, 0x00);
    pulse(6);
    CHECK(!pic_intr(&pic)); /* IR1 in service inhibits again */
    eoi(M);
    CHECK_EQ(read_isr(M), 0x00);
    CHECK_EQ(pic_inta(&pic), 0x26);
}

TEST(pic_reset_keeps_lines_clears_state)
{
    CHECK(setup());
    init_pair(0x01);
    pulse(1);
    CHECK_EQ(pic_inta(&pic), 0x21);
    outb_(0x4d0, 0x08);
    pic_reset(&pic);
    CHECK_EQ(inb_(0x4d0), 0x00);
    CHECK_EQ(inb_(M + 1), 0xff);
    CHECK_EQ(read_isr(M), 0x00);
    CHECK(!pic_intr(&pic));
}
