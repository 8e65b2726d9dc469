/* Domains: building one from its config (RAM, firmware ROM, devices,
 * backend state, vCPU), running it, ending it, and giving it all back. */
#include "domain.h"
#include "arch.h"
#include "console.h"
#include "format.h"
#include "handlers.h"
#include "hosttime.h"
#include "mm.h"
#include "percpu.h"
#include "platform.h"
#include "sched.h"
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
    d->mem[d->mem_count++] = (struct guest_mem_region){gpa, size, host, read_only, owned, NULL};
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

/* What a PAM segment shows when it reads from PCI: the firmware ROM in
 * E0000h-FFFFFh, where the PIIX3 decodes the BIOS (82371SB, "BIOS memory
 * space": its last 128 KiB), nothing (NULL) in C0000h-DFFFFh. */
static u8 *pam_pci_side(const struct domain *d, u64 gpa)
{
    u64 window = MiB - DOMAIN_ROM_LOW_WINDOW;
    if (gpa < window)
        return NULL;
    return d->rom + d->rom_size - DOMAIN_ROM_LOW_WINDOW + (gpa - window);
}

/* The 82441FX's PAM attributes ("PAM[6:0]"): RE sends reads to DRAM, WE
 * sends writes there; what is not sent to DRAM goes to PCI, where the ROM
 * drops writes. */
static void fill_pam_region(const struct domain *d, struct guest_mem_region *r, enum pam_access access)
{
    u8 *ram = d->ram + r->gpa, *pci = pam_pci_side(d, r->gpa);
    bool re = access & PAM_READ_ONLY, we = access & PAM_WRITE_ONLY;
    r->host = re ? ram : pci;
    r->read_only = !(re && we);
    r->write_to = we && !re ? ram : NULL;
}

void domain_set_pam(struct domain *d, unsigned segment, enum pam_access access)
{
    if (segment >= PAM_SEGMENTS || !d->pam_region)
        return;
    struct guest_mem_region *r = &d->mem[d->pam_region + segment];
    fill_pam_region(d, r, access);
    if (d->arch && !arch->remap(d, r->gpa, r->size)) /* d->arch: the nested tables exist */
        domain_end(d, "out of memory for nested page tables while remapping %llx-%llx",
                   (unsigned long long)r->gpa, (unsigned long long)(r->gpa + r->size - 1));
}

/* The guest-physical map of a PC (domain RAM of at least 1 MiB):
 *   0-BFFFFh                RAM;
 *   C0000h-FFFFFh           13 PAM segments over shadow RAM (the RAM's own
 *                           bytes there), reading at reset from PCI: the
 *                           ROM's last 128 KiB at E0000h-FFFFFh, nothing
 *                           below;
 *   1 MiB-end of RAM        RAM;
 *   4 GiB - ROM size - 4 GiB the whole firmware image, read-only, so that
 *                           the reset vector F000:FFF0 (linear FFFFFFF0h,
 *                           SDM 3A 9.1.4) finds its last 16 bytes.
 * The ROM is the image at the top of a flash part of at least 128 KiB;
 * unused flash reads as erased (FFh). */
static bool map_firmware(struct domain *d, const u8 *image, u64 image_size, u8 *ram, char *why, size_t why_size)
{
    u64 rom_size = MAX(ALIGN_UP(image_size, PAGE_SIZE), DOMAIN_ROM_LOW_WINDOW);
    u8 *rom = page_alloc(rom_size);
    if (!rom)
        return fail(why, why_size, "out of memory for the firmware ROM");
    memset(rom, 0xff, rom_size - image_size);
    memcpy(rom + rom_size - image_size, image, image_size);
    d->ram = ram;
    d->rom = rom;
    d->rom_size = rom_size;
    u64 low_ram = 0xC0000;
    bool ok = add_region(d, 0, low_ram, ram, false, true) && add_region(d, 4 * GiB - rom_size, rom_size, rom, true, true);
    d->pam_region = d->mem_count;
    for (unsigned i = 0; ok && i < PAM_SEGMENTS; i++) {
        ok = add_region(d, pam_segment_base(i), pam_segment_size(i), NULL, true, false);
        if (ok)
            fill_pam_region(d, &d->mem[d->mem_count - 1], PAM_DISABLED);
    }
    if (ok && d->ram_size > MiB)
        ok = add_region(d, MiB, d->ram_size - MiB, ram + MiB, false, false);
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

static void debugcon_line(void *ctx, const char *line, unsigned len)
{
    struct domain *d = ctx;
    kprintf("(%s) %.*s\n", d->name, (int)len, line);
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
    spin_init(&d->console_input.lock, "console input");
    d->sched.weight = cfg->weight;
    d->sched.cap = cfg->cap;
    d->sched.affinity = cfg->affinity;
    spin_init(&d->sched.budget_lock, "budget");
    d->stats_next = cfg->stats_seconds * 1000000000ull;
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
    page_free(d->fw_cfg, sizeof(*d->fw_cfg));
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
    atomic_store(&d->ended, true);
    /* Its vCPUs leave at their next exit; one that is not on a CPU is
     * made to run once, to leave. */
    for (unsigned i = 0; i < d->vcpu_count; i++)
        if (d->vcpus[i]->sched.state != VCPU_RUNNING || d->vcpus[i]->sched.cpu != this_cpu())
            sched_kick(d->vcpus[i]);
}

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

/* `stats = N`: the last N seconds' exits, from the previous snapshot, and
 * the scheduler's figures for each vCPU so far. */
void domain_periodic_stats(struct domain *d)
{
    u64 now = d->pc.clock.now;
    if (!d->cfg->stats_seconds || now < d->stats_next)
        return;
    struct exit_stats cur, delta;
    current_stats(d, &cur);
    for (unsigned r = 0; r < EXIT_REASON_COUNT; r++) {
        delta.counts[r] = cur.counts[r] - d->stats_last.counts[r];
        delta.ticks[r] = cur.ticks[r] - d->stats_last.ticks[r];
    }
    for (unsigned p = 0; p < ARRAY_SIZE(delta.phase); p++)
        delta.phase[p] = cur.phase[p] - d->stats_last.phase[p];
    char when[48];
    snprintf(when, sizeof(when), "at %llu s, last %u s: exits", (unsigned long long)(now / 1000000000ull),
             d->cfg->stats_seconds);
    console_lines_begin();
    print_exit_stats(d, when, &delta);
    snprintf(when, sizeof(when), "at %llu s: ", (unsigned long long)(now / 1000000000ull));
    sched_print_vcpu_stats(d, when);
    console_lines_end();
    d->stats_last = cur;
    d->stats_next = now + d->cfg->stats_seconds * 1000000000ull;
}

/* ---- the live domains ---- */

/* "domains" in the lock order: the list, the console focus, and so
 * domain teardown. Taken before any run queue lock. */
static struct spinlock domains_lock = SPINLOCK_INIT("domains");
static struct domain *domains;        /* live, by id */
static struct domain *console_focus;  /* gets what is typed; NULL: nobody */

static void list_add(struct domain *d)
{
    struct domain **p = &domains;
    while (*p && (*p)->id < d->id)
        p = &(*p)->next;
    d->next = *p;
    *p = d;
}

/* With domains_lock held: unlinks d; the console focus passes to the
 * next live domain. True if it was the last. */
static bool list_remove(struct domain *d)
{
    for (struct domain **p = &domains; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    if (console_focus == d)
        console_focus = domains;
    return domains == NULL;
}

void domain_console_input(const u8 *bytes, unsigned n)
{
    spin_lock(&domains_lock);
    struct domain *d = console_focus;
    if (d) {
        struct console_input *in = &d->console_input;
        spin_lock(&in->lock);
        /* A consumer that is a whole ring behind loses the oldest bytes. */
        for (unsigned i = 0; i < n; i++) {
            in->ring[in->head++ % CONSOLE_INPUT_RING] = bytes[i];
            for (unsigned c = 0; c < 2; c++)
                if (in->head - in->tail[c] > CONSOLE_INPUT_RING)
                    in->tail[c]++;
        }
        spin_unlock(&in->lock);
        /* A vCPU halted waiting for this input wakes to take it. */
        for (unsigned i = 0; i < d->vcpu_count; i++)
            sched_wake(d->vcpus[i]);
    }
    spin_unlock(&domains_lock);
}

static void print_summary(struct domain *d)
{
    console_lines_begin();
    kprintf("zazen: domain %s (id %u) ended: %s\n", d->name, d->id, d->end_reason);
    domain_print_trace(d);
    domain_print_exit_counts(d);
    sched_print_vcpu_stats(d, "");
    console_lines_end();
}

NORETURN void zazen_power_off(void);

void domain_vcpu_ended(struct vcpu *v)
{
    struct domain *d = v->domain;
    if (atomic_add(&d->vcpus_live, -1u) != 1)
        return; /* another vCPU of the domain is still on its way out */
    print_summary(d);
    spin_lock(&domains_lock);
    bool last = list_remove(d);
    spin_unlock(&domains_lock);
    domain_destroy(d);
    if (last) {
        sched_print_cpu_stats();
        kprintf("zazen: all domains ended\n");
        zazen_power_off();
    }
}

static void print_domain_line(unsigned id, const struct domain_config *cfg)
{
    char size[24];
    config_format_size(size, sizeof(size), cfg->memory);
    kprintf("zazen: domain %s (id %u): %s RAM, %u vCPU, %s, firmware %s", cfg->name, id, size, cfg->vcpus,
            cfg->platform == PLATFORM_ISA ? "ISA PC" : "PCI PC", cfg->firmware.name[0] ? cfg->firmware.name : "Zazen BIOS");
    kprintf(", weight %u", cfg->weight);
    if (cfg->cap)
        kprintf(", cap %u%%", cfg->cap);
    if (cfg->affinity_given)
        kprintf(", cpus %s", cfg->affinity_text);
    kprintf("\n");
}

/* Builds one domain and hands its vCPUs to the scheduler. */
static bool start_domain(unsigned id, const struct domain_config *cfg, const struct bootinfo *bi)
{
    char why[160];
    print_domain_line(id, cfg);
    u64 allocated_before = mm_allocated_bytes();
    struct domain *d = domain_create(id, cfg, bi, why, sizeof(why));
    if (!d) {
        kprintf("zazen: domain %s (id %u) ended: not started: %s\n", cfg->name, id, why);
        return false;
    }
    /* What the domain costs the hypervisor beyond its RAM: VMCS or VMCB,
     * nested page tables, bitmaps, device state, the BIOS ROM copy. */
    kprintf("zazen: domain %s (id %u): %llu KiB of hypervisor memory beyond its RAM\n", d->name, d->id,
            (unsigned long long)((mm_allocated_bytes() - allocated_before - d->ram_size) >> 10));
    spin_lock(&domains_lock);
    list_add(d);
    if (!console_focus)
        console_focus = d;
    spin_unlock(&domains_lock);
    d->vcpus_live = d->vcpu_count;
    for (unsigned i = 0; i < d->vcpu_count; i++)
        sched_add_vcpu(d->vcpus[i]);
    return true;
}

bool domains_start(const struct config *cfg, const struct bootinfo *bi)
{
    unsigned started = 0;
    for (unsigned i = 0; i < cfg->domain_count; i++)
        started += start_domain(i + 1, &cfg->domains[i], bi);
    return started > 0;
}
