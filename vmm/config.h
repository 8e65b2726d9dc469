/* zazen.cfg: one [domain NAME] section per guest, "key = value" lines,
 * '#' comments. The parser is pure (no allocation, no I/O) so the boot
 * entries, the core and the host unit tests share it. Format: docs/config.md. */
#ifndef ZAZEN_CONFIG_H
#define ZAZEN_CONFIG_H

#include "types.h"

#define CONFIG_MAX_DOMAINS 16
#define CONFIG_NAME_MAX 32
#define CONFIG_FILE_MAX 96
#define CONFIG_MAX_DISKS 4 /* disk0-disk3: primary master/slave, secondary master/slave */

#define CONFIG_MIN_MEMORY (1 * MiB)
#define CONFIG_MIN_MEMORY_BIOS (2 * MiB) /* the built-in BIOS keeps 64 KiB of ACPI tables at the top */
#define CONFIG_MAX_MEMORY (3 * GiB)
#define CONFIG_MAX_VCPUS 16 /* vCPUs per domain (docs/smp.md) */
#define CONFIG_MAX_FIRMWARE (16 * MiB) /* a flash part ending at 4 GiB, clear of the APICs at FEC00000h */
#define CONFIG_TRACE_MAX_EXITS 4096 /* trace = N: 40 bytes an exit, at most 160 KiB a domain */
/* cmdline = ...: up to 1023 characters (kvm-unit-tests' vmx entry passes
 * over 400). Linux takes 2048 on x86 (COMMAND_LINE_SIZE), but the Multiboot
 * information area (vmm/kernel_boot.c MB_INFO_MAX) holds this one. */
#define CONFIG_CMDLINE_MAX 1024
#define CONFIG_LINE_MAX (CONFIG_CMDLINE_MAX + 32) /* a line of zazen.cfg: "cmdline = " and the longest one */
#define CONFIG_PARTLABEL "partlabel:" /* disk0 = partlabel:NAME: a GPT partition's name */
#define CONFIG_PARTLABEL_MAX 36       /* UTF-16 code units in a GPT partition name (UEFI 2.10 5.3.3) */
#define CONFIG_PARTUUID "partuuid:"   /* disk0 = partuuid:UUID: a GPT partition's unique GUID, as blkid prints it */

/* A file the config names, with the line that names it (for errors). */
struct config_file {
    char name[CONFIG_FILE_MAX];
    const char *key; /* the key that named it: "firmware", ... */
    unsigned line;
    bool read_only;
    bool in_ram; /* ,volatile: a disk kept in RAM, its writes lost at the end (docs/storage.md) */
    bool partition; /* partlabel:NAME or partuuid:UUID, a GPT partition rather than a file (name holds it all) */
};

/* A kernel command line and the line that gave it. */
struct config_cmdline {
    char text[CONFIG_CMDLINE_MAX];
    unsigned line;
};

/* The machine around the guest: a PCI PC (i440FX/PIIX3, I/O APIC, ACPI),
 * or an ISA PC with no PCI devices and no APICs described. */
enum platform_kind { PLATFORM_PC, PLATFORM_ISA };

/* type = hvm | pvh (xl.cfg's names): a fully virtualized PC booting its
 * BIOS, or a Xen PVH domain entered at its kernel's PVH entry point that
 * talks to Zazen by hypercalls (vmm/domain_type.h, docs/paravirt.md). */
enum domain_type { DOMAIN_HVM, DOMAIN_PVH };

/* paravirt = none | kvm (VirtualBox's paravirtprovider names it so): the
 * hypervisor interface an hvm domain's CPUID announces at 4000_0000h.
 * none: Zazen's own signature, no interface; kvm: the subset of the KVM
 * ABI Zazen implements, kvmclock (vmm/kvm.c, docs/paravirt.md). */
enum paravirt_kind { PARAVIRT_NONE, PARAVIRT_KVM };

/* What happens when a domain powers off, reboots or crashes (xl.cfg's
 * on_poweroff, on_reboot, on_crash). */
enum domain_action { ACTION_DESTROY, ACTION_RESTART, ACTION_PRESERVE };

struct domain_config {
    char name[CONFIG_NAME_MAX];
    unsigned line; /* of the [domain NAME] header */
    u64 memory;
    unsigned vcpus;
    unsigned vcpus_line;                        /* where vcpus was given; 0: not given */
    enum platform_kind platform;
    enum domain_type type;                      /* type = hvm (default) | pvh */
    unsigned type_line;
    struct config_file firmware;                /* name[0] == 0: the built-in Zazen BIOS */
    struct config_file disks[CONFIG_MAX_DISKS]; /* name[0] == 0: none */
    struct config_file cdrom;                   /* on the secondary master */
    bool boot_cdrom_first;                      /* boot = cdrom */
    unsigned stats_seconds;                     /* stats = N: exit counts every N s; 0: only at the end */
    unsigned trace_exits;                       /* trace = N: the last N exits printed at the end; 0: none */
    /* The scheduler (docs/scheduler.md), with xl.cfg's names and meanings. */
    unsigned weight;        /* share of CPU in proportion: 1-65535, default 256 */
    unsigned cap;           /* percent of one CPU it may use: 0 (none) to 100 */
    u64 affinity;           /* cpus = 0-1: bit i, host CPU i; all CPUs when not given */
    bool affinity_given;
    unsigned affinity_line;
    char affinity_text[32]; /* as written, for messages */
    enum domain_action on_poweroff, on_reboot, on_crash; /* defaults as xl: destroy, restart, destroy */
    bool autostart;         /* started with Zazen; else by the create verb */
    bool x2apic;            /* `x2apic = yes`: CPUID offers x2APIC mode (docs/smp.md) */
    enum paravirt_kind paravirt; /* hvm only; kvm implies x2apic = yes unless x2apic is given */
    unsigned paravirt_line;
    struct config_file kernel;                  /* direct kernel boot (vmm/kernel_boot.h); name[0] == 0: none */
    struct config_file ramdisk;                 /* its initrd (Linux) or first module (Multiboot) */
    struct config_cmdline cmdline;              /* its command line; text[0] == 0: none */
    u32 keys_seen; /* bit i: keys[i] of config.c was given */
};

/* [host]: keys for Zazen itself rather than a domain. */
struct host_config {
    unsigned line;       /* of the [host] header; 0: no such section */
    unsigned cpus;       /* cpus = N: use at most N host CPUs; 0: all */
    u64 timeslice_ns;    /* timeslice = 30ms: the longest a vCPU runs before another may */
    u32 keys_seen;
};

#define CONFIG_DEFAULT_WEIGHT 256
#define CONFIG_DEFAULT_TIMESLICE_NS (30ull * 1000 * 1000)

struct config {
    struct host_config host;
    struct domain_config domains[CONFIG_MAX_DOMAINS];
    unsigned domain_count;
};

struct config_error {
    unsigned line; /* 0: the error concerns the whole file */
    char msg[256];
};

/* Parses text (not necessarily NUL-terminated). Returns false and fills err
 * on the first error. */
bool config_parse(const char *text, size_t len, struct config *cfg, struct config_error *err);

/* Calls fn for every file the config names, in config order (not the
 * partlabel: disks, which are no files). Stops and returns false as soon
 * as fn does. */
typedef bool (*config_file_fn)(void *ctx, const struct domain_config *d, const struct config_file *f);
bool config_for_each_file(const struct config *cfg, config_file_fn fn, void *ctx);

/* Checks a loaded file's size against what its key allows (a firmware
 * image: 1 byte to 16 MiB; a kernel or ramdisk: not empty, at most 3G). */
bool config_check_file_size(const struct config_file *f, u64 size, struct config_error *err);

/* After the CPUs are up: every cpus = names CPUs that are online (bit i
 * of online: CPU i). False and err on the first that does not. */
bool config_check_cpus(const struct config *cfg, u64 online, unsigned online_count, struct config_error *err);

/* "64M" etc., for messages. */
void config_format_size(char *buf, size_t size, u64 bytes);

#endif
