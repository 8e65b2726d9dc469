/* Domains: one guest each, with its RAM, its devices and its vCPUs. */
#ifndef ZAZEN_DOMAIN_H
#define ZAZEN_DOMAIN_H

#include "../devmodel/debugcon.h"
#include "../devmodel/pc.h"
#include "bootinfo.h"
#include "config.h"
#include "exit.h"
#include "trace.h"
#include "vcpu.h"

#define DOMAIN_MAX_MEM_REGIONS 64
#define DOMAIN_MAX_VCPUS 1
#define CONSOLE_INPUT_RING 256

/* Console input on its way to the guest: [0] for COM1, [1] for the keyboard. */
struct console_input {
    u8 ring[CONSOLE_INPUT_RING];
    unsigned head, tail[2];
};

/* One stretch of guest-physical space backed by host memory. */
struct guest_mem_region {
    u64 gpa;
    u64 size;
    u8 *host;       /* identity-mapped host memory */
    bool read_only; /* a ROM: writes are dropped */
    bool owned;     /* allocated for this domain (freed with it) */
};

struct domain {
    unsigned id; /* from 1, in config order */
    char name[CONFIG_NAME_MAX];
    const struct domain_config *cfg;
    struct guest_mem_region mem[DOMAIN_MAX_MEM_REGIONS];
    unsigned mem_count;
    u64 ram_size;
    struct vcpu *vcpus[DOMAIN_MAX_VCPUS];
    unsigned vcpu_count;
    struct pc pc;                /* the emulated PC: every device, its bus and clock */
    struct ide_disk disks[4];    /* images the config names, as the IDE sees them */
    struct debugcon debugcon;
    char console_prefix[CONFIG_NAME_MAX + 4]; /* "(name) ": heads its console lines */
    char com1_line[200];         /* COM1 output not yet printed */
    unsigned com1_len;
    u64 com1_bytes;              /* COM1 bytes sent, ever */
    u64 output_seen;             /* COM1 and debug console bytes at the last look */
    u64 output_at;               /* domain time when output_seen last changed */
    bool reset_requested;        /* by the guest: port 64h, 92h or CF9h */
    unsigned resets;
    u8 post_code;                /* the last byte written to port 80h */
    u64 console_polled;          /* domain time of the last console poll */
    u64 console_burst_at;        /* domain time of the last try to hand the UART a burst */
    struct console_input console_input;
    u64 exit_counts[EXIT_REASON_COUNT];
    /* TSC ticks the core spent on exits, from the backend's return to its
     * next entry, by reason and by phase (enum core_phase). */
    u64 exit_ticks[EXIT_REASON_COUNT];
    u64 phase_ticks[4];
    struct trace_ring trace;     /* trace = N: the last N exits; capacity 0 without */
    bool ended;
    char end_reason[256];
    void *arch; /* the backend's per-domain state (nested tables, ASID/VPID) */
};

/* The core's part of an exit's round trip, in the order of the run loop. */
enum core_phase { PHASE_TIME, PHASE_HANDLER, PHASE_DELIVERY, PHASE_TIMER };

/* Builds a domain from its config and the files the boot entry loaded.
 * On failure returns NULL with why filled. */
struct domain *domain_create(unsigned id, const struct domain_config *cfg, const struct bootinfo *bi, char *why,
                             size_t why_size);
void domain_destroy(struct domain *d);
/* Runs the domain's vCPU until the domain ends. */
void domain_run(struct domain *d);
/* Ends the domain with a reason; its vCPUs stop at their next exit. */
void domain_end(struct domain *d, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Prints the domain's exit counts by reason. */
void domain_print_exit_counts(const struct domain *d);
/* Prints the exits its trace kept (trace = N), oldest first. */
void domain_print_trace(const struct domain *d);

/* Guest-physical to host pointer, if [gpa, gpa+len) lies in one region. */
struct guest_mem_region *domain_find_region(struct domain *d, u64 gpa, u64 len);

#endif
