/* The 0xE9 debug console (the "port E9 hack" of Bochs and QEMU's
 * isa-debugcon): bytes written to the port are collected into lines. */
#ifndef ZAZEN_DEVMODEL_DEBUGCON_H
#define ZAZEN_DEVMODEL_DEBUGCON_H

#include "bus.h"

#define DEBUGCON_PORT 0xe9
#define DEBUGCON_LINE_MAX 200
#define DEBUGCON_REDRAW (~0u) /* shown: a backspace took back what was shown */

/* text is the line so far, whole; complete: it has ended (the guest wrote
 * '\n', or the buffer is full); otherwise it is shown unfinished (a
 * flush) and will be given again, longer or complete. */
typedef void (*debugcon_line_fn)(void *ctx, const char *text, unsigned len, bool complete);

struct debugcon {
    char line[DEBUGCON_LINE_MAX];
    unsigned len;
    unsigned shown;      /* how much of line the last flush showed; DEBUGCON_REDRAW: more than is left */
    u64 bytes;           /* written since attach: a writer's activity, for quiet detection */
    debugcon_line_fn emit;
    void *ctx;
};

/* Each complete line goes to emit without its '\n'; a full buffer goes as
 * a line of its own. */
bool debugcon_attach(struct debugcon *dc, struct io_bus *bus, debugcon_line_fn emit, void *ctx);
/* Shows the unfinished line as far as it goes, if it grew since it was
 * last shown (the guest went quiet or halted). */
void debugcon_flush(struct debugcon *dc);
/* Ends the unfinished line as it is (the domain ended). */
void debugcon_finish(struct debugcon *dc);

#endif
