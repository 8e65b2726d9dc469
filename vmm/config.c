/* The zazen.cfg parser. Keys are table-driven: adding a key is one row in
 * keys[] and one value parser. Every error names the line and says why. */
#include "config.h"
#include "format.h"
#include "string.h"

struct parser {
    const char *p, *end;
    unsigned line;
    struct config *cfg;
    struct config_error *err;
    struct domain_config *cur;
    bool in_host; /* in the [host] section */
};

typedef bool (*value_parser)(struct parser *ps, const char *key, const char *value, void *field);

struct key_spec {
    const char *name;
    value_parser parse;
    size_t offset; /* of the field in struct domain_config (struct host_config for [host] keys) */
};

static bool fail(struct parser *ps, const char *fmt, ...) PRINTF_LIKE(2, 3);
static bool fail(struct parser *ps, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ps->err->line = ps->line;
    vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
    va_end(ap);
    return false;
}

/* ---- value parsers ---- */

static bool parse_u64(const char *s, u64 *out, const char **rest)
{
    u64 v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (~0ull - 9) / 10)
            return false;
        v = v * 10 + (u64)(*p - '0');
    }
    *out = v;
    *rest = p;
    return true;
}

static bool parse_size(const char *s, u64 *out)
{
    const char *rest;
    u64 v;
    if (!parse_u64(s, &v, &rest))
        return false;
    unsigned shift = 0;
    switch (*rest) {
    case 'k': case 'K': shift = 10; rest++; break;
    case 'm': case 'M': shift = 20; rest++; break;
    case 'g': case 'G': shift = 30; rest++; break;
    }
    if (shift && (*rest == 'i' || *rest == 'I') && (rest[1] == 'b' || rest[1] == 'B'))
        rest += 2;
    if (*rest || (shift && v >> (64 - shift)))
        return false;
    *out = v << shift;
    return true;
}

void config_format_size(char *buf, size_t size, u64 bytes)
{
    if (bytes && IS_ALIGNED(bytes, GiB))
        snprintf(buf, size, "%lluG", (unsigned long long)(bytes >> 30));
    else if (bytes && IS_ALIGNED(bytes, MiB))
        snprintf(buf, size, "%lluM", (unsigned long long)(bytes >> 20));
    else if (bytes && IS_ALIGNED(bytes, KiB))
        snprintf(buf, size, "%lluK", (unsigned long long)(bytes >> 10));
    else
        snprintf(buf, size, "%llu bytes", (unsigned long long)bytes);
}

static bool parse_memory(struct parser *ps, const char *key, const char *value, void *field)
{
    u64 bytes;
    if (!parse_size(value, &bytes))
        return fail(ps, "bad value '%s' for %s: expected a size such as 64M", value, key);
    if (bytes < CONFIG_MIN_MEMORY || bytes > CONFIG_MAX_MEMORY)
        return fail(ps, "%s = %s is out of range: from 1M to 3G", key, value);
    if (!IS_ALIGNED(bytes, MiB))
        return fail(ps, "%s = %s is not a whole number of MiB", key, value);
    *(u64 *)field = bytes;
    return true;
}

static bool parse_vcpus(struct parser *ps, const char *key, const char *value, void *field)
{
    u64 n;
    const char *rest;
    if (!parse_u64(value, &n, &rest) || *rest)
        return fail(ps, "bad value '%s' for %s: expected a number", value, key);
    if (n < 1 || n > CONFIG_MAX_VCPUS)
        return fail(ps, "%s = %s is out of range: from 1 to %u", key, value, CONFIG_MAX_VCPUS);
    *(unsigned *)field = (unsigned)n;
    ps->cur->vcpus_line = ps->line;
    return true;
}

/* 8-4-4-4-12 hex digits, either case: a GUID as blkid prints PARTUUID. */
static bool is_uuid_text(const char *t)
{
    for (unsigned i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = t[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex)
            return false;
    }
    return t[36] == 0;
}

/* "name" or "name,ro". Names are plain file names relative to the folder
 * zazen.cfg was loaded from. */
static bool parse_file(struct parser *ps, const char *key, const char *value, void *field)
{
    struct config_file *f = field;
    char name[CONFIG_FILE_MAX];
    const char *comma = value;
    while (*comma && *comma != ',')
        comma++;
    size_t len = (size_t)(comma - value);
    if (len == 0)
        return fail(ps, "%s: missing file name", key);
    if (len >= sizeof(name))
        return fail(ps, "%s: file name longer than %d characters", key, CONFIG_FILE_MAX - 1);
    memcpy(name, value, len);
    name[len] = 0;
    for (size_t i = 0; i < len; i++)
        if (name[i] == ' ' || name[i] == '\t' || (u8)name[i] < 0x20)
            return fail(ps, "%s: bad file name '%s'", key, name);
    bool ro = false, in_ram = false;
    bool disk = strncmp(key, "disk", 4) == 0;
    while (*comma) {
        const char *opt = comma + 1;
        comma = opt;
        while (*comma && *comma != ',')
            comma++;
        size_t n = (size_t)(comma - opt);
        if (n == 2 && memcmp(opt, "ro", 2) == 0)
            ro = true;
        else if (disk && n == 8 && memcmp(opt, "volatile", 8) == 0)
            in_ram = true;
        else
            return fail(ps, disk ? "%s: unknown option '%s' after the file name (only ',ro' and ',volatile')"
                                 : "%s: unknown option '%s' after the file name (only ',ro')",
                        key, opt);
    }
    bool by_label = disk && strncmp(name, CONFIG_PARTLABEL, strlen(CONFIG_PARTLABEL)) == 0;
    bool by_uuid = disk && strncmp(name, CONFIG_PARTUUID, strlen(CONFIG_PARTUUID)) == 0;
    bool partition = by_label || by_uuid;
    if (by_label) {
        size_t label = strlen(name) - strlen(CONFIG_PARTLABEL);
        if (label == 0 || label > CONFIG_PARTLABEL_MAX)
            return fail(ps, "%s: a partition label of 1 to %d characters after '%s'", key, CONFIG_PARTLABEL_MAX,
                        CONFIG_PARTLABEL);
    }
    if (by_uuid && !is_uuid_text(name + strlen(CONFIG_PARTUUID)))
        return fail(ps, "%s: '%s' is not a partition UUID (as blkid prints PARTUUID: "
                        "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, hex digits)", key, name);
    if (partition) {
        if (in_ram)
            return fail(ps, "%s: a partition cannot be ,volatile (Zazen keeps no copy of it in RAM)", key);
    }
    strlcpy(f->name, name, sizeof(f->name));
    f->key = key;
    f->line = ps->line;
    f->read_only = ro;
    f->in_ram = in_ram;
    f->partition = partition;
    return true;
}

static bool parse_platform(struct parser *ps, const char *key, const char *value, void *field)
{
    if (strcmp(value, "pc") == 0)
        *(enum platform_kind *)field = PLATFORM_PC;
    else if (strcmp(value, "isa") == 0)
        *(enum platform_kind *)field = PLATFORM_ISA;
    else
        return fail(ps, "bad value '%s' for %s: expected pc or isa", value, key);
    return true;
}

static bool parse_type(struct parser *ps, const char *key, const char *value, void *field)
{
    if (strcmp(value, "hvm") == 0)
        *(enum domain_type *)field = DOMAIN_HVM;
    else if (strcmp(value, "pvh") == 0)
        *(enum domain_type *)field = DOMAIN_PVH;
    else
        return fail(ps, "bad value '%s' for %s: expected hvm or pvh", value, key);
    ps->cur->type_line = ps->line;
    return true;
}

static bool parse_paravirt(struct parser *ps, const char *key, const char *value, void *field)
{
    if (strcmp(value, "none") == 0)
        *(enum paravirt_kind *)field = PARAVIRT_NONE;
    else if (strcmp(value, "kvm") == 0)
        *(enum paravirt_kind *)field = PARAVIRT_KVM;
    else
        return fail(ps, "bad value '%s' for %s: expected none or kvm", value, key);
    ps->cur->paravirt_line = ps->line;
    return true;
}

static bool parse_boot(struct parser *ps, const char *key, const char *value, void *field)
{
    if (strcmp(value, "disk") == 0)
        *(bool *)field = false;
    else if (strcmp(value, "cdrom") == 0)
        *(bool *)field = true;
    else
        return fail(ps, "bad value '%s' for %s: expected disk or cdrom", value, key);
    return true;
}

/* stats = N: every N seconds (1 to 3600) the console gets the exits of
 * the last N seconds by reason, as at the domain's end. */
/* A whole number from 1 to max into an unsigned field; `what` says in
 * the error what the number counts. */
static bool parse_count(struct parser *ps, const char *key, const char *value, void *field, unsigned max,
                        const char *what)
{
    u64 n;
    const char *rest;
    if (!parse_u64(value, &n, &rest) || *rest || n < 1 || n > max)
        return fail(ps, "bad value '%s' for %s: expected %s from 1 to %u", value, key, what, max);
    *(unsigned *)field = (unsigned)n;
    return true;
}

static bool parse_stats(struct parser *ps, const char *key, const char *value, void *field)
{
    return parse_count(ps, key, value, field, 3600, "seconds");
}

/* trace = N: the domain keeps its last N exits (1 to 4096) and Zazen
 * prints them when it ends (vmm/trace.h). */
static bool parse_trace(struct parser *ps, const char *key, const char *value, void *field)
{
    return parse_count(ps, key, value, field, CONFIG_TRACE_MAX_EXITS, "a number of exits");
}

/* weight = W: a domain's share of CPU in proportion to the others',
 * 1 to 65535 (xl.cfg's weight; default 256). */
static bool parse_weight(struct parser *ps, const char *key, const char *value, void *field)
{
    return parse_count(ps, key, value, field, 65535, "a weight");
}

/* cap = N: at most N percent of one CPU; 0 means no cap (xl.cfg's cap). */
static bool parse_cap(struct parser *ps, const char *key, const char *value, void *field)
{
    u64 n;
    const char *rest;
    if (!parse_u64(value, &n, &rest) || *rest || n > 100)
        return fail(ps, "bad value '%s' for %s: expected a percentage of one CPU from 0 (no cap) to 100", value, key);
    *(unsigned *)field = (unsigned)n;
    return true;
}

/* cpus = LIST: the host CPUs the domain's vCPUs may run on, "all" or
 * numbers and ranges separated by commas ("0", "0-1", "0,2-3"), as
 * xl.cfg's cpus. Whether they exist is checked once the CPUs are up
 * (config_check_cpus). */
static bool parse_cpu_list(struct parser *ps, const char *key, const char *value, void *field)
{
    struct domain_config *d = (struct domain_config *)((u8 *)field - offsetof(struct domain_config, affinity));
    u64 mask = 0;
    if (strcmp(value, "all") == 0) {
        mask = ~0ull;
    } else {
        const char *p = value;
        for (;;) {
            u64 first, last;
            if (!parse_u64(p, &first, &p))
                return fail(ps, "bad value '%s' for %s: expected CPU numbers such as 0, 0-1 or 0,2-3", value, key);
            last = first;
            if (*p == '-' && !parse_u64(p + 1, &last, &p))
                return fail(ps, "bad value '%s' for %s: expected CPU numbers such as 0, 0-1 or 0,2-3", value, key);
            if (last < first || last > 63)
                return fail(ps, "bad value '%s' for %s: CPUs are numbered 0 to 63, ranges low-high", value, key);
            for (u64 c = first; c <= last; c++)
                mask |= BIT(c);
            if (!*p)
                break;
            if (*p++ != ',')
                return fail(ps, "bad value '%s' for %s: expected CPU numbers such as 0, 0-1 or 0,2-3", value, key);
        }
    }
    d->affinity = mask;
    d->affinity_given = true;
    d->affinity_line = ps->line;
    strlcpy(d->affinity_text, value, sizeof(d->affinity_text));
    return true;
}

/* [host] cpus = N: Zazen uses at most N host CPUs (1-64). */
static bool parse_host_cpus(struct parser *ps, const char *key, const char *value, void *field)
{
    return parse_count(ps, key, value, field, 64, "a number of CPUs");
}

/* [host] timeslice = 30ms: the longest a vCPU runs while another waits
 * (1 to 1000 ms; "ms" may be left out). */
static bool parse_timeslice(struct parser *ps, const char *key, const char *value, void *field)
{
    u64 n;
    const char *rest;
    if (!parse_u64(value, &n, &rest) || (*rest && strcmp(rest, "ms") != 0) || n < 1 || n > 1000)
        return fail(ps, "bad value '%s' for %s: expected milliseconds from 1 to 1000, such as 30ms", value, key);
    *(u64 *)field = n * 1000000ull;
    return true;
}

/* on_poweroff, on_reboot, on_crash = destroy | restart | preserve
 * (xl.cfg: destroy frees the domain, restart starts it again, preserve
 * keeps it, stopped, for inspection until it is destroyed). */
static bool parse_action(struct parser *ps, const char *key, const char *value, void *field)
{
    static const char *const names[] = {"destroy", "restart", "preserve"};
    for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(value, names[i]) == 0) {
            *(enum domain_action *)field = (enum domain_action)i;
            return true;
        }
    return fail(ps, "bad value '%s' for %s: expected destroy, restart or preserve", value, key);
}

/* autostart = yes | no: whether the domain starts with Zazen or waits for
 * the create verb. */
static bool parse_yes_no(struct parser *ps, const char *key, const char *value, void *field)
{
    if (strcmp(value, "yes") == 0)
        *(bool *)field = true;
    else if (strcmp(value, "no") == 0)
        *(bool *)field = false;
    else
        return fail(ps, "bad value '%s' for %s: expected yes or no", value, key);
    return true;
}

static const struct key_spec host_keys[] = {
    {"cpus", parse_host_cpus, offsetof(struct host_config, cpus)},
    {"timeslice", parse_timeslice, offsetof(struct host_config, timeslice_ns)},
};

/* cmdline = the rest of the line, as the kernel gets it ('#' starts a
 * comment, so a command line cannot hold one). */
static bool parse_cmdline(struct parser *ps, const char *key, const char *value, void *field)
{
    (void)key;
    struct config_cmdline *c = field;
    if (strlen(value) >= sizeof(c->text))
        return fail(ps, "cmdline longer than %zu characters", sizeof(c->text) - 1);
    strlcpy(c->text, value, sizeof(c->text));
    c->line = ps->line;
    return true;
}

/* Keys are matched against these rows; parse_file keeps a pointer to the
 * row's name, so it must be the table's own string. */
static const struct key_spec keys[] = {
    {"memory", parse_memory, offsetof(struct domain_config, memory)},
    {"vcpus", parse_vcpus, offsetof(struct domain_config, vcpus)},
    {"firmware", parse_file, offsetof(struct domain_config, firmware)},
    {"platform", parse_platform, offsetof(struct domain_config, platform)},
    {"disk0", parse_file, offsetof(struct domain_config, disks[0])},
    {"disk1", parse_file, offsetof(struct domain_config, disks[1])},
    {"disk2", parse_file, offsetof(struct domain_config, disks[2])},
    {"disk3", parse_file, offsetof(struct domain_config, disks[3])},
    {"cdrom", parse_file, offsetof(struct domain_config, cdrom)},
    {"boot", parse_boot, offsetof(struct domain_config, boot_cdrom_first)},
    {"stats", parse_stats, offsetof(struct domain_config, stats_seconds)},
    {"trace", parse_trace, offsetof(struct domain_config, trace_exits)},
    {"weight", parse_weight, offsetof(struct domain_config, weight)},
    {"cap", parse_cap, offsetof(struct domain_config, cap)},
    {"cpus", parse_cpu_list, offsetof(struct domain_config, affinity)},
    {"on_poweroff", parse_action, offsetof(struct domain_config, on_poweroff)},
    {"on_reboot", parse_action, offsetof(struct domain_config, on_reboot)},
    {"on_crash", parse_action, offsetof(struct domain_config, on_crash)},
    {"autostart", parse_yes_no, offsetof(struct domain_config, autostart)},
    {"x2apic", parse_yes_no, offsetof(struct domain_config, x2apic)},
    {"kernel", parse_file, offsetof(struct domain_config, kernel)},
    {"ramdisk", parse_file, offsetof(struct domain_config, ramdisk)},
    {"cmdline", parse_cmdline, offsetof(struct domain_config, cmdline)},
    {"type", parse_type, offsetof(struct domain_config, type)},
    {"paravirt", parse_paravirt, offsetof(struct domain_config, paravirt)},
};

_Static_assert(sizeof(keys) / sizeof(keys[0]) <= 32, "keys_seen has a bit per key");

/* keys_seen's bit for one of the keys above. */
static u32 key_bit(const char *name)
{
    for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
        if (strcmp(keys[k].name, name) == 0)
            return 1u << k;
    return 0;
}

/* ---- lines ---- */

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && is_space(s[n - 1]))
        s[--n] = 0;
    size_t i = 0;
    while (is_space(s[i]))
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
}

static bool valid_domain_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

static bool fail_at(struct parser *ps, unsigned line, const char *fmt, ...) PRINTF_LIKE(3, 4);
static bool fail_at(struct parser *ps, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ps->err->line = line;
    vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
    va_end(ap);
    return false;
}

/* Direct kernel boot goes through the built-in BIOS (it hands over to the
 * kernel at boot time), and a ramdisk or command line belongs to a kernel. */
static bool finish_kernel_boot(struct parser *ps, const struct domain_config *d)
{
    if (d->kernel.name[0] && d->firmware.name[0])
        return fail_at(ps, d->kernel.line, "kernel needs the built-in BIOS, but domain '%s' names a firmware (line %u)",
                       d->name, d->firmware.line);
    if (!d->kernel.name[0] && d->ramdisk.name[0])
        return fail_at(ps, d->ramdisk.line, "ramdisk without a kernel in domain '%s'", d->name);
    if (!d->kernel.name[0] && d->cmdline.text[0])
        return fail_at(ps, d->cmdline.line, "cmdline without a kernel in domain '%s'", d->name);
    return true;
}

/* A pvh domain has no BIOS, no emulated disks' controller and no
 * firmware: it is its kernel (docs/paravirt.md). */
static bool finish_pvh(struct parser *ps, const struct domain_config *d)
{
    if (d->paravirt != PARAVIRT_NONE)
        return fail_at(ps, d->paravirt_line,
                       "domain '%s' is type = pvh, whose hypervisor leaves are Xen's: paravirt = kvm is for hvm domains",
                       d->name);
    if (!d->kernel.name[0])
        return fail_at(ps, d->type_line, "domain '%s' is type = pvh but names no kernel", d->name);
    if (d->firmware.name[0])
        return fail_at(ps, d->firmware.line, "domain '%s' is type = pvh, which runs no firmware", d->name);
    if (d->cdrom.name[0])
        return fail_at(ps, d->cdrom.line, "domain '%s' is type = pvh, which has no CD-ROM (disks are xvda-xvdd)",
                       d->name);
    if (d->memory < 128 * MiB)
        return fail_at(ps, d->line, "domain '%s' is type = pvh: a Linux PVH kernel needs at least 128M of memory",
                       d->name);
    return finish_kernel_boot(ps, d);
}

static bool finish_domain(struct parser *ps)
{
    struct domain_config *d = ps->cur;
    if (!d)
        return true;
    if (d->type == DOMAIN_PVH)
        return finish_pvh(ps, d);
    /* The KVM interface is what lets Linux trust x2APIC mode without
     * interrupt remapping (docs/smp.md): it comes with the CPUID bit
     * unless the config says x2apic = no. */
    if (d->paravirt == PARAVIRT_KVM && !(d->keys_seen & key_bit("x2apic")))
        d->x2apic = true;
    if (!d->firmware.name[0] && d->memory < CONFIG_MIN_MEMORY_BIOS)
        return fail_at(ps, d->line, "domain '%s' boots the built-in BIOS, which needs at least 2M of memory", d->name);
    if (d->boot_cdrom_first && !d->cdrom.name[0])
        return fail_at(ps, d->line, "domain '%s' boots from a CD-ROM but names no cdrom", d->name);
    if (d->cdrom.name[0] && d->disks[2].name[0])
        return fail_at(ps, d->cdrom.line, "cdrom and disk2 both want the secondary master (line %u)", d->disks[2].line);
    /* The APs are found through the MADT or the MP table, which describe
     * the APICs of the PCI PC only (docs/smp.md). */
    if (d->vcpus > 1 && d->platform == PLATFORM_ISA)
        return fail_at(ps, d->vcpus_line, "vcpus = %u needs platform = pc: the ISA PC describes no local APICs",
                       d->vcpus);
    return finish_kernel_boot(ps, d);
}

/* Every disk a domain may write belongs to that domain alone: its image
 * is the one copy in memory, and two writers would corrupt each other. */
static bool check_writable_disks(struct parser *ps)
{
    struct config *cfg = ps->cfg;
    for (unsigned a = 0; a < cfg->domain_count; a++)
        for (unsigned i = 0; i < CONFIG_MAX_DISKS; i++) {
            const struct config_file *w = &cfg->domains[a].disks[i];
            if (!w->name[0] || w->read_only)
                continue;
            for (unsigned b = 0; b < cfg->domain_count; b++) {
                const struct domain_config *d = &cfg->domains[b];
                const struct config_file *uses[CONFIG_MAX_DISKS + 2] = {&d->disks[0], &d->disks[1], &d->disks[2],
                                                                          &d->disks[3], &d->cdrom, &d->firmware};
                for (unsigned j = 0; j < ARRAY_SIZE(uses); j++) {
                    const struct config_file *u = uses[j];
                    if (u == w || !u->name[0] || strcmp(u->name, w->name) != 0)
                        continue;
                    unsigned later = u->line > w->line ? u->line : w->line;
                    return fail_at(ps, later, "'%s' is a writable disk of domain '%s' (line %u) and is used again: "
                                              "give each domain its own image, or add ,ro",
                                   w->name, cfg->domains[a].name, w->line);
                }
            }
        }
    return true;
}

static bool parse_section(struct parser *ps, char *s)
{
    size_t n = strlen(s);
    if (s[n - 1] != ']')
        return fail(ps, "malformed section header: missing ']'");
    s[n - 1] = 0;
    char *body = s + 1;
    trim(body);
    if (strcmp(body, "host") == 0) {
        if (!finish_domain(ps))
            return false;
        if (ps->cfg->host.line)
            return fail(ps, "[host] given twice (first on line %u)", ps->cfg->host.line);
        ps->cfg->host.line = ps->line;
        ps->cur = NULL;
        ps->in_host = true;
        return true;
    }
    if (strncmp(body, "domain", 6) != 0 || !is_space(body[6]))
        return fail(ps, "unknown section '[%s]': expected [domain NAME] or [host]", body);
    char *name = body + 7;
    trim(name);
    if (strlen(name) >= CONFIG_NAME_MAX)
        return fail(ps, "domain name '%s' is longer than %d characters", name, CONFIG_NAME_MAX - 1);
    if (!valid_domain_name(name))
        return fail(ps, "bad domain name '%s': use letters, digits, '-' and '_'", name);
    if (!finish_domain(ps))
        return false;
    struct config *cfg = ps->cfg;
    for (unsigned i = 0; i < cfg->domain_count; i++)
        if (strcmp(cfg->domains[i].name, name) == 0)
            return fail(ps, "duplicate domain name '%s' (first defined on line %u)", name, cfg->domains[i].line);
    if (cfg->domain_count == CONFIG_MAX_DOMAINS)
        return fail(ps, "too many domains: at most %d", CONFIG_MAX_DOMAINS);
    struct domain_config *d = &cfg->domains[cfg->domain_count++];
    memset(d, 0, sizeof(*d));
    strlcpy(d->name, name, sizeof(d->name));
    d->line = ps->line;
    d->memory = 64 * MiB;
    d->vcpus = 1;
    d->weight = CONFIG_DEFAULT_WEIGHT;
    d->affinity = ~0ull;
    d->on_poweroff = ACTION_DESTROY;
    d->on_reboot = ACTION_RESTART;
    d->on_crash = ACTION_DESTROY;
    d->autostart = true;
    ps->cur = d;
    ps->in_host = false;
    return true;
}

static bool parse_host_assignment(struct parser *ps, const char *key, const char *value)
{
    size_t k = 0;
    while (k < ARRAY_SIZE(host_keys) && strcmp(host_keys[k].name, key) != 0)
        k++;
    if (k == ARRAY_SIZE(host_keys))
        return fail(ps, "unknown key '%s' in [host]", key);
    if (!*value)
        return fail(ps, "missing value for %s", key);
    struct host_config *h = &ps->cfg->host;
    if (h->keys_seen & (1u << k))
        return fail(ps, "%s given twice in [host]", key);
    h->keys_seen |= 1u << k;
    return host_keys[k].parse(ps, host_keys[k].name, value, (u8 *)h + host_keys[k].offset);
}

static bool parse_assignment(struct parser *ps, char *s)
{
    char *eq = s;
    while (*eq && *eq != '=')
        eq++;
    if (!*eq)
        return fail(ps, "expected 'key = value' or '[domain NAME]'");
    *eq = 0;
    char *key = s, *value = eq + 1;
    trim(key);
    trim(value);
    if (!*key)
        return fail(ps, "missing key before '='");
    if (ps->in_host)
        return parse_host_assignment(ps, key, value);
    size_t k = 0;
    while (k < ARRAY_SIZE(keys) && strcmp(keys[k].name, key) != 0)
        k++;
    if (k == ARRAY_SIZE(keys))
        return fail(ps, "unknown key '%s'", key);
    if (!ps->cur)
        return fail(ps, "key '%s' outside a [domain NAME] section", key);
    if (!*value)
        return fail(ps, "missing value for %s", key);
    if (ps->cur->keys_seen & (1u << k))
        return fail(ps, "%s given twice in domain '%s'", key, ps->cur->name);
    ps->cur->keys_seen |= 1u << k;
    return keys[k].parse(ps, keys[k].name, value, (u8 *)ps->cur + keys[k].offset);
}

static bool parse_line(struct parser *ps, char *s)
{
    for (char *c = s; *c; c++)
        if (*c == '#') {
            *c = 0;
            break;
        }
    trim(s);
    if (!*s)
        return true;
    if (*s == '[')
        return parse_section(ps, s);
    return parse_assignment(ps, s);
}

bool config_parse(const char *text, size_t len, struct config *cfg, struct config_error *err)
{
    struct parser ps = {text, text + len, 0, cfg, err, NULL, false};
    memset(cfg, 0, sizeof(*cfg));
    memset(err, 0, sizeof(*err));
    cfg->host.timeslice_ns = CONFIG_DEFAULT_TIMESLICE_NS;
    while (ps.p < ps.end) {
        char line[CONFIG_LINE_MAX];
        size_t n = 0;
        ps.line++;
        bool too_long = false;
        while (ps.p < ps.end && *ps.p != '\n') {
            if (*ps.p == 0)
                return fail(&ps, "NUL byte in the file");
            if (n + 1 < sizeof(line))
                line[n++] = *ps.p;
            else
                too_long = true;
            ps.p++;
        }
        if (ps.p < ps.end)
            ps.p++; /* the '\n' */
        if (too_long)
            return fail(&ps, "line longer than %zu characters", sizeof(line) - 1);
        line[n] = 0;
        if (!parse_line(&ps, line))
            return false;
    }
    if (!finish_domain(&ps) || !check_writable_disks(&ps))
        return false;
    if (cfg->domain_count == 0) {
        err->line = 0;
        strlcpy(err->msg, "no [domain NAME] section: nothing to run", sizeof(err->msg));
        return false;
    }
    return true;
}

bool config_for_each_file(const struct config *cfg, config_file_fn fn, void *ctx)
{
    for (unsigned i = 0; i < cfg->domain_count; i++) {
        const struct domain_config *d = &cfg->domains[i];
        const struct config_file *files[] = {&d->firmware, &d->disks[0], &d->disks[1], &d->disks[2],
                                             &d->disks[3], &d->cdrom,   &d->kernel,   &d->ramdisk};
        for (unsigned f = 0; f < ARRAY_SIZE(files); f++)
            if (files[f]->name[0] && !files[f]->partition && !fn(ctx, d, files[f]))
                return false;
    }
    return true;
}

bool config_check_cpus(const struct config *cfg, u64 online, unsigned online_count, struct config_error *err)
{
    for (unsigned i = 0; i < cfg->domain_count; i++) {
        const struct domain_config *d = &cfg->domains[i];
        if (!d->affinity_given || (d->affinity != ~0ull && !(d->affinity & ~online)))
            continue;
        if (d->affinity == ~0ull)
            continue; /* "all" */
        err->line = d->affinity_line;
        if (online_count == 1)
            snprintf(err->msg, sizeof(err->msg), "cpus = %s names a CPU that is not online: only CPU 0 is",
                     d->affinity_text);
        else
            snprintf(err->msg, sizeof(err->msg), "cpus = %s names a CPU that is not online: CPUs 0-%u are",
                     d->affinity_text, online_count - 1);
        return false;
    }
    return true;
}

bool config_check_file_size(const struct config_file *f, u64 size, struct config_error *err)
{
    err->line = f->line;
    if (size == 0) {
        snprintf(err->msg, sizeof(err->msg), "%s '%s' is empty", f->key, f->name);
        return false;
    }
    /* A disk is whole sectors: 512 bytes for ATA, 2048 for a CD (ATA-6, MMC). */
    u64 sector = strcmp(f->key, "cdrom") == 0 ? 2048 : strncmp(f->key, "disk", 4) == 0 ? 512 : 1;
    if (size % sector) {
        snprintf(err->msg, sizeof(err->msg), "%s '%s' is %llu bytes: not a whole number of %llu-byte sectors", f->key,
                 f->name, (unsigned long long)size, (unsigned long long)sector);
        return false;
    }
    if ((strcmp(f->key, "kernel") == 0 || strcmp(f->key, "ramdisk") == 0) && size > CONFIG_MAX_MEMORY) {
        snprintf(err->msg, sizeof(err->msg), "%s '%s' is %llu bytes: larger than any domain's RAM (3G)", f->key,
                 f->name, (unsigned long long)size);
        return false;
    }
    if (strcmp(f->key, "firmware") == 0 && size > CONFIG_MAX_FIRMWARE) {
        snprintf(err->msg, sizeof(err->msg), "firmware '%s' is %llu bytes: at most 16M (it ends at 4 GiB, as a PC's flash)",
                 f->name, (unsigned long long)size);
        return false;
    }
    return true;
}
