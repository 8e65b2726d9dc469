/* Management: every verb once (vmm/mgmt.c), with the data it returns, as
 * a table for people or as JSON for programs. Two front ends call it: the
 * zazen> shell on the host console (vmm/shell.c) and the line protocol on
 * the host's COM2 (vmm/mgmtproto.c). Verbs, columns and meanings follow
 * Xen's xl and xentop (docs/management.md). */
#ifndef ZAZEN_MGMT_H
#define ZAZEN_MGMT_H

#include "exit.h"
#include "types.h"

#define MGMT_MAX_ARGS 12
#define MGMT_TOP_DOMAINS 16
#define MGMT_PROTOCOL_VERSION 1

/* Where a verb's reply goes, and in which form. */
struct mgmt_out {
    bool json;
    void (*write)(void *ctx, const char *s, size_t n);
    void *ctx;
    /* JSON writer state: whether the current container needs a comma. */
    unsigned depth;
    bool comma[8];
};

/* A verb that goes on after it returns (top refreshing, shutdown -w):
 * the front end calls poll every time it looks at its input until it
 * returns false; cancel when the user stops it. */
struct mgmt_pending {
    bool active;
    bool (*poll)(struct mgmt_pending *p, struct mgmt_out *out, u64 now);
    void (*cancel)(struct mgmt_pending *p, struct mgmt_out *out);
    /* Each pending verb's own state. */
    char domain[32];
    u64 deadline, next, interval;
    unsigned left;
    bool batch;
    u32 domain_id;
};

enum mgmt_status { MGMT_OK, MGMT_ERROR, MGMT_PENDING, MGMT_ATTACH };

/* What top saw of a domain last time, for its rates. */
struct mgmt_top_sample {
    u32 id;
    u64 ran;                          /* TSC ticks its vCPUs ran */
    u64 exits[EXIT_REASON_COUNT];
};

/* The context a front end gives: the shell can attach the console and
 * refresh a screen; the protocol cannot. */
struct mgmt_front {
    bool interactive;         /* the shell */
    char attach[32];          /* MGMT_ATTACH: the domain to attach to */
    struct mgmt_pending pending;
    /* top's last sample, per front end, for rates */
    u64 top_tsc;
    struct mgmt_top_sample top[MGMT_TOP_DOMAINS];
    unsigned top_count;
};

/* Splits a command line into words (at most MGMT_MAX_ARGS; line is
 * modified). Returns the count, or -1 with why if there are too many. */
int mgmt_split(char *line, char **argv, const char **why);
/* Runs one verb. On MGMT_ERROR the reply is a one-line error and nothing
 * changed. */
enum mgmt_status mgmt_exec(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *out);
/* A one-line error, as text or as the protocol's JSON. */
void mgmt_error(struct mgmt_out *out, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Printing to an out (text). */
void mgmt_printf(struct mgmt_out *out, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* The verbs, for help and for the shell's completion of names. */
unsigned mgmt_verb_count(void);
const char *mgmt_verb_name(unsigned i);

/* Zazen's start, for uptime (set by core_main). */
extern u64 zazen_start_tsc;
extern const char zazen_version[];

#endif
