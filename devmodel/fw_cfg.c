/* See fw_cfg.h. Section names below are those of QEMU's
 * docs/specs/fw_cfg.rst. */
#include "fw_cfg.h"
#include "../vmm/string.h"

static const u8 signature[4] = {'Q', 'E', 'M', 'U'};

static void put_be32(u8 *p, u32 v)
{
    p[0] = (u8)(v >> 24);
    p[1] = (u8)(v >> 16);
    p[2] = (u8)(v >> 8);
    p[3] = (u8)v;
}

static u32 get_be32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }

static u32 bswap32(u32 v) { return v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24; }

/* ---- items ---- */

static struct fw_cfg_item *find_item(struct fw_cfg *f, u16 key)
{
    for (unsigned i = 0; i < f->item_count; i++)
        if (f->items[i].key == key)
            return &f->items[i];
    return NULL;
}

bool fw_cfg_add(struct fw_cfg *f, u16 key, const void *data, u32 size)
{
    if (f->item_count == FW_CFG_MAX_ITEMS || find_item(f, key))
        return false;
    f->items[f->item_count++] = (struct fw_cfg_item){key, data, size};
    return true;
}

/* "File Directory": a big-endian count, then per file its size (be32),
 * key (be16), a reserved u16 and its NUL-terminated name in 56 bytes. */
bool fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, u32 size)
{
    size_t len = strlen(name);
    if (len >= FW_CFG_FILE_NAME || f->file_count == FW_CFG_MAX_FILES)
        return false;
    for (unsigned i = 0; i < f->file_count; i++)
        if (strcmp((const char *)f->dir + 4 + i * FW_CFG_FILE_ENTRY + 8, name) == 0)
            return false;
    u16 key = (u16)(FW_CFG_FILE_FIRST + f->file_count);
    if (!fw_cfg_add(f, key, data, size))
        return false;
    u8 *e = f->dir + 4 + f->file_count * FW_CFG_FILE_ENTRY;
    memset(e, 0, FW_CFG_FILE_ENTRY);
    put_be32(e, size);
    e[4] = (u8)(key >> 8);
    e[5] = (u8)key;
    memcpy(e + 8, name, len);
    f->file_count++;
    put_be32(f->dir, f->file_count);
    find_item(f, FW_CFG_FILE_DIR)->size = 4 + f->file_count * FW_CFG_FILE_ENTRY;
    return true;
}

/* "Selector Register": bit 14 (write channel) and bit 15 (architecture
 * local) are part of the key; nothing here is writable, so a write-channel
 * key finds no item. */
static void select_item(struct fw_cfg *f, u16 key)
{
    f->selector = key;
    f->offset = 0;
}

/* "Data Register": the selected item's byte at the offset, which then
 * moves on; 0 once the item is read to its end, or without an item. */
static u8 next_byte(struct fw_cfg *f)
{
    struct fw_cfg_item *it = find_item(f, f->selector);
    if (!it || f->offset >= it->size)
        return 0;
    return it->data[f->offset++];
}

/* ---- DMA ---- */

/* "DMA interface": the 16-byte FWCfgDmaAccess at addr (control, length,
 * address, all big-endian). SELECT first picks the item in control's high
 * 16 bits; then READ copies `length` bytes from the item at the offset
 * (zeros past its end) to `address`, SKIP moves the offset on, WRITE is
 * refused (nothing is writable). The control word goes back as 0, or with
 * only the error bit when guest memory cannot be reached or the request
 * is refused. */
static void dma_transfer(struct fw_cfg *f, u64 addr)
{
    const struct dm_memory *mem = f->env->mem;
    u8 access[16];
    if (!mem->read(mem->ctx, addr, access, sizeof(access)))
        return; /* nowhere to report it */
    u32 control = get_be32(access);
    u32 length = get_be32(access + 4);
    u64 target = (u64)get_be32(access + 8) << 32 | get_be32(access + 12);
    bool error = false;
    if (control & FW_CFG_DMA_SELECT)
        select_item(f, (u16)(control >> 16));
    if (control & FW_CFG_DMA_WRITE) {
        error = true;
    } else if (control & (FW_CFG_DMA_READ | FW_CFG_DMA_SKIP)) {
        struct fw_cfg_item *it = find_item(f, f->selector);
        u8 chunk[256];
        for (u32 done = 0; done < length && !error;) {
            u32 n = MIN(length - done, (u32)sizeof(chunk));
            for (u32 i = 0; i < n; i++) {
                u64 at = (u64)f->offset + i;
                chunk[i] = it && at < it->size ? it->data[at] : 0;
            }
            if ((control & FW_CFG_DMA_READ) && !mem->write(mem->ctx, target + done, chunk, n))
                error = true;
            f->offset = (u32)MIN((u64)f->offset + n, (u64)~0u);
            done += n;
        }
    }
    u8 result[4];
    put_be32(result, error ? FW_CFG_DMA_ERROR : 0);
    mem->write(mem->ctx, addr, result, sizeof(result));
}

/* ---- ports ---- */

static u32 data_read(void *dev, u16 port, u8 size)
{
    (void)size; /* byte wide: the bus splits wider INs */
    if (port != FW_CFG_PORT_DATA)
        return 0xff; /* the selector is write only */
    return next_byte(dev);
}

static void control_write(void *dev, u16 port, u8 size, u32 value)
{
    if (port == FW_CFG_PORT_SELECTOR && size == 2)
        select_item(dev, (u16)value);
}

/* The DMA address register reads as the signature, big-endian. */
static u32 dma_read(void *dev, u16 port, u8 size)
{
    (void)dev;
    unsigned at = port - FW_CFG_PORT_DMA;
    u32 v = 0;
    for (unsigned i = 0; i < size && at + i < 8; i++)
        v |= (u32)(u8)(FW_CFG_DMA_SIGNATURE >> (56 - 8 * (at + i))) << (8 * i);
    return v;
}

/* Big-endian halves: the bytes as the guest stored them are the value's
 * most significant first. Writing the low half (518h) starts the transfer
 * and forgets the high half. */
static void dma_write(void *dev, u16 port, u8 size, u32 value)
{
    struct fw_cfg *f = dev;
    if (size != 4)
        return;
    if (port == FW_CFG_PORT_DMA) {
        f->dma_high = bswap32(value);
    } else if (port == FW_CFG_PORT_DMA + 4) {
        u64 addr = (u64)f->dma_high << 32 | bswap32(value);
        f->dma_high = 0;
        dma_transfer(f, addr);
    }
}

void fw_cfg_reset(struct fw_cfg *f)
{
    f->selector = FW_CFG_SIGNATURE;
    f->offset = 0;
    f->dma_high = 0;
}

bool fw_cfg_init(struct fw_cfg *f, struct dm_env *env)
{
    memset(f, 0, sizeof(*f));
    f->env = env;
    f->id[0] = FW_CFG_VERSION | FW_CFG_VERSION_DMA; /* little-endian u32 */
    fw_cfg_add(f, FW_CFG_SIGNATURE, signature, sizeof(signature));
    fw_cfg_add(f, FW_CFG_ID, f->id, sizeof(f->id));
    fw_cfg_add(f, FW_CFG_FILE_DIR, f->dir, 4);
    fw_cfg_reset(f);
    return bus_claim_io(env->bus, FW_CFG_PORT_SELECTOR, 2, 2, data_read, control_write, f, "fw_cfg") &&
           bus_claim_io(env->bus, FW_CFG_PORT_DMA, 8, 4, dma_read, dma_write, f, "fw_cfg dma");
}
