/* A minimal unit-test kit for the host tests of Zazen's pure parts.
 * Each TEST() registers itself; main() (in unit_main.c) runs them all and
 * prints one "PASS name" or "FAIL name: why" line per test. */
#ifndef ZAZEN_UNIT_H
#define ZAZEN_UNIT_H

#include <stdio.h>
#include <string.h>

struct unit_test {
    const char *name;
    void (*fn)(void);
    struct unit_test *next;
};

void unit_register(struct unit_test *t);
void unit_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
extern int unit_current_failed;

#define TEST(name)                                                                                   \
    static void test_##name(void);                                                                   \
    static struct unit_test unit_##name = {#name, test_##name, 0};                                   \
    __attribute__((constructor)) static void register_##name(void) { unit_register(&unit_##name); } \
    static void test_##name(void)

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            unit_fail(__FILE__, __LINE__, "%s", #cond);                    \
            return;                                                        \
        }                                                                  \
    } while (0)

#define CHECK_EQ(a, b)                                                                              \
    do {                                                                                            \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);              \
        if (a_ != b_) {                                                                             \
            unit_fail(__FILE__, __LINE__, "%s == %s: 0x%llx != 0x%llx", #a, #b, a_, b_);            \
            return;                                                                                 \
        }                                                                                           \
    } while (0)

#define CHECK_STR(a, b)                                                                   \
    do {                                                                                  \
        const char *a_ = (a), *b_ = (b);                                                  \
        if (strcmp(a_, b_) != 0) {                                                        \
            unit_fail(__FILE__, __LINE__, "%s: \"%s\" != \"%s\"", #a, a_, b_);            \
            return;                                                                       \
        }                                                                                 \
    } while (0)

#endif
