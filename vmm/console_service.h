/* The console's duties, done by CPU 0 between exits and in its idle loop:
 * read what is typed on the host console and hand it to the domain that
 * has the console focus, and send buffered output to the UART at the rate
 * the line takes it (docs/scheduler.md, "consoles"). */
#ifndef ZAZEN_CONSOLE_SERVICE_H
#define ZAZEN_CONSOLE_SERVICE_H

#include "types.h"

/* The host TSC when CPU 0 should next call console_service. */
u64 console_service_due(void);
/* Output was queued for the UART where none waited: the next call drains
 * it (any CPU; console.c's ring, as the protocol's replies, are looked
 * at by console_service itself). */
void console_output_queued(void);
void console_service(u64 now);

#endif
