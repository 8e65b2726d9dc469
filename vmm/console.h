/* Zazen's console: a polled 16550 UART on COM1 (PC16550D datasheet),
 * shared by every CPU. Output is collected per CPU until a line is whole
 * and then goes out in one piece, so lines from different CPUs (and so
 * from different domains) never mix; a block of lines (a domain's summary)
 * can be kept together with console_lines_begin/end. */
#ifndef ZAZEN_CONSOLE_H
#define ZAZEN_CONSOLE_H

#include "types.h"

void console_init(void);
void console_putc(char c);
void console_write(const char *s, size_t len);
/* Sends this CPU's unfinished line now (a prompt that has no newline). */
void console_commit(void);
/* The shell's prompt line (prompt, input, cursor movement): drawn now and
 * kept at the bottom of the screen: whatever else is printed erases it
 * first and draws it again after. An empty text removes it. */
void console_prompt(const char *text, size_t len);
/* Lines printed between these come out together, no other CPU's between
 * them. Nests. Nothing may wait for another CPU in between. */
void console_lines_begin(void);
void console_lines_end(void);
/* Is there a UART on COM1 (a missing one reads all ones)? */
bool console_present(void);
/* A byte typed on the console, or -1 if none is waiting (polled). */
int console_getc(void);
/* Waits until every byte has been sent (before a power-off or reset). */
void console_flush(void);
/* Buffered output (while domains run): bytes wait in a ring until
 * console_drain hands them to the UART. Turning it off sends the ring
 * first. */
void console_set_buffered(bool on);
void console_drain(void);      /* sends what the UART takes now, never waits */
bool console_pending(void);    /* bytes wait in the ring */
u64 console_drain_ns(void);    /* how long the UART takes to empty one burst */
/* A panic: the other CPUs are stopped, buffered output goes out, and from
 * now on everything is written at once, without locks. */
void console_panic_begin(void);
/* Zazen's log: the last CONSOLE_LOG_SIZE bytes of console output (the
 * dmesg verb). Copies at most size bytes, the newest; returns how many. */
#define CONSOLE_LOG_SIZE (64 * 1024)
size_t console_log_copy(char *out, size_t size);
/* A guest's console line: writer is who writes (one of the domain's
 * output streams), prefix heads the line ("(name) "), text is the line as
 * far as the writer has it (all of it, not what came since the last call),
 * complete says it has ended. An unfinished line is drawn at the bottom of
 * the terminal and replaced as it grows, so the terminal shows each line
 * whole whoever prints in between; a complete one is printed and logged. */
#define CONSOLE_PIECE_MAX 256
void console_line_piece(const void *writer, const char *prefix, const char *text, size_t len, bool complete);
void console_line_forget(const void *writer);
void kprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
void kvprintf(const char *fmt, va_list ap);

#endif
