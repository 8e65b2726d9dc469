/* Grant tables v1 (Xen common/grant_table.c, public/grant_table.h): the
 * guest grants Zazen's backends (domain 0) access to its pages by
 * entries {u16 flags; u16 domid; u32 frame} in frames that Zazen owns
 * and maps into the guest where it asks (memory.c). Zazen copies through
 * a grant after checking it, as Xen's _set_status_v1 does; it never
 * maps guest pages for longer than one request. */
#include "xen.h"
#include "../domain.h"
#include "../string.h"

#define GNTTABOP_setup_table 2
#define GNTTABOP_query_size 6
#define GNTTABOP_set_version 8
#define GNTTABOP_get_version 10
#define GTF_type_mask 3
#define GTF_permit_access 1
#define GTF_readonly BIT(2)
#define GNTST_okay 0
#define DOMID_SELF 0x7ff0

/* The entry, if ref names one in a mapped frame that permits domain 0
 * (writable if asked) a frame of the domain's RAM. */
static bool entry_of(struct xen_domain *x, u32 ref, bool writable, u64 *gpa)
{
    if (ref >= XEN_GRANT_ENTRIES || !x->grant_gpa[ref / 512])
        return false;
    const u8 *e = x->grant_frames + (u64)ref * 8;
    u16 flags = __atomic_load_n((const u16 *)e, __ATOMIC_ACQUIRE);
    u16 domid = *(const u16 *)(e + 2);
    u32 frame = *(const u32 *)(e + 4);
    if ((flags & GTF_type_mask) != GTF_permit_access || domid != 0)
        return false;
    if (writable && (flags & GTF_readonly))
        return false;
    *gpa = (u64)frame << PAGE_SHIFT;
    /* the domain's own RAM, not the rings Zazen reads itself */
    return *gpa + PAGE_SIZE <= x->special_gpa && xen_guest_ram(x->d, *gpa, PAGE_SIZE);
}

u8 *xen_grant_page(struct xen_domain *x, u32 ref, bool writable)
{
    u64 gpa;
    return entry_of(x, ref, writable, &gpa) ? xen_guest_ram(x->d, gpa, PAGE_SIZE) : NULL;
}

bool xen_grant_copy(struct xen_domain *x, u32 ref, unsigned offset, void *buf, unsigned len, bool to_guest)
{
    if (offset > PAGE_SIZE || len > PAGE_SIZE - offset)
        return false;
    u8 *page = xen_grant_page(x, ref, to_guest);
    if (!page)
        return false;
    if (to_guest)
        memcpy(page + offset, buf, len);
    else
        memcpy(buf, page + offset, len);
    return true;
}

/* query_size {u16 dom; u32 nr_frames; u32 max_nr_frames; i16 status}. */
static long query_size(struct vcpu *v, u64 arg)
{
    struct xen_domain *x = v->domain->xen;
    u8 b[16];
    int rc = xen_copy_from_guest(v, arg, b, 14);
    if (rc)
        return rc;
    u16 dom = (u16)(b[0] | b[1] << 8);
    if (dom != DOMID_SELF && dom != v->domain->id)
        return -XEN_ESRCH;
    u32 nr = 0;
    for (unsigned i = 0; i < XEN_GRANT_FRAMES; i++)
        nr += x->grant_gpa[i] != 0;
    u32 max = XEN_GRANT_FRAMES;
    s16 status = GNTST_okay;
    memcpy(b + 4, &nr, 4);
    memcpy(b + 8, &max, 4);
    memcpy(b + 12, &status, 2);
    return xen_copy_to_guest(v, arg, b, 14);
}

/* set_version {u32 version}: v1 only; get_version {u16 dom; u16 pad; u32 version}. */
static long set_version(struct vcpu *v, u64 arg)
{
    u32 version;
    int rc = xen_copy_from_guest(v, arg, &version, 4);
    if (rc)
        return rc;
    if (version != 1)
        return -XEN_EINVAL;
    return 0;
}

long xen_grant_table_op(struct vcpu *v, u64 cmd, u64 arg, u64 count)
{
    if (count != 1)
        return count == 0 ? 0 : -XEN_EINVAL; /* Linux issues one at a time */
    switch (cmd) {
    case GNTTABOP_query_size: return query_size(v, arg);
    case GNTTABOP_set_version: return set_version(v, arg);
    case GNTTABOP_get_version: {
        u32 b[2];
        int rc = xen_copy_from_guest(v, arg, b, 8);
        if (rc)
            return rc;
        b[1] = 1;
        return xen_copy_to_guest(v, arg, b, 8);
    }
    default:
        return -XEN_ENOSYS; /* setup_table, map, copy: PV and backend paths */
    }
}
