/* Intel extended page tables (SDM 3C 29.3). Mirrors svm/npt.h. */
#ifndef ZAZEN_VMX_EPT_H
#define ZAZEN_VMX_EPT_H

#include "../vmm/nested_pt.h"

extern const struct nested_pt_format ept_format;

/* The EPT pointer for a root table: write-back paging structures, a
 * 4-level walk (SDM 3C 25.6.11). */
u64 ept_pointer(u64 root_hpa);

#endif
