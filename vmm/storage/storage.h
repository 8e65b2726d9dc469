/* Guest disks that persist: at boot, the host drivers find the disks, and
 * each disk image the config names (disk0-3 without ,volatile) is found
 * in place on the boot disk's FAT volume and becomes a block store; the
 * IDE device then reads and writes the file's own sectors (docs/storage.md). */
#ifndef ZAZEN_STORAGE_STORAGE_H
#define ZAZEN_STORAGE_STORAGE_H

#include "../bootinfo.h"
#include "../config.h"
#include "../../devmodel/ide.h"

/* Probes the drivers (when some disk wants a store) and opens a store for
 * every disk that is not ,volatile. A corrupt volume, a fragmented file or
 * two writable uses of one file print an error naming the config's file
 * and line and return false (nothing was written). A disk no driver
 * reaches stays in RAM, and the console says so. */
bool storage_init(const struct config *cfg, const struct bootinfo *bi);

/* Before paging_init: the storage controllers' registers are mapped
 * wherever the firmware put them (a 64-bit BAR may be far above RAM). */
void storage_map_registers(const struct bootinfo *bi);

/* The backend for a disk the config names, or NULL: keep it in RAM. */
const struct ide_backend *storage_backend(const struct config_file *f);
/* The size of the store storage_backend gave, in 512-byte sectors. */
u64 storage_sectors(const struct config_file *f);

/* disk-bench (mgmt.c): the host's own reads of the store a config names
 * (its file name or partlabel:/partuuid: as written), the workload Linux's
 * O_DIRECT dd runs on the guest's disk (tools/linux-init zazen.bench=disk):
 * the store from its start in 1 MiB and in 4 KiB requests (at most
 * STORAGE_BENCH_MAX_BYTES of it), then STORAGE_BENCH_RANDOM 4 KiB reads at
 * 4 KiB-aligned places a fixed sequence picks. Synchronous: the CPU that
 * runs it (the shell's) waits for the disk, for seconds. NULL, or why not. */
#define STORAGE_BENCH_MAX_BYTES (256ull << 20)
#define STORAGE_BENCH_RANDOM 200
struct storage_bench {
    u64 bytes;                     /* read by each sequential pass */
    u64 seq_1m_ticks, seq_4k_ticks; /* host TSC ticks */
    u64 random_ticks;
};
const char *storage_bench(const char *name, struct storage_bench *b);

/* Each host disk's requests so far (reads, writes, flushes, errors), the
 * deepest its queue was, and how often a poll found a command still
 * running (the guest's vCPU had gone on meanwhile): at a domain's end. */
void storage_print_stats(void);

#endif
