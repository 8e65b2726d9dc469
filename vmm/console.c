/* The hypervisor console on COM1. Polled: Zazen takes no host interrupts
 * for it, and a panic can always print. Register offsets and bits are
 * from the PC16550D datasheet, section 8 (register description). */
#include "console.h"
#include "format.h"
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

static bool uart_found;

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

void console_putc(char c)
{
    if (c == '\n')
        uart_putc('\r');
    uart_putc(c);
}

int console_getc(void)
{
    if (!uart_found || !(inb(COM1 + UART_LSR) & LSR_DR))
        return -1;
    return inb(COM1 + UART_THR); /* RBR shares the offset with THR (DLAB=0) */
}

void console_flush(void)
{
    for (unsigned spins = 0; uart_found && !(inb(COM1 + UART_LSR) & LSR_TEMT) && spins < 1000000; spins++)
        pause();
}

void console_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        console_putc(s[i]);
}

static void sink(void *ctx, char c)
{
    (void)ctx;
    console_putc(c);
}

void kvprintf(const char *fmt, va_list ap) { vformat(sink, NULL, fmt, ap); }

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
}
