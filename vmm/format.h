/* printf-style formatting into any sink. Pure: used by the console, by
 * error messages before and after boot, and by the host unit tests. */
#ifndef ZAZEN_FORMAT_H
#define ZAZEN_FORMAT_H

#include "types.h"

typedef void (*format_sink)(void *ctx, char c);

/* Supports %d %i %u %x %X %o %p %s %c %% with flags '-' '0' ' ' '+', width,
 * precision ('*' too), and the length modifiers hh h l ll z j t. */
size_t vformat(format_sink sink, void *ctx, const char *fmt, va_list ap);
#ifdef ZAZEN_HOST
#include <stdio.h>
#else
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
#endif

#endif
