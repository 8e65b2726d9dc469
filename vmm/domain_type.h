/* Domain types (`type = hvm | pvh` in zazen.cfg): where a fully
 * virtualized PC and a Xen PVH domain differ, and nowhere else. Both run
 * on the same vCPUs, scheduler, management verbs and statistics; the
 * core asks the type only at these points. A NULL operation means "as a
 * PC does" (vmm/hvm.c has none but the hypercall). */
#ifndef ZAZEN_DOMAIN_TYPE_H
#define ZAZEN_DOMAIN_TYPE_H

#include "config.h"
#include "cpuid.h"
#include "vcpu.h"

struct domain;
struct bootinfo;

struct domain_type_ops {
    const char *name; /* "hvm", "pvh" */
    /* The disks go to the emulated IDE controller (hvm) or to a PV
     * backend (pvh); the block data is the same struct ide_disk either way. */
    bool ide_disks;
    /* The guest-physical map over the domain's RAM block (NULL: the PC's,
     * with the firmware ROM and the PAM segments). */
    bool (*map_memory)(struct domain *d, u8 *ram, char *why, size_t why_size);
    /* After the devices exist, and again after every reset: what the
     * domain boots (NULL: the BIOS tables and the direct kernel boot). */
    bool (*boot)(struct domain *d, bool first, char *why, size_t why_size);
    /* After the vCPUs are reset: their first state (NULL: RESET's). */
    void (*start_vcpus)(struct domain *d);
    void (*destroy)(struct domain *d);
    /* VMCALL/VMMCALL. */
    void (*hypercall)(struct vcpu *v, struct vm_exit *e);
    /* CPUID leaves the type answers itself (the hypervisor range); false: the common view. */
    bool (*cpuid)(struct vcpu *v, u32 leaf, u32 subleaf, struct cpuid_regs *r);
    /* WRMSR of an MSR the type owns; false: not one of them. *ok false: #GP. */
    bool (*msr_write)(struct vcpu *v, u32 msr, u64 value, bool *ok);
    /* The vector of an event the type delivers outside the device model
     * (Xen's callback vector), or -1. Checked before the PC's interrupts. */
    int (*pending_vector)(struct vcpu *v);
    /* A vCPU blocked in a hypercall (vcpu.polling): true when it may go
     * on (and its wait is then undone); it is looked at again at every
     * wake-up (sched_notify, a device deadline). */
    bool (*poll_ended)(struct vcpu *v);
    /* Management's requests (DOMAIN_REQ_*), on the domain's vCPU (NULL:
     * the PC's power button and Ctrl-Alt-Del). */
    void (*take_requests)(struct domain *d, u32 requests);
    /* Typed console input is waiting (NULL: COM1 or the keyboard take it). */
    void (*console_input)(struct domain *d);
    /* The vCPU moved its own TSC (vcpu_move_tsc): the type's time areas
     * follow (NULL: it has none). */
    void (*tsc_moved)(struct vcpu *v);
};

extern const struct domain_type_ops domain_type_hvm; /* vmm/hvm.c */
extern const struct domain_type_ops domain_type_pvh; /* vmm/pvh.c */

const struct domain_type_ops *domain_type_of(enum domain_type t);

#endif
