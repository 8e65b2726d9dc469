/* The Xen PVH guest interface Zazen offers to `type = pvh` domains: the
 * subset of the Xen ABI a stock Linux kernel needs (docs/paravirt.md,
 * /work/shared/notes/pvh-abi.md). One file per Xen subsystem:
 *   hypercall.c  transport (VMCALL/VMMCALL, the hypercall page), dispatch,
 *                guest-linear argument copies, xen_version, console_io;
 *   memory.c     memory_op (add_to_physmap, memory_map);
 *   hvm_op.c     hvm_op (parameters: callback vector, store, console);
 *   evtchn.c     event channels, 2-level, and event_channel_op;
 *   sched_op.c   sched_op (yield, block, poll, shutdown);
 *   vcpu_op.c    vcpu_op, pvclock and wall clock, the singleshot timer;
 *   grant.c      grant tables v1 and grant_table_op;
 *   console.c    the PV console ring (hvc0);
 *   xenstore.c   the store server.
 * Structure layouts and constants are Xen's public headers' (xen.h,
 * event_channel.h, vcpu.h, hvm/params.h, io/console.h, io/xs_wire.h,
 * grant_table.h), x86_64. */
#ifndef ZAZEN_XEN_H
#define ZAZEN_XEN_H

#include "../../devmodel/clock.h"
#include "../types.h"
#include "../pvclock.h"
#include "blkif.h"

struct domain;
struct vcpu;
struct vm_exit;
struct xen_domain;

/* The backend's view of one disk's ring (blkback.c). A request on a disk
 * in place on a host disk runs asynchronously: one at a time, a segment
 * (its data, then its flush) at a time through the store's bounce buffer, polled by
 * `poll` on the domain's device clock; the ring waits behind it. */
struct blkback {
    bool present;
    bool connected;
    u32 ring_ref;
    u32 port;
    u32 req_cons, rsp_prod_pvt;
    u64 requests, sectors_read, sectors_written;
    u64 deferred; /* requests answered from the poll timer, after the kick returned */
    /* The request under way (busy): a private copy, and what the store
     * is doing for it. */
    bool busy;
    u8 step; /* enum blk_step in blkback.c */
    struct blkif_request cur;
    struct dm_timer poll;
    u64 poll_ns;
    struct xen_domain *x;
    unsigned disk;
};

/* Errors as Xen returns them (negated; equal to Linux x86's). */
#define XEN_EPERM 1
#define XEN_ENOENT 2
#define XEN_ESRCH 3
#define XEN_EAGAIN 11
#define XEN_EFAULT 14
#define XEN_EBUSY 16
#define XEN_EEXIST 17
#define XEN_EINVAL 22
#define XEN_ENOSPC 28
#define XEN_ENOSYS 38

/* Hypercall numbers (xen.h). */
#define HYPERVISOR_memory_op 12
#define HYPERVISOR_set_timer_op 15
#define HYPERVISOR_xen_version 17
#define HYPERVISOR_console_io 18
#define HYPERVISOR_grant_table_op 20
#define HYPERVISOR_vm_assist 21
#define HYPERVISOR_iret 23
#define HYPERVISOR_vcpu_op 24
#define HYPERVISOR_sched_op 29
#define HYPERVISOR_event_channel_op 32
#define HYPERVISOR_physdev_op 33
#define HYPERVISOR_hvm_op 34

/* The version Zazen reports (CPUID 4000_0001h, XENVER_version): 4.17. */
#define XEN_VERSION_MAJOR 4
#define XEN_VERSION_MINOR 17
/* The hypercall-page MSR (CPUID 4000_0002h EBX). */
#define XEN_HYPERCALL_MSR 0x40000000u
/* The callback vector Linux asks for (HYPERVISOR_CALLBACK_VECTOR). */
#define XEN_NR_VIRQS 24
#define VIRQ_TIMER 0

/* Ports: 2-level ABI, 64 words of 64 bits (EVTCHN_2L_NR_CHANNELS); Zazen
 * keeps the first XEN_MAX_PORTS. */
#define XEN_MAX_PORTS 1024
enum xen_port_type { PORT_FREE, PORT_UNBOUND, PORT_BACKEND, PORT_VIRQ, PORT_IPI };
/* What a PORT_BACKEND port talks to inside Zazen. */
enum xen_backend { BACKEND_NONE, BACKEND_CONSOLE, BACKEND_STORE, BACKEND_BLK };

struct xen_port {
    u8 type;    /* enum xen_port_type */
    u8 vcpu;    /* the vCPU notified */
    u8 virq;    /* PORT_VIRQ */
    u8 backend; /* PORT_BACKEND, PORT_UNBOUND: enum xen_backend once connected */
    u32 backend_index; /* which disk, for BACKEND_BLK */
};

/* As many as a domain has (config.h CONFIG_MAX_VCPUS); each has its
 * vcpu_info slot in shared_info below XEN_LEGACY_MAX_VCPUS (32, xen.h). */
#define XEN_MAX_VCPUS 16

/* public/sched.h's limit on sched_poll.nr_ports (Xen do_poll: 128). */
#define XEN_POLL_MAX_PORTS 128

struct xen_vcpu {
    struct xen_domain *x;
    unsigned id;
    u64 vcpu_info_gpa;      /* registered by VCPUOP_register_vcpu_info; 0: the shared_info slot */
    struct dm_timer singleshot;
    u32 virq_port[XEN_NR_VIRQS];
    /* SCHEDOP_poll while the vCPU is blocked in it (vcpu.polling): the
     * ports it waits for and its timeout, a timer on the device clock. */
    u32 poll_ports[XEN_POLL_MAX_PORTS];
    unsigned poll_count;
    struct dm_timer poll_timeout;
    bool poll_timed_out;
    u64 runstate_la;
};

/* Special pages in reserved RAM below the ACPI tables (pvh.c lays them out). */
#define XEN_SPECIAL_PAGES 2
#define XEN_CONSOLE_PAGE 0
#define XEN_STORE_PAGE 1

/* Grant tables v1: 512 entries of 8 bytes a frame (grant_table.h). */
#define XEN_GRANT_FRAMES 4
#define XEN_GRANT_ENTRIES (XEN_GRANT_FRAMES * 512)

struct xenstore;

struct xen_domain {
    struct domain *d;
    struct xen_vcpu vcpus[XEN_MAX_VCPUS];
    u64 shared_info_gpa; /* 0: not mapped yet */
    u64 callback_param;  /* HVM_PARAM_CALLBACK_IRQ as set */
    u8 callback_vector;  /* 0: no upcalls yet */
    u64 special_gpa;     /* first special page */
    u32 console_port, store_port;
    struct xen_port ports[XEN_MAX_PORTS];
    /* Grant table frames: host memory, mapped into the guest where it asks. */
    u8 *grant_frames;
    u64 grant_gpa[XEN_GRANT_FRAMES]; /* 0: not mapped */
    struct pvclock_scale pvclock; /* vmm/pvclock.h */
    u64 wall_sec_at_zero;
    u32 wall_nsec_at_zero;
    struct xenstore *store;
    struct blkback blk[4]; /* disk0-3 as xvda-xvdd */
    u32 entry;           /* the kernel's PVH entry point */
    u64 hypercalls;
    u64 console_bytes;
};

/* ---- pvh.c: what the rest of Zazen calls ---- */
bool xen_domain_create(struct domain *d, char *why, size_t why_size);
void xen_domain_destroy(struct domain *d);
/* At power-on and after a reset: ports, params, timers back to nothing. */
void xen_domain_reset(struct xen_domain *x);

/* ---- hypercall.c ---- */
void xen_hypercall(struct vcpu *v, struct vm_exit *e);
/* Copies between guest-linear memory (the vCPU's current paging) and a
 * buffer; 0 or -EFAULT. */
int xen_copy_from_guest(struct vcpu *v, u64 la, void *buf, unsigned len);
int xen_copy_to_guest(struct vcpu *v, u64 la, const void *buf, unsigned len);
/* A host pointer to [gpa, gpa+len) of the domain's RAM; NULL if it is not
 * all RAM in one region. */
u8 *xen_guest_ram(struct domain *d, u64 gpa, u64 len);
/* WRMSR 4000_0000h: fills the page with hypercall stubs. False: #GP. */
bool xen_write_hypercall_page(struct vcpu *v, u64 value);

/* ---- subsystems: one entry point per hypercall ---- */
long xen_memory_op(struct vcpu *v, u64 cmd, u64 arg);
long xen_hvm_op(struct vcpu *v, u64 op, u64 arg);
long xen_event_channel_op(struct vcpu *v, u64 cmd, u64 arg);
long xen_sched_op(struct vcpu *v, u64 cmd, u64 arg);
/* The end of a vCPU's SCHEDOP_poll (domain_type_ops.poll_ended). */
bool xen_poll_ended(struct vcpu *v);
void xen_poll_init(struct xen_domain *x);
long xen_vcpu_op(struct vcpu *v, u64 cmd, u64 vcpuid, u64 arg);
long xen_set_timer_op(struct vcpu *v, u64 deadline);
long xen_grant_table_op(struct vcpu *v, u64 cmd, u64 arg, u64 count);

/* ---- evtchn.c ---- */
/* Marks the port pending and raises the upcall (Xen's evtchn_2l_set_pending). */
void xen_evtchn_set_pending(struct xen_domain *x, u32 port);
/* Is vcpu one of the domain's vCPUs (a vCPU id a guest passes)? */
bool xen_vcpu_valid(struct xen_domain *x, u64 vcpu);
/* Allocates a port; 0 if none is free. */
u32 xen_evtchn_alloc(struct xen_domain *x, enum xen_port_type type, unsigned vcpu);
/* Is the port pending in shared_info (whether or not it is masked)? */
bool xen_evtchn_pending(struct xen_domain *x, u32 port);
/* Is an upcall waiting for the vCPU (evtchn_upcall_pending)? */
bool xen_upcall_pending(struct vcpu *v);
/* A host pointer to the vCPU's vcpu_info (registered or in shared_info); NULL before shared_info. */
u8 *xen_vcpu_info(struct xen_domain *x, unsigned vcpu);

/* ---- vcpu_op.c: time ---- */
void xen_time_init(struct xen_domain *x);
/* Writes the pvclock into a vcpu_info and the wall clock into shared_info. */
void xen_time_publish(struct xen_domain *x, unsigned vcpu);
/* The domain's system time now, ns (the device clock's). */
u64 xen_system_time(struct xen_domain *x);

/* ---- console.c ---- */
void xen_console_kick(struct xen_domain *x);           /* the guest sent output */
void xen_console_input(struct xen_domain *x);          /* typed input is waiting */

/* ---- xenstore.c ---- */
bool xenstore_create(struct xen_domain *x, char *why, size_t why_size);
void xenstore_destroy(struct xen_domain *x);
void xenstore_reset(struct xen_domain *x);        /* the tree as at creation, no watches */
void xenstore_kick(struct xen_domain *x);              /* the guest sent requests */
/* Zazen's own writes (backends): they fire the guest's watches. */
bool xenstore_write(struct xen_domain *x, const char *path, const char *value);
/* The value at an absolute path into buf (NUL-terminated); false if absent. */
bool xenstore_read(struct xen_domain *x, const char *path, char *buf, size_t size);

/* ---- grant.c ---- */
/* Copies between a granted page of the guest and a buffer: checks the
 * entry (permit_access, domid 0, not read-only for a write, frame in RAM). */
bool xen_grant_copy(struct xen_domain *x, u32 ref, unsigned offset, void *buf, unsigned len, bool to_guest);
/* The host pointer to a granted page (for the blkif ring). */
u8 *xen_grant_page(struct xen_domain *x, u32 ref, bool writable);

/* ---- blkback.c ---- */
bool blkback_create(struct xen_domain *x, char *why, size_t why_size);
void blkback_destroy(struct xen_domain *x);
void blkback_kick(struct xen_domain *x, unsigned disk);
/* The vbd nodes in the store, backends at InitWait (at every reset). */
void blkback_reset(struct xen_domain *x);
void blkback_frontend_changed(struct xen_domain *x, const char *path);

#endif
