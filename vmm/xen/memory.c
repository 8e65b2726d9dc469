/* memory_op (Xen common/memory.c, public/memory.h): add_to_physmap for
 * the shared_info page and the grant table frames, and memory_map. A
 * pvh domain's RAM is fixed: no ballooning (decrease_reservation and
 * populate_physmap are -ENOSYS, and Zazen never writes memory/target). */
#include "xen.h"
#include "../arch.h"
#include "../domain.h"
#include "../pvh_loader.h"
#include "../string.h"

#define XENMEM_add_to_physmap 7
#define XENMEM_memory_map 9
#define XENMAPSPACE_shared_info 0
#define XENMAPSPACE_grant_table 1
#define DOMID_SELF 0x7ff0

struct PACKED xen_add_to_physmap {
    u16 domid, size;
    u32 space;
    u64 idx, gpfn;
};

/* shared_info in place: the guest's own RAM page becomes it (Xen maps
 * its page over the frame; with one guest the effect is the same). It
 * starts zeroed, with every vCPU's time and the wall clock filled in
 * before the call returns (Linux reads them at once). */
static long map_shared_info(struct xen_domain *x, u64 gpfn)
{
    u64 gpa = gpfn << PAGE_SHIFT;
    if (gpfn >> 40 || !xen_guest_ram(x->d, gpa, PAGE_SIZE) || gpa >= x->special_gpa)
        return -XEN_EINVAL;
    memset(xen_guest_ram(x->d, gpa, PAGE_SIZE), 0, PAGE_SIZE);
    x->shared_info_gpa = gpa;
    for (unsigned i = 0; i < XEN_MAX_VCPUS; i++)
        xen_time_publish(x, i);
    return 0;
}

/* A grant frame at a guest-chosen frame outside RAM (Linux takes
 * "unpopulated" space above its RAM), backed by Zazen's page in the
 * nested tables. */
static long map_grant_frame(struct xen_domain *x, u64 idx, u64 gpfn)
{
    struct domain *d = x->d;
    u64 gpa = gpfn << PAGE_SHIFT;
    if (idx >= XEN_GRANT_FRAMES)
        return -XEN_EINVAL;
    if (gpfn >> 40 || gpa < d->ram_size || (gpa >= 0xfec00000ull && gpa < 0x100000000ull))
        return -XEN_EINVAL; /* not over RAM, the APICs or the firmware area */
    for (unsigned i = 0; i < d->mem_count; i++)
        if (d->mem[i].gpa == gpa)
            return -XEN_EBUSY;
    u8 *host = x->grant_frames + idx * PAGE_SIZE;
    if (x->grant_gpa[idx]) { /* moved: the old place goes back to nothing */
        for (unsigned i = 0; i < d->mem_count; i++)
            if (d->mem[i].host == host) {
                d->mem[i] = d->mem[--d->mem_count];
                domain_regions_changed(d);
                break;
            }
        if (!arch->remap(d, x->grant_gpa[idx], PAGE_SIZE))
            return -XEN_ENOSPC;
    }
    if (d->mem_count == DOMAIN_MAX_MEM_REGIONS)
        return -XEN_ENOSPC;
    d->mem[d->mem_count++] = (struct guest_mem_region){gpa, PAGE_SIZE, host, false, false, NULL};
    domain_regions_changed(d);
    x->grant_gpa[idx] = gpa;
    if (!arch->remap(d, gpa, PAGE_SIZE))
        return -XEN_ENOSPC;
    return 0;
}

static long add_to_physmap(struct vcpu *v, u64 arg)
{
    struct xen_domain *x = v->domain->xen;
    struct xen_add_to_physmap a;
    int rc = xen_copy_from_guest(v, arg, &a, sizeof(a));
    if (rc)
        return rc;
    if (a.domid != DOMID_SELF && a.domid != v->domain->id)
        return -XEN_ESRCH;
    switch (a.space) {
    case XENMAPSPACE_shared_info:
        return a.idx == 0 ? map_shared_info(x, a.gpfn) : -XEN_EINVAL;
    case XENMAPSPACE_grant_table:
        return map_grant_frame(x, a.idx, a.gpfn);
    default:
        return -XEN_EINVAL;
    }
}

/* memory_map {u32 nr_entries; u64 buffer}: the start_info's map as
 * 20-byte E820 entries (for kernels that ask instead of reading it). */
static long memory_map(struct vcpu *v, u64 arg)
{
    struct hvm_memmap_entry m[PVH_MEMMAP_MAX];
    u64 gpa = PVH_START_INFO_ADDR;
    struct hvm_start_info *si = (struct hvm_start_info *)xen_guest_ram(v->domain, gpa, sizeof(*si));
    u8 *src = si ? xen_guest_ram(v->domain, PVH_MEMMAP_ADDR, sizeof(m)) : NULL;
    if (!src)
        return -XEN_EFAULT;
    memcpy(m, src, sizeof(m));
    u32 hdr[4];
    int rc = xen_copy_from_guest(v, arg, hdr, 16);
    if (rc)
        return rc;
    u64 buffer = (u64)hdr[2] | (u64)hdr[3] << 32;
    unsigned n = 0;
    for (; n < PVH_MEMMAP_MAX && n < hdr[0] && m[n].size; n++) {
        struct PACKED { u64 addr, size; u32 type; } e = {m[n].addr, m[n].size, m[n].type};
        if ((rc = xen_copy_to_guest(v, buffer + n * 20, &e, 20)))
            return rc;
    }
    hdr[0] = n;
    return xen_copy_to_guest(v, arg, hdr, 4);
}

long xen_memory_op(struct vcpu *v, u64 cmd, u64 arg)
{
    switch (cmd & 0xf) { /* bits above 4 carry a continuation start (Xen MEMOP_CMD_MASK 0x3f) */
    case XENMEM_add_to_physmap: return cmd == XENMEM_add_to_physmap ? add_to_physmap(v, arg) : -XEN_EINVAL;
    case XENMEM_memory_map: return cmd == XENMEM_memory_map ? memory_map(v, arg) : -XEN_EINVAL;
    default: return -XEN_ENOSYS;
    }
}
