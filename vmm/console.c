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
    out_ring[out_head++ % OUT_RING] = c;
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

/* VT100: carriage return, then erase to the end of the line. */
static void erase_prompt(void)
{
    if (prompt_shown)
        emit_raw("\r\033[K", 4);
}

/* A line (or a piece of one) for the console and the log; the shell's
 * prompt, redrawn around it, is not logged. */
static const void *open_writer;  /* whose unfinished line the output ends with; NULL: at a line start */
static const void *piece_writer; /* the writer whose piece is being emitted now (console_line_piece) */

static void emit_line(const char *s, unsigned len)
{
    if (open_writer && open_writer != piece_writer) {
        open_writer = NULL;
        log_ring[log_head++ % CONSOLE_LOG_SIZE] = '\n';
        emit_char('\n');
    }
    for (unsigned i = 0; i < len; i++)
        log_ring[log_head++ % CONSOLE_LOG_SIZE] = s[i];
    erase_prompt();
    emit_raw(s, len);
    if (prompt_shown)
        emit_raw(prompt_line, prompt_len);
}

void console_prompt(const char *text, size_t len)
{
    if (!percpu_ready)
        return;
    commit_line(this_cpu());
    spin_lock(&console_lock);
    erase_prompt();
    prompt_len = (unsigned)MIN(len, sizeof(prompt_line));
    memcpy(prompt_line, text, prompt_len);
    prompt_shown = prompt_len != 0;
    emit_raw(prompt_line, prompt_len);
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
 * its line ends), from several writers: each domain's COM1 and debug
 * console, and Zazen itself, on any CPU. The terminal shows the writer's
 * prefix once per line: a piece that continues the writer's unfinished
 * line, with nothing else printed in between, follows it without one.
 * Anything else that prints first ends that line (emit_line), and its
 * rest comes on a new line with the prefix again. Both under
 * console_lock. */

void console_line_piece(const void *writer, const char *prefix, const char *text, size_t len, bool complete)
{
    console_lines_begin(); /* the lock, so the piece and its prefix stay together */
    bool continues = open_writer == writer && !panicking;
    piece_writer = writer;
    if (!continues)
        console_write(prefix, strlen(prefix));
    console_write(text, len);
    /* The shell's prompt is redrawn after every line: an open line would
     * run into it, so with the prompt up every piece ends its line. */
    if (complete || prompt_shown)
        console_putc('\n');
    console_commit();
    open_writer = complete || prompt_shown ? NULL : writer;
    piece_writer = NULL;
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
