/* Domains: building one from its config (RAM, firmware ROM, devices,
 * backend state, vCPU), running it, ending it, and giving it all back. */
#include "domain.h"
#include "storage/storage.h"
#include "domain_type.h"
#include "arch.h"
#include "console.h"
#include "decompress.h"
#include "format.h"
#include "guest_state.h"
#include "handlers.h"
#include "hosttime.h"
#include "mm.h"
#include "percpu.h"
#include "platform.h"
#include "sched.h"
#include "string.h"
#include "tpr.h"
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
    domain_regions_changed(d);
    return true;
}

static bool region_holds(const struct guest_mem_region *r, u64 gpa, u64 len)
{
    return gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa);
}

/* Every emulated access and every instruction fetch of the emulator
 * looks up a region, and most hit the one hit last (the code's page) or
 * miss the way the last miss did (a device's MMIO page): both are
 * remembered. Regions are page granular, so a miss within one page holds
 * for the whole page until the regions change. */
struct guest_mem_region *domain_find_region(struct domain *d, u64 gpa, u64 len)
{
    unsigned hint = __atomic_load_n(&d->region_hint, __ATOMIC_RELAXED);
    if (hint < d->mem_count && region_holds(&d->mem[hint], gpa, len))
        return &d->mem[hint];
    u64 page = gpa & ~(PAGE_SIZE - 1);
    bool one_page = len && ((gpa + len - 1) & ~(PAGE_SIZE - 1)) == page;
    u32 generation = domain_regions_generation(d);
    if (one_page && __atomic_load_n(&d->region_miss_page, __ATOMIC_RELAXED) == page + 1 &&
        __atomic_load_n(&d->region_miss_generation, __ATOMIC_RELAXED) == generation)
        return NULL;
    for (unsigned i = 0; i < d->mem_count; i++) {
        struct guest_mem_region *r = &d->mem[i];
        if (region_holds(r, gpa, len)) {
            __atomic_store_n(&d->region_hint, i, __ATOMIC_RELAXED);
            return r;
        }
    }
    if (one_page) {
        __atomic_store_n(&d->region_miss_generation, generation, __ATOMIC_RELAXED);
        __atomic_store_n(&d->region_miss_page, page + 1, __ATOMIC_RELAXED);
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

/* A PAM segment's worth of what an unclaimed read on PCI returns: all
 * ones (PCI 3.0 3.2.2.3.2: a master-aborted read completes with all 1s),
 * as read-only memory the nested tables map, shared by every domain. A
 * read there is then no exit: OSes scan the option-ROM space byte by byte
 * (Linux's iBFT search reads C0000h-DFFFFh 16 bytes at a time, two reads
 * a step: 16,384 exits through the emulator at every boot). Writes still
 * fault, and are dropped or sent to the shadow RAM as the PAM says. NULL
 * if the one allocation failed (such a segment then reads from the bus). */
static u8 *unclaimed_pci_block(void)
{
    static u8 *block;
    static struct spinlock lock = SPINLOCK_INIT("unclaimed pci block");
    spin_lock(&lock);
    if (!block) {
        block = page_alloc(PAM_SMALL_SEGMENT_SIZE);
        if (block)
            memset(block, 0xff, PAM_SMALL_SEGMENT_SIZE);
    }
    spin_unlock(&lock);
    return block;
}

/* What a PAM segment shows when it reads from PCI: the firmware ROM in
 * E0000h-FFFFFh, where the PIIX3 decodes the BIOS (82371SB, "BIOS memory
 * space": its last 128 KiB), nothing in C0000h-DFFFFh: all ones. */
static u8 *pam_pci_side(const struct domain *d, u64 gpa)
{
    u64 window = MiB - DOMAIN_ROM_LOW_WINDOW;
    if (gpa < window)
        return d->unclaimed_pci;
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
    domain_regions_changed(d);
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
    d->unclaimed_pci = unclaimed_pci_block();
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

#define BUILTIN_BIOS_SIZE (64 * 1024)

/* The built-in BIOS, unpacked from its XZ form the first time a domain
 * needs it (zeroed data costs nothing in zazen.efi; 64 KiB of ROM stored
 * flat did). Domains are created from several CPUs (the shell's create),
 * so the unpacking is done once under a lock. */
static bool builtin_bios(const u8 **image, u64 *size, char *why, size_t why_size)
{
    static u8 rom[BUILTIN_BIOS_SIZE];
    static u64 rom_len;
    static struct spinlock lock = SPINLOCK_INIT("builtin bios");
    char reason[96] = "";
    spin_lock(&lock);
    if (!rom_len)
        xz_decompress(zazen_bios_rom, (u64)(zazen_bios_rom_end - zazen_bios_rom), rom, sizeof(rom), &rom_len,
                      reason, sizeof(reason));
    bool ok = rom_len == sizeof(rom);
    if (!ok)
        rom_len = 0;
    spin_unlock(&lock);
    if (!ok)
        return fail(why, why_size, "the built-in BIOS does not unpack to 64 KiB: %s", reason);
    *image = rom;
    *size = sizeof(rom);
    return true;
}

/* The ROM image: the file the config names, or the built-in Zazen BIOS. */
static bool firmware_image(const struct domain *d, const struct bootinfo *bi, const u8 **image, u64 *size, char *why,
                           size_t why_size)
{
    const struct domain_config *cfg = d->cfg;
    if (!cfg->firmware.name[0])
        return builtin_bios(image, size, why, why_size);
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
    if (d->type->map_memory)
        return d->type->map_memory(d, ram, why, why_size);
    return map_firmware(d, image, image_size, ram, why, why_size);
}

static void debugcon_line(void *ctx, const char *line, unsigned len, bool complete)
{
    struct domain *d = ctx;
    console_line_piece(&d->debugcon, d->console_prefix, line, len, complete);
}

/* The disk images as the IDE controller sees them: disk0-3 on the two
 * channels, the CD-ROM on the secondary master. A disk storage found on
 * the boot disk is read and written there (docs/storage.md), a ,volatile
 * one through its overlay in RAM; the others (the CD-ROM, disks the boot
 * loader loaded whole because no host driver reaches them) are the image
 * in memory, whose writes last until Zazen powers off. */
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
        if (f->partition) { /* partlabel:NAME: no file, storage opened the partition */
            struct ide_disk *disk = &d->disks[i];
            disk->backend = storage_backend(f);
            if (!disk->backend)
                return fail(why, why_size, "%s '%s' (%s:%u): the partition was not opened", f->key, f->name,
                            bi->config_name, f->line);
            disk->data = NULL;
            disk->size = storage_sectors(f) * ATA_SECTOR_SIZE;
            disk->read_only = f->read_only;
            disk->cdrom = false;
            snprintf(disk->model, sizeof(disk->model), "ZAZEN HARDDISK %s", f->name);
            continue;
        }
        const struct bootinfo_file *file = find_file(bi, f->name);
        if (!file)
            return fail(why, why_size, "%s '%s' (%s:%u) was not loaded", f->key, f->name, bi->config_name, f->line);
        struct ide_disk *disk = &d->disks[i];
        /* In place on the boot disk when storage found it there (through an
         * overlay if ,volatile); else the boot loader's copy in RAM. */
        disk->backend = cdrom ? NULL : storage_backend(f);
        if (!disk->backend && !file->data) /* storage_init refuses this first; never an image at address 0 */
            return fail(why, why_size, "%s '%s' (%s:%u) is neither in RAM nor found in place", f->key, f->name,
                        bi->config_name, f->line);
        disk->data = disk->backend ? NULL : (u8 *)(uintptr_t)file->data;
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
        v->lapic = &d->pc.lapic[i];
        v->wait_for_sipi = i > 0; /* the BIOS runs on the BSP alone */
        v->sched.affinity = d->cfg->affinity;
        d->vcpus[d->vcpu_count++] = v;
        if (!guest_state_vcpu_init(v))
            return fail(why, why_size, "out of memory for a vCPU's register save area");
        if (!arch->vcpu_create(v, why, why_size))
            return false;
        vcpu_reset(v);
    }
    return true;
}

/* Every domain keeps its last exits (management's trace verb); trace = N
 * keeps N and prints them when it ends. */
#define DEFAULT_TRACE_EXITS 64

static bool setup_trace(struct domain *d, char *why, size_t why_size)
{
    unsigned n = d->cfg->trace_exits ? d->cfg->trace_exits : DEFAULT_TRACE_EXITS;
    struct trace_entry *storage = page_alloc(trace_ring_size(n) * sizeof(struct trace_entry));
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
    d->type = domain_type_of(cfg->type);
    strlcpy(d->name, cfg->name, sizeof(d->name));
    spin_init(&d->console_input.lock, "console input");
    spin_init(&d->cpu_window_lock, "cpu-access windows");
    flag_init(&d->devices_lock, "devices");
    d->sched.weight = cfg->weight;
    d->sched.cap = cfg->cap;
    d->sched.affinity = cfg->affinity;
    spin_init(&d->sched.budget_lock, "budget");
    d->stats_next = cfg->stats_seconds * 1000000000ull;
    for (unsigned r = 0; r < EXIT_REASON_COUNT; r++)
        d->fast_untimed[r] = FAST_TIMING_SAMPLE;
    d->started_tsc = rdtsc();
    if (setup_memory(d, bi, why, why_size) && setup_devices(d, bi, why, why_size) &&
        setup_trace(d, why, why_size) && arch->domain_create(d, why, why_size) && setup_vcpus(d, why, why_size)) {
        if (d->type->start_vcpus)
            d->type->start_vcpus(d);
        return d;
    }
    domain_destroy(d);
    return NULL;
}

void domain_destroy(struct domain *d)
{
    bool had_store = false;
    for (unsigned i = 0; i < 4; i++)
        had_store |= d->disks[i].backend != NULL;
    if (had_store)
        storage_print_stats();
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        guest_state_vcpu_release(d->vcpus[i]);
        arch->vcpu_destroy(d->vcpus[i]);
        page_free(d->vcpus[i], sizeof(struct vcpu));
    }
    arch->domain_destroy(d);
    if (d->type && d->type->destroy)
        d->type->destroy(d);
    if (d->trace.capacity)
        page_free(d->trace.entries, (d->trace.mask + 1) * sizeof(struct trace_entry));
    page_free(d->fw_cfg, sizeof(*d->fw_cfg));
    if (d->cpu_window_pages)
        page_free(d->cpu_window_pages, CPU_ACCESS_WINDOWS * PAGE_SIZE);
    for (unsigned i = 0; i < d->mem_count; i++) {
        struct guest_mem_region *r = &d->mem[i];
        if (!r->owned)
            continue;
        /* The first RAM region owns the whole RAM block, the ROM its pages. */
        page_free(r->host, r->read_only ? r->size : d->ram_size);
    }
    page_free(d, sizeof(*d));
}

static void end_domain(struct domain *d, enum end_kind kind, const char *fmt, va_list ap)
{
    /* The first reason is the one that counts: a management destroy on
     * one CPU and the guest's own end on another may race here. */
    if (atomic_exchange(&d->end_claimed, true))
        return;
    vsnprintf(d->end_reason, sizeof(d->end_reason), fmt, ap);
    d->end_kind = kind;
    atomic_store(&d->ended, true);
    domain_stop_fast(d);
    /* Its vCPUs leave at their next exit; one that is not on a CPU is
     * made to run once, to leave. */
    for (unsigned i = 0; i < d->vcpu_count; i++)
        if (d->vcpus[i]->sched.state != VCPU_RUNNING || d->vcpus[i]->sched.cpu != this_cpu())
            sched_kick(d->vcpus[i]);
}

void domain_end(struct domain *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    end_domain(d, END_CRASH, fmt, ap);
    va_end(ap);
}

void domain_end_kind(struct domain *d, enum end_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    end_domain(d, kind, fmt, ap);
    va_end(ap);
}

void domain_stop_fast(struct domain *d)
{
    for (unsigned i = 0; i < d->vcpu_count; i++)
        vcpu_stop_fast(d->vcpus[i]);
}

void domain_request(struct domain *d, u32 requests)
{
    atomic_or(&d->requests, requests);
    domain_stop_fast(d);
    for (unsigned i = 0; i < d->vcpu_count; i++)
        sched_kick(d->vcpus[i]);
}

void domain_take_requests(struct domain *d)
{
    u32 req = atomic_exchange(&d->requests, 0);
    if (req && d->type->take_requests) {
        d->type->take_requests(d, req);
        return;
    }
    if (req & DOMAIN_REQ_POWER_BUTTON)
        acpi_pm_power_button(&d->pc.pm);
    /* Linux turns Ctrl-Alt-Del into a reboot request to init. */
    if (req & DOMAIN_REQ_CTRL_ALT_DEL)
        kbc_ctrl_alt_del(&d->pc.kbc);
}

bool domain_pause(struct domain *d)
{
    if (atomic_exchange(&d->paused, 1))
        return false;
    domain_stop_fast(d);
    for (unsigned i = 0; i < d->vcpu_count; i++)
        sched_pause(d->vcpus[i]);
    return true;
}

bool domain_unpause(struct domain *d)
{
    if (!atomic_exchange(&d->paused, 0))
        return false;
    for (unsigned i = 0; i < d->vcpu_count; i++)
        sched_unpause(d->vcpus[i]);
    return true;
}

/* The devices lock of a domain of several vCPUs: how often a vCPU found
 * it taken and how long it spun (ticks), against how long it was held. */
static void print_devices_lock_stats(const struct domain *d, const struct devices_lock_stats *l)
{
    kprintf("zazen: domain %s (id %u) devices lock: taken %llu, waited %llu (%llu ticks, longest %llu), "
            "held %llu ticks (longest %llu)\n",
            d->name, d->id, (unsigned long long)l->taken, (unsigned long long)l->waited,
            (unsigned long long)l->wait_ticks, (unsigned long long)d->devices_lock_longest_wait,
            (unsigned long long)l->held_ticks, (unsigned long long)d->devices_lock_longest_hold);
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
    if (d->vcpu_count > 1)
        print_devices_lock_stats(d, &st->lock);
}

static void current_stats(const struct domain *d, struct exit_stats *st)
{
    memcpy(st->counts, d->exit_counts, sizeof(st->counts));
    memcpy(st->ticks, d->exit_ticks, sizeof(st->ticks));
    memcpy(st->phase, d->phase_ticks, sizeof(st->phase));
    st->lock = d->devices_lock_stats;
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
        struct trace_entry en = trace_get(&d->trace, i);
        trace_format(&en, line, sizeof(line));
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
    delta.lock.taken = cur.lock.taken - d->stats_last.lock.taken;
    delta.lock.waited = cur.lock.waited - d->stats_last.lock.waited;
    delta.lock.wait_ticks = cur.lock.wait_ticks - d->stats_last.lock.wait_ticks;
    delta.lock.held_ticks = cur.lock.held_ticks - d->stats_last.lock.held_ticks;
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
static struct spinlock domains_lock_ = SPINLOCK_INIT("domains");
static struct domain *domains;        /* live (or preserved), by id */
static struct domain *console_focus;  /* gets what is typed; NULL: nobody */
static u32 next_id = 1;               /* ids are never reused */
static const struct config *config;
static const struct bootinfo *boot_files;

void domains_lock(void) { spin_lock(&domains_lock_); }
void domains_unlock(void) { spin_unlock(&domains_lock_); }
struct domain *domains_first(void) { return domains; }
const struct config *domains_config(void) { return config; }

struct domain *domain_find(const char *name_or_id)
{
    u64 id = 0;
    bool numeric = *name_or_id != 0;
    for (const char *p = name_or_id; *p; p++) {
        if (*p < '0' || *p > '9' || id > 0xffffffffu) {
            numeric = false;
            break;
        }
        id = id * 10 + (u64)(*p - '0');
    }
    for (struct domain *d = domains; d; d = d->next)
        if ((numeric && d->id == id) || strcmp(d->name, name_or_id) == 0)
            return d;
    return NULL;
}

struct domain *domain_console_focus(void) { return atomic_load(&console_focus); }

void domain_set_console_focus(struct domain *d) { atomic_store(&console_focus, d); }

static void list_add(struct domain *d)
{
    struct domain **p = &domains;
    while (*p && (*p)->id < d->id)
        p = &(*p)->next;
    d->next = *p;
    *p = d;
}

/* With domains_lock held: unlinks d (the console, if it was attached to
 * d, goes back to the shell). True if it was the last. */
static bool list_remove(struct domain *d)
{
    for (struct domain **p = &domains; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    if (console_focus == d)
        console_focus = NULL;
    return domains == NULL;
}

void domain_console_input(const u8 *bytes, unsigned n)
{
    spin_lock(&domains_lock_);
    struct domain *d = console_focus;
    if (d && !d->ended) {
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
        /* A vCPU halted waiting for this input wakes to take it. An
         * event, not a bare wake-up of a blocked vCPU: one that is still
         * running may have handed input over (its last time update) just
         * before these bytes came and be on its way to block; the event
         * makes its slice's end look again (sched.c, after_slice), its
         * halt in place end, and its loop's top take the input. */
        for (unsigned i = 0; i < d->vcpu_count; i++)
            sched_notify(d->vcpus[i]);
    }
    spin_unlock(&domains_lock_);
}

static void print_summary(struct domain *d)
{
    console_lines_begin();
    kprintf("zazen: domain %s (id %u) ended: %s\n", d->name, d->id, d->end_reason);
    if (d->cfg->trace_exits)
        domain_print_trace(d);
    domain_print_exit_counts(d);
    sched_print_vcpu_stats(d, "");
    console_lines_end();
}

NORETURN void zazen_power_off(void);

/* With domains_lock held or not: the domain leaves the list and is freed;
 * the last one powers the machine off. */
static void remove_and_free(struct domain *d)
{
    spin_lock(&domains_lock_);
    bool last = list_remove(d);
    spin_unlock(&domains_lock_);
    domain_destroy(d);
    if (last) {
        sched_print_cpu_stats();
        kprintf("zazen: all domains ended\n");
        zazen_power_off();
    }
}

/* on_poweroff, on_reboot, on_crash; a destroy is a destroy, also one that
 * came while the domain was already ending for another reason (a guest
 * that triple-faults in a loop under on_crash = restart is ending most of
 * the time: the destroy must not be lost in that window). */
static enum domain_action action_for(const struct domain *d)
{
    if (atomic_load(&d->destroy_requested))
        return ACTION_DESTROY;
    switch (d->end_kind) {
    case END_POWEROFF: return d->cfg->on_poweroff;
    case END_REBOOT: return d->cfg->on_reboot;
    case END_CRASH: return d->cfg->on_crash;
    case END_DESTROYED: return ACTION_DESTROY;
    }
    return ACTION_DESTROY;
}

/* A kept (preserved) domain is freed once, by whichever of a destroy and
 * the end of its last vCPU comes to it second. */
static void free_preserved(struct domain *d)
{
    if (atomic_exchange(&d->free_claimed, true))
        return;
    kprintf("zazen: domain %s (id %u) destroyed\n", d->name, d->id);
    remove_and_free(d);
}

/* on_* = restart: the same domain boots again from power-on, its RAM
 * cleared (xl restarts a domain afresh), its devices and vCPUs reset. */
static void restart(struct domain *d)
{
    d->restarts++;
    kprintf("zazen: domain %s (id %u) restarts (%s)\n", d->name, d->id,
            d->end_kind == END_POWEROFF ? "on_poweroff" : d->end_kind == END_REBOOT ? "on_reboot" : "on_crash");
    for (unsigned i = 0; i < d->mem_count; i++)
        if (!d->mem[i].read_only)
            memset(d->mem[i].host, 0, d->mem[i].size);
    d->end_reason[0] = 0;
    atomic_store(&d->ended, false);
    atomic_store_seq(&d->end_claimed, false); /* then the destroy flag is read, below */
    platform_reset(d);
    d->vcpus_live = d->vcpu_count;
    /* A destroy that came after action_for() looked, while the end was
     * still claimed, found nothing to end: end it now, so its vCPUs leave
     * at their first exit and it is freed. */
    if (atomic_load_seq(&d->destroy_requested))
        domain_end_kind(d, END_DESTROYED, "destroyed");
    for (unsigned i = 0; i < d->vcpu_count; i++)
        sched_add_vcpu(d->vcpus[i]);
}

void domain_vcpu_ended(struct vcpu *v)
{
    struct domain *d = v->domain;
    if (atomic_add(&d->vcpus_live, -1u) != 1)
        return; /* another vCPU of the domain is still on its way out */
    platform_finish_output(d); /* the last unfinished line, before the summary */
    print_summary(d);
    switch (action_for(d)) {
    case ACTION_RESTART:
        restart(d);
        break;
    case ACTION_PRESERVE:
        kprintf("zazen: domain %s (id %u) is kept, stopped (destroy frees it)\n", d->name, d->id);
        atomic_store_seq(&d->preserved, true);
        /* A destroy that looked before it was marked kept: free it here
         * (each side stores its flag, then loads the other's). */
        if (atomic_load_seq(&d->destroy_requested))
            free_preserved(d);
        break;
    case ACTION_DESTROY:
        remove_and_free(d);
        break;
    }
}

void domain_destroy_now(struct domain *d)
{
    /* The flag first: if the end is already claimed, whoever finishes it
     * (domain_vcpu_ended, or restart) sees the flag. */
    atomic_store_seq(&d->destroy_requested, true);
    if (atomic_load_seq(&d->preserved)) {
        free_preserved(d);
        return;
    }
    domain_end_kind(d, END_DESTROYED, "destroyed");
}

static void print_domain_line(unsigned id, const struct domain_config *cfg)
{
    char size[24];
    config_format_size(size, sizeof(size), cfg->memory);
    if (cfg->type == DOMAIN_PVH)
        kprintf("zazen: domain %s (id %u): %s RAM, %u vCPU, type pvh (Xen PVH ABI, no BIOS)", cfg->name, id, size,
                cfg->vcpus);
    else
        kprintf("zazen: domain %s (id %u): %s RAM, %u vCPU, %s, firmware %s", cfg->name, id, size, cfg->vcpus,
                cfg->platform == PLATFORM_ISA ? "ISA PC" : "PCI PC",
                cfg->firmware.name[0] ? cfg->firmware.name : "Zazen BIOS");
    kprintf(", weight %u", cfg->weight);
    if (cfg->cap)
        kprintf(", cap %u%%", cfg->cap);
    if (cfg->affinity_given)
        kprintf(", cpus %s", cfg->affinity_text);
    kprintf("\n");
}

/* Builds one domain and hands its vCPUs to the scheduler. */
static bool start_domain(const struct domain_config *cfg, char *why, size_t why_size)
{
    unsigned id = atomic_add(&next_id, 1);
    print_domain_line(id, cfg);
    u64 allocated_before = mm_allocated_bytes();
    struct domain *d = domain_create(id, cfg, boot_files, why, why_size);
    if (!d) {
        kprintf("zazen: domain %s (id %u) ended: not started: %s\n", cfg->name, id, why);
        return false;
    }
    /* What the domain costs the hypervisor beyond its RAM: VMCS or VMCB,
     * nested page tables, bitmaps, device state, the BIOS ROM copy. */
    kprintf("zazen: domain %s (id %u): %llu KiB of hypervisor memory beyond its RAM\n", d->name, d->id,
            (unsigned long long)((mm_allocated_bytes() - allocated_before - d->ram_size) >> 10));
    d->vcpus_live = d->vcpu_count;
    spin_lock(&domains_lock_);
    list_add(d);
    spin_unlock(&domains_lock_);
    for (unsigned i = 0; i < d->vcpu_count; i++)
        sched_add_vcpu(d->vcpus[i]);
    return true;
}

bool domain_create_named(const char *name, char *why, size_t why_size)
{
    const struct domain_config *cfg = NULL;
    for (unsigned i = 0; i < config->domain_count; i++)
        if (strcmp(config->domains[i].name, name) == 0)
            cfg = &config->domains[i];
    if (!cfg)
        return fail(why, why_size, "no domain '%s' in %s", name, boot_files->config_name);
    spin_lock(&domains_lock_);
    struct domain *running = domain_find(name);
    spin_unlock(&domains_lock_);
    if (running)
        return fail(why, why_size, "domain '%s' is already running (id %u)", name, running->id);
    return start_domain(cfg, why, why_size);
}

bool domains_start(const struct config *cfg, const struct bootinfo *bi)
{
    config = cfg;
    boot_files = bi;
    unsigned started = 0, waiting = 0;
    for (unsigned i = 0; i < cfg->domain_count; i++) {
        char why[320]; /* room for a file, its config line and why it cannot be booted */
        if (!cfg->domains[i].autostart) {
            waiting++;
            continue;
        }
        started += start_domain(&cfg->domains[i], why, sizeof(why));
    }
    /* The shell decides who has the console (vmm/shell.c). */
    return started > 0 || waiting > 0;
}
