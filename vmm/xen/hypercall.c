/* Hypercall transport and dispatch (Xen arch/x86/hvm/hypercall.c): RAX
 * the number, RDI, RSI, RDX, R10, R8 the arguments, the result in RAX as
 * a signed long (0 or more, or -errno). Pointer arguments are guest
 * linear addresses in the caller's paging (Xen copy_from_user_hvm):
 * Linux passes vmalloc'd stack addresses. A call from CPL > 0 gets
 * -EPERM, as Xen and QEMU answer it. */
#include "xen.h"
#include "../arch.h"
#include "../console.h"
#include "../domain.h"
#include "../emulate.h"
#include "../format.h"
#include "../guest_walk.h"
#include "../platform.h"
#include "../string.h"
#include "../x86.h"

#define XENVER_version 0
#define XENVER_extraversion 1
#define XENVER_compile_info 2
#define XENVER_capabilities 3
#define XENVER_changeset 4
#define XENVER_platform_parameters 5
#define XENVER_get_features 6
#define XENVER_pagesize 7
#define XENVER_guest_handle 8

/* XENFEAT bits (public/features.h): writable_page_tables 0,
 * auto_translated_physmap 2, hvm_callback_vector 8, hvm_safe_pvclock 9,
 * not_direct_mapped 16. Never hvm_pirqs (10) or dom0 (11). */
#define XEN_FEATURES (BIT(0) | BIT(2) | BIT(8) | BIT(9) | BIT(16))

#define CONSOLEIO_write 0

u8 *xen_guest_ram(struct domain *d, u64 gpa, u64 len)
{
    if (len == 0 || gpa + len < gpa)
        return NULL;
    struct guest_mem_region *r = domain_find_region(d, gpa, len);
    if (!r || !r->host || r->read_only)
        return NULL;
    return r->host + (gpa - r->gpa);
}

static bool read_phys(void *ctx, u64 gpa, void *data, unsigned size)
{
    u8 *p = xen_guest_ram(ctx, gpa, size);
    if (!p)
        return false;
    memcpy(data, p, size);
    return true;
}

/* Page by page: a buffer may straddle pages mapped anywhere. Only RAM:
 * an argument in MMIO or outside the domain is -EFAULT. */
static int copy_guest(struct vcpu *v, u64 la, void *buf, unsigned len, bool write)
{
    struct vcpu_sregs s;
    arch->get_sregs(v, &s);
    struct guest_paging p = {s.cr0, s.cr3, s.cr4, s.efer, 0, read_phys, v->domain};
    u8 *b = buf;
    while (len) {
        unsigned chunk = MIN(len, (unsigned)(PAGE_SIZE - (la & (PAGE_SIZE - 1))));
        u64 gpa = la;
        struct x86emu_fault fault;
        if ((s.cr0 & CR0_PG) && !guest_walk(&p, la, write ? EMU_WRITE : EMU_READ, &gpa, &fault))
            return -XEN_EFAULT;
        u8 *host = xen_guest_ram(v->domain, gpa, chunk);
        if (!host)
            return -XEN_EFAULT;
        if (write)
            memcpy(host, b, chunk);
        else
            memcpy(b, host, chunk);
        la += chunk;
        b += chunk;
        len -= chunk;
    }
    return 0;
}

int xen_copy_from_guest(struct vcpu *v, u64 la, void *buf, unsigned len) { return copy_guest(v, la, buf, len, false); }

int xen_copy_to_guest(struct vcpu *v, u64 la, const void *buf, unsigned len)
{
    return copy_guest(v, la, (void *)(uintptr_t)buf, len, true);
}

static long xen_version(struct vcpu *v, u64 cmd, u64 arg)
{
    switch (cmd) {
    case XENVER_version:
        return XEN_VERSION_MAJOR << 16 | XEN_VERSION_MINOR;
    case XENVER_extraversion: {
        char extra[16] = ".0-zazen";
        return xen_copy_to_guest(v, arg, extra, sizeof(extra));
    }
    case XENVER_get_features: {
        u32 f[2];
        int rc = xen_copy_from_guest(v, arg, f, sizeof(f));
        if (rc)
            return rc;
        if (f[0] != 0) /* submap_idx: only the first 32 features exist */
            return -XEN_EINVAL;
        f[1] = XEN_FEATURES;
        return xen_copy_to_guest(v, arg, f, sizeof(f));
    }
    case XENVER_pagesize:
        return PAGE_SIZE;
    case XENVER_capabilities: {
        char caps[1024] = "hvm-3.0-x86_64";
        return xen_copy_to_guest(v, arg, caps, sizeof(caps));
    }
    case XENVER_compile_info: { /* xen_compile_info_t: 64 + 16 + 32 + 32 bytes */
        char info[144] = {0};
        strlcpy(info, "zazen", 64);
        return xen_copy_to_guest(v, arg, info, sizeof(info));
    }
    case XENVER_changeset: {
        char cs[64] = "zazen";
        return xen_copy_to_guest(v, arg, cs, sizeof(cs));
    }
    case XENVER_guest_handle: {
        u8 handle[16] = {0};
        handle[0] = (u8)v->domain->id;
        return xen_copy_to_guest(v, arg, handle, sizeof(handle));
    }
    default:
        return -XEN_ENOSYS;
    }
}

/* CONSOLEIO_write (the early consoles: earlyprintk=xen, xen_raw_printk):
 * to Zazen's log, as the domain's console lines. */
#define CONSOLEIO_MAX 4096

static long console_io(struct vcpu *v, u64 cmd, u64 count, u64 arg)
{
    if (cmd != CONSOLEIO_write)
        return -XEN_ENOSYS;
    if (count > CONSOLEIO_MAX)
        return -XEN_EINVAL;
    char buf[256];
    for (u64 done = 0; done < count;) {
        unsigned n = (unsigned)MIN(count - done, sizeof(buf));
        int rc = xen_copy_from_guest(v, arg + done, buf, n);
        if (rc)
            return rc;
        struct domain *d = v->domain;
        for (unsigned i = 0; i < n; i++)
            platform_console_byte(d, (u8)buf[i]);
        done += n;
    }
    return 0;
}

/* vm_assist: Linux asks for the runstate update flag; Xen accepts it for
 * HVM (VMASST_TYPE_runstate_update_flag 5), refuses others. */
static long vm_assist(u64 cmd, u64 type)
{
    if (cmd > 1)
        return -XEN_EINVAL;
    return type == 5 ? 0 : -XEN_EINVAL;
}

static long dispatch(struct vcpu *v, u64 nr, const u64 *a)
{
    switch (nr) {
    case HYPERVISOR_memory_op: return xen_memory_op(v, a[0], a[1]);
    case HYPERVISOR_set_timer_op: return xen_set_timer_op(v, a[0]);
    case HYPERVISOR_xen_version: return xen_version(v, a[0], a[1]);
    case HYPERVISOR_console_io: return console_io(v, a[0], a[1], a[2]);
    case HYPERVISOR_grant_table_op: return xen_grant_table_op(v, a[0], a[1], a[2]);
    case HYPERVISOR_vm_assist: return vm_assist(a[0], a[1]);
    case HYPERVISOR_vcpu_op: return xen_vcpu_op(v, a[0], a[1], a[2]);
    case HYPERVISOR_sched_op: return xen_sched_op(v, a[0], a[1]);
    case HYPERVISOR_event_channel_op: return xen_event_channel_op(v, a[0], a[1]);
    case HYPERVISOR_hvm_op: return xen_hvm_op(v, a[0], a[1]);
    default: return -XEN_ENOSYS; /* platform_op, physdev_op, multicall, PV-only calls */
    }
}

void xen_hypercall(struct vcpu *v, struct vm_exit *e)
{
    struct domain *d = v->domain;
    struct xen_domain *x = d->xen;
    x->hypercalls++;
    struct vcpu_sregs s;
    arch->get_sregs(v, &s);
    long rc;
    if (s.cpl != 0) {
        rc = -XEN_EPERM;
    } else {
        bool long_mode = (s.efer & EFER_LMA) && (s.seg[SEG_CS].attr & SEG_ATTR_L);
        u64 a[5] = {v->gpr[GPR_RDI], v->gpr[GPR_RSI], v->gpr[GPR_RDX], v->gpr[GPR_R10], v->gpr[GPR_R8]};
        u64 nr = v->gpr[GPR_RAX];
        if (!long_mode) { /* 32-bit callers: EBX, ECX, EDX, ESI, EDI (Xen hvm_hypercall) */
            u64 b[5] = {(u32)v->gpr[GPR_RBX], (u32)v->gpr[GPR_RCX], (u32)v->gpr[GPR_RDX], (u32)v->gpr[GPR_RSI],
                        (u32)v->gpr[GPR_RDI]};
            memcpy(a, b, sizeof(a));
            nr = (u32)nr;
        }
        rc = dispatch(v, nr, a);
        if (!long_mode)
            rc = (long)(u32)rc;
    }
    if (d->ended)
        return;
    v->gpr[GPR_RAX] = (u64)rc;
    vcpu_complete_instruction(v, e);
}

/* The hypercall page (Xen vmx_init_hypercall_page / svm's): 128 stubs of
 * 32 bytes, `mov eax, nr; vmcall|vmmcall; ret`, and ud2 for iret (23). */
bool xen_write_hypercall_page(struct vcpu *v, u64 value)
{
    if (value & (PAGE_SIZE - 1))
        return false; /* Xen: a page index other than 0 is #GP */
    u8 *page = xen_guest_ram(v->domain, value, PAGE_SIZE);
    if (!page)
        return false;
    bool amd = arch == &svm_ops;
    for (unsigned i = 0; i < 128; i++) {
        u8 *p = page + i * 32;
        memset(p, 0xcc, 32);
        if (i == HYPERVISOR_iret) {
            p[0] = 0x0f;
            p[1] = 0x0b;
            continue;
        }
        p[0] = 0xb8;
        p[1] = (u8)i;
        p[2] = p[3] = p[4] = 0;
        p[5] = 0x0f;
        p[6] = 0x01;
        p[7] = amd ? 0xd9 : 0xc1;
        p[8] = 0xc3;
    }
    return true;
}
