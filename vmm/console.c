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
#include "console_service.h"
#include "format.h"
#include "lock.h"
#include "percpu.h"
#include "smp.h"
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
static bool panicking;
static char out_ring[OUT_RING];
static size_t out_head, out_tail; /* free-running: head - tail bytes wait */
/* "console" in the lock order: the ring, the UART's registers, and so
 * whole lines. Taken last: nothing is locked while holding it. */
static struct spinlock console_lock = SPINLOCK_INIT("console");
/* The shell's prompt line (console_prompt), kept at the bottom: a line
 * from anywhere else first erases it and then draws it again. */
static char prompt_line[256];
static unsigned prompt_len;
static bool prompt_shown;
/* The log (console_log_copy): every byte that goes out, also here. */
static char log_ring[CONSOLE_LOG_SIZE];
static size_t log_head; /* free-running */

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

/* Sends what the UART can take now without waiting. If another CPU is
 * printing, it will be drained at the next try. */
void console_drain(void)
{
    if (out_head == out_tail || !spin_trylock(&console_lock))
        return;
    if (inb(COM1 + UART_LSR) & LSR_THRE)
        for (unsigned i = 0; i < tx_burst && out_tail != out_head; i++)
            outb(COM1 + UART_THR, (u8)out_ring[out_tail++ % OUT_RING]);
    spin_unlock(&console_lock);
}

bool console_pending(void) { return __atomic_load_n(&out_head, __ATOMIC_RELAXED) != __atomic_load_n(&out_tail, __ATOMIC_RELAXED); }

/* The time the UART needs for one burst: 10 bits a byte at 115200 baud. */
u64 console_drain_ns(void) { return burst_ns; }

static void drain_all(void)
{
    while (out_tail != out_head)
        uart_putc(out_ring[out_tail++ % OUT_RING]);
}

void console_set_buffered(bool on)
{
    spin_lock(&console_lock);
    if (!on)
        drain_all();
    buffered = on && uart_found;
    spin_unlock(&console_lock);
}

/* With console_lock held (or while panicking). */
static void emit(char c)
{
    if (!buffered || panicking) {
        uart_putc(c);
        return;
    }
    if (out_head - out_tail == OUT_RING) /* full: wait for the wire */
        uart_putc(out_ring[out_tail++ % OUT_RING]);
    bool first = out_head == out_tail;
    out_ring[out_head++ % OUT_RING] = c;
    if (first)
        console_output_queued(); /* after the byte (x86 keeps stores in order): CPU 0 drains it at its next look */
}

static void emit_char(char c)
{
    if (c == '\n')
        emit('\r');
    emit(c);
}

static void commit_line(struct percpu *c);

static void emit_raw(const char *s, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        emit_char(s[i]);
}

/* The bottom line of the terminal belongs to whatever is unfinished: the
 * shell's prompt when it is open, else the one guest line that has shown
 * part of itself (console_line_piece). Every other line is printed above
 * it: erase it (VT100: carriage return, erase to the end of the line),
 * print, draw it again. A guest's line thus reads whole on the terminal
 * however its pieces came, whoever printed in between. */
static const void *float_writer;          /* whose unfinished line is drawn at the bottom; NULL: none */
static char float_line[CONSOLE_PIECE_MAX]; /* its prefix and text */
static unsigned float_len;

/* A line longer than a CPU's buffer goes out in pieces (console_putc).
 * While its first pieces are out and its end is not, the bottom line is
 * not drawn after them: the next piece continues the terminal's line, and
 * the bottom's erase (a carriage return and erase to the end of the line)
 * would wipe them. The bottom comes back once the line ends. */
static bool piece_open;

static bool bottom_drawn(void) { return prompt_shown || float_len; }

/* Clears the terminal's last line for what comes next: the bottom line
 * is erased, or an open piece's line ended (the bottom was not drawn
 * after it; a prompt or another line takes the bottom over). */
static void erase_bottom(void)
{
    if (piece_open) {
        emit_raw("\r\n", 2);
        piece_open = false;
    } else if (bottom_drawn()) {
        emit_raw("\r\033[K", 4);
    }
}

static void draw_bottom(void)
{
    if (prompt_shown)
        emit_raw(prompt_line, prompt_len);
    else if (float_len)
        emit_raw(float_line, float_len);
}

/* A line (or a piece of one) for the console and the log; what is drawn
 * at the bottom, redrawn around it, is not logged. */
static void emit_line(const char *s, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        log_ring[log_head++ % CONSOLE_LOG_SIZE] = s[i];
    if (!piece_open)
        erase_bottom();
    emit_raw(s, len);
    piece_open = len && s[len - 1] != '\n';
    if (!piece_open)
        draw_bottom();
}

void console_prompt(const char *text, size_t len)
{
    if (!percpu_ready)
        return;
    commit_line(this_cpu());
    spin_lock(&console_lock);
    erase_bottom();
    prompt_len = (unsigned)MIN(len, sizeof(prompt_line));
    memcpy(prompt_line, text, prompt_len);
    prompt_shown = prompt_len != 0;
    draw_bottom();
    spin_unlock(&console_lock);
}

/* This CPU's collected output goes out, in one piece. */
static void commit_line(struct percpu *c)
{
    if (!c->line_len)
        return;
    if (c->line_depth || panicking) {
        emit_line(c->line, c->line_len);
    } else {
        spin_lock(&console_lock);
        emit_line(c->line, c->line_len);
        spin_unlock(&console_lock);
    }
    c->line_len = 0;
}

void console_commit(void)
{
    if (percpu_ready)
        commit_line(this_cpu());
}

void console_putc(char c)
{
    /* Before the boot CPU has per-CPU data, and in a panic: at once. */
    if (!percpu_ready || panicking) {
        emit_char(c);
        return;
    }
    struct percpu *cpu = this_cpu();
    if (cpu->line_len == sizeof(cpu->line))
        commit_line(cpu); /* an overlong line goes out in pieces */
    cpu->line[cpu->line_len++] = c;
    if (c == '\n')
        commit_line(cpu);
}

void console_lines_begin(void)
{
    if (!percpu_ready || panicking)
        return;
    struct percpu *c = this_cpu();
    commit_line(c);
    if (c->line_depth++ == 0)
        spin_lock(&console_lock);
}

void console_lines_end(void)
{
    if (!percpu_ready || panicking)
        return;
    struct percpu *c = this_cpu();
    commit_line(c);
    if (--c->line_depth == 0)
        spin_unlock(&console_lock);
}

size_t console_log_copy(char *out, size_t size)
{
    spin_lock(&console_lock);
    size_t have = MIN(log_head, (size_t)CONSOLE_LOG_SIZE), n = MIN(have, size);
    for (size_t i = 0; i < n; i++)
        out[i] = log_ring[(log_head - n + i) % CONSOLE_LOG_SIZE];
    spin_unlock(&console_lock);
    return n;
}

void console_panic_begin(void)
{
    if (panicking)
        return;
    smp_stop_others(); /* nobody else prints (or holds the lock) from now on */
    panicking = true;
    drain_all();
    if (percpu_ready) {
        struct percpu *c = this_cpu();
        emit_line(c->line, c->line_len); /* the unfinished line, then the panic */
        c->line_len = 0;
    }
}

int console_getc(void)
{
    if (!uart_found || !(inb(COM1 + UART_LSR) & LSR_DR))
        return -1;
    return inb(COM1 + UART_THR); /* RBR shares the offset with THR (DLAB=0) */
}

void console_flush(void)
{
    console_commit();
    spin_lock(&console_lock);
    drain_all();
    spin_unlock(&console_lock);
    for (unsigned spins = 0; uart_found && !(inb(COM1 + UART_LSR) & LSR_TEMT) && spins < 1000000; spins++)
        pause();
}

void console_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        console_putc(s[i]);
}

/* Guest output arrives in pieces (a prompt such as "login: " long before
 * its line ends), from several writers on any CPU: each domain's COM1 and
 * debug console. An unfinished line is drawn at the bottom (above), as
 * much of it as the writer has, and replaced as it grows; another
 * writer's unfinished line takes the bottom over. A complete line is
 * printed above the bottom and logged, whole. */
void console_line_piece(const void *writer, const char *prefix, const char *text, size_t len, bool complete)
{
    console_lines_begin(); /* the lock: the bottom line is shared */
    if (complete) {
        if (float_writer == writer) {
            erase_bottom();
            float_writer = NULL;
            float_len = 0;
            draw_bottom();
        }
        console_write(prefix, strlen(prefix));
        console_write(text, len);
        console_putc('\n');
    } else if (!panicking) {
        console_commit();
        erase_bottom();
        size_t p = MIN(strlen(prefix), sizeof(float_line));
        memcpy(float_line, prefix, p);
        size_t t = MIN(len, sizeof(float_line) - p);
        memcpy(float_line + p, text, t);
        float_len = (unsigned)(p + t);
        float_writer = writer;
        draw_bottom();
    }
    console_lines_end();
}

/* The writer's unfinished line, if drawn, is taken away (its domain ended
 * or its line was completed elsewhere). */
void console_line_forget(const void *writer)
{
    console_lines_begin();
    if (float_writer == writer) {
        erase_bottom();
        float_writer = NULL;
        float_len = 0;
        draw_bottom();
    }
    console_lines_end();
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
