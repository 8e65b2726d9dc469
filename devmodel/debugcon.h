/* The 0xE9 debug console (the "port E9 hack" of Bochs and QEMU's
 * isa-debugcon): bytes written to the port are collected into lines. */
#ifndef ZAZEN_DEVMODEL_DEBUGCON_H
#define ZAZEN_DEVMODEL_DEBUGCON_H

#include "bus.h"

#define DEBUGCON_PORT 0xe9
#define DEBUGCON_LINE_MAX 200

typedef void (*debugcon_line_fn)(void *ctx, const char *line, unsigned len);

struct debugcon {
    char line[DEBUGCON_LINE_MAX];
    unsigned len;
    debugcon_line_fn emit;
    void *ctx;
};

/* Each complete line (or a full buffer) goes to emit without its '\n'. */
bool debugcon_attach(struct debugcon *dc, struct io_bus *bus, debugcon_line_fn emit, void *ctx);
/* Emits whatever is buffered without a newline yet (at domain end). */
void debugcon_flush(struct debugcon *dc);

#endif
