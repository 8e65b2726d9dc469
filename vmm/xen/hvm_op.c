/* hvm_op (Xen arch/x86/hvm/hvm.c, public/hvm/hvm_op.h, params.h): the
 * parameters a PVH guest reads (store and console rings and ports) and
 * the one it sets (the callback vector). */
#include "xen.h"
#include "../domain.h"

#define HVMOP_set_param 0
#define HVMOP_get_param 1
#define HVM_PARAM_CALLBACK_IRQ 0
#define HVM_PARAM_STORE_PFN 1
#define HVM_PARAM_STORE_EVTCHN 2
#define HVM_PARAM_CONSOLE_PFN 17
#define HVM_PARAM_CONSOLE_EVTCHN 18
#define HVM_NR_PARAMS 39
#define HVM_PARAM_CALLBACK_TYPE_VECTOR 2
#define DOMID_SELF 0x7ff0

struct PACKED xen_hvm_param {
    u16 domid, pad;
    u32 index;
    u64 value;
};

/* CALLBACK_IRQ: only the vector type (bits 63:56 = 2, vector in 7:0),
 * or 0 to turn upcalls off. GSI and PCI INTx callbacks need an emulated
 * interrupt line Zazen does not wire. */
static long set_callback(struct xen_domain *x, u64 value)
{
    if (value == 0) {
        x->callback_param = 0;
        x->callback_vector = 0;
        return 0;
    }
    u8 vector = (u8)value;
    if (value >> 56 != HVM_PARAM_CALLBACK_TYPE_VECTOR || (value & 0x00ffffffffffff00ull) || vector < 0x20)
        return -XEN_EINVAL;
    x->callback_param = value;
    x->callback_vector = vector;
    return 0;
}

static u64 get_param(struct xen_domain *x, u32 index)
{
    switch (index) {
    case HVM_PARAM_CALLBACK_IRQ: return x->callback_param;
    case HVM_PARAM_STORE_PFN: return (x->special_gpa >> 12) + XEN_STORE_PAGE;
    case HVM_PARAM_STORE_EVTCHN: return x->store_port;
    case HVM_PARAM_CONSOLE_PFN: return (x->special_gpa >> 12) + XEN_CONSOLE_PAGE;
    case HVM_PARAM_CONSOLE_EVTCHN: return x->console_port;
    default: return 0; /* unset parameters read 0, as in Xen */
    }
}

long xen_hvm_op(struct vcpu *v, u64 op, u64 arg)
{
    struct xen_domain *x = v->domain->xen;
    if (op != HVMOP_set_param && op != HVMOP_get_param)
        return -XEN_ENOSYS; /* pagetable_dying, get_mem_type, set_evtchn_upcall_vector, ... */
    struct xen_hvm_param p;
    int rc = xen_copy_from_guest(v, arg, &p, sizeof(p));
    if (rc)
        return rc;
    if (p.domid != DOMID_SELF && p.domid != v->domain->id)
        return -XEN_ESRCH;
    if (p.index >= HVM_NR_PARAMS)
        return -XEN_EINVAL;
    if (op == HVMOP_set_param)
        return p.index == HVM_PARAM_CALLBACK_IRQ ? set_callback(x, p.value) : -XEN_EPERM;
    p.value = get_param(x, p.index);
    return xen_copy_to_guest(v, arg, &p, sizeof(p));
}
