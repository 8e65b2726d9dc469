/* Domains: one guest each, with its RAM, its devices and its vCPUs. */
#ifndef ZAZEN_DOMAIN_H
#define ZAZEN_DOMAIN_H

#include "../devmodel/debugcon.h"
#include "../devmodel/pc.h"
#include "bootinfo.h"
#include "config.h"
#include "exit.h"
#include "fw_cfg_content.h"
#include "lock.h"
#include "sched.h"
#include "trace.h"
#include "vcpu.h"
#include "x86.h"

#define DOMAIN_MAX_MEM_REGIONS 64
#define DOMAIN_MAX_VCPUS CONFIG_MAX_VCPUS
#define CONSOLE_INPUT_RING 256

/* Console input on its way to the guest: [0] for COM1, [1] for the
 * keyboard. Written by CPU 0 (the console service), read on the CPU the
 * domain's vCPU runs on: "console input" in the lock order. */
struct console_input {
    struct spinlock lock;
    u8 ring[CONSOLE_INPUT_RING];
    unsigned head, tail[2];
};

/* Exit counts and the core's ticks, for the whole run or since the last
 * periodic report: counts[] and ticks[] are per reason, phase[] per
 * enum core_phase. */
struct exit_stats {
    u64 counts[EXIT_REASON_COUNT];
    u64 ticks[EXIT_REASON_COUNT];
    u64 phase[4];
    struct devices_lock_stats {
        u64 taken;       /* times a vCPU took it */
        u64 waited;      /* of those, times it was held by another vCPU (or asked for) */
        u64 wait_ticks;  /* TSC ticks spent spinning for it */
        u64 held_ticks;  /* TSC ticks it was held */
    } lock;
};

/* Why a domain ended, which decides what happens next (on_poweroff,
 * on_reboot, on_crash; a destroy is final). */
enum end_kind { END_CRASH, END_POWEROFF, END_REBOOT, END_DESTROYED };

/* Requests to a domain from outside it (management), carried out by its
 * own vCPU at its next safe point: the device model is its vCPU's. */
#define DOMAIN_REQ_POWER_BUTTON BIT(0) /* shutdown: the ACPI power button */
#define DOMAIN_REQ_CTRL_ALT_DEL BIT(1) /* reboot: Ctrl-Alt-Del on its keyboard */

/* One stretch of guest-physical space backed by host memory. */
struct guest_mem_region {
    u64 gpa;
    u64 size;
    u8 *host;       /* identity-mapped host memory; NULL: reads go to the bus (nothing mapped) */
    bool read_only; /* a ROM: writes do not reach host... */
    bool owned;     /* allocated for this domain (freed with it) */
    u8 *write_to;   /* ...but, if not NULL, go here (a PAM segment that reads ROM and writes RAM) */
};

/* The scratch pages of one domain's CPU-access windows: enough for one
 * instruction's own writes (a descriptor, a PDE and a PTE, a TSS). */
#define CPU_ACCESS_WINDOWS 4

/* The PC's 640 KiB-1 MiB area: shadow RAM under the firmware ROM, steered
 * by the i440FX PAM registers (devmodel/piix.h) in 13 segments. */
#define DOMAIN_ROM_LOW_WINDOW (128 * KiB) /* the ROM's last 128 KiB answer at E0000h-FFFFFh */

/* The fast way times one exit in this many of each reason's
 * (vmm/fast_way.h; domain.fast_untimed counts down to it) and counts its
 * ticks that many times (domain.exit_ticks, the handler's phase): the
 * "core ticks per exit" figures stay the average of the reason's exits,
 * and the others are spared two TSC reads, their subtraction and two
 * sums, about a tenth of a fast CPUID. The full way times every exit. */
#define FAST_TIMING_SAMPLE 16

struct domain {
    unsigned id; /* from 1, in config order */
    char name[CONFIG_NAME_MAX];
    const struct domain_config *cfg;
    struct guest_mem_region mem[DOMAIN_MAX_MEM_REGIONS];
    unsigned mem_count;
    /* Bumped by every change of mem[] (a region added, removed, or
     * pointed at other host memory: domain_regions_changed), so what was
     * worked out from the regions can tell it still holds. */
    u32 mem_generation;
    /* domain_find_region's memory of its last answers: the region it
     * found last, and a page no region covers (at mem_generation then).
     * Relaxed atomics: vCPUs look up concurrently, and a stale hint is
     * only checked again. */
    unsigned region_hint;
    u64 region_miss_page;    /* page address + 1; 0: none */
    u32 region_miss_generation;
    u64 ram_size;
    u8 *ram, *rom;               /* the host blocks behind the regions */
    u8 *unclaimed_pci;           /* 16 KiB of all ones, shared (what C0000h-DFFFFh read from PCI) */
    u64 rom_size;                /* the image, rounded up to whole pages and at least 128 KiB */
    unsigned pam_region;         /* mem[pam_region + i] is PAM segment i */
    struct vcpu *vcpus[DOMAIN_MAX_VCPUS];
    unsigned vcpu_count;
    struct pc pc;                /* the emulated PC: every device, its bus and clock */
    /* With several vCPUs: held while a vCPU touches the device model (its
     * exits' handlers, device time, interrupt delivery), never while it
     * runs the guest; "devices" in the lock order, before "runqueue"
     * (docs/smp.md). A domain of one vCPU does not take it. */
    struct flaglock devices_lock; /* not a ticket lock: lock.h says why */
    /* Its figures (several vCPUs only), updated by the holder: a vCPU
     * that spins while the holder's host CPU is elsewhere (a preempted
     * QEMU thread under TCG) shows here as wait ticks. */
    struct devices_lock_stats devices_lock_stats;
    u64 devices_lock_longest_wait, devices_lock_longest_hold; /* ticks, ever */
    u64 devices_lock_since;      /* TSC when the holder took it */
    struct ide_disk disks[4];    /* images the config names, as the IDE sees them */
    struct debugcon debugcon;
    char console_prefix[CONFIG_NAME_MAX + 4]; /* "(name) ": heads its console lines */
    char com1_line[200];         /* COM1 output not yet printed */
    unsigned com1_len;
    unsigned com1_shown;         /* how much of com1_line is shown unfinished */
    u64 com1_bytes;              /* COM1 bytes sent, ever */
    u64 output_seen;             /* COM1 and debug console bytes at the last look */
    u64 output_at;               /* domain time when output_seen last changed */
    bool reset_requested;        /* by the guest: port 64h, 92h or CF9h */
    unsigned resets;
    u8 post_code;                /* the last byte written to port 80h */
    u64 kvm_wall_clock;          /* MSR_KVM_WALL_CLOCK_NEW as written (vmm/kvm.c, paravirt = kvm) */
    struct console_input console_input;
    u64 exit_counts[EXIT_REASON_COUNT];
    /* TSC ticks the core spent on exits, from the backend's return to its
     * next entry, by reason and by phase (enum core_phase). */
    u64 exit_ticks[EXIT_REASON_COUNT];
    u64 phase_ticks[4];
    /* The fast way's exits of each reason left until the next it times
     * (FAST_TIMING_SAMPLE, vmm/fast_way.h): 1 to FAST_TIMING_SAMPLE. */
    u8 fast_untimed[EXIT_REASON_COUNT];
    struct trace_ring trace;     /* trace = N: the last N exits; capacity 0 without */
    struct fw_cfg_content *fw_cfg; /* the blobs the fw_cfg device hands out */
    struct exit_stats stats_last; /* stats = N: the counts at the last report */
    u64 stats_next;               /* domain time of the next report */
    struct sched_domain sched;
    /* kernel = (direct kernel boot): the loaded files, placed again at every reset */
    const struct bootinfo_file *kernel, *ramdisk;
    const char *config_name;
    bool ended;
    bool end_claimed;            /* the first end_domain took it (atomic): its reason counts */
    enum end_kind end_kind;
    char end_reason[256];
    bool preserved;               /* over and kept, stopped, for inspection (on_* = preserve) */
    bool destroy_requested;       /* management's destroy (atomic): wins over on_* = restart or preserve */
    bool free_claimed;            /* whoever sets it first (atomic) frees a preserved domain */
    u32 paused;                   /* by management: its vCPUs stay out of the run queues */
    u32 requests;                 /* DOMAIN_REQ_* waiting for its vCPU */
    unsigned restarts;            /* times on_* = restart started it again */
    u64 started_tsc;              /* when it was created (uptime) */
    unsigned vcpus_live;          /* vCPUs not yet out of the scheduler */
    struct domain *next;          /* in the list of live domains, by id */
    /* Pages where the CPU's own writes to ROM or to nothing land and are
     * forgotten (vmm/cpu_access.c): each maps a scratch copy in place of
     * the guest-physical page at gpa until the domain's next exit. */
    struct cpu_access_window {
        u64 gpa;     /* page aligned; meaningful while page != NULL */
        u8 *page;
    } cpu_windows[CPU_ACCESS_WINDOWS];
    unsigned cpu_window_count;   /* read unlocked as a hint on every exit */
    struct spinlock cpu_window_lock; /* the vCPUs of an SMP domain open and close them */
    u8 *cpu_window_pages;        /* CPU_ACCESS_WINDOWS scratch pages, allocated at first use */
    void *arch; /* the backend's per-domain state (nested tables, ASID/VPID) */
    const struct domain_type_ops *type; /* hvm or pvh (vmm/domain_type.h) */
    struct xen_domain *xen;         /* pvh: the Xen interface's state (vmm/xen/xen.h) */
};

/* Whether the devices lock is taken at all: only a domain with more than
 * one vCPU shares its devices between CPUs (the count is fixed at
 * creation). */
static inline bool domain_devices_shared(const struct domain *d) { return d->vcpu_count > 1; }

/* Counted: a try first, and only a vCPU that finds it taken reads the
 * TSC before it spins (two TSC reads per hold otherwise, for the time it
 * is held). For a domain whose devices are shared. */
static inline void domain_devices_lock_shared(struct domain *d)
{
    u64 waited = 0;
    if (!flag_trylock(&d->devices_lock)) {
        u64 t0 = rdtsc();
        flag_lock(&d->devices_lock);
        waited = rdtsc() - t0;
    }
    struct devices_lock_stats *s = &d->devices_lock_stats;
    s->taken++;
    if (waited) {
        s->waited++;
        s->wait_ticks += waited;
        if (waited > d->devices_lock_longest_wait)
            d->devices_lock_longest_wait = waited;
    }
    d->devices_lock_since = rdtsc();
}

static inline void domain_devices_unlock_shared(struct domain *d)
{
    u64 held = rdtsc() - d->devices_lock_since;
    d->devices_lock_stats.held_ticks += held;
    if (held > d->devices_lock_longest_hold)
        d->devices_lock_longest_hold = held;
    flag_unlock(&d->devices_lock);
}

static inline void domain_devices_lock(struct domain *d)
{
    if (domain_devices_shared(d))
        domain_devices_lock_shared(d);
}

static inline void domain_devices_unlock(struct domain *d)
{
    if (domain_devices_shared(d))
        domain_devices_unlock_shared(d);
}

/* The core's part of an exit's round trip, in the order of the run loop. */
enum core_phase { PHASE_TIME, PHASE_HANDLER, PHASE_DELIVERY, PHASE_TIMER };

/* Builds a domain from its config and the files the boot entry loaded.
 * On failure returns NULL with why filled. */
struct domain *domain_create(unsigned id, const struct domain_config *cfg, const struct bootinfo *bi, char *why,
                             size_t why_size);
void domain_destroy(struct domain *d);
/* Starts every domain of the config (each gets the next id, from 1) and
 * hands their vCPUs to the scheduler; a domain that cannot be built is
 * reported and the others go on. False if none could start. */
bool domains_start(const struct config *cfg, const struct bootinfo *bi);
/* Ends the domain as crashed, with a reason; its vCPUs stop at their next
 * exit, and on_crash decides what follows. */
void domain_end(struct domain *d, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* The same for another kind of end (a power-off, a reboot the domain's
 * on_reboot does not carry out in place, a destroy). */
void domain_end_kind(struct domain *d, enum end_kind kind, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Posts requests (DOMAIN_REQ_*) for the domain's vCPU, and kicks it. */
void domain_request(struct domain *d, u32 requests);
/* After changing what its vCPUs' fast_reentry looks at (vcpu.fast_stop):
 * ended, reset_requested, paused, requests. */
void domain_stop_fast(struct domain *d);
/* On the domain's vCPU, at a safe point: carries out what was posted. */
void domain_take_requests(struct domain *d);
/* Management's pause and unpause. False if it was already so. */
bool domain_pause(struct domain *d);
bool domain_unpause(struct domain *d);
/* Management's destroy: ends a running domain, or frees a preserved one.
 * A domain already on its way out (crashed, powered off) is freed when it
 * is out, whatever its on_* says: as xl, a destroy is final. */
void domain_destroy_now(struct domain *d);
/* Starts the config's domain called name (autostart = no, or one that was
 * destroyed). False and why if it cannot. */
bool domain_create_named(const char *name, char *why, size_t why_size);

/* The live domains, by id, for management: hold the lock while using
 * any of them (none is freed meanwhile). */
void domains_lock(void);
void domains_unlock(void);
struct domain *domains_first(void);
/* By name, or by id in decimal; NULL if none. With the lock held. */
struct domain *domain_find(const char *name_or_id);
/* The domain that gets typed input; NULL for nobody (the shell). */
struct domain *domain_console_focus(void);
void domain_set_console_focus(struct domain *d);
/* The config and boot files domains are made from (for create). */
const struct config *domains_config(void);
/* The scheduler is done with v (its domain ended). The last vCPU of a
 * domain prints its summary and destroys it; the last domain powers off. */
void domain_vcpu_ended(struct vcpu *v);
/* Typed console input, for the domain with the console focus: the first
 * live domain, by id (docs/scheduler.md, "consoles"). */
void domain_console_input(const u8 *bytes, unsigned n);
/* stats = N: prints the last N seconds' figures when they are due. */
void domain_periodic_stats(struct domain *d);
/* Prints the domain's exit counts by reason. */
void domain_print_exit_counts(const struct domain *d);
/* Prints the exits its trace kept (trace = N), oldest first. */
void domain_print_trace(const struct domain *d);

/* The scratch page mapped in place of the page at gpa while the CPU's
 * own write there runs (vmm/cpu_access.c), or NULL: nested_pt.c asks. */
u8 *domain_cpu_window_page(const struct domain *d, u64 gpa);

/* Guest-physical to host pointer, if [gpa, gpa+len) lies in one region. */
struct guest_mem_region *domain_find_region(struct domain *d, u64 gpa, u64 len);
/* After mem[] changed: what was worked out from it is worked out again. */
static inline void domain_regions_changed(struct domain *d) { __atomic_add_fetch(&d->mem_generation, 1, __ATOMIC_RELEASE); }
static inline u32 domain_regions_generation(const struct domain *d)
{
    return __atomic_load_n(&d->mem_generation, __ATOMIC_ACQUIRE);
}
/* domain_find_region's remembered miss, asked first and inline: true if
 * no region holds len bytes at gpa (within one page) because the page is
 * the last one found in none, with the regions unchanged since. False
 * says nothing: domain_find_region then looks. A device's page (the
 * local APIC's, written on the fast way) is mostly that miss. */
static inline bool domain_region_known_absent(const struct domain *d, u64 gpa, u64 len)
{
    u64 page = gpa & ~(u64)(PAGE_SIZE - 1);
    return len && ((gpa + len - 1) & ~(u64)(PAGE_SIZE - 1)) == page &&
           __atomic_load_n(&d->region_miss_page, __ATOMIC_RELAXED) == page + 1 &&
           __atomic_load_n(&d->region_miss_generation, __ATOMIC_RELAXED) == domain_regions_generation(d);
}

/* A PAM segment's attribute changed (the guest wrote the i440FX's PAM
 * registers, or a reset cleared them): its region now reads from and
 * writes to shadow RAM or the ROM as the attribute says, and the backend's
 * nested tables follow. */
void domain_set_pam(struct domain *d, unsigned segment, enum pam_access access);

#endif
