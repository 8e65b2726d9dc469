#include "xen.h"
long xen_grant_table_op(struct vcpu *v, u64 cmd, u64 arg, u64 count) { (void)v; (void)cmd; (void)arg; (void)count; return -XEN_ENOSYS; }
