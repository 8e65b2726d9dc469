/* uart.c: a 16550A UART, the PC's COM1/COM2.
 * Datasheet: National Semiconductor PC16550D, "Universal Asynchronous
 * Receiver/Transmitter with FIFOs", June 1995 (TI SNLS378). Section
 * numbers below are that datasheet's: 8.1 LCR, 8.3 baud generator, 8.4
 * LSR, 8.5 FCR, 8.6 IIR (Table IV), 8.7 IER, 8.8 MCR, 8.9 MSR, 8.10 FIFO
 * interrupt mode, 8.12 scratchpad; Table II lists the registers, Table
 * III the Master Reset values.
 *
 * Choices of this model:
 *  - Transmission is instantaneous: a byte written to THR is handed to tx
 *    (or, in loopback, to the receiver) during the write, so THR, the
 *    transmit FIFO and the shift register are empty again at once: THRE
 *    and TEMT always read 1, and every write ends with THR "becoming
 *    empty" (a new THRE interrupt).
 *  - Reception is timed only for the character timeout, from the divisor
 *    and LCR, on the PC's 1.8432 MHz UART clock.
 *  - Only overrun errors arise: bytes come from a console, not a wire, so
 *    there is no parity, framing error or break to detect.
 *  - Outside loopback the modem inputs show a terminal that is always
 *    there and ready: CTS, DSR and DCD asserted, RI not.
 *  - The interrupt line is the PC/AT one: the chip's INTR gated by
 *    MCR.OUT2. We gate on the register bit even in loopback (where the
 *    chip forces the OUT2 pin inactive), as the PC chipsets that integrate
 *    the gate do, so loopback self-tests see their interrupts. */
#include "uart.h"
#include "../vmm/string.h"

/* The PC's UART clock (the 1.8432 MHz crystal; 8.3 gives the divisors). */
#define UART_CLOCK_HZ 1843200ull

/* Register offsets from the base (Table II). With LCR.DLAB set, offsets 0
 * and 1 are the divisor latch instead of RBR/THR and IER. */
#define REG_DATA 0 /* RBR (read), THR (write), DLL (DLAB) */
#define REG_IER 1  /* IER, DLM (DLAB) */
#define REG_IIR 2  /* IIR (read), FCR (write) */
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define REG_SCR 7

/* IER (8.7): bits 7:4 are always 0. */
#define IER_ERBFI 0x01 /* received data available (and character timeout) */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IER_ELSI 0x04  /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK 0x0f

/* IIR (8.6, Table IV): bit 0 is 0 while an interrupt is pending, bits 3:1
 * name the highest-priority one, bits 7:6 are set in FIFO mode. */
#define IIR_NONE 0x01
#define IIR_LINE_STATUS 0x06  /* highest */
#define IIR_RX_DATA 0x04      /* second */
#define IIR_RX_TIMEOUT 0x0c   /* second (FIFO mode only) */
#define IIR_THR_EMPTY 0x02    /* third */
#define IIR_MODEM_STATUS 0x00 /* fourth */
#define IIR_FIFOS_ENABLED 0xc0

/* FCR (8.5). */
#define FCR_FIFO_ENABLE 0x01
#define FCR_RX_RESET 0x02
#define FCR_TX_RESET 0x04
#define FCR_DMA_MODE 0x08
#define FCR_TRIGGER_SHIFT 6
#define FCR_KEPT (FCR_FIFO_ENABLE | FCR_DMA_MODE | (3u << FCR_TRIGGER_SHIFT))

/* LCR (8.1). */
#define LCR_WORD_LENGTH 0x03 /* 5 + value data bits */
#define LCR_STOP_BITS 0x04   /* 2 stop bits (1.5 with 5-bit words) */
#define LCR_PARITY 0x08      /* a parity bit is sent */
#define LCR_DLAB 0x80

/* MCR (8.8): bits 7:5 are always 0. */
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

/* LSR (8.4). */
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_RX_FIFO_ERROR 0x80 /* a PE/FE/BI byte in the FIFO: none ever is */
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

/* MSR (8.9): the complement of the modem input pins in 7:4, changes since
 * the last MSR read in 3:0. */
#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04 /* RI went from asserted to not asserted */
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_DELTAS 0x0f
#define MSR_LINES 0xf0

/* The modem inputs outside loopback: an attached, ready terminal. */
#define EXTERNAL_MODEM_LINES (MSR_CTS | MSR_DSR | MSR_DCD)

/* The divisor latch has no reset value (Table III leaves it out): it
 * powers on at 0, outside 8.3's 1..65535, so that "a baud rate has been
 * programmed" can be seen from the registers (uart_programmed). */
#define DIVISOR_AT_POWER_ON 0

static bool fifo_mode(const struct uart *u) { return u->fcr & FCR_FIFO_ENABLE; }
static bool loopback(const struct uart *u) { return u->mcr & MCR_LOOP; }
static bool dlab(const struct uart *u) { return u->lcr & LCR_DLAB; }

/* What a register write may change, for the hypervisor's fast way
 * (bus.h): the UART's interrupt request, and nothing that follows device
 * time (BUS_WRITES_REQUESTS: a THR byte leaves at once, see the top of
 * the file), but in loopback with the FIFOs on, where a THR byte lands in
 * the receive FIFO and starts its timeout, a timer counted from now
 * (8.10): then watched, device time moved to the write first. Set again
 * whenever MCR or FCR changes. */
static void update_write_kind(struct uart *u)
{
    bus_set_writes(u->env->bus, u->base, loopback(u) && fifo_mode(u) ? BUS_WRITES_WATCHED : BUS_WRITES_REQUESTS);
}

/* 16450 (character) mode has a single receiver buffer register (8.5). */
static unsigned rx_capacity(const struct uart *u) { return fifo_mode(u) ? UART_FIFO_SIZE : 1; }

/* FCR bits 7:6 select 1, 4, 8 or 14 bytes (8.5); in 16450 mode one byte
 * is "data available". */
static unsigned rx_trigger_level(const struct uart *u)
{
    static const u8 levels[4] = {1, 4, 8, 14};
    return fifo_mode(u) ? levels[u->fcr >> FCR_TRIGGER_SHIFT] : 1;
}

/* Four character times, in ns. A character is a start bit, 5-8 data bits
 * (8.1 bits 1:0), an optional parity bit (bit 3) and 1, 1.5 or 2 stop
 * bits (bit 2); each bit lasts 16 cycles of the baud generator, which
 * divides the UART clock by the divisor (8.3). Counted in half bits for
 * the 1.5 stop bits. A divisor of 0 is outside 8.3's 1..65535: we let the
 * 16-bit counter wrap, as 65536. */
static u64 four_char_times_ns(const struct uart *u)
{
    unsigned data_bits = 5 + (u->lcr & LCR_WORD_LENGTH);
    unsigned half_bits = 2 * (1 + data_bits);
    if (u->lcr & LCR_PARITY)
        half_bits += 2;
    if (!(u->lcr & LCR_STOP_BITS))
        half_bits += 2;
    else
        half_bits += data_bits == 5 ? 3 : 4;
    u64 divisor = u->divisor ? u->divisor : 65536;
    return 4ull * half_bits * 16 * divisor * NS_PER_SEC / (2 * UART_CLOCK_HZ);
}

/* ---- Interrupts ---- */

/* The highest-priority pending interrupt that IER enables (Table IV). */
static inline __attribute__((always_inline)) u8 interrupt_id(const struct uart *u)
{
    if ((u->ier & IER_ELSI) && (u->lsr_errors & LSR_ERRORS))
        return IIR_LINE_STATUS;
    if (u->ier & IER_ERBFI) {
        if (u->rx_count >= rx_trigger_level(u))
            return IIR_RX_DATA;
        if (u->timeout_pending)
            return IIR_RX_TIMEOUT;
    }
    if ((u->ier & IER_ETBEI) && u->thre_pending)
        return IIR_THR_EMPTY;
    if ((u->ier & IER_EDSSI) && (u->msr & MSR_DELTAS))
        return IIR_MODEM_STATUS;
    return IIR_NONE;
}

/* The chip's INTR is high while an enabled interrupt is pending (8.6);
 * the PC connects it to the IRQ line only while MCR.OUT2 is set (8.8
 * names OUT2 a user output; the PC/AT board uses it as the gate). Called
 * at the end of everything that changes state, so a THR write that clears
 * and at once sets THRE again does not wiggle the line. */
static void update_irq(struct uart *u)
{
    bool level = (u->mcr & MCR_OUT2) && interrupt_id(u) != IIR_NONE;
    if (level != u->irq_level) {
        u->irq_level = level;
        dm_irq_set(u->env->irq, u->gsi, level);
    }
}

/* ---- Receiver ---- */

/* The character timeout (8.10): FIFO mode, at least one byte in the
 * FIFO, and no byte put in or taken out for four character times. The
 * timer restarts when a byte arrives, unless a timeout is already
 * indicated, and when the CPU reads one. */
static void restart_rx_timeout(struct uart *u)
{
    if (fifo_mode(u) && u->rx_count && !u->timeout_pending)
        timer_arm(u->env->clock, &u->rx_timeout, clock_now(u->env->clock) + four_char_times_ns(u));
    else
        timer_cancel(u->env->clock, &u->rx_timeout);
}

static void rx_timeout_fired(void *dev, u64 now)
{
    struct uart *u = dev;
    (void)now;
    u->timeout_pending = fifo_mode(u) && u->rx_count;
    update_irq(u);
}

static void rx_clear(struct uart *u)
{
    u->rx_head = 0;
    u->rx_count = 0;
    u->timeout_pending = false;
    timer_cancel(u->env->clock, &u->rx_timeout);
}

/* A byte finished arriving in the receiver shift register. When there is
 * no room (8.4, LSR bit 1): in FIFO mode the new byte is lost and the
 * FIFO kept; in 16450 mode it overwrites the unread one in RBR. Either way
 * a byte is lost and OE is set. */
static inline __attribute__((always_inline)) bool rx_push(struct uart *u, u8 byte)
{
    if (u->rx_count == rx_capacity(u)) {
        u->lsr_errors |= LSR_OE;
        if (!fifo_mode(u))
            u->rx[u->rx_head] = byte;
        return false;
    }
    u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
    u->rx_count++;
    restart_rx_timeout(u);
    return true;
}

/* Reading RBR takes the oldest byte; it clears a timeout indication and
 * restarts the timer (8.10). An empty receiver reads its last byte again. */
static u8 rx_pop(struct uart *u)
{
    if (!u->rx_count)
        return u->rbr_last;
    u->rbr_last = u->rx[u->rx_head];
    u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
    u->rx_count--;
    u->timeout_pending = false;
    restart_rx_timeout(u);
    return u->rbr_last;
}

/* ---- Modem lines ---- */

/* What the MSR's upper nibble sees: outside loopback, the terminal; in
 * loopback (8.8) the MCR outputs, DTR to DSR, RTS to CTS, OUT1 to RI and
 * OUT2 to DCD. */
static u8 modem_lines(const struct uart *u)
{
    if (!loopback(u))
        return EXTERNAL_MODEM_LINES;
    u8 lines = 0;
    if (u->mcr & MCR_DTR)
        lines |= MSR_DSR;
    if (u->mcr & MCR_RTS)
        lines |= MSR_CTS;
    if (u->mcr & MCR_OUT1)
        lines |= MSR_RI;
    if (u->mcr & MCR_OUT2)
        lines |= MSR_DCD;
    return lines;
}

/* Latches the modem lines into MSR and records what changed in the delta
 * bits (8.9): any change of CTS, DSR, DCD; for RI only its trailing edge. */
static void sample_modem_lines(struct uart *u)
{
    u8 now = modem_lines(u);
    u8 before = u->msr & MSR_LINES;
    u8 changed = now ^ before;
    u8 deltas = u->msr & MSR_DELTAS;
    if (changed & MSR_CTS)
        deltas |= MSR_DCTS;
    if (changed & MSR_DSR)
        deltas |= MSR_DDSR;
    if (changed & MSR_DCD)
        deltas |= MSR_DDCD;
    if ((before & MSR_RI) && !(now & MSR_RI))
        deltas |= MSR_TERI;
    u->msr = now | deltas;
}

/* ---- Register reads ---- */

/* Reading IIR clears a THRE interrupt if that is what it reports (Table
 * IV); bits 7:6 tell software the FIFOs are on (8.6). */
static u8 read_iir(struct uart *u)
{
    u8 id = interrupt_id(u);
    if (id == IIR_THR_EMPTY)
        u->thre_pending = false;
    return id | (fifo_mode(u) ? IIR_FIFOS_ENABLED : 0);
}

/* Reading LSR clears the error bits and so the line status interrupt
 * (8.4, Table IV). THRE and TEMT: transmission is instantaneous. */
static u8 read_lsr(struct uart *u)
{
    u8 lsr = u->lsr_errors | LSR_THRE | LSR_TEMT;
    if (u->rx_count)
        lsr |= LSR_DR;
    u->lsr_errors = 0;
    return lsr;
}

/* Reading MSR clears the delta bits and so the modem status interrupt
 * (8.9, Table IV). */
static u8 read_msr(struct uart *u)
{
    u8 msr = u->msr;
    u->msr &= (u8)~MSR_DELTAS;
    return msr;
}

static u8 read_register(struct uart *u, unsigned reg)
{
    switch (reg) {
    case REG_DATA:
        return dlab(u) ? (u8)u->divisor : rx_pop(u);
    case REG_IER:
        return dlab(u) ? (u8)(u->divisor >> 8) : u->ier;
    case REG_IIR:
        return read_iir(u);
    case REG_LCR:
        return u->lcr;
    case REG_MCR:
        return u->mcr;
    case REG_LSR:
        return read_lsr(u);
    case REG_MSR:
        return read_msr(u);
    default:
        return u->scr; /* 8.12: a plain byte of storage */
    }
}

/* ---- Register writes ---- */

/* Writing THR clears a THRE interrupt (Table IV). The byte leaves at once
 * (see the top of the file): to tx, or in loopback straight back into the
 * receiver (8.8), and THR is empty again, which sets THRE anew: cleared
 * and set again before anything looks (update_irq comes after), so only
 * the setting is written. Inline: a console's every byte comes here. */
static inline __attribute__((always_inline)) void write_thr(struct uart *u, u8 byte)
{
    if (loopback(u))
        rx_push(u, byte);
    else if (u->tx)
        u->tx(u->tx_ctx, byte);
    u->thre_pending = true;
}

/* Enabling the THRE interrupt while THR is empty (always, here) raises it
 * at once: the 16550's well-known behaviour, which drivers rely on to
 * start transmitting. */
static void write_ier(struct uart *u, u8 value)
{
    bool thre_was_enabled = u->ier & IER_ETBEI;
    u->ier = value & IER_MASK;
    if (!thre_was_enabled && (u->ier & IER_ETBEI))
        u->thre_pending = true;
}

/* FCR (8.5): switching FIFO mode on or off empties both FIFOs; the other
 * bits are programmed only together with FCR0 = 1; the reset bits clear
 * themselves. The transmit FIFO is always empty here, so FCR2 has nothing
 * to do. Turning the FIFOs on gives the immediate THRE interrupt of 8.10. */
static void write_fcr(struct uart *u, u8 value)
{
    bool enable = value & FCR_FIFO_ENABLE;
    if (enable != fifo_mode(u)) {
        rx_clear(u);
        if (enable)
            u->thre_pending = true;
    }
    if (!enable) {
        u->fcr = 0;
        update_write_kind(u);
        return;
    }
    u->fcr = value & FCR_KEPT;
    if (value & FCR_RX_RESET)
        rx_clear(u);
    update_write_kind(u);
}

static void write_mcr(struct uart *u, u8 value)
{
    u->mcr = value & MCR_MASK;
    sample_modem_lines(u);
    update_write_kind(u);
}

static void __attribute__((noinline)) write_register(struct uart *u, unsigned reg, u8 value)
{
    switch (reg) {
    case REG_DATA:
        if (dlab(u))
            u->divisor = (u16)((u->divisor & 0xff00) | value);
        else
            write_thr(u, value);
        break;
    case REG_IER:
        if (dlab(u))
            u->divisor = (u16)((u->divisor & 0x00ff) | (value << 8));
        else
            write_ier(u, value);
        break;
    case REG_IIR:
        write_fcr(u, value);
        break;
    case REG_LCR:
        u->lcr = value;
        break;
    case REG_MCR:
        write_mcr(u, value);
        break;
    case REG_LSR:
    case REG_MSR:
        break; /* Table II: read-only here (writes are a factory test mode) */
    default:
        u->scr = value;
        break;
    }
}

static u32 uart_io_read(void *dev, u16 port, u8 size)
{
    struct uart *u = dev;
    (void)size; /* byte wide: the bus splits wider INs */
    u8 value = read_register(u, (unsigned)(port - u->base));
    update_irq(u);
    return value;
}

static void uart_io_write(void *dev, u16 port, u8 size, u32 value)
{
    struct uart *u = dev;
    unsigned reg = (unsigned)(port - u->base);
    (void)size;
    if (reg == REG_DATA && !dlab(u)) /* THR: a console's every byte, asked first */
        write_thr(u, (u8)value);
    else
        write_register(u, reg, (u8)value);
    update_irq(u);
}

/* ---- The platform's side ---- */

bool uart_can_receive(const struct uart *u)
{
    if (loopback(u))
        return false;
    unsigned capacity = fifo_mode(u) ? UART_FIFO_SIZE : 1;
    return u->rx_count < capacity;
}

bool uart_receive(struct uart *u, u8 byte)
{
    if (loopback(u))
        return false; /* 8.8: the serial input is disconnected */
    bool kept = rx_push(u, byte);
    update_irq(u);
    return kept;
}

/* Master Reset (Table III): IER, FCR, LCR, MCR cleared, IIR 0x01, LSR
 * 0x60, MSR deltas cleared, FIFOs emptied, interrupts dropped. The divisor
 * latch and the scratch register are not in the table and keep their
 * contents. */
bool uart_programmed(const struct uart *u) { return u->divisor != 0; }

void uart_reset(struct uart *u)
{
    u->ier = 0;
    u->fcr = 0;
    u->lcr = 0;
    u->mcr = 0;
    u->lsr_errors = 0;
    u->msr = EXTERNAL_MODEM_LINES;
    u->thre_pending = false;
    rx_clear(u);
    update_irq(u);
    update_write_kind(u);
}

bool uart_init(struct uart *u, struct dm_env *env, u16 base, unsigned gsi, void (*tx)(void *ctx, u8 byte),
               void *tx_ctx)
{
    memset(u, 0, sizeof(*u));
    u->env = env;
    u->base = base;
    u->gsi = gsi;
    u->tx = tx;
    u->tx_ctx = tx_ctx;
    u->divisor = DIVISOR_AT_POWER_ON;
    timer_init(&u->rx_timeout, rx_timeout_fired, u);
    uart_reset(u);
    /* A register write changes the UART's interrupt request (update_irq)
     * or its receive timeout, and hands a byte to tx: not full (bus.h),
     * so the THR and IER writes of a console take the fast way; requests
     * or watched as the mode says (update_write_kind). */
    if (!bus_claim_io(env->bus, base, UART_PORT_COUNT, 1, uart_io_read, uart_io_write, u, "uart16550"))
        return false;
    update_write_kind(u);
    return true;
}
