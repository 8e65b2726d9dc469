/* Nested page table entries have the format of long-mode page-table
 * entries (APM 2 15.25.5). Every nested walk is treated as a user access
 * (APM 2 15.25.5, "nested page table accesses are user accesses"), so U
 * must be set at every level. A and D are preset so the walker never has
 * to write them. NX would need EFER.NXE on the host; execute stays allowed. */
#include "npt.h"
#include "../vmm/x86.h"

static u64 npt_table_entry(u64 table_hpa) { return table_hpa | PTE_P | PTE_W | PTE_U | PTE_A; }

static u64 npt_leaf_entry(u64 hpa, unsigned perms, bool large)
{
    u64 e = hpa | PTE_U | PTE_A | PTE_D;
    if (perms & NESTED_READ)
        e |= PTE_P;
    if (perms & NESTED_WRITE)
        e |= PTE_W;
    if (large)
        e |= PTE_PS;
    return e;
}

static bool npt_present(u64 e) { return (e & PTE_P) != 0; }
static u64 npt_address(u64 e) { return e & PTE_ADDR_MASK; }
static bool npt_is_large(u64 e) { return (e & PTE_PS) != 0; }

const struct nested_pt_format npt_format = {
    .table_entry = npt_table_entry,
    .leaf_entry = npt_leaf_entry,
    .present = npt_present,
    .address = npt_address,
    .is_large = npt_is_large,
};
