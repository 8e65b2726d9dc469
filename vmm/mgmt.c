/* The management verbs, each once: what it does and the data it returns,
 * rendered as xl's tables or as JSON (see mgmt.h, docs/management.md).
 * Every verb checks all its arguments before it changes anything. */
#include "mgmt.h"
#include "console.h"
#include "domain.h"
#include "format.h"
#include "hosttime.h"
#include "mm.h"
#include "percpu.h"
#include "sched.h"
#include "string.h"
#include "x86.h"
#include "storage/storage.h"

u64 zazen_start_tsc;

/* How long shutdown -w waits for the guest before it says so. */
#define SHUTDOWN_GRACE_S 30

/* ---- output ---- */

static void out_write(struct mgmt_out *o, const char *s, size_t n) { o->write(o->ctx, s, n); }

static void out_sink(void *ctx, char c)
{
    struct mgmt_out *o = ctx;
    out_write(o, &c, 1);
}

void mgmt_printf(struct mgmt_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(out_sink, o, fmt, ap);
    va_end(ap);
}

/* JSON (RFC 8259): strings escaped, numbers as integers. */
static void json_string(struct mgmt_out *o, const char *s)
{
    out_write(o, "\"", 1);
    for (; *s; s++) {
        u8 c = (u8)*s;
        if (c == '"' || c == '\\')
            mgmt_printf(o, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            mgmt_printf(o, "\\u%04x", c);
        else
            out_write(o, s, 1);
    }
    out_write(o, "\"", 1);
}

static void json_sep(struct mgmt_out *o)
{
    if (o->comma[o->depth])
        out_write(o, ",", 1);
    o->comma[o->depth] = true;
}

static void json_key(struct mgmt_out *o, const char *key)
{
    json_sep(o);
    if (key) {
        json_string(o, key);
        out_write(o, ":", 1);
    }
}

static void json_open(struct mgmt_out *o, const char *key, char bracket)
{
    json_key(o, key);
    out_write(o, &bracket, 1);
    if (o->depth + 1 < ARRAY_SIZE(o->comma))
        o->depth++;
    o->comma[o->depth] = false;
}

static void json_close(struct mgmt_out *o, char bracket)
{
    out_write(o, &bracket, 1);
    if (o->depth)
        o->depth--;
}

static void json_str(struct mgmt_out *o, const char *key, const char *value)
{
    json_key(o, key);
    json_string(o, value);
}

static void json_u64(struct mgmt_out *o, const char *key, u64 value)
{
    json_key(o, key);
    mgmt_printf(o, "%llu", (unsigned long long)value);
}

static void json_bool(struct mgmt_out *o, const char *key, bool value)
{
    json_key(o, key);
    mgmt_printf(o, "%s", value ? "true" : "false");
}

/* A reply: {"v":1,"ok":true,"verb":...,"result":...} around what the verb writes. */
static void reply_begin(struct mgmt_out *o, const char *verb)
{
    if (!o->json)
        return;
    o->depth = 0;
    o->comma[0] = false;
    json_open(o, NULL, '{');
    json_u64(o, "v", MGMT_PROTOCOL_VERSION);
    json_bool(o, "ok", true);
    json_str(o, "verb", verb);
}

static void reply_end(struct mgmt_out *o)
{
    if (o->json)
        json_close(o, '}');
}

void mgmt_error(struct mgmt_out *o, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!o->json) {
        mgmt_printf(o, "zazen: %s\n", msg);
        return;
    }
    o->depth = 0;
    o->comma[0] = false;
    json_open(o, NULL, '{');
    json_u64(o, "v", MGMT_PROTOCOL_VERSION);
    json_bool(o, "ok", false);
    json_str(o, "error", msg);
    json_close(o, '}');
}

/* ---- numbers and names from arguments ---- */

static bool parse_number(const char *s, u64 max, u64 *out)
{
    u64 v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > max / 10)
            return false;
        v = v * 10 + (u64)(*s - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* "0", "0-1", "0,2-3", "all": host CPUs, each online. */
static bool parse_cpus(const char *s, u64 *mask)
{
    if (strcmp(s, "all") == 0) {
        *mask = cpu_count >= 64 ? ~0ull : BIT(cpu_count) - 1;
        return true;
    }
    u64 m = 0;
    while (*s) {
        u64 first = 0, last;
        const char *p = s;
        while (*p >= '0' && *p <= '9')
            first = first * 10 + (u64)(*p++ - '0');
        if (p == s || first >= cpu_count)
            return false;
        last = first;
        if (*p == '-') {
            const char *q = ++p;
            last = 0;
            while (*p >= '0' && *p <= '9')
                last = last * 10 + (u64)(*p++ - '0');
            if (p == q || last < first || last >= cpu_count)
                return false;
        }
        for (u64 c = first; c <= last; c++)
            m |= BIT(c);
        if (*p == ',')
            p++;
        else if (*p)
            return false;
        s = p;
    }
    *mask = m;
    return m != 0;
}

/* ---- what a domain looks like to management ---- */

static u64 ticks_to_ms(u64 ticks) { return ticks / (host_tsc_khz() ? host_tsc_khz() : 1); }

static u64 domain_ran(const struct domain *d)
{
    u64 ran = 0;
    for (unsigned i = 0; i < d->vcpu_count; i++)
        ran += sched_vcpu_ran(d->vcpus[i]);
    return ran;
}

/* xl's state column: r running (or runnable), b blocked, p paused,
 * s shut down, c crashed, d dying; one letter in its place. */
static void domain_state(const struct domain *d, char state[7])
{
    memcpy(state, "------", 7);
    if (atomic_load(&d->preserved)) {
        state[d->end_kind == END_CRASH ? 4 : 3] = d->end_kind == END_CRASH ? 'c' : 's';
        return;
    }
    if (atomic_load(&d->ended)) {
        state[5] = 'd';
        return;
    }
    if (atomic_load(&d->paused)) {
        state[2] = 'p';
        return;
    }
    bool active = false;
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        enum vcpu_run_state s = sched_vcpu_state(d->vcpus[i]);
        active |= s == VCPU_RUNNING || s == VCPU_RUNNABLE;
    }
    state[active ? 0 : 1] = active ? 'r' : 'b';
}

static const char *vcpu_state_name(enum vcpu_run_state s)
{
    static const char *const names[] = {"runnable", "running", "blocked", "paused", "ended"};
    return s < ARRAY_SIZE(names) ? names[s] : "?";
}

static void format_cpus(char *buf, size_t size, u64 mask)
{
    u64 online = cpu_count >= 64 ? ~0ull : BIT(cpu_count) - 1;
    if ((mask & online) == online) {
        strlcpy(buf, "all", size);
        return;
    }
    size_t n = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < cpu_count && n + 4 < size; i++) {
        if (!((mask >> i) & 1))
            continue;
        unsigned j = i;
        while (j + 1 < cpu_count && ((mask >> (j + 1)) & 1))
            j++;
        n += (size_t)snprintf(buf + n, size - n, n ? ",%u" : "%u", i);
        if (j > i)
            n += (size_t)snprintf(buf + n, size - n, "-%u", j);
        i = j;
    }
}

static const char *action_name(enum domain_action a)
{
    return a == ACTION_RESTART ? "restart" : a == ACTION_PRESERVE ? "preserve" : "destroy";
}

/* With domains locked: the named domain, or an error said. */
static struct domain *find_or_say(struct mgmt_out *o, const char *name)
{
    struct domain *d = domain_find(name);
    if (!d)
        mgmt_error(o, "no domain '%s' (list shows them)", name);
    return d;
}

/* ---- the verbs ---- */

struct verb;
typedef enum mgmt_status (*verb_fn)(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o);

struct verb {
    const char *name;
    verb_fn fn;
    const char *usage;
    const char *what;
};

static const struct verb verbs[];
static const unsigned verb_total;

static enum mgmt_status usage(struct mgmt_out *o, const struct verb *v)
{
    mgmt_error(o, "usage: %s", v->usage);
    return MGMT_ERROR;
}

static const struct verb *verb_named(const char *name);

/* list [-l|--long] */
static enum mgmt_status verb_list(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    bool lng = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-l") == 0 || strcmp(argv[i], "--long") == 0)
            lng = true;
        else
            return usage(o, verb_named("list"));
    }
    reply_begin(o, "list");
    if (o->json)
        json_open(o, "domains", '[');
    else
        mgmt_printf(o, "%-20s %5s %7s %5s %-6s %9s\n", "Name", "ID", "Mem", "VCPUs", "State", "Time(s)");
    domains_lock();
    for (struct domain *d = domains_first(); d; d = d->next) {
        char state[7], cpus_text[32];
        domain_state(d, state);
        u64 ms = ticks_to_ms(domain_ran(d));
        format_cpus(cpus_text, sizeof(cpus_text), d->sched.affinity);
        if (!o->json) {
            mgmt_printf(o, "%-20s %5u %7llu %5u %-6s %7llu.%llu\n", d->name, d->id,
                        (unsigned long long)(d->ram_size >> 20), d->vcpu_count, state,
                        (unsigned long long)(ms / 1000), (unsigned long long)(ms / 100 % 10));
            if (lng)
                mgmt_printf(o, "    weight %u, cap %u, cpus %s, on_poweroff %s, on_reboot %s, on_crash %s, %s%s%s\n",
                            d->sched.weight, d->sched.cap, cpus_text, action_name(d->cfg->on_poweroff),
                            action_name(d->cfg->on_reboot), action_name(d->cfg->on_crash),
                            d->cfg->firmware.name[0] ? "firmware " : "Zazen BIOS",
                            d->cfg->firmware.name, d->restarts ? ", restarted" : "");
            continue;
        }
        json_open(o, NULL, '{');
        json_str(o, "name", d->name);
        json_u64(o, "id", d->id);
        json_u64(o, "mem_mib", d->ram_size >> 20);
        json_u64(o, "vcpus", d->vcpu_count);
        json_str(o, "state", state);
        json_u64(o, "cpu_time_ms", ms);
        if (lng) {
            json_u64(o, "weight", d->sched.weight);
            json_u64(o, "cap", d->sched.cap);
            json_str(o, "cpus", cpus_text);
            json_str(o, "on_poweroff", action_name(d->cfg->on_poweroff));
            json_str(o, "on_reboot", action_name(d->cfg->on_reboot));
            json_str(o, "on_crash", action_name(d->cfg->on_crash));
            json_str(o, "firmware", d->cfg->firmware.name[0] ? d->cfg->firmware.name : "zazen-bios");
            json_str(o, "platform", d->cfg->platform == PLATFORM_ISA ? "isa" : "pc");
            json_u64(o, "restarts", d->restarts);
            json_str(o, "end_reason", d->end_reason);
        }
        json_close(o, '}');
    }
    domains_unlock();
    if (o->json)
        json_close(o, ']');
    reply_end(o);
    return MGMT_OK;
}

/* info: the host */
static enum mgmt_status verb_info(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    (void)argv;
    if (argc != 1)
        return usage(o, verb_named("info"));
    u64 up_ms = ticks_to_ms(rdtsc() - zazen_start_tsc);
    u64 total = mm_managed_bytes() >> 20, free = mm_free_bytes() >> 20;
    unsigned live = 0;
    domains_lock();
    for (struct domain *d = domains_first(); d; d = d->next)
        live++;
    domains_unlock();
    reply_begin(o, "info");
    if (o->json) {
        json_str(o, "version", zazen_version);
        json_u64(o, "nr_cpus", cpu_count);
        json_u64(o, "total_memory_mib", total);
        json_u64(o, "free_memory_mib", free);
        json_u64(o, "free_memory_kib", mm_free_bytes() >> 10);
        json_str(o, "scheduler", sched_credit.name);
        json_u64(o, "timeslice_ms", ticks_to_ms(sched_timeslice()));
        json_u64(o, "domains", live);
        json_u64(o, "uptime_ms", up_ms);
    } else {
        mgmt_printf(o, "release                : Zazen %s\n", zazen_version);
        mgmt_printf(o, "nr_cpus                : %u\n", cpu_count);
        mgmt_printf(o, "cpu_mhz                : %llu\n", (unsigned long long)(host_tsc_khz() / 1000));
        mgmt_printf(o, "total_memory           : %llu\n", (unsigned long long)total);
        mgmt_printf(o, "free_memory            : %llu\n", (unsigned long long)free);
        mgmt_printf(o, "free_memory_kib        : %llu\n", (unsigned long long)(mm_free_bytes() >> 10));
        mgmt_printf(o, "scheduler              : %s (timeslice %llu ms)\n", sched_credit.name,
                    (unsigned long long)ticks_to_ms(sched_timeslice()));
        mgmt_printf(o, "domains                : %u\n", live);
        mgmt_printf(o, "uptime                 : %llu.%llu s\n", (unsigned long long)(up_ms / 1000),
                    (unsigned long long)(up_ms / 100 % 10));
    }
    reply_end(o);
    return MGMT_OK;
}

/* vcpu-list [NAME] */
static enum mgmt_status verb_vcpu_list(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    if (argc > 2)
        return usage(o, verb_named("vcpu-list"));
    domains_lock();
    if (argc == 2 && !domain_find(argv[1])) {
        domains_unlock();
        mgmt_error(o, "no domain '%s' (list shows them)", argv[1]);
        return MGMT_ERROR;
    }
    reply_begin(o, "vcpu-list");
    if (o->json)
        json_open(o, "vcpus", '[');
    else
        mgmt_printf(o, "%-20s %5s %5s %4s %-9s %9s %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)", "Affinity");
    for (struct domain *d = domains_first(); d; d = d->next) {
        if (argc == 2 && d != domain_find(argv[1]))
            continue;
        for (unsigned i = 0; i < d->vcpu_count; i++) {
            const struct vcpu *v = d->vcpus[i];
            char cpus_text[32];
            format_cpus(cpus_text, sizeof(cpus_text), v->sched.affinity);
            u64 ms = ticks_to_ms(sched_vcpu_ran(v));
            int cpu = v->sched.cpu ? (int)v->sched.cpu->index : -1;
            const char *state = vcpu_state_name(sched_vcpu_state(v));
            if (o->json) {
                json_open(o, NULL, '{');
                json_str(o, "name", d->name);
                json_u64(o, "id", d->id);
                json_u64(o, "vcpu", v->id);
                json_u64(o, "cpu", (u64)(cpu < 0 ? 0 : cpu));
                json_str(o, "state", state);
                json_u64(o, "time_ms", ms);
                json_str(o, "affinity", cpus_text);
                json_u64(o, "migrations", v->sched.stats.migrations);
                json_close(o, '}');
            } else {
                mgmt_printf(o, "%-20s %5u %5u %4d %-9s %7llu.%llu %s\n", d->name, d->id, v->id, cpu, state,
                            (unsigned long long)(ms / 1000), (unsigned long long)(ms / 100 % 10), cpus_text);
            }
        }
    }
    domains_unlock();
    if (o->json)
        json_close(o, ']');
    reply_end(o);
    return MGMT_OK;
}

/* uptime: Zazen's, and each domain's */
static enum mgmt_status verb_uptime(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    (void)argv;
    if (argc != 1)
        return usage(o, verb_named("uptime"));
    u64 now = rdtsc();
    reply_begin(o, "uptime");
    if (o->json) {
        json_u64(o, "zazen_ms", ticks_to_ms(now - zazen_start_tsc));
        json_open(o, "domains", '[');
    } else {
        mgmt_printf(o, "%-20s %5s %s\n", "Name", "ID", "Uptime");
        u64 ms = ticks_to_ms(now - zazen_start_tsc);
        mgmt_printf(o, "%-20s %5s %llu.%llu s\n", "(zazen)", "-", (unsigned long long)(ms / 1000),
                    (unsigned long long)(ms / 100 % 10));
    }
    domains_lock();
    for (struct domain *d = domains_first(); d; d = d->next) {
        u64 ms = ticks_to_ms(now - d->started_tsc);
        if (o->json) {
            json_open(o, NULL, '{');
            json_str(o, "name", d->name);
            json_u64(o, "id", d->id);
            json_u64(o, "uptime_ms", ms);
            json_close(o, '}');
        } else {
            mgmt_printf(o, "%-20s %5u %llu.%llu s\n", d->name, d->id, (unsigned long long)(ms / 1000),
                        (unsigned long long)(ms / 100 % 10));
        }
    }
    domains_unlock();
    if (o->json)
        json_close(o, ']');
    reply_end(o);
    return MGMT_OK;
}

/* dmesg: Zazen's own log */
static enum mgmt_status verb_dmesg(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    (void)argv;
    if (argc != 1)
        return usage(o, verb_named("dmesg"));
    static char text[CONSOLE_LOG_SIZE + 1];
    size_t n = console_log_copy(text, sizeof(text) - 1);
    text[n] = 0;
    /* The log holds the shell's prompt redraws (escape sequences) and could
     * hold any byte: printable text and newlines only, for a terminal. */
    for (size_t i = 0; i < n; i++)
        if (((u8)text[i] < 0x20 && text[i] != '\n' && text[i] != '\t') || (u8)text[i] >= 0x7f)
            text[i] = '?';
    reply_begin(o, "dmesg");
    if (o->json)
        json_str(o, "log", text);
    else
        out_write(o, text, n);
    reply_end(o);
    return MGMT_OK;
}

/* ---- top ---- */

struct top_row {
    u32 id;
    char name[32], state[7];
    u64 ran, mem_kib;
    unsigned vcpus;
    u64 exits[EXIT_REASON_COUNT];
};

static unsigned top_collect(struct top_row *rows, unsigned max)
{
    unsigned n = 0;
    domains_lock();
    for (struct domain *d = domains_first(); d && n < max; d = d->next, n++) {
        struct top_row *r = &rows[n];
        r->id = d->id;
        strlcpy(r->name, d->name, sizeof(r->name));
        domain_state(d, r->state);
        r->ran = domain_ran(d);
        r->mem_kib = d->ram_size >> 10;
        r->vcpus = d->vcpu_count;
        memcpy(r->exits, d->exit_counts, sizeof(r->exits));
    }
    domains_unlock();
    return n;
}

static const struct mgmt_top_sample *top_previous(const struct mgmt_front *f, u32 id)
{
    for (unsigned i = 0; i < f->top_count; i++)
        if (f->top[i].id == id)
            return &f->top[i];
    return NULL;
}

/* One frame of xentop's columns, rates since the front end's last frame
 * (since each domain's start for the first). */
static void top_frame(struct mgmt_front *f, struct mgmt_out *o)
{
    static struct top_row rows[MGMT_TOP_DOMAINS];
    u64 now = rdtsc();
    unsigned n = top_collect(rows, MGMT_TOP_DOMAINS);
    u64 total_kib = mm_managed_bytes() >> 10;
    if (!o->json)
        mgmt_printf(o, "%10s %6s %10s %6s %10s %6s %5s %9s %s\n", "NAME", "STATE", "CPU(sec)", "CPU(%)", "MEM(k)",
                    "MEM(%)", "VCPUS", "EXITS/s", "TOP EXITS/s");
    else
        json_open(o, "domains", '[');
    for (unsigned i = 0; i < n; i++) {
        struct top_row *r = &rows[i];
        const struct mgmt_top_sample *prev = top_previous(f, r->id);
        u64 dt = prev && now > f->top_tsc ? now - f->top_tsc : 0;
        u64 ran = prev ? r->ran - prev->ran : r->ran;
        u64 pct10 = dt ? ran * 1000 / dt : 0; /* tenths of a percent */
        u64 total = 0, rate[EXIT_REASON_COUNT];
        for (unsigned e = 0; e < EXIT_REASON_COUNT; e++) {
            u64 delta = prev ? r->exits[e] - prev->exits[e] : 0;
            rate[e] = dt ? delta * host_tsc_khz() * 1000 / dt : 0;
            total += rate[e];
        }
        /* The three reasons with the most exits per second. */
        unsigned top3[3] = {0, 0, 0};
        for (unsigned k = 0; k < 3; k++) {
            u64 best = 0;
            for (unsigned e = 1; e < EXIT_REASON_COUNT; e++) {
                bool taken = (k > 0 && top3[0] == e) || (k > 1 && top3[1] == e);
                if (!taken && rate[e] > best) {
                    best = rate[e];
                    top3[k] = e;
                }
            }
        }
        u64 cpu_ms = ticks_to_ms(r->ran);
        u64 mem_pct10 = total_kib ? r->mem_kib * 1000 / total_kib : 0;
        if (o->json) {
            json_open(o, NULL, '{');
            json_str(o, "name", r->name);
            json_u64(o, "id", r->id);
            json_str(o, "state", r->state);
            json_u64(o, "cpu_ms", cpu_ms);
            json_u64(o, "cpu_permille", pct10);
            json_u64(o, "mem_kib", r->mem_kib);
            json_u64(o, "vcpus", r->vcpus);
            json_u64(o, "exits_per_s", total);
            json_open(o, "exit_rates", '{');
            for (unsigned e = 1; e < EXIT_REASON_COUNT; e++)
                if (rate[e])
                    json_u64(o, exit_reason_name((enum exit_reason)e), rate[e]);
            json_close(o, '}');
            json_close(o, '}');
        } else {
            mgmt_printf(o, "%10s %6s %10llu %4llu.%llu %10llu %4llu.%llu %5u %9llu", r->name, r->state,
                        (unsigned long long)(cpu_ms / 1000), (unsigned long long)(pct10 / 10),
                        (unsigned long long)(pct10 % 10), (unsigned long long)r->mem_kib,
                        (unsigned long long)(mem_pct10 / 10), (unsigned long long)(mem_pct10 % 10), r->vcpus,
                        (unsigned long long)total);
            for (unsigned k = 0; k < 3; k++)
                if (top3[k] && rate[top3[k]])
                    mgmt_printf(o, " %s %llu", exit_reason_name((enum exit_reason)top3[k]),
                                (unsigned long long)rate[top3[k]]);
            mgmt_printf(o, "\n");
        }
    }
    if (o->json)
        json_close(o, ']');
    /* This frame is the next one's base. */
    f->top_count = n;
    for (unsigned i = 0; i < n; i++) {
        f->top[i].id = rows[i].id;
        f->top[i].ran = rows[i].ran;
        memcpy(f->top[i].exits, rows[i].exits, sizeof(rows[i].exits));
    }
    f->top_tsc = now;
}

static void write_nothing(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    (void)s;
    (void)n;
}

static bool top_poll(struct mgmt_pending *p, struct mgmt_out *o, u64 now)
{
    if (now < p->next)
        return true;
    struct mgmt_front *f = (struct mgmt_front *)((u8 *)p - offsetof(struct mgmt_front, pending));
    if (!p->batch)
        mgmt_printf(o, "\033[H\033[2J"); /* the screen afresh, as xentop's */
    u64 ms = ticks_to_ms(now - zazen_start_tsc);
    mgmt_printf(o, "zazen top - %llu.%llu s up, %u CPUs, %llu MiB free%s\n", (unsigned long long)(ms / 1000),
                (unsigned long long)(ms / 100 % 10), cpu_count, (unsigned long long)(mm_free_bytes() >> 20),
                p->batch ? "" : "  (q to quit)");
    top_frame(f, o);
    p->next = now + p->interval;
    if (p->left && --p->left == 0)
        return false;
    return true;
}

static void top_cancel(struct mgmt_pending *p, struct mgmt_out *o)
{
    (void)p;
    (void)o;
}

/* top [-b] [-n N] [-d S] */
static enum mgmt_status verb_top(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    bool batch = !f->interactive;
    u64 frames = 0, delay = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-b") == 0)
            batch = true;
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc && parse_number(argv[i + 1], 10000, &frames) && frames)
            i++;
        else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc && parse_number(argv[i + 1], 3600, &delay) && delay)
            i++;
        else
            return usage(o, verb_named("top"));
    }
    if (o->json) {
        /* The protocol answers one frame per request: the client repeats. */
        reply_begin(o, "top");
        top_frame(f, o);
        reply_end(o);
        return MGMT_OK;
    }
    struct mgmt_pending *p = &f->pending;
    u64 interval = delay * 1000 * host_tsc_khz();
    *p = (struct mgmt_pending){.active = true, .poll = top_poll, .cancel = top_cancel, .batch = batch,
                               .left = (unsigned)frames, .interval = interval, .next = rdtsc() + interval};
    /* The first frame's rates need a base: take it now, unprinted. */
    struct mgmt_out quiet = {.json = false, .write = write_nothing, .ctx = NULL};
    top_frame(f, &quiet);
    return MGMT_PENDING;
}

/* ---- changing domains ---- */

static enum mgmt_status one_domain_verb(int argc, char **argv, struct mgmt_out *o, const char *verb,
                                        bool (*act)(struct domain *d, struct mgmt_out *o))
{
    if (argc != 2)
        return usage(o, verb_named(verb));
    domains_lock();
    struct domain *d = find_or_say(o, argv[1]);
    bool ok = d && act(d, o);
    char name[32];
    u32 id = d ? d->id : 0;
    if (d)
        strlcpy(name, d->name, sizeof(name));
    domains_unlock();
    if (!ok)
        return MGMT_ERROR;
    reply_begin(o, verb);
    if (o->json) {
        json_str(o, "name", name);
        json_u64(o, "id", id);
    }
    reply_end(o);
    return MGMT_OK;
}

static bool running_or_say(struct domain *d, struct mgmt_out *o)
{
    if (atomic_load(&d->ended) || atomic_load(&d->preserved)) {
        mgmt_error(o, "domain %s (id %u) is not running", d->name, d->id);
        return false;
    }
    return true;
}

static bool act_pause(struct domain *d, struct mgmt_out *o)
{
    if (!running_or_say(d, o))
        return false;
    if (!domain_pause(d)) {
        mgmt_error(o, "domain %s (id %u) is already paused", d->name, d->id);
        return false;
    }
    kprintf("zazen: domain %s (id %u) paused\n", d->name, d->id);
    return true;
}

static bool act_unpause(struct domain *d, struct mgmt_out *o)
{
    if (!domain_unpause(d)) {
        mgmt_error(o, "domain %s (id %u) is not paused", d->name, d->id);
        return false;
    }
    kprintf("zazen: domain %s (id %u) unpaused\n", d->name, d->id);
    return true;
}

static bool act_reboot(struct domain *d, struct mgmt_out *o)
{
    if (!running_or_say(d, o))
        return false;
    kprintf("zazen: domain %s (id %u): Ctrl-Alt-Del on its keyboard\n", d->name, d->id);
    domain_request(d, DOMAIN_REQ_CTRL_ALT_DEL);
    return true;
}

static enum mgmt_status verb_pause(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    return one_domain_verb(argc, argv, o, "pause", act_pause);
}

static enum mgmt_status verb_unpause(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    return one_domain_verb(argc, argv, o, "unpause", act_unpause);
}

static enum mgmt_status verb_reboot(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    return one_domain_verb(argc, argv, o, "reboot", act_reboot);
}

/* destroy NAME: at once. The domain is freed where its vCPU leaves (or
 * here, if it was preserved), outside the list's lock. A domain already
 * ending (it crashed, powered off, or is restarting under on_* = restart)
 * is destroyed all the same: freed once its vCPUs are out, instead of
 * restarting or being kept (domain_destroy_now). */
static enum mgmt_status verb_destroy(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    if (argc != 2)
        return usage(o, verb_named("destroy"));
    domains_lock();
    struct domain *d = find_or_say(o, argv[1]);
    bool ok = d != NULL;
    bool preserved = ok && atomic_load(&d->preserved);
    char name[32] = "";
    u32 id = d ? d->id : 0;
    if (ok) {
        strlcpy(name, d->name, sizeof(name));
        if (!preserved)
            domain_destroy_now(d); /* ends it: its vCPUs leave and it is freed where they do */
    }
    domains_unlock();
    if (!ok)
        return MGMT_ERROR;
    if (preserved) {
        /* Nobody else frees a preserved domain; it cannot go away meanwhile. */
        domains_lock();
        struct domain *again = domain_find(name);
        domains_unlock();
        if (again && again->id == id)
            domain_destroy_now(again);
    }
    reply_begin(o, "destroy");
    if (o->json) {
        json_str(o, "name", name);
        json_u64(o, "id", id);
    }
    reply_end(o);
    return MGMT_OK;
}

/* shutdown [-w] NAME: the ACPI power button; -w waits for it to end. */
static bool shutdown_poll(struct mgmt_pending *p, struct mgmt_out *o, u64 now)
{
    domains_lock();
    struct domain *d = domain_find(p->domain);
    bool gone = !d || d->id != p->domain_id || atomic_load(&d->ended) || atomic_load(&d->preserved);
    domains_unlock();
    if (gone) {
        reply_begin(o, "shutdown");
        if (o->json) {
            json_str(o, "name", p->domain);
            json_str(o, "result", "shut down");
        } else {
            mgmt_printf(o, "zazen: domain %s shut down\n", p->domain);
        }
        reply_end(o);
        return false;
    }
    if (now >= p->deadline) {
        mgmt_error(o, "domain %s did not shut down within %u s of the power button (it may not handle ACPI "
                      "events; destroy ends it at once)", p->domain, SHUTDOWN_GRACE_S);
        return false;
    }
    return true;
}

static void shutdown_cancel(struct mgmt_pending *p, struct mgmt_out *o)
{
    mgmt_printf(o, "zazen: no longer waiting for %s\n", p->domain);
}

static enum mgmt_status verb_shutdown(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    bool wait = false;
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-w") == 0 && !wait)
            wait = true;
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            return usage(o, verb_named("shutdown"));
    }
    if (!name)
        return usage(o, verb_named("shutdown"));
    domains_lock();
    struct domain *d = find_or_say(o, name);
    bool ok = d && running_or_say(d, o);
    struct mgmt_pending *p = &f->pending;
    if (ok) {
        kprintf("zazen: domain %s (id %u): the ACPI power button\n", d->name, d->id);
        domain_request(d, DOMAIN_REQ_POWER_BUTTON);
        *p = (struct mgmt_pending){.active = wait, .poll = shutdown_poll, .cancel = shutdown_cancel,
                                   .deadline = rdtsc() + SHUTDOWN_GRACE_S * 1000ull * host_tsc_khz(),
                                   .domain_id = d->id};
        strlcpy(p->domain, d->name, sizeof(p->domain));
    }
    domains_unlock();
    if (!ok)
        return MGMT_ERROR;
    if (wait)
        return MGMT_PENDING;
    reply_begin(o, "shutdown");
    if (o->json)
        json_str(o, "name", name);
    reply_end(o);
    return MGMT_OK;
}

/* create NAME: a domain of zazen.cfg (autostart = no, or destroyed). */
static enum mgmt_status verb_create(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    if (argc != 2)
        return usage(o, verb_named("create"));
    char why[160];
    if (!domain_create_named(argv[1], why, sizeof(why))) {
        mgmt_error(o, "cannot create %s: %s", argv[1], why);
        return MGMT_ERROR;
    }
    domains_lock();
    struct domain *d = domain_find(argv[1]);
    u32 id = d ? d->id : 0;
    domains_unlock();
    reply_begin(o, "create");
    if (o->json) {
        json_str(o, "name", argv[1]);
        json_u64(o, "id", id);
    }
    reply_end(o);
    return MGMT_OK;
}

/* console NAME: the host console's input goes to the domain (shell only). */
static enum mgmt_status verb_console(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    if (argc != 2)
        return usage(o, verb_named("console"));
    if (!f->interactive) {
        mgmt_error(o, "console attaches the host console: it is a shell verb");
        return MGMT_ERROR;
    }
    domains_lock();
    struct domain *d = find_or_say(o, argv[1]);
    bool ok = d && running_or_say(d, o);
    if (ok)
        strlcpy(f->attach, d->name, sizeof(f->attach));
    domains_unlock();
    return ok ? MGMT_ATTACH : MGMT_ERROR;
}

/* sched-credit [-d NAME [-w W] [-c C]]: shows or sets weight and cap. */
static enum mgmt_status verb_sched_credit(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    const char *name = NULL;
    u64 weight = 0, cap = 0;
    bool set_w = false, set_c = false;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage(o, verb_named("sched-credit"));
        if (strcmp(argv[i], "-d") == 0 && !name)
            name = argv[++i];
        else if (strcmp(argv[i], "-w") == 0 && !set_w) {
            if (!parse_number(argv[++i], 65535, &weight) || !weight) {
                mgmt_error(o, "bad weight '%s': a number from 1 to 65535", argv[i]);
                return MGMT_ERROR;
            }
            set_w = true;
        } else if (strcmp(argv[i], "-c") == 0 && !set_c) {
            if (!parse_number(argv[++i], 100, &cap)) {
                mgmt_error(o, "bad cap '%s': a percentage of one CPU from 0 (no cap) to 100", argv[i]);
                return MGMT_ERROR;
            }
            set_c = true;
        } else {
            return usage(o, verb_named("sched-credit"));
        }
    }
    if ((set_w || set_c) && !name)
        return usage(o, verb_named("sched-credit"));
    domains_lock();
    if (name && !find_or_say(o, name)) {
        domains_unlock();
        return MGMT_ERROR;
    }
    reply_begin(o, "sched-credit");
    if (o->json)
        json_open(o, "domains", '[');
    else
        mgmt_printf(o, "%-20s %5s %6s %4s\n", "Name", "ID", "Weight", "Cap");
    for (struct domain *d = domains_first(); d; d = d->next) {
        if (name && d != domain_find(name))
            continue;
        if (set_w)
            atomic_store(&d->sched.weight, (u32)weight);
        if (set_c)
            atomic_store(&d->sched.cap, (u32)cap);
        if (o->json) {
            json_open(o, NULL, '{');
            json_str(o, "name", d->name);
            json_u64(o, "id", d->id);
            json_u64(o, "weight", d->sched.weight);
            json_u64(o, "cap", d->sched.cap);
            json_close(o, '}');
        } else {
            mgmt_printf(o, "%-20s %5u %6u %4u\n", d->name, d->id, d->sched.weight, d->sched.cap);
        }
    }
    domains_unlock();
    if (o->json)
        json_close(o, ']');
    reply_end(o);
    return MGMT_OK;
}

/* vcpu-pin NAME VCPU CPUS */
static enum mgmt_status verb_vcpu_pin(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    if (argc != 4)
        return usage(o, verb_named("vcpu-pin"));
    u64 vcpu, mask;
    if (!parse_cpus(argv[3], &mask)) {
        mgmt_error(o, "bad CPUs '%s': CPUs 0-%u are online (e.g. 0, 0-1, all)", argv[3], cpu_count - 1);
        return MGMT_ERROR;
    }
    domains_lock();
    struct domain *d = find_or_say(o, argv[1]);
    if (!d) {
        domains_unlock();
        return MGMT_ERROR;
    }
    if (!parse_number(argv[2], 0xffff, &vcpu) || vcpu >= d->vcpu_count) {
        mgmt_error(o, "bad vCPU '%s': domain %s has vCPUs 0-%u", argv[2], d->name, d->vcpu_count - 1);
        domains_unlock();
        return MGMT_ERROR;
    }
    sched_set_affinity(d->vcpus[vcpu], mask);
    kprintf("zazen: domain %s (id %u) vcpu %llu pinned to CPUs %s\n", d->name, d->id, (unsigned long long)vcpu,
            argv[3]);
    domains_unlock();
    reply_begin(o, "vcpu-pin");
    reply_end(o);
    return MGMT_OK;
}

/* The last n exits of a domain's trace ring, copied while its vCPU may be
 * recording: copied again if an exit was recorded meanwhile. */
static unsigned trace_snapshot(const struct domain *d, struct trace_entry *out, unsigned n)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        u64 before = atomic_load(&d->trace.recorded);
        unsigned have = trace_count(&d->trace), take = MIN(n, have);
        for (unsigned i = 0; i < take; i++)
            out[i] = trace_get(&d->trace, have - take + i);
        if (atomic_load(&d->trace.recorded) == before)
            return take;
    }
    return 0;
}

/* trace NAME N: its last N exits now */
static enum mgmt_status verb_trace(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    u64 n;
    if (argc != 3 || !parse_number(argv[2], CONFIG_TRACE_MAX_EXITS, &n) || !n)
        return usage(o, verb_named("trace"));
    static struct trace_entry entries[CONFIG_TRACE_MAX_EXITS];
    domains_lock();
    struct domain *d = find_or_say(o, argv[1]);
    if (!d) {
        domains_unlock();
        return MGMT_ERROR;
    }
    unsigned got = trace_snapshot(d, entries, (unsigned)n);
    char name[32];
    strlcpy(name, d->name, sizeof(name));
    unsigned capacity = d->trace.capacity;
    domains_unlock();
    reply_begin(o, "trace");
    if (o->json) {
        json_str(o, "name", name);
        json_open(o, "exits", '[');
    } else {
        mgmt_printf(o, "domain %s: its last %u exits, oldest first (it keeps %u):\n", name, got, capacity);
    }
    for (unsigned i = 0; i < got; i++) {
        char line[160];
        trace_format(&entries[i], line, sizeof(line));
        if (o->json) {
            json_key(o, NULL);
            json_string(o, line);
        } else {
            mgmt_printf(o, "  %s\n", line);
        }
    }
    if (o->json)
        json_close(o, ']');
    reply_end(o);
    return MGMT_OK;
}

/* stats NAME: exits by reason and the scheduler's figures */
static enum mgmt_status verb_stats(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    if (argc != 2)
        return usage(o, verb_named("stats"));
    domains_lock();
    struct domain *d = find_or_say(o, argv[1]);
    if (!d) {
        domains_unlock();
        return MGMT_ERROR;
    }
    reply_begin(o, "stats");
    if (o->json) {
        json_str(o, "name", d->name);
        json_u64(o, "id", d->id);
        json_open(o, "exits", '{');
        for (unsigned r = 1; r < EXIT_REASON_COUNT; r++)
            if (d->exit_counts[r])
                json_u64(o, exit_reason_name((enum exit_reason)r), d->exit_counts[r]);
        json_close(o, '}');
        json_open(o, "vcpus", '[');
        for (unsigned i = 0; i < d->vcpu_count; i++) {
            const struct vcpu *v = d->vcpus[i];
            json_open(o, NULL, '{');
            json_u64(o, "vcpu", v->id);
            json_u64(o, "ran_ms", ticks_to_ms(sched_vcpu_ran(v)));
            json_u64(o, "waited_ms", ticks_to_ms(v->sched.stats.wait));
            json_u64(o, "blocked_ms", ticks_to_ms(v->sched.stats.blocked));
            json_u64(o, "blocks", v->sched.stats.blocks);
            json_u64(o, "migrations", v->sched.stats.migrations);
            json_close(o, '}');
        }
        json_close(o, ']');
        if (d->vcpu_count > 1) {
            /* Read unlocked: figures, a little stale at worst. */
            const struct devices_lock_stats *l = &d->devices_lock_stats;
            json_open(o, "devices_lock", '{');
            json_u64(o, "taken", l->taken);
            json_u64(o, "waited", l->waited);
            json_u64(o, "wait_ms", ticks_to_ms(l->wait_ticks));
            json_u64(o, "longest_wait_us", ticks_to_ms(d->devices_lock_longest_wait * 1000));
            json_u64(o, "held_ms", ticks_to_ms(l->held_ticks));
            json_u64(o, "longest_hold_us", ticks_to_ms(d->devices_lock_longest_hold * 1000));
            json_close(o, '}');
        }
    } else {
        /* The same lines the console shows at a domain's end, to this out. */
        u64 total = 0;
        mgmt_printf(o, "domain %s (id %u) exits:", d->name, d->id);
        for (unsigned r = 1; r < EXIT_REASON_COUNT; r++)
            if (d->exit_counts[r]) {
                mgmt_printf(o, " %s %llu", exit_reason_name((enum exit_reason)r), (unsigned long long)d->exit_counts[r]);
                total += d->exit_counts[r];
            }
        mgmt_printf(o, " (%llu in all)\n", (unsigned long long)total);
        for (unsigned i = 0; i < d->vcpu_count; i++) {
            const struct vcpu *v = d->vcpus[i];
            u64 ran = ticks_to_ms(sched_vcpu_ran(v));
            mgmt_printf(o, "domain %s (id %u) vcpu %u: ran %llu.%03llu s, waited %llu ms, blocked %llu times, "
                           "%llu migrations\n", d->name, d->id, v->id, (unsigned long long)(ran / 1000),
                        (unsigned long long)(ran % 1000), (unsigned long long)ticks_to_ms(v->sched.stats.wait),
                        (unsigned long long)v->sched.stats.blocks, (unsigned long long)v->sched.stats.migrations);
        }
        if (d->vcpu_count > 1) {
            const struct devices_lock_stats *l = &d->devices_lock_stats;
            mgmt_printf(o, "domain %s (id %u) devices lock: taken %llu, waited %llu times %llu ms (longest %llu us), "
                           "held %llu ms (longest %llu us)\n", d->name, d->id, (unsigned long long)l->taken,
                        (unsigned long long)l->waited, (unsigned long long)ticks_to_ms(l->wait_ticks),
                        (unsigned long long)ticks_to_ms(d->devices_lock_longest_wait * 1000),
                        (unsigned long long)ticks_to_ms(l->held_ticks),
                        (unsigned long long)ticks_to_ms(d->devices_lock_longest_hold * 1000));
        }
    }
    domains_unlock();
    reply_end(o);
    return MGMT_OK;
}

/* debug-keys i: as Xen's `xl debug-keys` (whose 'i' dumps interrupt
 * bindings): each domain's interrupt controllers go to Zazen's log, where
 * `dmesg` and the console show them. A one-vCPU domain's devices are
 * read without its lock (only its own CPU takes it): a snapshot that may
 * be mid-change, good enough to see an interrupt stuck for seconds. */
static void debug_key_interrupts(void)
{
    static char text[4096];
    domains_lock();
    for (struct domain *d = domains_first(); d; d = d->next) {
        domain_devices_lock(d);
        pc_describe_interrupts(&d->pc, text, sizeof(text));
        domain_devices_unlock(d);
        console_lines_begin();
        kprintf("zazen: debug-keys i: domain %s (id %u)\n", d->name, d->id);
        char *line = text;
        for (char *p = text; *p; p++)
            if (*p == '\n') {
                *p = 0;
                kprintf("zazen:   %s\n", line);
                line = p + 1;
            }
        console_lines_end();
    }
    domains_unlock();
}

static enum mgmt_status verb_debug_keys(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    if (argc != 2)
        return usage(o, verb_named("debug-keys"));
    for (const char *k = argv[1]; *k; k++)
        if (*k != 'i') {
            mgmt_error(o, "unknown debug key '%c' (i: each domain's interrupt controllers, to dmesg)", *k);
            return MGMT_ERROR;
        }
    for (const char *k = argv[1]; *k; k++)
        debug_key_interrupts();
    reply_begin(o, "debug-keys");
    if (o->json)
        json_str(o, "keys", argv[1]);
    else
        mgmt_printf(o, "printed to Zazen's log (dmesg)\n");
    reply_end(o);
    return MGMT_OK;
}

static enum mgmt_status verb_help(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    (void)argc;
    (void)argv;
    reply_begin(o, "help");
    if (o->json)
        json_open(o, "verbs", '[');
    for (unsigned i = 0; i < verb_total; i++) {
        if (o->json) {
            json_open(o, NULL, '{');
            json_str(o, "usage", verbs[i].usage);
            json_str(o, "what", verbs[i].what);
            json_close(o, '}');
        } else {
            mgmt_printf(o, "  %-40s %s\n", verbs[i].usage, verbs[i].what);
        }
    }
    if (o->json)
        json_close(o, ']');
    else
        mgmt_printf(o, "  Ctrl-A three times switches between the shell and the attached console.\n");
    reply_end(o);
    return MGMT_OK;
}

/* MB/s (10^6 bytes a second, as dd says) of bytes read in ticks, in
 * hundredths. */
static u64 mb_per_s_x100(u64 bytes, u64 ticks)
{
    u64 us = ticks * 1000 / MAX(host_tsc_khz(), 1ull);
    return us ? bytes * 100 / us : 0;
}

static void bench_row(struct mgmt_out *o, const char *key, const char *label, u64 bytes, u64 ticks)
{
    u64 r = mb_per_s_x100(bytes, ticks);
    if (o->json)
        json_u64(o, key, r);
    else
        mgmt_printf(o, "%-24s: %llu.%02llu MB/s (%llu bytes in %llu us)\n", label, (unsigned long long)(r / 100),
                    (unsigned long long)(r % 100), (unsigned long long)bytes,
                    (unsigned long long)(ticks * 1000 / MAX(host_tsc_khz(), 1ull)));
}

/* disk-bench FILE: the host's own reads of a guest disk's store, the
 * workload Linux's dd runs in the guest (storage.h storage_bench), so the
 * two can be set side by side in one run (make bench, issue 17). */
static enum mgmt_status verb_disk_bench(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    (void)f;
    if (argc != 2)
        return usage(o, verb_named("disk-bench"));
    struct storage_bench b;
    const char *why = storage_bench(argv[1], &b);
    if (why) {
        mgmt_error(o, "disk-bench %s: %s", argv[1], why);
        return MGMT_ERROR;
    }
    reply_begin(o, "disk-bench");
    if (o->json) {
        json_str(o, "disk", argv[1]);
        json_u64(o, "bytes", b.bytes);
    } else {
        mgmt_printf(o, "disk                    : %s (the host's reads of its store)\n", argv[1]);
    }
    bench_row(o, "seq_1m_mb_s_x100", "sequential 1 MiB reads", b.bytes, b.seq_1m_ticks);
    bench_row(o, "seq_4k_mb_s_x100", "sequential 4 KiB reads", b.bytes, b.seq_4k_ticks);
    bench_row(o, "rand_4k_mb_s_x100", "random 4 KiB reads", STORAGE_BENCH_RANDOM * 4096ull, b.random_ticks);
    reply_end(o);
    return MGMT_OK;
}

static const struct verb verbs[] = {
    {"list", verb_list, "list [-l]", "the domains: name, id, memory (MiB), vCPUs, state, CPU time"},
    {"info", verb_info, "info", "the host: CPUs, memory, scheduler, version, uptime"},
    {"vcpu-list", verb_vcpu_list, "vcpu-list [NAME]", "each vCPU: its CPU, state, time, affinity"},
    {"uptime", verb_uptime, "uptime", "how long Zazen and each domain have run"},
    {"dmesg", verb_dmesg, "dmesg", "Zazen's log"},
    {"top", verb_top, "top [-b] [-n N] [-d S]", "xentop's columns every S seconds (N times; q stops)"},
    {"pause", verb_pause, "pause NAME", "stop a domain's vCPUs"},
    {"unpause", verb_unpause, "unpause NAME", "let them run again"},
    {"shutdown", verb_shutdown, "shutdown [-w] NAME", "press its ACPI power button (-w: wait until it is off)"},
    {"reboot", verb_reboot, "reboot NAME", "Ctrl-Alt-Del on its keyboard"},
    {"destroy", verb_destroy, "destroy NAME", "end it at once and free its memory"},
    {"create", verb_create, "create NAME", "start a domain of zazen.cfg"},
    {"console", verb_console, "console NAME", "attach the console to it"},
    {"sched-credit", verb_sched_credit, "sched-credit [-d NAME [-w W] [-c C]]", "show or set weight and cap"},
    {"vcpu-pin", verb_vcpu_pin, "vcpu-pin NAME VCPU CPUS", "the host CPUs a vCPU may run on"},
    {"trace", verb_trace, "trace NAME N", "its last N exits"},
    {"stats", verb_stats, "stats NAME", "its exits by reason and its vCPUs' times"},
    {"disk-bench", verb_disk_bench, "disk-bench FILE", "the host's own reads of a guest disk in place (MB/s)"},
    {"debug-keys", verb_debug_keys, "debug-keys KEYS", "i: each domain's interrupt state to the log (as Xen's)"},
    {"help", verb_help, "help", "this"},
};
static const unsigned verb_total = ARRAY_SIZE(verbs);

unsigned mgmt_verb_count(void) { return verb_total; }
const char *mgmt_verb_name(unsigned i) { return i < verb_total ? verbs[i].name : NULL; }

static const struct verb *verb_named(const char *name)
{
    for (unsigned i = 0; i < verb_total; i++)
        if (strcmp(verbs[i].name, name) == 0)
            return &verbs[i];
    return NULL;
}

int mgmt_split(char *line, char **argv, const char **why)
{
    int argc = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            *p++ = 0;
        if (!*p)
            return argc;
        if (argc == MGMT_MAX_ARGS) {
            *why = "too many words";
            return -1;
        }
        argv[argc++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            p++;
    }
}

enum mgmt_status mgmt_exec(struct mgmt_front *f, int argc, char **argv, struct mgmt_out *o)
{
    if (argc < 1) {
        mgmt_error(o, "no verb (help lists them)");
        return MGMT_ERROR;
    }
    for (int i = 0; i < argc; i++)
        for (const char *c = argv[i]; *c; c++)
            if ((u8)*c < 0x20 || (u8)*c >= 0x7f) {
                mgmt_error(o, "bad character 0x%02x (verbs, names and numbers are printable)", (u8)*c);
                return MGMT_ERROR;
            }
    const struct verb *v = verb_named(argv[0]);
    if (!v) {
        mgmt_error(o, "unknown verb '%.32s' (help lists them)", argv[0]);
        return MGMT_ERROR;
    }
    return v->fn(f, argc, argv, o);
}
