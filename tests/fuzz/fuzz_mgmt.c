/* fuzz-sources: vmm/mgmt.c vmm/format.c vmm/string.c vmm/trace.c vmm/exit_names.c */
/* The management verbs as both front ends feed them: command lines
 * (split by mgmt_split, as the shell and the COM2 protocol do) run
 * against three fake domains, each reply as JSON (the protocol) or as
 * text (the shell), verbs that go on polled to their end. Checks: every
 * JSON reply is one well-formed JSON object on one line with "v" and
 * "ok"; a failed verb changed nothing it should not (no domain paused,
 * destroyed or repinned by a reply that says ok:false); text replies stay
 * printable; nothing outside the fake domains is touched. */
#include "fuzz.h"
#include "../../vmm/domain.h"
#include "../../vmm/mgmt.h"
#include "../../vmm/percpu.h"
#include "../../vmm/sched.h"
#include "../../vmm/storage/storage.h"

/* ---- the fake host: three domains, two CPUs ---- */

unsigned cpu_count = 2;
const char zazen_version[] = "fuzz";
const struct sched_policy sched_credit = {.name = "credit"};

#define FAKE_DOMAINS 3
static struct domain doms[FAKE_DOMAINS];
static struct domain_config cfgs[FAKE_DOMAINS];
static struct vcpu vcpus[FAKE_DOMAINS];
static struct trace_entry trace_storage[FAKE_DOMAINS][8];
static unsigned changes; /* pauses, destroys, pins, creates, requests done */

static void fake_setup(void)
{
    static const char *const names[FAKE_DOMAINS] = {"linux", "spin", "7"};
    memset(doms, 0, sizeof(doms));
    for (unsigned i = 0; i < FAKE_DOMAINS; i++) {
        struct domain *d = &doms[i];
        memset(&cfgs[i], 0, sizeof(cfgs[i]));
        strcpy(cfgs[i].name, names[i]);
        d->cfg = &cfgs[i];
        d->id = i + 1;
        strcpy(d->name, names[i]);
        d->ram_size = (u64)(i + 1) << 22;
        memset(&vcpus[i], 0, sizeof(vcpus[i]));
        vcpus[i].domain = d;
        vcpus[i].sched.affinity = 3;
        d->vcpus[0] = &vcpus[i];
        d->vcpu_count = 1;
        d->sched.weight = 256;
        d->sched.affinity = 3;
        d->next = i + 1 < FAKE_DOMAINS ? &doms[i + 1] : NULL;
        d->exit_counts[EXIT_IO] = 10 * i;
        trace_init(&d->trace, trace_storage[i], 8);
    }
    changes = 0;
}

void domains_lock(void) {}
void domains_unlock(void) {}
struct domain *domains_first(void) { return &doms[0]; }

struct domain *domain_find(const char *name_or_id)
{
    for (unsigned i = 0; i < FAKE_DOMAINS; i++)
        if (strcmp(doms[i].name, name_or_id) == 0)
            return &doms[i];
    char *end;
    unsigned long id = strtoul(name_or_id, &end, 10);
    if (*name_or_id && !*end)
        for (unsigned i = 0; i < FAKE_DOMAINS; i++)
            if (doms[i].id == id)
                return &doms[i];
    return NULL;
}

bool domain_pause(struct domain *d)
{
    if (d->paused)
        return false;
    d->paused = 1;
    changes++;
    return true;
}

bool domain_unpause(struct domain *d)
{
    if (!d->paused)
        return false;
    d->paused = 0;
    changes++;
    return true;
}

void domain_destroy_now(struct domain *d)
{
    d->ended = true;
    changes++;
}

void domain_request(struct domain *d, u32 requests)
{
    d->requests |= requests;
    changes++;
}

bool domain_create_named(const char *name, char *why, size_t why_size)
{
    if (strcmp(name, "new") != 0) {
        snprintf(why, why_size, "no domain '%s'", name);
        return false;
    }
    changes++;
    return true;
}

void sched_set_affinity(struct vcpu *v, u64 cpus)
{
    FUZZ_CHECK(cpus && !(cpus & ~3ull), "vcpu-pin to CPUs %llx of 2", (unsigned long long)cpus);
    v->sched.affinity = cpus;
    changes++;
}

u64 sched_vcpu_ran(const struct vcpu *v) { return v->sched.stats.run; }
enum vcpu_run_state sched_vcpu_state(const struct vcpu *v) { return v->sched.state; }
void console_lines_begin(void) {}
void console_lines_end(void) {}
/* debug-keys i: the chips' text, two lines (devmodel/pc.c is not linked) */
size_t pc_describe_interrupts(const struct pc *pc, char *buf, size_t size)
{
    (void)pc;
    int n = snprintf(buf, size, "pm1: sts 0000\nlapic 0: irr -\n");
    return n > 0 ? (size_t)n : 0;
}
u64 sched_timeslice(void) { return 30000000; }
u64 mm_free_bytes(void) { return 100 << 20; }
u64 mm_managed_bytes(void) { return 512 << 20; }
u64 host_tsc_khz(void) { return 1000000; }
const char *storage_bench(const char *name, struct storage_bench *b)
{
    if (strcmp(name, "linux.img") != 0)
        return "no disk of zazen.cfg by that name is in place on a host disk";
    *b = (struct storage_bench){.bytes = 1 << 20, .seq_1m_ticks = 1000, .seq_4k_ticks = 50000, .random_ticks = 9000};
    return NULL;
}

size_t console_log_copy(char *out, size_t size)
{
    static const char log[] = "zazen: a log line\nwith \"quotes\" and \\ and \x01\n";
    size_t n = MIN(size, sizeof(log) - 1);
    memcpy(out, log, n);
    return n;
}

void kprintf(const char *fmt, ...) { (void)fmt; }

/* ---- replies ---- */

static char reply[300 * 1024];
static size_t reply_len;

static void collect(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    FUZZ_CHECK(reply_len + n < sizeof(reply), "a reply of more than %zu bytes", sizeof(reply));
    memcpy(reply + reply_len, s, n);
    reply_len += n;
}

/* A JSON value (RFC 8259), recursively; returns the end or NULL. */
static const char *json_value(const char *p, const char *end, int depth);

static const char *json_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static const char *json_str(const char *p, const char *end)
{
    if (p >= end || *p != '"')
        return NULL;
    for (p++; p < end && *p != '"'; p++) {
        FUZZ_CHECK((u8)*p >= 0x20, "a raw control character in a JSON string");
        if (*p == '\\')
            p++;
    }
    return p < end ? p + 1 : NULL;
}

static const char *json_value(const char *p, const char *end, int depth)
{
    p = json_ws(p, end);
    if (p >= end || depth > 16)
        return NULL;
    if (*p == '"')
        return json_str(p, end);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = json_ws(p + 1, end);
        if (p < end && *p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                p = json_str(json_ws(p, end), end);
                if (!p || (p = json_ws(p, end)) >= end || *p != ':')
                    return NULL;
                p++;
            }
            p = json_value(p, end, depth + 1);
            if (!p || (p = json_ws(p, end)) >= end)
                return NULL;
            if (*p == close)
                return p + 1;
            if (*p != ',')
                return NULL;
            p++;
        }
    }
    if (end - p >= 4 && (!memcmp(p, "true", 4) || !memcmp(p, "null", 4)))
        return p + 4;
    if (end - p >= 5 && !memcmp(p, "false", 5))
        return p + 5;
    const char *q = p;
    while (q < end && *q >= '0' && *q <= '9')
        q++;
    return q > p ? q : NULL;
}

static void check_json_reply(unsigned changes_before)
{
    if (!reply_len)
        return; /* a verb still going on */
    FUZZ_CHECK(!memchr(reply, '\n', reply_len), "a JSON reply on more than one line: %.*s", (int)reply_len, reply);
    const char *end = json_value(reply, reply + reply_len, 0);
    FUZZ_CHECK(end == reply + reply_len && reply[0] == '{', "not one JSON object: %.*s", (int)reply_len, reply);
    FUZZ_CHECK(!strncmp(reply, "{\"v\":1,\"ok\":", 12), "no version and status first: %.80s", reply);
    if (!strncmp(reply, "{\"v\":1,\"ok\":false", 17))
        FUZZ_CHECK(changes == changes_before, "an error reply after a change: %.*s", (int)reply_len, reply);
}

static void check_text_reply(void)
{
    for (size_t i = 0; i < reply_len; i++) {
        u8 c = (u8)reply[i];
        FUZZ_CHECK(c >= 0x20 || c == '\n' || c == '\033' || c == '\t', "byte %02x in a text reply", c);
    }
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    fake_setup();
    static struct mgmt_front fronts[2];
    memset(fronts, 0, sizeof(fronts));
    fronts[1].interactive = true;
    size_t at = 0;
    while (at < size) {
        /* One line: a first byte chooses the front end, the rest is the command. */
        bool json = !(data[at] & 1);
        at++;
        char line[400];
        size_t n = 0;
        while (at < size && data[at] != '\n' && n + 1 < sizeof(line))
            line[n++] = (char)data[at++];
        at++;
        line[n] = 0;
        struct mgmt_front *f = &fronts[json ? 0 : 1];
        struct mgmt_out out = {.json = json, .write = collect};
        char *argv[MGMT_MAX_ARGS];
        const char *why = "";
        reply_len = 0;
        unsigned before = changes;
        int argc = mgmt_split(line, argv, &why);
        if (argc < 0) {
            mgmt_error(&out, "%s", why);
        } else if (argc > 0) {
            enum mgmt_status st = mgmt_exec(f, argc, argv, &out);
            /* A verb that waits (shutdown -w) made its change when it
             * was accepted; its last reply may still be an error (the
             * domain did not go within the grace time, which the message
             * says after the power button). The polls themselves must
             * change nothing before an error. */
            if (st == MGMT_PENDING)
                before = changes;
            for (int polls = 0; st == MGMT_PENDING && f->pending.active && polls < 4; polls++)
                if (!f->pending.poll(&f->pending, &out, ~0ull))
                    f->pending.active = false;
            f->pending.active = false;
        }
        if (json)
            check_json_reply(before);
        else
            check_text_reply();
    }
    return 0;
}
