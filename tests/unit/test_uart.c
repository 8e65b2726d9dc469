/* unit-sources: devmodel/uart.c devmodel/bus.c devmodel/clock.c */
/* The 16550A UART (PC16550D datasheet): divisor latch, the four interrupt
 * sources and their priority, FIFOs and the character timeout, overrun,
 * loopback, and the PC's OUT2 gate on the IRQ line. */
#include "unit.h"
#include "dm_fake.h"
#include "../../devmodel/uart.h"

#define COM1 UART_COM1_BASE
#define IRQ UART_COM1_GSI
#define THR (COM1 + 0)
#define RBR (COM1 + 0)
#define DLL (COM1 + 0)
#define DLM (COM1 + 1)
#define IER (COM1 + 1)
#define IIR (COM1 + 2)
#define FCR (COM1 + 2)
#define LCR (COM1 + 3)
#define MCR (COM1 + 4)
#define LSR (COM1 + 5)
#define MSR (COM1 + 6)
#define SCR (COM1 + 7)

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

static struct uart uart;
static u8 sent[64];
static unsigned sent_count;

static void on_tx(void *ctx, u8 byte)
{
    CHECK(ctx == &sent_count);
    if (sent_count < sizeof(sent))
        sent[sent_count] = byte;
    sent_count++;
}

/* COM1 on a fresh fake environment; 115200 baud 8N1 for the timing tests. */
static bool setup(void)
{
    struct dm_env *env = fake_env_reset();
    sent_count = 0;
    memset(sent, 0, sizeof(sent));
    if (!uart_init(&uart, env, COM1, IRQ, on_tx, &sent_count))
        return false;
    outb_(LCR, 0x80);
    outb_(DLL, 1);
    outb_(DLM, 0);
    outb_(LCR, 0x03);
    return true;
}

TEST(uart_reset_values_and_ports)
{
    CHECK(setup());
    outb_(LCR, 0);
    CHECK_EQ(inb_(IER), 0x00);
    CHECK_EQ(inb_(IIR), 0x01);
    CHECK_EQ(inb_(LCR), 0x00);
    CHECK_EQ(inb_(MCR), 0x00);
    CHECK_EQ(inb_(LSR), 0x60);
    CHECK_EQ(inb_(MSR), 0xb0); /* a terminal: DCD, DSR, CTS */
    CHECK(!fake.level[IRQ]);
    /* the eight ports are taken */
    CHECK(!bus_claim_io(&fake.bus, COM1 + 7, 1, 1, NULL, NULL, NULL, "x"));
    CHECK(bus_claim_io(&fake.bus, COM1 + 8, 1, 1, NULL, NULL, NULL, "x"));
    /* its writes change only its interrupt request and make output, not
     * by device time: requests (bus.h), the fast way's to carry out */
    CHECK_EQ(bus_fast_range(&fake.bus, COM1, 1)->writes, BUS_WRITES_REQUESTS);
    CHECK_EQ(bus_fast_range(&fake.bus, COM1 + 7, 1)->writes, BUS_WRITES_REQUESTS);
}

/* In loopback with the FIFOs on, a THR byte lands in the receive FIFO and
 * starts its timeout, a timer counted from the write (8.10): the writes
 * are then watched, device time moved to them first; in any other mode
 * requests. The kind follows MCR and FCR, and a reset. */
TEST(uart_write_kind_follows_loopback_and_fifo)
{
    CHECK(setup());
    outb_(MCR, 0x10); /* loopback, no FIFO: a byte needs no timer */
    CHECK_EQ(bus_fast_range(&fake.bus, COM1, 1)->writes, BUS_WRITES_REQUESTS);
    outb_(FCR, 0x01);
    CHECK_EQ(bus_fast_range(&fake.bus, COM1, 1)->writes, BUS_WRITES_WATCHED);
    CHECK_EQ(bus_fast_range(&fake.bus, COM1 + 5, 1)->writes, BUS_WRITES_WATCHED);
    outb_(MCR, 0x03); /* out of loopback: bytes leave at once */
    CHECK_EQ(bus_fast_range(&fake.bus, COM1, 1)->writes, BUS_WRITES_REQUESTS);
    outb_(MCR, 0x13);
    CHECK_EQ(bus_fast_range(&fake.bus, COM1, 1)->writes, BUS_WRITES_WATCHED);
    outb_(FCR, 0x00); /* FIFOs off */
    CHECK_EQ(bus_fast_range(&fake.bus, COM1, 1)->writes, BUS_WRITES_REQUESTS);
    outb_(FCR, 0x01);
    uart_reset(&uart);
    CHECK_EQ(bus_fast_range(&fake.bus, COM1, 1)->writes, BUS_WRITES_REQUESTS);
}

TEST(uart_divisor_latch)
{
    CHECK(setup());
    outb_(LCR, 0x83);
    outb_(DLL, 0x34);
    outb_(DLM, 0x12);
    CHECK_EQ(inb_(DLL), 0x34);
    CHECK_EQ(inb_(DLM), 0x12);
    CHECK_EQ(uart.divisor, 0x1234);
    CHECK_EQ(sent_count, 0); /* a DLL write is not a transmission */
    outb_(LCR, 0x03);
    CHECK_EQ(inb_(IER), 0x00); /* offset 1 is IER again */
    outb_(IER, 0xff);
    CHECK_EQ(inb_(IER), 0x0f); /* bits 7:4 are always 0 */
    outb_(THR, 'x');
    CHECK_EQ(sent_count, 1);
    CHECK_EQ(sent[0], 'x');
    outb_(LCR, 0x83);
    CHECK_EQ(inb_(DLL), 0x34); /* the THR write did not touch the latch */
    CHECK_EQ(inb_(DLM), 0x12);
    CHECK_EQ(inb_(LCR), 0x83);
}

TEST(uart_scratch_register)
{
    CHECK(setup());
    outb_(SCR, 0x5a);
    CHECK_EQ(inb_(SCR), 0x5a);
    outb_(SCR, 0xa5);
    CHECK_EQ(inb_(SCR), 0xa5);
    uart_reset(&uart);
    CHECK_EQ(inb_(SCR), 0xa5); /* not in the Master Reset table */
}

TEST(uart_thre_interrupt_on_enable_and_after_write)
{
    CHECK(setup());
    outb_(MCR, MCR_OUT2);
    CHECK(!fake.level[IRQ]);
    outb_(IER, 0x02); /* ETBEI while THR is empty: at once */
    CHECK(fake.level[IRQ]);
    CHECK_EQ(fake.edges[IRQ], 1);
    CHECK_EQ(inb_(IIR), 0x02);
    /* reading IIR while it reports THRE clears it */
    CHECK(!fake.level[IRQ]);
    CHECK_EQ(inb_(IIR), 0x01);
    /* a THR write: sent at once, and THR empty again */
    outb_(THR, 'a');
    CHECK_EQ(sent_count, 1);
    CHECK_EQ(sent[0], 'a');
    CHECK_EQ(inb_(LSR) & 0x60, 0x60);
    CHECK(fake.level[IRQ]);
    CHECK_EQ(fake.edges[IRQ], 2);
    /* a second write while THRE is pending keeps the line up, no new edge */
    outb_(THR, 'b');
    CHECK(fake.level[IRQ]);
    CHECK_EQ(fake.edges[IRQ], 2);
    CHECK_EQ(inb_(IIR), 0x02);
    CHECK_EQ(inb_(IIR), 0x01);
    /* disabling ETBEI masks it; re-enabling raises it again */
    outb_(IER, 0x00);
    outb_(THR, 'c');
    CHECK(!fake.level[IRQ]);
    CHECK_EQ(inb_(IIR), 0x01);
    outb_(IER, 0x02);
    CHECK(fake.level[IRQ]);
    CHECK_EQ(sent_count, 3);
    CHECK_EQ(sent[2], 'c');
}

TEST(uart_out2_gates_the_irq_line)
{
    CHECK(setup());
    outb_(IER, 0x02);
    CHECK_EQ(inb_(IIR) & 0x0f, 0x02); /* pending inside the chip... */
    outb_(THR, 'z');                  /* ...pending again */
    CHECK(!fake.level[IRQ]);          /* ...but OUT2 = 0: the line is not driven */
    CHECK_EQ(fake.edges[IRQ], 0);
    outb_(MCR, MCR_OUT2 | MCR_DTR | MCR_RTS);
    CHECK(fake.level[IRQ]);
    outb_(MCR, MCR_DTR | MCR_RTS);
    CHECK(!fake.level[IRQ]);
    outb_(MCR, MCR_OUT2);
    CHECK(fake.level[IRQ]);
    CHECK_EQ(fake.edges[IRQ], 2);
}

TEST(uart_loopback_receives_its_own_bytes)
{
    CHECK(setup());
    outb_(MCR, MCR_LOOP | MCR_OUT2);
    outb_(IER, 0x01); /* received data available */
    CHECK(!fake.level[IRQ]);
    CHECK_EQ(inb_(LSR) & 0x01, 0);
    outb_(THR, 'L');
    CHECK_EQ(sent_count, 0); /* never reaches the outside */
    CHECK_EQ(inb_(LSR) & 0x01, 0x01);
    CHECK(fake.level[IRQ]);
    CHECK_EQ(inb_(IIR), 0x04);
    CHECK_EQ(inb_(RBR), 'L');
    CHECK_EQ(inb_(LSR) & 0x01, 0);
    CHECK_EQ(inb_(IIR), 0x01);
    CHECK(!fake.level[IRQ]);
    /* the serial input is disconnected in loopback */
    CHECK(!uart_receive(&uart, 'X'));
    CHECK_EQ(inb_(LSR) & 0x01, 0);
    /* out of loopback: bytes go to tx, input arrives again */
    outb_(MCR, MCR_OUT2);
    outb_(THR, 'O');
    CHECK_EQ(sent_count, 1);
    CHECK_EQ(sent[0], 'O');
    CHECK_EQ(inb_(LSR) & 0x01, 0);
    CHECK(uart_receive(&uart, 'I'));
    CHECK_EQ(inb_(IIR), 0x04);
    CHECK_EQ(inb_(RBR), 'I');
}

TEST(uart_loopback_modem_lines_and_deltas)
{
    CHECK(setup());
    outb_(MCR, MCR_LOOP);
    /* entering loopback: the terminal's DCD, DSR, CTS all drop */
    CHECK_EQ(inb_(MSR), 0x0b); /* DDCD | DDSR | DCTS */
    CHECK_EQ(inb_(MSR), 0x00); /* deltas cleared by the read */
    outb_(MCR, MCR_LOOP | MCR_DTR);
    CHECK_EQ(inb_(MSR), 0x20 | 0x02); /* DSR, DDSR */
    outb_(MCR, MCR_LOOP | MCR_DTR | MCR_RTS);
    CHECK_EQ(inb_(MSR), 0x30 | 0x01); /* CTS, DCTS */
    outb_(MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT1);
    CHECK_EQ(inb_(MSR), 0x70); /* RI rises: no delta (TERI is the trailing edge) */
    outb_(MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT2);
    CHECK_EQ(inb_(MSR), 0xb0 | 0x08 | 0x04); /* DCD, DDCD, TERI */
    /* the modem status interrupt */
    outb_(IER, 0x08);
    CHECK_EQ(inb_(IIR), 0x01);
    outb_(MCR, MCR_LOOP | MCR_OUT2);
    CHECK(fake.level[IRQ]);
    CHECK_EQ(inb_(IIR), 0x00);
    CHECK_EQ(inb_(MSR), 0x80 | 0x03);
    CHECK_EQ(inb_(IIR), 0x01);
    CHECK(!fake.level[IRQ]);
}

/* Fills the FIFO to one byte below the trigger level, then to it, and
 * checks that the received-data interrupt (IIR 0xC4) comes exactly there
 * and goes as soon as a read takes the FIFO below the level again. */
static void check_trigger_level(u8 fcr_bits, unsigned level)
{
    CHECK(setup());
    outb_(MCR, MCR_OUT2);
    outb_(FCR, (u8)(0x01 | fcr_bits));
    outb_(IER, 0x01);
    for (unsigned i = 0; i < level - 1; i++) {
        CHECK(uart_receive(&uart, (u8)('a' + i)));
        CHECK_EQ(inb_(IIR), 0xc1);
        CHECK(!fake.level[IRQ]);
    }
    CHECK_EQ(inb_(LSR) & 0x01, level > 1 ? 0x01 : 0);
    CHECK(uart_receive(&uart, (u8)('a' + level - 1)));
    CHECK_EQ(inb_(IIR), 0xc4);
    CHECK(fake.level[IRQ]);
    CHECK_EQ(inb_(RBR), 'a');
    CHECK_EQ(inb_(IIR), 0xc1);
    CHECK(!fake.level[IRQ]);
    for (unsigned i = 1; i < level; i++)
        CHECK_EQ(inb_(RBR), 'a' + i);
    CHECK_EQ(inb_(LSR) & 0x01, 0);
}

TEST(uart_fifo_trigger_1) { check_trigger_level(0x00, 1); }
TEST(uart_fifo_trigger_4) { check_trigger_level(0x40, 4); }
TEST(uart_fifo_trigger_8) { check_trigger_level(0x80, 8); }
TEST(uart_fifo_trigger_14) { check_trigger_level(0xc0, 14); }

TEST(uart_fifo_enable_reset_and_iir_bits)
{
    CHECK(setup());
    CHECK_EQ(inb_(IIR) & 0xc0, 0x00); /* 16450 mode */
    outb_(FCR, 0x01);
    CHECK_EQ(inb_(IIR) & 0xc0, 0xc0);
    CHECK(uart_receive(&uart, 1));
    CHECK(uart_receive(&uart, 2));
    CHECK(uart_receive(&uart, 3));
    outb_(FCR, 0x03); /* reset the RX FIFO */
    CHECK_EQ(inb_(LSR) & 0x01, 0);
    CHECK(uart_receive(&uart, 4));
    CHECK_EQ(inb_(RBR), 4);
    CHECK(uart_receive(&uart, 5));
    outb_(FCR, 0x00); /* leaving FIFO mode empties the FIFO */
    CHECK_EQ(inb_(IIR) & 0xc0, 0x00);
    CHECK_EQ(inb_(LSR) & 0x01, 0);
    /* trigger bits are not programmed without FCR0 */
    outb_(FCR, 0xc0);
    CHECK_EQ(inb_(IIR) & 0xc0, 0x00);
}

/* 115200 baud 8N1: 10 bits of 16 / 1.8432 MHz each; four characters are
 * 347222.2 ns. */
#define FOUR_CHARS_115200_8N1 347222ull

TEST(uart_character_timeout_after_four_character_times)
{
    CHECK(setup());
    outb_(MCR, MCR_OUT2);
    outb_(FCR, 0x81); /* trigger at 8 */
    outb_(IER, 0x01);
    CHECK(uart_receive(&uart, 'p'));
    fake_advance(100000);
    CHECK(uart_receive(&uart, 'q')); /* a new byte restarts the timer */
    fake_advance(FOUR_CHARS_115200_8N1 - 1);
    CHECK_EQ(inb_(IIR), 0xc1);
    CHECK(!fake.level[IRQ]);
    fake_advance(1);
    CHECK(fake.level[IRQ]);
    CHECK_EQ(inb_(IIR), 0xcc);
    /* reading a byte clears it and restarts the timer for the rest */
    CHECK_EQ(inb_(RBR), 'p');
    CHECK_EQ(inb_(IIR), 0xc1);
    CHECK(!fake.level[IRQ]);
    fake_advance(FOUR_CHARS_115200_8N1 - 1);
    CHECK_EQ(inb_(IIR), 0xc1);
    fake_advance(1);
    CHECK_EQ(inb_(IIR), 0xcc);
    CHECK_EQ(inb_(RBR), 'q');
    /* empty: no timeout, ever */
    fake_advance(10 * FOUR_CHARS_115200_8N1);
    CHECK_EQ(inb_(IIR), 0xc1);
    CHECK(!fake.level[IRQ]);
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
}

TEST(uart_character_time_follows_divisor_and_lcr)
{
    CHECK(setup());
    outb_(LCR, 0x80);
    outb_(DLL, 12); /* 9600 baud */
    outb_(LCR, 0x1e); /* 7 data bits, even parity, 2 stop bits: 11 bits */
    outb_(FCR, 0xc1);
    outb_(IER, 0x01);
    CHECK(uart_receive(&uart, 0x55));
    /* 4 * 11 bits * 16 * 12 / 1843200 Hz = 4583333.3 ns */
    fake_advance(4583332);
    CHECK_EQ(inb_(IIR), 0xc1);
    fake_advance(1);
    CHECK_EQ(inb_(IIR), 0xcc);
    CHECK_EQ(inb_(RBR), 0x55);
    /* 5 data bits, 1.5 stop bits, no parity: 7.5 bits */
    outb_(LCR, 0x04);
    CHECK(uart_receive(&uart, 0x15));
    /* 4 * 7.5 * 16 * 12 / 1843200 = 3125000 ns */
    fake_advance(3124999);
    CHECK_EQ(inb_(IIR), 0xc1);
    fake_advance(1);
    CHECK_EQ(inb_(IIR), 0xcc);
}

TEST(uart_no_character_timeout_in_16450_mode)
{
    CHECK(setup());
    outb_(IER, 0x01);
    CHECK(uart_receive(&uart, 'n'));
    CHECK_EQ(inb_(IIR), 0x04);
    fake_advance(10 * FOUR_CHARS_115200_8N1);
    CHECK_EQ(inb_(IIR), 0x04);
}

TEST(uart_overrun_on_a_full_fifo)
{
    CHECK(setup());
    outb_(MCR, MCR_OUT2);
    outb_(FCR, 0xc1);
    outb_(IER, 0x05); /* line status and received data */
    for (unsigned i = 0; i < UART_FIFO_SIZE; i++)
        CHECK(uart_receive(&uart, (u8)i));
    CHECK_EQ(inb_(LSR), 0x61); /* no error yet */
    CHECK(!uart_receive(&uart, 0xee));
    CHECK_EQ(inb_(IIR), 0xc6); /* line status outranks data */
    CHECK(fake.level[IRQ]);
    CHECK_EQ(inb_(LSR), 0x63); /* OE, read once */
    CHECK_EQ(inb_(LSR), 0x61);
    CHECK_EQ(inb_(IIR), 0xc4);
    for (unsigned i = 0; i < UART_FIFO_SIZE; i++) /* the FIFO kept its bytes */
        CHECK_EQ(inb_(RBR), i);
    CHECK_EQ(inb_(LSR), 0x60);
    CHECK_EQ(inb_(IIR), 0xc1);
    CHECK(!fake.level[IRQ]);
}

TEST(uart_overrun_in_16450_mode_overwrites_rbr)
{
    CHECK(setup());
    CHECK(uart_receive(&uart, 'A'));
    CHECK(!uart_receive(&uart, 'B'));
    CHECK_EQ(inb_(LSR), 0x63);
    CHECK_EQ(inb_(RBR), 'B');
    CHECK_EQ(inb_(LSR), 0x60);
}

TEST(uart_iir_priority_order)
{
    CHECK(setup());
    outb_(MCR, MCR_LOOP | MCR_OUT2 | MCR_DTR); /* DSR changes: a modem status delta */
    outb_(THR, 'r');                           /* received data */
    outb_(THR, 's');                           /* overrun (16450 mode) */
    outb_(IER, 0x0f);                          /* THRE too, on enabling */
    CHECK(fake.level[IRQ]);
    CHECK_EQ(inb_(IIR), 0x06); /* line status first */
    CHECK_EQ(inb_(IIR), 0x06); /* IIR alone does not clear it */
    CHECK_EQ(inb_(LSR) & 0x03, 0x03);
    CHECK_EQ(inb_(IIR), 0x04); /* then received data */
    CHECK_EQ(inb_(RBR), 's');
    CHECK_EQ(inb_(IIR), 0x02); /* then THRE, cleared by this read */
    CHECK_EQ(inb_(IIR), 0x00); /* then modem status */
    CHECK(fake.level[IRQ]);
    inb_(MSR);
    CHECK_EQ(inb_(IIR), 0x01);
    CHECK(!fake.level[IRQ]);
}

TEST(uart_tx_only_outside_loopback)
{
    CHECK(setup());
    const char *msg = "hi\n";
    for (const char *p = msg; *p; p++)
        outb_(THR, (u8)*p);
    outb_(MCR, MCR_LOOP);
    outb_(THR, 'x');
    outb_(MCR, 0);
    outb_(THR, '!');
    CHECK_EQ(sent_count, 4);
    CHECK(memcmp(sent, "hi\n!", 4) == 0);
    CHECK_EQ(inb_(RBR), 'x'); /* the looped byte was received instead */
}

TEST(uart_master_reset)
{
    CHECK(setup());
    outb_(MCR, MCR_OUT2 | MCR_LOOP);
    outb_(FCR, 0x41);
    outb_(IER, 0x0f);
    outb_(THR, 1);
    CHECK(fake.level[IRQ]);
    uart_reset(&uart);
    CHECK(!fake.level[IRQ]);
    CHECK_EQ(inb_(IER), 0);
    CHECK_EQ(inb_(IIR), 0x01);
    CHECK_EQ(inb_(LCR), 0);
    CHECK_EQ(inb_(MCR), 0);
    CHECK_EQ(inb_(LSR), 0x60);
    CHECK_EQ(inb_(MSR) & 0xf0, 0xb0);
    outb_(LCR, 0x80);
    CHECK_EQ(inb_(DLL), 1); /* the divisor survives */
}

TEST(uart_can_receive_paces_a_sender)
{
    struct uart u;
    struct dm_env *env = fake_env_reset();
    CHECK(uart_init(&u, env, 0x3f8, 4, NULL, NULL));
    CHECK(uart_can_receive(&u));              /* 16450 mode: one byte */
    CHECK(uart_receive(&u, 'a'));
    CHECK(!uart_can_receive(&u));
    CHECK_EQ(inb_(0x3f8), 'a');
    CHECK(uart_can_receive(&u));
    outb_(0x3fa, 0x01);                       /* FIFO mode: sixteen */
    for (int i = 0; i < 16; i++) {
        CHECK(uart_can_receive(&u));
        CHECK(uart_receive(&u, (u8)i));
    }
    CHECK(!uart_can_receive(&u));
    outb_(0x3fc, 0x10);                       /* loopback disconnects the input */
    inb_(0x3f8);
    CHECK(!uart_can_receive(&u));
}
