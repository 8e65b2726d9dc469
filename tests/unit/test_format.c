/* The printf engine behind the console and every message. */
/* unit-sources: vmm/format.c vmm/string.c */
#include "unit.h"
#include "../../vmm/format.h"

struct buf {
    char text[256];
    size_t n;
};

static void put(void *ctx, char c)
{
    struct buf *b = ctx;
    if (b->n + 1 < sizeof(b->text))
        b->text[b->n++] = c;
    b->text[b->n] = 0;
}

static const char *fmt(const char *f, ...)
{
    static struct buf b;
    va_list ap;
    b.n = 0;
    b.text[0] = 0;
    va_start(ap, f);
    vformat(put, &b, f, ap);
    va_end(ap);
    return b.text;
}

TEST(format_integers)
{
    CHECK_STR(fmt("%d %i %u", -42, 7, 3000000000u), "-42 7 3000000000");
    CHECK_STR(fmt("%x %X %o", 0xbeefu, 0xbeefu, 8u), "beef BEEF 10");
    CHECK_STR(fmt("%llx", 0xffffffffffffffffull), "ffffffffffffffff");
    CHECK_STR(fmt("%lld", (long long)-9223372036854775807ll - 1), "-9223372036854775808");
    CHECK_STR(fmt("%hhx %hx", 0x1ff, 0x1ffff), "ff ffff");
    CHECK_STR(fmt("%zu", (size_t)12), "12");
}

TEST(format_width_and_flags)
{
    CHECK_STR(fmt("[%5d][%-5d][%05d]", 42, 42, 42), "[   42][42   ][00042]");
    CHECK_STR(fmt("[%08llx]", 0xabcull), "[00000abc]");
    CHECK_STR(fmt("[%+d][% d]", 5, 5), "[+5][ 5]");
    CHECK_STR(fmt("[%*d][%-*d]", 4, 1, 3, 2), "[   1][2  ]");
    CHECK_STR(fmt("[%.3d]", 7), "[007]");
}

TEST(format_strings_and_chars)
{
    CHECK_STR(fmt("%s|%6s|%-6s|", "ab", "ab", "ab"), "ab|    ab|ab    |");
    CHECK_STR(fmt("%.*s", 3, "abcdef"), "abc");
    CHECK_STR(fmt("%s", (char *)0), "(null)");
    CHECK_STR(fmt("%c%c 100%%", 'o', 'k'), "ok 100%");
    CHECK_STR(fmt("%p", (void *)0x1234), "0000000000001234");
    CHECK_STR(fmt("tail %"), "tail ");
}
