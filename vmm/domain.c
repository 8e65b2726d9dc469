/* Domains: building one from its config (RAM, firmware ROM, devices,
 * backend state, vCPU), running it, ending it, and giving it all back. */
#include "domain.h"
#include "arch.h"
#include "console.h"
#include "format.h"
#include "handlers.h"
#include "hosttime.h"
#include "mm.h"
#include "platform.h"
#include "string.h"
#include "x86.h"

static bool fail(char *why, size_t why_size, const char *fmt, ...) PRINTF_LIKE(3, 4);
static bool fail(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    return false;
}

static bool add_region(struct domain *d, u64 gpa, u64 size, u8 *host, bool read_only, bool owned)
{
    if (d->mem_count == DOMAIN_MAX_MEM_REGIONS)
        return false;
    d->mem[d->mem_count++] = (struct guest_mem_region){gpa, size, host, read_only, owned};
    return true;
}

struct guest_mem_region *domain_find_region(struct domain *d, u64 gpa, u64 len)
{
    for (unsigned i = 0; i < d->mem_count; i++) {
        struct guest_mem_region *r = &d->mem[i];
        if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
            return r;
    }
    return NULL;
}

static const struct bootinfo_file *find_file(const struct bootinfo *bi, const char *name)
{
    for (u32 i = 0; i < bi->file_count; i++)
        if (strcmp(bi->files[i].name, name) == 0)
            return &bi->files[i];
    return NULL;
}

/* The firmware image is a ROM whose last byte sits just below 1 MiB and
 * again just below 4 GiB, where the reset vector F000:FFF0 (linear
 * FFFFFFF0h) and the real-mode F segment find it (SDM 3A 9.1.4). Both
 * aliases map the same read-only host pages; the RAM under the low alias
 * is hidden, as a PC's shadowed ROM hides it. */
static bool map_firmware(struct domain *d, const u8 *image, u64 image_size, u8 *ram, char *why, size_t why_size)
{
    u64 rom_size = ALIGN_UP(image_size, PAGE_SIZE);
    u8 *rom = page_alloc(rom_size);
    if (!rom)
        return fail(why, why_size, "out of memory for the firmware ROM");
    memset(rom, 0xff, rom_size - image_size); /* unused ROM space reads as erased flash */
    memcpy(rom + rom_size - image_size, image, image_size);
    u64 low = MiB - rom_size;
    u64 ram_size = d->ram_size;
    /* RAM below the ROM, the ROM, then RAM from 1 MiB up. */
    bool ok = add_region(d, 0, MIN(low, ram_size), ram, false, true) &&
              add_region(d, low, rom_size, rom, true, true) &&
              add_region(d, 4 * GiB - rom_size, rom_size, rom, true, false);
    if (ok && ram_size > MiB)
        ok = add_region(d, MiB, ram_size - MiB, ram + MiB, false, false);
    return ok ? true : fail(why, why_size, "too many memory regions");
}

extern const u8 zazen_bios_rom[], zazen_bios_rom_end[];

/* The ROM image: the file the config names, or the built-in Zazen BIOS. */
static bool firmware_image(const struct domain *d, const struct bootinfo *bi, const u8 **image, u64 *size, char *why,
                           size_t why_size)
{
    const struct domain_config *cfg = d->cfg;
    if (!cfg->firmware.name[0]) {
        *image = zazen_bios_rom;
        *size = (u64)(zazen_bios_rom_end - zazen_bios_rom);
        return true;
    }
    const struct bootinfo_file *fw = find_file(bi, cfg->firmware.name);
    if (!fw)
        return fail(why, why_size, "firmware '%s' (%s:%u) was not loaded", cfg->firmware.name, bi->config_name,
                    cfg->firmware.line);
    struct config_error err;
    if (!config_check_file_size(&cfg->firmware, fw->size, &err))
        return fail(why, why_size, "%s:%u: %s", bi->config_name, err.line, err.msg);
    *image = fw->data;
    *size = fw->size;
    return true;
}

static bool setup_memory(struct domain *d, const struct bootinfo *bi, char *why, size_t why_size)
{
    const struct domain_config *cfg = d->cfg;
    const u8 *image = NULL;
    u64 image_size = 0;
    if (!firmware_image(d, bi, &image, &image_size, why, why_size))
        return false;
    d->ram_size = cfg->memory;
    /* 2 MiB alignment lets the nested tables use large pages throughout. */
    u8 *ram = page_alloc_aligned(d->ram_size, LARGE_PAGE_SIZE);
    if (!ram) {
        char size[24];
        config_format_size(size, sizeof(size), d->ram_size);
        return fail(why, why_size, "not enough host memory for %s of RAM (largest free block %llu MiB)", size,
                    (unsigned long long)(mm_largest_block(LARGE_PAGE_SIZE) >> 20));
    }
    return map_firmware(d, image, image_size, ram, why, why_size);
}

static void debugcon_line(void *ctx, const char *line, unsigned len, bool complete)
{
    struct domain *d = ctx;
    console_line_piece(&d->debugcon, d->console_prefix, line, len, complete);
}

/* The disk images as the IDE controller sees them: disk0-3 on the two
 * channels, the CD-ROM on the secondary master. Writes go to the image in
 * memory (they last until Zazen powers off). */
static bool setup_disks(struct domain *d, const struct bootinfo *bi, char *why, size_t why_size)
{
    const struct domain_config *cfg = d->cfg;
    for (unsigned i = 0; i < 4; i++) {
        const struct config_file *f = &cfg->disks[i];
        bool cdrom = i == 2 && cfg->cdrom.name[0];
        if (cdrom)
            f = &cfg->cdrom;
        if (!f->name[0])
            continue;
        const struct bootinfo_file *file = find_file(bi, f->name);
        if (!file)
            return fail(why, why_size, "%s '%s' (%s:%u) was not loaded", f->key, f->name, bi->config_name, f->line);
        struct ide_disk *disk = &d->disks[i];
        disk->data = (u8 *)(uintptr_t)file->data;
        disk->size = file->size;
        disk->read_only = f->read_only || cdrom;
        disk->cdrom = cdrom;
        snprintf(disk->model, sizeof(disk->model), "ZAZEN %s %s", cdrom ? "CD-ROM" : "HARDDISK", f->name);
    }
    return true;
}

static bool setup_devices(struct domain *d, const struct bootinfo *bi, char *why, size_t why_size)
{
    if (!setup_disks(d, bi, why, why_size) || !platform_create(d, bi, why, why_size))
        return false;
    if (!debugcon_attach(&d->debugcon, &d->pc.bus, debugcon_line, d))
        return fail(why, why_size, "cannot attach the 0xE9 debug console");
    return true;
}

static bool setup_vcpus(struct domain *d, char *why, size_t why_size)
{
    for (unsigned i = 0; i < d->cfg->vcpus; i++) {
        struct vcpu *v = page_alloc(sizeof(*v));
        if (!v)
            return fail(why, why_size, "out of memory for a vCPU");
        v->domain = d;
        v->id = i;
        v->state = VCPU_RUNNABLE;
        d->vcpus[d->vcpu_count++] = v;
        if (!arch->vcpu_create(v, why, why_size))
            return false;
        arch->vcpu_reset(v);
    }
    return true;
}

static bool setup_trace(struct domain *d, char *why, size_t why_size)
{
    unsigned n = d->cfg->trace_exits;
    if (!n)
        return true;
    struct trace_entry *storage = page_alloc(n * sizeof(struct trace_entry));
    if (!storage)
        return fail(why, why_size, "out of memory for a trace of %u exits", n);
    trace_init(&d->trace, storage, n);
    return true;
}

struct domain *domain_create(unsigned id, const struct domain_config *cfg, const struct bootinfo *bi, char *why,
                             size_t why_size)
{
    struct domain *d = page_alloc(sizeof(*d));
    if (!d) {
        fail(why, why_size, "out of memory for the domain");
        return NULL;
    }
    d->id = id;
    d->cfg = cfg;
    strlcpy(d->name, cfg->name, sizeof(d->name));
    if (setup_memory(d, bi, why, why_size) && setup_devices(d, bi, why, why_size) &&
        setup_trace(d, why, why_size) && arch->domain_create(d, why, why_size) && setup_vcpus(d, why, why_size))
        return d;
    domain_destroy(d);
    return NULL;
}

void domain_destroy(struct domain *d)
{
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        arch->vcpu_destroy(d->vcpus[i]);
        page_free(d->vcpus[i], sizeof(struct vcpu));
    }
    arch->domain_destroy(d);
    if (d->trace.capacity)
        page_free(d->trace.entries, d->trace.capacity * sizeof(struct trace_entry));
    for (unsigned i = 0; i < d->mem_count; i++) {
        struct guest_mem_region *r = &d->mem[i];
        if (!r->owned)
            continue;
        /* The first RAM region owns the whole RAM block, the ROM its pages. */
        page_free(r->host, r->read_only ? r->size : d->ram_size);
    }
    page_free(d, sizeof(*d));
}

void domain_end(struct domain *d, const char *fmt, ...)
{
    if (d->ended)
        return; /* the first reason is the one that counts */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->end_reason, sizeof(d->end_reason), fmt, ap);
    va_end(ap);
    d->ended = true;
    for (unsigned i = 0; i < d->vcpu_count; i++)
        d->vcpus[i]->state = VCPU_ENDED;
}

/* Exit counts and the core's ticks, for the whole run or since the last
 * periodic report: counts[] and ticks[] are per reason, phase[] per
 * enum core_phase. `when` heads the line ("exits", "last 60 s: exits"). */
struct exit_stats {
    u64 counts[EXIT_REASON_COUNT];
    u64 ticks[EXIT_REASON_COUNT];
    u64 phase[4];
};

static void print_exit_stats(const struct domain *d, const char *when, const struct exit_stats *st)
{
    u64 total = 0;
    kprintf("zazen: domain %s (id %u) %s:", d->name, d->id, when);
    for (unsigned r = 0; r < EXIT_REASON_COUNT; r++) {
        if (!st->counts[r])
            continue;
        kprintf(" %s %llu", exit_reason_name((enum exit_reason)r), (unsigned long long)st->counts[r]);
        total += st->counts[r];
    }
    kprintf(" (%llu in all)\n", (unsigned long long)total);
    if (!total)
        return;
    /* Where the core's time went: per exit of each reason, and per phase
     * over all exits (TSC ticks; instructions under Bochs's sync=none). */
    kprintf("zazen: domain %s (id %u) core ticks per exit:", d->name, d->id);
    for (unsigned r = 0; r < EXIT_REASON_COUNT; r++)
        if (st->counts[r])
            kprintf(" %s %llu", exit_reason_name((enum exit_reason)r),
                    (unsigned long long)(st->ticks[r] / st->counts[r]));
    static const char *const phase_names[] = {"time", "handler", "delivery", "timer"};
    kprintf(";");
    for (unsigned p = 0; p < ARRAY_SIZE(phase_names); p++)
        kprintf(" %s %llu", phase_names[p], (unsigned long long)(st->phase[p] / total));
    kprintf("\n");
}

static void current_stats(const struct domain *d, struct exit_stats *st)
{
    memcpy(st->counts, d->exit_counts, sizeof(st->counts));
    memcpy(st->ticks, d->exit_ticks, sizeof(st->ticks));
    memcpy(st->phase, d->phase_ticks, sizeof(st->phase));
}

void domain_print_exit_counts(const struct domain *d)
{
    struct exit_stats st;
    current_stats(d, &st);
    print_exit_stats(d, "exits", &st);
}

void domain_print_trace(const struct domain *d)
{
    if (!d->trace.capacity)
        return;
    unsigned n = trace_count(&d->trace);
    kprintf("zazen: domain %s (id %u): its last %u exits, oldest first:\n", d->name, d->id, n);
    for (unsigned i = 0; i < n; i++) {
        char line[160];
        trace_format(trace_get(&d->trace, i), line, sizeof(line));
        kprintf("zazen:   %s\n", line);
    }
}

/* The trace sees the exit as the backend reported it, before its handler
 * changes anything (RIP still at the exiting instruction). */
static void trace_exit(struct domain *d, const struct vcpu *v, const struct vm_exit *e)
{
    struct trace_regs regs = {v->rip, v->gpr[GPR_RAX], v->gpr[GPR_RCX], v->gpr[GPR_RDX]};
    trace_record(&d->trace, e, &regs);
}

/* `stats = N`: the last N seconds' exits, from the previous snapshot. */
static void periodic_stats(struct domain *d, struct exit_stats *last, u64 *next)
{
    u64 now = d->pc.clock.now;
    if (!d->cfg->stats_seconds || now < *next)
        return;
    struct exit_stats cur, delta;
    current_stats(d, &cur);
    for (unsigned r = 0; r < EXIT_REASON_COUNT; r++) {
        delta.counts[r] = cur.counts[r] - last->counts[r];
        delta.ticks[r] = cur.ticks[r] - last->ticks[r];
    }
    for (unsigned p = 0; p < ARRAY_SIZE(delta.phase); p++)
        delta.phase[p] = cur.phase[p] - last->phase[p];
    char when[48];
    snprintf(when, sizeof(when), "at %llu s, last %u s: exits", (unsigned long long)(now / 1000000000ull),
             d->cfg->stats_seconds);
    print_exit_stats(d, when, &delta);
    *last = cur;
    *next = now + d->cfg->stats_seconds * 1000000000ull;
}

/* The run loop of one vCPU. Each turn: bring device time up to date (due
 * timers raise their interrupts), carry out a reset the guest asked for,
 * let a halted vCPU sleep until something is due, deliver the pending
 * interrupt, arm the host timer for the next device deadline, enter the
 * guest, and dispatch the exit that brings it back. */
void domain_run(struct domain *d)
{
    struct vcpu *v = d->vcpus[0];
    struct vm_exit e;
    /* Each exit's core time runs from the backend's return (t_exit) to
     * the next entry; a halted vCPU's sleep is not part of it. */
    u64 t_exit = 0;
    bool exited = false, quick = false;
    struct exit_stats stats_last;
    current_stats(d, &stats_last);
    u64 stats_next = d->cfg->stats_seconds * 1000000000ull;
    console_set_buffered(true);
    platform_update_time(d);
    for (;;) {
        if (d->reset_requested)
            platform_handle_reset(d);
        if (v->state == VCPU_ENDED)
            break;
        if (v->state == VCPU_HALTED) {
            if (pc_interrupt_pending(&d->pc)) {
                v->state = VCPU_RUNNABLE;
            } else {
                u64 t_wait = rdtsc();
                if (!platform_wait(d))
                    domain_end(d, "halted waiting for an interrupt, and no device of this domain will raise one");
                t_exit += rdtsc() - t_wait; /* the sleep is not the exit's cost */
                platform_update_time(d);
                continue;
            }
        }
        u64 t_deliver = rdtsc(), t_timer = t_deliver;
        if (!quick) {
            platform_deliver_interrupts(v);
            t_timer = rdtsc();
            platform_arm_host_timer(d);
        }
        msr_load_guest_state(v);
        u64 t_entry = rdtsc();
        if (exited) {
            d->phase_ticks[PHASE_DELIVERY] += t_timer - t_deliver;
            d->phase_ticks[PHASE_TIMER] += t_entry - t_timer;
            d->exit_ticks[e.reason] += t_entry - t_exit;
        }
        arch->vcpu_run(v, &e);
        t_exit = rdtsc();
        exited = true;
        if (d->trace.capacity)
            trace_exit(d, v, &e);
        /* The quick way back: after an exit whose handler touches no
         * device, with no interrupt waiting at the last look, device time,
         * interrupt delivery and the host timer stay as they were. A
         * device deadline that passes meanwhile still fires the host
         * timer, and whatever exit it comes with (on AMD-V it may be taken
         * at the STGI after a CPUID exit) takes the whole way. */
        quick = v->no_interrupt_pending && exit_leaves_devices_alone(e.reason) && !host_timer_fired();
        /* Otherwise the devices see the moment of the exit: a counter the
         * guest reads (PIT, PM timer, LAPIC current count) must have
         * moved by the time the guest spent running. */
        if (!quick)
            platform_update_time(d);
        u64 t_handler = rdtsc();
        exit_dispatch(v, &e);
        d->phase_ticks[PHASE_TIME] += t_handler - t_exit;
        d->phase_ticks[PHASE_HANDLER] += rdtsc() - t_handler;
        periodic_stats(d, &stats_last, &stats_next);
    }
    host_timer_stop();
    platform_flush_output(d);
    console_set_buffered(false);
}

