/* Guest page walks in each paging mode, with their #PF error codes. */
/* unit-sources: vmm/guest_walk.c */
#include "unit.h"
#include "../../vmm/guest_walk.h"
#include "../../vmm/x86.h"

static unsigned char mem[1 << 20];
static struct x86emu_fault f;

static bool read_phys(void *ctx, u64 gpa, void *data, unsigned size)
{
    (void)ctx;
    if (gpa + size > sizeof(mem))
        return false;
    memcpy(data, mem + gpa, size);
    return true;
}

static void put64(u64 addr, u64 v) { memcpy(mem + addr, &v, 8); }
static void put32(u64 addr, u32 v) { memcpy(mem + addr, &v, 4); }

static struct guest_paging paging(u64 cr0, u64 cr3, u64 cr4, u64 efer, u8 cpl)
{
    return (struct guest_paging){cr0, cr3, cr4, efer, cpl, read_phys, NULL};
}

TEST(walk_no_paging_is_identity)
{
    struct guest_paging p = paging(CR0_PE, 0, 0, 0, 0);
    u64 gpa;
    CHECK(guest_walk(&p, 0xfee00000, EMU_READ, &gpa, &f));
    CHECK_EQ(gpa, 0xfee00000);
}

TEST(walk_four_level_4k_and_2m)
{
    memset(mem, 0, sizeof(mem));
    put64(0x1000, 0x2000 | PTE_P | PTE_W);                 /* PML4[0] */
    put64(0x2000 + 3 * 8, 0x3000 | PTE_P | PTE_W);         /* PDPT[3]: 3-4 GiB */
    put64(0x3000 + 503 * 8, 0xfee00000 | PTE_P | PTE_W | PTE_PS); /* 2 MiB page */
    put64(0x3000 + 0 * 8, 0x4000 | PTE_P);                 /* PD[0] -> PT, read-only */
    put64(0x4000 + 5 * 8, 0x9000 | PTE_P);
    struct guest_paging p = paging(CR0_PE | CR0_PG | CR0_WP, 0x1000, CR4_PAE, EFER_LME | EFER_LMA, 0);
    u64 gpa;
    CHECK(guest_walk(&p, 0xfee00020, EMU_READ, &gpa, &f));
    CHECK_EQ(gpa, 0xfee00020);
    CHECK(guest_walk(&p, 0xc0005123, EMU_READ, &gpa, &f));
    CHECK_EQ(gpa, 0x9123);
    /* a supervisor write to a read-only page with CR0.WP: #PF P|W */
    CHECK(!guest_walk(&p, 0xc0005123, EMU_WRITE, &gpa, &f));
    CHECK_EQ(f.vector, 14);
    CHECK_EQ(f.error, 3);
    CHECK_EQ(f.cr2, 0xc0005123);
    /* not present */
    CHECK(!guest_walk(&p, 0xc0006000, EMU_READ, &gpa, &f));
    CHECK_EQ(f.error, 0);
    /* user access to supervisor pages: #PF P|U */
    p.cpl = 3;
    CHECK(!guest_walk(&p, 0xfee00020, EMU_READ, &gpa, &f));
    CHECK_EQ(f.error, 5);
}

TEST(walk_wp_clear_lets_supervisor_write)
{
    memset(mem, 0, sizeof(mem));
    put64(0x1000, 0x2000 | PTE_P);
    put64(0x2000, 0x3000 | PTE_P);
    put64(0x3000, 0x0 | PTE_P | PTE_PS);
    struct guest_paging p = paging(CR0_PE | CR0_PG, 0x1000, CR4_PAE, EFER_LMA, 0);
    u64 gpa;
    CHECK(guest_walk(&p, 0x1234, EMU_WRITE, &gpa, &f));
    CHECK_EQ(gpa, 0x1234);
}

TEST(walk_nx_fetch)
{
    memset(mem, 0, sizeof(mem));
    put64(0x1000, 0x2000 | PTE_P | PTE_W);
    put64(0x2000, 0x3000 | PTE_P | PTE_W);
    put64(0x3000, 0x0 | PTE_P | PTE_PS | PTE_NX);
    struct guest_paging p = paging(CR0_PE | CR0_PG, 0x1000, CR4_PAE, EFER_LMA | EFER_NXE, 0);
    u64 gpa;
    CHECK(!guest_walk(&p, 0x10, EMU_FETCH, &gpa, &f));
    CHECK_EQ(f.error, 0x11); /* P | I/D */
    CHECK(guest_walk(&p, 0x10, EMU_READ, &gpa, &f));
}

TEST(walk_32bit_with_4m_pages)
{
    memset(mem, 0, sizeof(mem));
    put32(0x1000 + 0x3fb * 4, 0xfec00000 | PTE_P | PTE_W | PTE_PS); /* 4 MiB at 0xfec00000 */
    put32(0x1000 + 1 * 4, 0x5000 | PTE_P | PTE_W);
    put32(0x5000 + 2 * 4, 0x7000 | PTE_P | PTE_W);
    struct guest_paging p = paging(CR0_PE | CR0_PG, 0x1000, CR4_PSE, 0, 0);
    u64 gpa;
    CHECK(guest_walk(&p, 0xfee00300, EMU_READ, &gpa, &f));
    CHECK_EQ(gpa, 0xfee00300);
    CHECK(guest_walk(&p, 0x402010, EMU_WRITE, &gpa, &f));
    CHECK_EQ(gpa, 0x7010);
}

TEST(walk_pae_three_levels)
{
    memset(mem, 0, sizeof(mem));
    put64(0x1000 + 3 * 8, 0x2000 | PTE_P);           /* PDPTE[3] */
    put64(0x2000 + 0x1f7 * 8, 0xfee00000 | PTE_P | PTE_W | PTE_PS);
    struct guest_paging p = paging(CR0_PE | CR0_PG, 0x1000, CR4_PAE, 0, 0);
    u64 gpa;
    CHECK(guest_walk(&p, 0xfee000b0, EMU_WRITE, &gpa, &f));
    CHECK_EQ(gpa, 0xfee000b0);
}
