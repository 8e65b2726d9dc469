/* Runs every registered unit test, in file order. */
#include "unit.h"

#include <stdarg.h>
#include <stdlib.h>

static struct unit_test *head, **tail = &head;
int unit_current_failed;

void unit_register(struct unit_test *t)
{
    *tail = t;
    tail = &t->next;
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    unit_current_failed = 1;
    printf("FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

int main(void)
{
    int failed = 0;
    for (struct unit_test *t = head; t; t = t->next) {
        unit_current_failed = 0;
        printf("RUN %s\n", t->name);
        fflush(stdout);
        t->fn();
        printf("%s %s\n", unit_current_failed ? "FAILED" : "PASS", t->name);
        failed += unit_current_failed;
    }
    return failed ? 1 : 0;
}
