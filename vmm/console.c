/* The hypervisor console on COM1. Polled: Zazen takes no host interrupts
 * for it, and a panic can always print. Register offsets and bits are
 * from the PC16550D datasheet, section 8 (register description).
 *
 * While domains run, output is buffered and sent as the UART takes it
 * (console_drain, called on every pass of the run loop): at 115200 baud a
 * character takes 87 us on the wire, and a guest whose console lines Zazen
 * printed synchronously would stand still for milliseconds per line, with
 * its own timer ticks piling up. */
#include "console.h"
#include "format.h"
#include "string.h"
#include "x86.h"

#define COM1 0x3f8
#define UART_THR 0 /* transmit holding (DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR 0x01   /* data ready: a received byte waits in RBR */
#define LSR_THRE 0x20 /* transmit holding register empty */
#define LSR_TEMT 0x40 /* transmitter empty: the last byte has left the wire */
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define UART_IIR 2
#define IIR_FIFOS_ENABLED 0xc0 /* both bits: a 16550A with working FIFOs */
#define TX_FIFO_DEPTH 16
#define OUT_RING 32768     /* a power of two */

static bool uart_found;
static unsigned tx_burst = 1; /* bytes the UART takes once THRE is set */
static u64 burst_ns = 10 * 1000000000ull / 115200; /* the time it needs to send them: 10 bits a byte */
static bool buffered;
static char out_ring[OUT_RING];
static size_t out_head, out_tail; /* free-running: head - tail bytes wait */

void console_init(void)
{
    outb(COM1 + UART_IER, 0x00);           /* no UART interrupts: we poll */
    outb(COM1 + UART_LCR, LCR_DLAB);
    outb(COM1 + UART_DLL, 1);              /* 115200 baud = 1.8432 MHz / 16 / 1 */
    outb(COM1 + UART_DLM, 0);
    outb(COM1 + UART_LCR, LCR_8N1);
    outb(COM1 + UART_FCR, 0x07);           /* enable and clear both FIFOs */
    outb(COM1 + UART_MCR, 0x03);           /* DTR, RTS */
    /* A missing UART reads as all ones on the ISA bus. */
    uart_found = inb(COM1 + UART_LSR) != 0xff;
    /* THRE means an empty FIFO: 16 bytes fit then (a 16450 takes one). */
    if (uart_found && (inb(COM1 + UART_IIR) & IIR_FIFOS_ENABLED) == IIR_FIFOS_ENABLED) {
        tx_burst = TX_FIFO_DEPTH;
        burst_ns = tx_burst * 10 * 1000000000ull / 115200;
    }
}

static void uart_putc(char c)
{
    if (!uart_found)
        return;
    for (unsigned spins = 0; !(inb(COM1 + UART_LSR) & LSR_THRE) && spins < 1000000; spins++)
        pause();
    outb(COM1 + UART_THR, (u8)c);
}

bool console_present(void) { return uart_found; }

/* Sends what the UART can take now without waiting. */
void console_drain(void)
{
    if (out_head == out_tail || !(inb(COM1 + UART_LSR) & LSR_THRE))
        return;
    for (unsigned i = 0; i < tx_burst && out_tail != out_head; i++)
        outb(COM1 + UART_THR, (u8)out_ring[out_tail++ % OUT_RING]);
}

bool console_pending(void) { return out_head != out_tail; }

/* The time the UART needs for one burst: 10 bits a byte at 115200 baud. */
u64 console_drain_ns(void) { return burst_ns; }

static void drain_all(void)
{
    while (out_tail != out_head)
        uart_putc(out_ring[out_tail++ % OUT_RING]);
}

void console_set_buffered(bool on)
{
    if (!on)
        drain_all();
    buffered = on && uart_found;
}

static void emit(char c)
{
    if (!buffered) {
        uart_putc(c);
        return;
    }
    if (out_head - out_tail == OUT_RING) /* full: wait for the wire */
        uart_putc(out_ring[out_tail++ % OUT_RING]);
    out_ring[out_head++ % OUT_RING] = c;
}

void console_putc(char c)
{
    if (c == '\n')
        emit('\r');
    emit(c);
}

int console_getc(void)
{
    if (!uart_found || !(inb(COM1 + UART_LSR) & LSR_DR))
        return -1;
    return inb(COM1 + UART_THR); /* RBR shares the offset with THR (DLAB=0) */
}

void console_flush(void)
{
    drain_all();
    for (unsigned spins = 0; uart_found && !(inb(COM1 + UART_LSR) & LSR_TEMT) && spins < 1000000; spins++)
        pause();
}

void console_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        console_putc(s[i]);
}

/* Guest output arrives in pieces (a prompt such as "login: " long before
 * its line ends), from several writers: each domain's COM1 and debug
 * console, and Zazen itself. The terminal shows the writer's prefix once
 * per line: a piece that continues the writer's unfinished line, with
 * nothing else printed in between, follows it without one. Anything else
 * that prints first ends that line, and its rest comes on a new line
 * with the prefix again. */
static const void *open_writer; /* whose unfinished line the output ends with; NULL: at a line start */

static void end_open_line(void)
{
    if (open_writer) {
        open_writer = NULL;
        console_putc('\n');
    }
}

void console_line_piece(const void *writer, const char *prefix, const char *text, size_t len, bool complete)
{
    if (open_writer != writer) {
        end_open_line();
        console_write(prefix, strlen(prefix));
    }
    console_write(text, len);
    if (complete)
        console_putc('\n');
    open_writer = complete ? NULL : writer;
}

static void sink(void *ctx, char c)
{
    (void)ctx;
    console_putc(c);
}

void kvprintf(const char *fmt, va_list ap)
{
    end_open_line();
    vformat(sink, NULL, fmt, ap);
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
}
