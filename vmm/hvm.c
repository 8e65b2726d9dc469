/* The hvm domain type: a PC with the Zazen BIOS (or a firmware image),
 * emulated devices, and no hypercall interface. Everything it does is
 * the core's default (vmm/domain_type.h); `paravirt = kvm` changes the
 * common CPUID view's hypervisor leaves and adds the kvmclock MSRs
 * (vmm/cpuid.c, vmm/msr.c, vmm/kvm.c), so the fast paths stay shared. */
#include "domain_type.h"
#include "config.h"

/* No hypercall interface is offered: fail the call the Xen way (-ENOSYS
 * in RAX) and let the guest go on. */
static void hvm_hypercall(struct vcpu *v, struct vm_exit *e)
{
    v->gpr[GPR_RAX] = (u64)-38;
    vcpu_complete_instruction(v, e);
}

const struct domain_type_ops domain_type_hvm = {
    .name = "hvm",
    .ide_disks = true,
    .hypercall = hvm_hypercall,
};

const struct domain_type_ops *domain_type_of(enum domain_type t)
{
    return t == DOMAIN_PVH ? &domain_type_pvh : &domain_type_hvm;
}
