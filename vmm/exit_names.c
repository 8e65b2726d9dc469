/* Exit reasons by name, as the console, the stats and the trace print
 * them. Pure, so the host-tested trace can use it. */
#include "exit.h"

static const char *const reason_names[EXIT_REASON_COUNT] = {
#define X(name, text) [EXIT_##name] = text,
    EXIT_REASONS(X)
#undef X
};

const char *exit_reason_name(enum exit_reason r) { return r < EXIT_REASON_COUNT ? reason_names[r] : "?"; }
