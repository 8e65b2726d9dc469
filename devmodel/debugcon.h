/* The 0xE9 debug console (the "port E9 hack" of Bochs and QEMU's
 * isa-debugcon): bytes written to the port are collected into lines. */
#ifndef ZAZEN_DEVMODEL_DEBUGCON_H
#define ZAZEN_DEVMODEL_DEBUGCON_H

#include "bus.h"

#define DEBUGCON_PORT 0xe9
#define DEBUGCON_LINE_MAX 200

/* complete: the text ends a line (the guest wrote '\n'); otherwise it is a
 * piece of a line that goes on (a full buffer, or a flush). */
typedef void (*debugcon_line_fn)(void *ctx, const char *text, unsigned len, bool complete);

struct debugcon {
    char line[DEBUGCON_LINE_MAX];
    unsigned len;
    u64 bytes;           /* written since attach: a writer's activity, for quiet detection */
    debugcon_line_fn emit;
    void *ctx;
};

/* Each complete line goes to emit without its '\n'; a full buffer goes as
 * a piece of a line. */
bool debugcon_attach(struct debugcon *dc, struct io_bus *bus, debugcon_line_fn emit, void *ctx);
/* Emits whatever is buffered without a newline yet, as a piece of a line
 * (the guest went quiet, halted, or its domain ended). */
void debugcon_flush(struct debugcon *dc);

#endif
