/* Zazen's console: a polled 16550 UART on COM1 (PC16550D datasheet). */
#ifndef ZAZEN_CONSOLE_H
#define ZAZEN_CONSOLE_H

#include "types.h"

void console_init(void);
void console_putc(char c);
void console_write(const char *s, size_t len);
/* Is there a UART on COM1 (a missing one reads all ones)? */
bool console_present(void);
/* A byte typed on the console, or -1 if none is waiting (polled). */
int console_getc(void);
/* Waits until every byte has been sent (before a power-off or reset). */
void console_flush(void);
/* Buffered output (while domains run): bytes wait in a ring until
 * console_drain hands them to the UART. Turning it off sends the ring
 * first, so a panic's lines follow what was printed before. */
void console_set_buffered(bool on);
void console_drain(void);      /* sends what the UART takes now, never waits */
bool console_pending(void);    /* bytes wait in the ring */
u64 console_drain_ns(void);    /* how long the UART takes to empty one burst */
/* A piece of a guest's console line: writer is who writes (one of the
 * domain's output streams), prefix heads each of its lines ("(name) "),
 * complete says the piece ends the line. The prefix is printed once per
 * line: a piece continuing the writer's unfinished line, with nothing
 * printed in between, goes on without it. kprintf first ends any
 * unfinished line. */
void console_line_piece(const void *writer, const char *prefix, const char *text, size_t len, bool complete);
void kprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
void kvprintf(const char *fmt, va_list ap);

#endif
