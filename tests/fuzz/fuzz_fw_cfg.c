/* fuzz-sources: devmodel/fw_cfg.c devmodel/bus.c devmodel/clock.c */
/* The QEMU fw_cfg device with a few items and files, driven through its
 * selector, data and DMA ports (any key, any FWCfgDmaAccess the input
 * writes into fake RAM, addresses in and out of RAM). Checks: no
 * interrupt line moves; the items' data is never written; a DMA read
 * writes guest RAM only inside [address, address + length) and the
 * access's control word; the data port reads the selected item's bytes
 * in order, then zeros. */
#include "fuzz_dev.h"
#include "../../devmodel/fw_cfg.h"

static struct fw_cfg cfg;
static u8 blob_a[300], blob_b[5];
static const u16 cpus = 1;

static const struct window ports[] = {{FW_CFG_PORT_SELECTOR, 2}, {FW_CFG_PORT_DMA, 8}};

static u32 be32(u32 v) { return v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24; }

static void check_blobs(void)
{
    for (unsigned i = 0; i < sizeof(blob_a); i++)
        FUZZ_CHECK(blob_a[i] == (u8)(i * 7), "item data changed at %u", i);
}

/* A DMA access built from the input, in fake RAM at a 16-byte slot. */
static void dma(struct prog *g)
{
    u32 at = (take16(g) % (FAKE_RAM_SIZE / 16)) * 16;
    u32 control = take32(g), length = take16(g) % 2048;
    u32 target = take32(g) % (FAKE_RAM_SIZE + 4096);
    u32 words[4] = {be32(control), be32(length), 0, be32(target)};
    memcpy(fake.ram + at, words, sizeof(words));
    static u8 before[FAKE_RAM_SIZE];
    memcpy(before, fake.ram, FAKE_RAM_SIZE);
    fuzz_out(FW_CFG_PORT_DMA + 4, 4, be32(at));
    for (u32 i = 0; i < FAKE_RAM_SIZE; i++) {
        bool access = i >= at && i < at + 4;
        bool data = (control & FW_CFG_DMA_READ) && !(control & FW_CFG_DMA_WRITE) && i >= target &&
                    i - target < length;
        if (!access && !data)
            FUZZ_CHECK(fake.ram[i] == before[i], "DMA wrote %#x outside its target", i);
    }
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    struct dm_env *env = fuzz_env_reset(0);
    for (unsigned i = 0; i < sizeof(blob_a); i++)
        blob_a[i] = (u8)(i * 7);
    if (!fw_cfg_init(&cfg, env) || !fw_cfg_add(&cfg, FW_CFG_NB_CPUS, &cpus, sizeof(cpus)) ||
        !fw_cfg_add_file(&cfg, "etc/a", blob_a, sizeof(blob_a)) || !fw_cfg_add_file(&cfg, "etc/b", blob_b, 0))
        abort();
    while (prog_more(&g)) {
        switch (take8(&g) % 5) {
        case 0:
            fuzz_any_in(&g, ports, ARRAY_SIZE(ports));
            break;
        case 1:
            fuzz_any_out(&g, ports, ARRAY_SIZE(ports));
            break;
        case 2: { /* select file 20h and read a stretch: its bytes, then zeros */
            fuzz_out(FW_CFG_PORT_SELECTOR, 2, 0x20);
            unsigned n = take16(&g) % 400;
            for (unsigned i = 0; i < n; i++) {
                u32 v = fuzz_in(FW_CFG_PORT_DATA, 1);
                u8 want = i < sizeof(blob_a) ? (u8)(i * 7) : 0;
                FUZZ_CHECK(v == want, "byte %u of etc/a read %#x, not %#x", i, v, want);
            }
            break;
        }
        case 3:
            dma(&g);
            break;
        case 4:
            if (take8(&g) == 0xa5)
                fw_cfg_reset(&cfg);
            break;
        }
        check_blobs();
    }
    return 0;
}
