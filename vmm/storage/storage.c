/* Guest disks in place on the boot disk (storage.h). */
#include "storage.h"
#include "ahci.h"
#include "ata.h"
#include "nvme.h"
#include "hostpci.h"
#include "block.h"
#include "overlay.h"
#include "../console.h"
#include "../format.h"
#include "../mm.h"
#include "../string.h"
#include "../x86.h"

#define MAX_STORES (CONFIG_MAX_DOMAINS * CONFIG_MAX_DISKS)
#define VERIFY_BYTES BOOTINFO_HEAD_BYTES /* what is compared with what the boot loader read */

struct store_entry {
    const struct config_file *f; /* the config line that opened it */
    struct block_store store;
    struct block_request req; /* the IDE device's one request at a time */
    struct ide_backend ide;
    /* ,volatile in place: the guest's writes go to the overlay, never to
     * the disk; reads are the disk's with the overlay laid over them. */
    bool is_volatile;
    bool guest_read_only; /* ,ro as well: the guest may not write at all */
    struct overlay overlay;
    bool local;                 /* the last request ended without the disk (an overlay write, a flush) */
    bool patch;                 /* a read still to be laid over with the overlay when it ends */
    u64 read_lba;
    u32 read_count;
    u8 *read_buf;
    bool full_said;             /* the overlay's end was reported */
};

static struct store_entry stores[MAX_STORES];
static unsigned store_count;

/* A ,volatile disk's write or flush never reaches the disk: the write
 * lands in the overlay at once (or fails: the guest gets an I/O error). */
static bool volatile_submit(struct store_entry *e, enum ide_io_op op, u64 lba, u32 count, void *buf)
{
    if (op == IDE_IO_WRITE) {
        if (e->guest_read_only || lba > e->store.sectors || count > e->store.sectors - lba)
            return false;
        if (!overlay_write(&e->overlay, lba, count, buf)) {
            if (!e->full_said)
                kprintf("zazen: storage: %s '%s' (,volatile): its %llu MiB of changes in RAM are used up or no "
                        "memory is left: the guest's writes to new sectors fail (I/O error)\n",
                        e->f->key, e->f->name, (unsigned long long)(OVERLAY_BUDGET_BYTES >> 20));
            e->full_said = true;
            return false;
        }
    }
    e->local = true;
    return true;
}

/* The IDE device's backend (devmodel/ide.h) on a store's request. */
static bool ide_submit(void *ctx, enum ide_io_op op, u64 lba, u32 count, void *buf)
{
    struct store_entry *e = ctx;
    if (e->is_volatile && op != IDE_IO_READ)
        return volatile_submit(e, op, lba, count, buf);
    enum block_op bop = op == IDE_IO_READ ? BLOCK_READ : op == IDE_IO_WRITE ? BLOCK_WRITE : BLOCK_FLUSH;
    if (!block_submit(&e->req, e->store.dev, &e->store, bop, lba, count, buf))
        return false;
    e->local = false;
    e->patch = e->is_volatile;
    e->read_lba = lba;
    e->read_count = count;
    e->read_buf = buf;
    return true;
}

static enum ide_io_status ide_poll(void *ctx)
{
    struct store_entry *e = ctx;
    if (e->local)
        return IDE_IO_DONE;
    switch (block_poll(&e->req)) {
    case BLOCK_PENDING: return IDE_IO_PENDING;
    case BLOCK_DONE:
        if (e->patch)
            overlay_read(&e->overlay, e->read_lba, e->read_count, e->read_buf);
        e->patch = false;
        return IDE_IO_DONE;
    case BLOCK_FAILED: break;
    }
    return IDE_IO_FAILED;
}

static bool dev_reader(void *ctx, u64 lba, u32 count, void *buf) { return block_dev_read(ctx, lba, count, buf); }

static const struct bootinfo_file *loaded(const struct bootinfo *bi, const char *name)
{
    for (u32 i = 0; i < bi->file_count; i++)
        if (strcmp(bi->files[i].name, name) == 0)
            return &bi->files[i];
    return NULL;
}

/* Every disk but the ,volatile ones the boot loader loaded whole (those
 * are the guest's copy in RAM): the IDE device and the PVH block backend
 * both reach a store through its ide_backend. A ,volatile disk the boot
 * loader left on the disk is a store with an overlay. */
static bool wants_store(const struct bootinfo *bi, const struct config_file *f)
{
    if (!f->name[0])
        return false;
    if (!f->in_ram || f->partition)
        return true;
    const struct bootinfo_file *bf = loaded(bi, f->name);
    return bf && bf->in_place_only;
}

/* The file found on a disk must be the one the boot loader loaded: same
 * size, same first 64 KiB and last sector (another volume may hold a file
 * of the same path). */
static bool same_as_loaded(struct block_device *dev, const struct fat_file *ff, const struct bootinfo_file *bf, u8 *buf)
{
    if (ff->size != bf->size || !bf->head || !bf->tail)
        return false;
    struct block_store s = {.dev = dev, .file = *ff, .sectors = ff->size / BLOCK_SECTOR, .read_only = true};
    u64 head = MIN(ff->size, (u64)VERIFY_BYTES);
    if (head && (!block_store_read(&s, 0, (u32)(head / BLOCK_SECTOR), buf) || memcmp(buf, bf->head, head) != 0))
        return false;
    if (s.sectors && (!block_store_read(&s, s.sectors - 1, 1, buf) ||
                      memcmp(buf, bf->tail, BLOCK_SECTOR) != 0))
        return false;
    return true;
}

static bool fail(const struct bootinfo *bi, const struct config_file *f, const char *why)
{
    kprintf("zazen: %s:%u: %s '%s': %s\n", bi->config_name, f->line, f->key, f->name, why);
    return false;
}

static bool extents_overlap(const struct fat_file *a, const struct fat_file *b)
{
    for (u32 i = 0; i < a->extent_count; i++)
        for (u32 j = 0; j < b->extent_count; j++) {
            const struct fat_extent *x = &a->extents[i], *y = &b->extents[j];
            if (x->lba < y->lba + y->sectors && y->lba < x->lba + x->sectors)
                return true;
        }
    return false;
}

/* Two stores on the same sectors, one of them writable: one file under
 * two names (config.c catches the same name twice; the FAT ignores case),
 * or a file inside a partition that is a disk too. */
static bool check_overlap(const struct bootinfo *bi, const struct config_file *f, struct block_device *dev,
                          const struct fat_file *ff)
{
    for (unsigned j = 0; j < store_count; j++) {
        struct block_store *o = &stores[j].store;
        if (o->dev == dev && extents_overlap(&o->file, ff) && (!o->read_only || !(f->read_only || f->in_ram))) {
            char why[200];
            snprintf(why, sizeof(why), "the same %s as %s '%s' (line %u): give each its own image, or add ,ro",
                     f->partition || stores[j].f->partition ? "sectors" : "file", stores[j].f->key, stores[j].f->name,
                     stores[j].f->line);
            return fail(bi, f, why);
        }
    }
    return true;
}

static bool add_store(const struct bootinfo *bi, const struct config_file *f, struct block_device *dev,
                      const struct fat_file *ff)
{
    if (store_count == MAX_STORES)
        return fail(bi, f, "too many disks");
    u8 *bounce = page_alloc(IDE_BOUNCE_BYTES);
    if (!bounce)
        return fail(bi, f, "no memory for its bounce buffer");
    struct store_entry *e = &stores[store_count++];
    e->f = f;
    /* A ,volatile disk's store is read-only: the disk is never written. */
    e->store = (struct block_store){.dev = dev, .file = *ff, .sectors = ff->size / BLOCK_SECTOR,
                                    .read_only = f->read_only || f->in_ram};
    e->is_volatile = f->in_ram;
    e->guest_read_only = f->read_only;
    if (e->is_volatile && !overlay_init(&e->overlay, OVERLAY_MAX_SECTORS, page_alloc)) {
        store_count--;
        page_free(bounce, IDE_BOUNCE_BYTES);
        return fail(bi, f, "no memory for the index of its overlay in RAM (,volatile)");
    }
    e->req = (struct block_request){.status = BLOCK_DONE};
    e->ide = (struct ide_backend){ide_submit, ide_poll, e, bounce};
    return true;
}

/* partlabel:NAME or partuuid:UUID: that GPT partition, on the first disk
 * that has it. A disk whose GPT is corrupt (both headers) stops the
 * search with an error naming it. */
static bool open_partition(const struct bootinfo *bi, const struct config_file *f)
{
    bool by_uuid = strncmp(f->name, CONFIG_PARTUUID, strlen(CONFIG_PARTUUID)) == 0;
    const char *want = f->name + strlen(by_uuid ? CONFIG_PARTUUID : CONFIG_PARTLABEL);
    char why[200] = "";
    for (unsigned i = 0; i < block_device_count(); i++) {
        struct block_device *dev = block_device_get(i);
        struct fat_reader r = {dev_reader, dev, dev->sectors};
        struct fat_file ff;
        enum fat_result res = by_uuid ? gpt_find_uuid(&r, want, &ff, why, sizeof(why))
                                      : gpt_find_label(&r, want, &ff, why, sizeof(why));
        if (res == FAT_BAD) {
            char on_dev[sizeof(why) + sizeof(dev->name) + 8];
            snprintf(on_dev, sizeof(on_dev), "%s: %s", dev->name, why);
            return fail(bi, f, on_dev);
        }
        if (res != FAT_FOUND)
            continue;
        if (!check_overlap(bi, f, dev, &ff) || !add_store(bi, f, dev, &ff))
            return false;
        kprintf("zazen: storage: %s '%s' is partition %s%s%s of %s, sectors %llu-%llu%s\n", f->key, f->name,
                by_uuid ? "" : "'", want, by_uuid ? "" : "'", dev->name, (unsigned long long)ff.extents[0].lba,
                (unsigned long long)(ff.extents[0].lba + ff.extents[0].sectors - 1), f->read_only ? ", read-only" : "");
        if (ff.gpt_backup)
            kprintf("zazen: storage: %s: the GPT's primary header or entries are corrupt: its backup at sector %llu "
                    "was used (repair it with a GPT tool, e.g. gdisk's recovery menu)\n",
                    dev->name, (unsigned long long)(dev->sectors - 1));
        return true;
    }
    snprintf(why, sizeof(why), "no GPT partition %s '%s' on the %u disk%s the host drivers found",
             by_uuid ? "with PARTUUID" : "named", want, block_device_count(), block_device_count() == 1 ? "" : "s");
    return fail(bi, f, why);
}

/* Opens one disk's store; false: an error that stops Zazen. */
static bool open_store(const struct bootinfo *bi, const char *folder, const struct config_file *f, u8 *buf)
{
    char path[BOOTINFO_NAME_MAX + CONFIG_FILE_MAX + 2];
    snprintf(path, sizeof(path), "%s%s", folder, f->name);
    const struct bootinfo_file *bf = loaded(bi, f->name);
    char why[200] = "";
    struct fat_file ff;
    bool bad = false;
    for (unsigned i = 0; i < block_device_count(); i++) {
        struct block_device *dev = block_device_get(i);
        struct fat_reader r = {dev_reader, dev, dev->sectors};
        enum fat_result res = fat_locate(&r, path, &ff, why, sizeof(why));
        if (res == FAT_BAD) {
            bad = true;
            continue;
        }
        if (res != FAT_FOUND || !bf || !same_as_loaded(dev, &ff, bf, buf))
            continue;
        if (!check_overlap(bi, f, dev, &ff))
            return false;
        if (!add_store(bi, f, dev, &ff))
            return false;
        char changes[80] = "";
        if (f->in_ram)
            snprintf(changes, sizeof(changes), ", volatile: its writes go to an overlay in RAM (at most %llu MiB)",
                     (unsigned long long)(OVERLAY_BUDGET_BYTES >> 20));
        kprintf("zazen: storage: %s '%s' in place on %s, %u piece%s from sector %llu%s%s\n", f->key, f->name,
                dev->name, ff.extent_count, ff.extent_count == 1 ? "" : "s",
                (unsigned long long)(ff.extent_count ? ff.extents[0].lba : 0), f->read_only ? ", read-only" : "",
                changes);
        return true;
    }
    if (bad)
        return fail(bi, f, why);
    if (bf && bf->in_place_only) {
        /* The boot loader read only its ends, expecting a driver to reach
         * it: there is no copy in RAM to fall back on. */
        snprintf(why, sizeof(why), "'%s' was not loaded into RAM (the boot disk is one Zazen's drivers reach), "
                 "but %s", path, block_device_count() ? "no disk a host driver found holds it (or its contents differ)"
                                                        : "no host storage driver found a disk");
        return fail(bi, f, why);
    }
    kprintf("zazen: %s:%u: %s '%s' is kept in RAM (loaded whole), its writes lost at power-off: %s\n",
            bi->config_name, f->line, f->key, f->name,
            block_device_count() ? "no disk a host driver found holds it" : "no host storage driver found a disk");
    return true;
}

/* A boot loader that gives a folder for zazen.cfg (UEFI) booted from a
 * volume; GRUB's modules (multiboot2) name none. */
static bool booted_from_volume(const struct bootinfo *bi)
{
    for (const char *p = bi->config_name; *p; p++)
        if (*p == '\\' || *p == '/')
            return true;
    return false;
}

static unsigned premap_ahci(unsigned bus, unsigned dev, unsigned fn)
{
    u64 base = hostpci_mem_bar(bus, dev, fn, 0x24);
    return base && mm_map_mmio(base, 64 * KiB);
}

static unsigned premap_nvme(unsigned bus, unsigned dev, unsigned fn)
{
    u64 base = hostpci_mem_bar(bus, dev, fn, 0x10);
    return base && mm_map_mmio(base, 64 * KiB);
}

void storage_map_registers(const struct bootinfo *bi)
{
    if (!booted_from_volume(bi))
        return;
    hostpci_for_class(0x010601, premap_ahci);
    hostpci_for_class(0x010802, premap_nvme);
}

bool storage_init(const struct config *cfg, const struct bootinfo *bi)
{
    bool any = false;
    for (unsigned d = 0; d < cfg->domain_count; d++)
        for (unsigned i = 0; i < CONFIG_MAX_DISKS; i++)
            any |= wants_store(bi, &cfg->domains[d].disks[i]);
    if (!any)
        return true;
    /* The folder zazen.cfg came from: the names are relative to it. A boot
     * loader that gives no folder (GRUB's modules) gives no volume either. */
    char folder[BOOTINFO_NAME_MAX];
    strlcpy(folder, bi->config_name, sizeof(folder));
    size_t cut = 0;
    for (size_t i = 0; folder[i]; i++)
        if (folder[i] == '\\' || folder[i] == '/')
            cut = i + 1;
    folder[cut] = 0;
    bool partitions = false;
    for (unsigned d = 0; d < cfg->domain_count; d++)
        for (unsigned i = 0; i < CONFIG_MAX_DISKS; i++)
            partitions |= wants_store(bi, &cfg->domains[d].disks[i]) && cfg->domains[d].disks[i].partition;
    if (booted_from_volume(bi) || partitions) {
        ahci_probe();
        nvme_probe();
        ata_probe();
    }
    u8 *buf = page_alloc(VERIFY_BYTES);
    if (!buf)
        return false;
    bool ok = true;
    for (unsigned d = 0; d < cfg->domain_count && ok; d++)
        for (unsigned i = 0; i < CONFIG_MAX_DISKS && ok; i++) {
            const struct config_file *f = &cfg->domains[d].disks[i];
            if (wants_store(bi, f))
                ok = f->partition ? open_partition(bi, f) : open_store(bi, folder, f, buf);
        }
    page_free(buf, VERIFY_BYTES);
    return ok;
}

const struct ide_backend *storage_backend(const struct config_file *f)
{
    for (unsigned i = 0; i < store_count; i++)
        if (stores[i].f == f)
            return &stores[i].ide;
    return NULL;
}

u64 storage_sectors(const struct config_file *f)
{
    for (unsigned i = 0; i < store_count; i++)
        if (stores[i].f == f)
            return stores[i].store.sectors;
    return 0;
}

void storage_print_stats(void)
{
    for (unsigned i = 0; i < block_device_count(); i++) {
        const struct block_device *dev = block_device_get(i);
        if (!dev->reads && !dev->writes && !dev->flushes && !dev->errors)
            continue;
        kprintf("zazen: storage: %s: %llu reads, %llu writes, %llu flushes, %llu errors, %u requests queued at "
                "most, %llu looks at a running command\n",
                dev->name, (unsigned long long)dev->reads, (unsigned long long)dev->writes,
                (unsigned long long)dev->flushes, (unsigned long long)dev->errors, dev->max_depth,
                (unsigned long long)dev->polls);
    }
}

static struct store_entry *store_named(const char *name)
{
    for (unsigned i = 0; i < store_count; i++)
        if (strcmp(stores[i].f->name, name) == 0)
            return &stores[i];
    return NULL;
}

/* Reads `bytes` of s from its start in requests of `piece` bytes; the
 * TSC ticks it took, or 0 on a read error. */
static u64 bench_sequential(struct block_store *s, u64 bytes, u32 piece, u8 *buf)
{
    u64 t0 = rdtsc();
    for (u64 at = 0; at < bytes; at += piece)
        if (!block_store_read(s, at / BLOCK_SECTOR, piece / BLOCK_SECTOR, buf))
            return 0;
    return MAX(rdtsc() - t0, 1ull);
}

/* STORAGE_BENCH_RANDOM 4 KiB reads at places a 64-bit LCG (Knuth's MMIX
 * constants) picks among the store's 4 KiB blocks: the same places every
 * time, none cached by anything in between (the block layer keeps none). */
static u64 bench_random(struct block_store *s, u8 *buf)
{
    u64 blocks = s->sectors / 8, x = 1;
    u64 t0 = rdtsc();
    for (unsigned i = 0; i < STORAGE_BENCH_RANDOM; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        if (!block_store_read(s, (x >> 33) % blocks * 8, 8, buf))
            return 0;
    }
    return MAX(rdtsc() - t0, 1ull);
}

const char *storage_bench(const char *name, struct storage_bench *b)
{
    struct store_entry *e = store_named(name);
    if (!e)
        return "no disk of zazen.cfg by that name is in place on a host disk";
    struct block_store *s = &e->store;
    if (s->sectors < 8)
        return "the disk is smaller than 4 KiB";
    const u32 mib = 1u << 20;
    u8 *buf = page_alloc(mib);
    if (!buf)
        return "no memory for a 1 MiB buffer";
    *b = (struct storage_bench){.bytes = MIN(s->sectors * BLOCK_SECTOR / mib * mib, STORAGE_BENCH_MAX_BYTES)};
    const char *why = NULL;
    if (b->bytes && !(b->seq_1m_ticks = bench_sequential(s, b->bytes, mib, buf)))
        why = "a read failed (the host disk's error is on the console)";
    else if (!(b->seq_4k_ticks = bench_sequential(s, b->bytes, 4096, buf)) ||
             !(b->random_ticks = bench_random(s, buf)))
        why = "a read failed (the host disk's error is on the console)";
    page_free(buf, mib);
    return why;
}
