/* The few C string and memory functions Zazen needs, freestanding.
 * The compiler may also call memcpy/memset/memmove/memcmp on its own. */
#ifndef ZAZEN_STRING_H
#define ZAZEN_STRING_H

#include "types.h"

#ifdef ZAZEN_HOST
#include <string.h>
#else
void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
#endif
/* Copies at most size-1 bytes and always terminates (when size > 0). */
size_t strlcpy(char *dst, const char *src, size_t size);
bool str_ieq(const char *a, const char *b);

#endif
