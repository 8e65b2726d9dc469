/* A small printf engine. It never allocates and never fails; output is
 * delivered one character at a time to a sink. */
#include "format.h"

struct spec {
    bool left, zero, space, plus;
    int width, precision; /* precision < 0: none given */
    int length;           /* -2 hh, -1 h, 0 int, 1 long, 2 long long */
};

struct emitter {
    format_sink sink;
    void *ctx;
    size_t count;
};

static void emit(struct emitter *e, char c)
{
    e->sink(e->ctx, c);
    e->count++;
}

static void emit_padding(struct emitter *e, char c, int n)
{
    while (n-- > 0)
        emit(e, c);
}

static void emit_string(struct emitter *e, const struct spec *s, const char *str)
{
    if (!str)
        str = "(null)";
    int len = 0;
    while (str[len] && (s->precision < 0 || len < s->precision))
        len++;
    if (!s->left)
        emit_padding(e, ' ', s->width - len);
    for (int i = 0; i < len; i++)
        emit(e, str[i]);
    if (s->left)
        emit_padding(e, ' ', s->width - len);
}

static void emit_number(struct emitter *e, const struct spec *s, u64 v, bool negative, unsigned base, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    int n = 0;
    do {
        buf[n++] = digits[v % base];
        v /= base;
    } while (v);
    while (n < s->precision)
        buf[n++] = '0';
    char sign = negative ? '-' : s->plus ? '+' : s->space ? ' ' : 0;
    int len = n + (sign != 0);
    if (!s->left && !(s->zero && s->precision < 0))
        emit_padding(e, ' ', s->width - len);
    if (sign)
        emit(e, sign);
    if (!s->left && s->zero && s->precision < 0)
        emit_padding(e, '0', s->width - len);
    while (n)
        emit(e, buf[--n]);
    if (s->left)
        emit_padding(e, ' ', s->width - len);
}

static const char *parse_int(const char *p, int *out)
{
    int v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    *out = v;
    return p;
}

static const char *parse_spec(const char *p, struct spec *s, va_list *ap)
{
    *s = (struct spec){.precision = -1};
    for (;; p++) {
        if (*p == '-')
            s->left = true;
        else if (*p == '0')
            s->zero = true;
        else if (*p == ' ')
            s->space = true;
        else if (*p == '+')
            s->plus = true;
        else
            break;
    }
    if (*p == '*') {
        s->width = va_arg(*ap, int);
        if (s->width < 0) {
            s->left = true;
            s->width = -s->width;
        }
        p++;
    } else {
        p = parse_int(p, &s->width);
    }
    if (*p == '.') {
        p++;
        if (*p == '*') {
            s->precision = va_arg(*ap, int);
            p++;
        } else {
            p = parse_int(p, &s->precision);
        }
    }
    for (;; p++) {
        if (*p == 'h')
            s->length--;
        else if (*p == 'l')
            s->length++;
        else if (*p == 'z' || *p == 'j' || *p == 't')
            s->length = 2;
        else
            break;
    }
    return p;
}

static u64 fetch_unsigned(const struct spec *s, va_list *ap)
{
    if (s->length >= 1)
        return s->length == 1 ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned long long);
    unsigned v = va_arg(*ap, unsigned);
    return s->length == -2 ? (u8)v : s->length == -1 ? (u16)v : v;
}

static s64 fetch_signed(const struct spec *s, va_list *ap)
{
    if (s->length >= 1)
        return s->length == 1 ? va_arg(*ap, long) : va_arg(*ap, long long);
    int v = va_arg(*ap, int);
    return s->length == -2 ? (s8)v : s->length == -1 ? (s16)v : v;
}

size_t vformat(format_sink sink, void *ctx, const char *fmt, va_list ap_in)
{
    struct emitter e = {sink, ctx, 0};
    va_list ap;
    va_copy(ap, ap_in);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            emit(&e, *p);
            continue;
        }
        struct spec s;
        p = parse_spec(p + 1, &s, &ap);
        switch (*p) {
        case 'd':
        case 'i': {
            s64 v = fetch_signed(&s, &ap);
            emit_number(&e, &s, v < 0 ? -(u64)v : (u64)v, v < 0, 10, false);
            break;
        }
        case 'u':
            emit_number(&e, &s, fetch_unsigned(&s, &ap), false, 10, false);
            break;
        case 'x':
        case 'X':
            emit_number(&e, &s, fetch_unsigned(&s, &ap), false, 16, *p == 'X');
            break;
        case 'o':
            emit_number(&e, &s, fetch_unsigned(&s, &ap), false, 8, false);
            break;
        case 'p':
            s.zero = true;
            s.width = 16;
            emit_number(&e, &s, (u64)(uintptr_t)va_arg(ap, void *), false, 16, false);
            break;
        case 's':
            emit_string(&e, &s, va_arg(ap, const char *));
            break;
        case 'c': {
            char c[2] = {(char)va_arg(ap, int), 0};
            emit_string(&e, &s, c);
            break;
        }
        case '%':
            emit(&e, '%');
            break;
        case 0:
            p--; /* a lone '%' at the end: stop there */
            break;
        default:
            emit(&e, '%');
            emit(&e, *p);
            break;
        }
    }
    va_end(ap);
    return e.count;
}

#ifndef ZAZEN_HOST /* host builds use the C library's */
struct buffer_sink {
    char *buf;
    size_t size, used;
};

static void buffer_put(void *ctx, char c)
{
    struct buffer_sink *b = ctx;
    if (b->used + 1 < b->size)
        b->buf[b->used] = c;
    b->used++;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct buffer_sink b = {buf, size, 0};
    size_t n = vformat(buffer_put, &b, fmt, ap);
    if (size)
        buf[b.used < size ? b.used : size - 1] = 0;
    return (int)n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
#endif /* ZAZEN_HOST */
