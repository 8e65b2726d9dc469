/* See console_service.h. The console is polled (Zazen takes no host UART
 * interrupt): every CONSOLE_POLL_NS for input, and while output waits,
 * once per burst time (a 16550's FIFO at 115200 baud). */
#include "console_service.h"
#include "console.h"
#include "domain.h"
#include "hosttime.h"
#include "mgmtproto.h"
#include "shell.h"
#include "x86.h"

#define CONSOLE_POLL_NS (10ull * 1000 * 1000)

/* next_drain: the next burst while output waits; ~0 while none does,
 * until console_output_queued (any CPU) asks for one at once. */
static u64 next_poll, next_drain;

static u64 ns_to_tsc(u64 ns) { return ns * host_tsc_khz() / 1000000; }

u64 console_service_due(void) { return MIN(next_poll, __atomic_load_n(&next_drain, __ATOMIC_RELAXED)); }

void console_output_queued(void) { __atomic_store_n(&next_drain, 0, __ATOMIC_RELAXED); }

static bool output_waits(void) { return console_pending() || mgmtproto_sending(); }

/* Every poll interval: what was typed goes to the shell (which hands it
 * to the attached domain), the shell's and the protocol's verbs that go
 * on are looked at, and COM2's requests read. While output waits, the
 * UARTs get a burst each burst time. */
void console_service(u64 now)
{
    if (now >= next_poll) {
        next_poll = now + ns_to_tsc(CONSOLE_POLL_NS);
        u8 typed[64];
        unsigned n = 0;
        for (int ch; n < sizeof(typed) && (ch = console_getc()) >= 0;)
            typed[n++] = (u8)ch;
        if (n)
            shell_input(typed, n);
        shell_poll(now);
        mgmtproto_poll(now);
        /* The replies just queued, and output whose console_output_queued
         * came between this CPU's last look and its ~0 below: a burst now. */
        if (output_waits())
            next_drain = MIN(next_drain, now);
    }
    if (now < __atomic_load_n(&next_drain, __ATOMIC_RELAXED))
        return;
    if (output_waits()) {
        console_drain(); /* busy still: try again a burst's time later */
        mgmtproto_poll(now);
        next_drain = now + ns_to_tsc(console_drain_ns());
    } else {
        next_drain = ~0ull;
    }
}
