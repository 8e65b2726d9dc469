/* See console_service.h. The console is polled (Zazen takes no host UART
 * interrupt): every CONSOLE_POLL_NS for input, and while output waits,
 * once per burst time (a 16550's FIFO at 115200 baud). */
#include "console_service.h"
#include "console.h"
#include "domain.h"
#include "hosttime.h"
#include "x86.h"

#define CONSOLE_POLL_NS (10ull * 1000 * 1000)

static u64 next_poll, next_drain;

static u64 ns_to_tsc(u64 ns) { return ns * host_tsc_khz() / 1000000; }

u64 console_service_due(void)
{
    if (!console_present())
        return ~0ull;
    return console_pending() ? MIN(next_poll, next_drain) : next_poll;
}

void console_service(u64 now)
{
    if (!console_present())
        return;
    if (now >= next_poll) {
        next_poll = now + ns_to_tsc(CONSOLE_POLL_NS);
        u8 typed[64];
        unsigned n = 0;
        for (int ch; n < sizeof(typed) && (ch = console_getc()) >= 0;)
            typed[n++] = (u8)ch;
        if (n)
            domain_console_input(typed, n);
    }
    if (console_pending() && now >= next_drain) {
        console_drain(); /* busy still: try again a burst's time later */
        next_drain = now + ns_to_tsc(console_drain_ns());
    }
}
