/* EPT entries (SDM 3C Tables 29-1 to 29-6): bits 0-2 read, write,
 * execute; in a leaf, bits 5:3 the memory type and bit 7 a 2 MiB page.
 * Guest RAM and ROM are write-back (type 6); the guest's own PAT still
 * applies on top (bit 6, "ignore PAT", stays clear). */
#include "ept.h"
#include "../vmm/x86.h"

#define EPT_READ BIT(0)
#define EPT_WRITE BIT(1)
#define EPT_EXEC BIT(2)
#define EPT_MEMTYPE_WB (6ull << 3)
#define EPT_LARGE BIT(7)
#define EPTP_MEMTYPE_WB 6ull
#define EPTP_WALK_LENGTH_4 (3ull << 3) /* walk length minus one */

static u64 ept_table_entry(u64 table_hpa) { return table_hpa | EPT_READ | EPT_WRITE | EPT_EXEC; }

static u64 ept_leaf_entry(u64 hpa, unsigned perms, bool large)
{
    u64 e = hpa | EPT_MEMTYPE_WB;
    if (perms & NESTED_READ)
        e |= EPT_READ;
    if (perms & NESTED_WRITE)
        e |= EPT_WRITE;
    if (perms & NESTED_EXEC)
        e |= EPT_EXEC;
    if (large)
        e |= EPT_LARGE;
    return e;
}

/* An entry is present if any of read, write, execute is set (29.3.2). */
static bool ept_present(u64 e) { return (e & (EPT_READ | EPT_WRITE | EPT_EXEC)) != 0; }
static u64 ept_address(u64 e) { return e & PTE_ADDR_MASK; }
static bool ept_is_large(u64 e) { return (e & EPT_LARGE) != 0; }

const struct nested_pt_format ept_format = {
    .table_entry = ept_table_entry,
    .leaf_entry = ept_leaf_entry,
    .present = ept_present,
    .address = ept_address,
    .is_large = ept_is_large,
};

u64 ept_pointer(u64 root_hpa) { return root_hpa | EPTP_MEMTYPE_WB | EPTP_WALK_LENGTH_4; }
