#include "xen.h"
bool xenstore_create(struct xen_domain *x, char *why, size_t why_size) { (void)x; (void)why; (void)why_size; return true; }
void xenstore_destroy(struct xen_domain *x) { (void)x; }
void xenstore_reset(struct xen_domain *x) { (void)x; }
void xenstore_kick(struct xen_domain *x) { (void)x; }
