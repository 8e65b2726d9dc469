/* unit-sources: vmm/xz.c vmm/decompress.c vmm/inflate.c vmm/pvh_loader.c vmm/bzimage.c vmm/elf.c vmm/xen/xs_store.c vmm/xen/blkif.c vmm/string.c vmm/format.c */
/* The pvh domain type's pure parts: the XZ decoder (a vector made by
 * Python's lzma with the kernel's filters, x86 BCJ + LZMA2, and every
 * way to break it), the real Debian vmlinuz when build/linux has it, the
 * PVH ELF note parser and loader, the xenstore protocol and the blkif
 * request checks. */
#include "unit.h"
#include "xz_vector.h"
#include "../../vmm/decompress.h"
#include "../../vmm/pvh_loader.h"
#include "../../vmm/xen/blkif.h"
#include "../../vmm/xen/xs_store.h"

#include <stdio.h>
#include <stdlib.h>

/* The plain text of xz_vector.h (the generator's loop). */
static size_t make_plain(u8 *out)
{
    size_t n = 0;
    for (int i = 0; i < 3000; i++) {
        n += (size_t)sprintf((char *)out + n, "zazen %d ", i % 97);
        if (i % 7 == 0) {
            u8 call[5] = {0xe8, (u8)(i & 0xff), (u8)((i >> 8) & 0xff), 0, 0};
            memcpy(out + n, call, 5);
            n += 5;
        }
        if (i % 11 == 0) {
            u8 jmp[5] = {0xe9, 0x10, 0x20, 0xff, 0xff};
            memcpy(out + n, jmp, 5);
            n += 5;
        }
    }
    return n;
}

TEST(xz_vector_decodes_exactly)
{
    static u8 plain[40000], out[40000];
    size_t n = make_plain(plain);
    CHECK_EQ(n, XZ_VECTOR_PLAIN_SIZE);
    u64 size = 0, got = 0;
    char why[160] = "";
    CHECK(compression_of(xz_vector, sizeof(xz_vector)) == COMPRESSION_XZ);
    CHECK(xz_size(xz_vector, sizeof(xz_vector), &size, why, sizeof(why)));
    CHECK_EQ(size, n);
    CHECK(xz_decompress(xz_vector, sizeof(xz_vector), out, size, &got, why, sizeof(why)));
    CHECK_EQ(got, n);
    CHECK(memcmp(out, plain, n) == 0);
}

TEST(xz_refuses_broken_streams)
{
    static u8 buf[sizeof(xz_vector)], out[40000];
    char why[160];
    u64 got;
    /* every truncation point: a refusal, never a crash */
    for (size_t cut = 0; cut < sizeof(xz_vector); cut += 7) {
        CHECK(!xz_decompress(xz_vector, cut, out, sizeof(out), &got, why, sizeof(why)));
        CHECK(strncmp(why, "xz: ", 4) == 0);
    }
    /* a flipped byte anywhere in the data: refused (CRC32 or a malformed chunk) */
    for (size_t at = 12; at < sizeof(xz_vector) - 12; at += 13) {
        memcpy(buf, xz_vector, sizeof(buf));
        buf[at] ^= 0x40;
        if (xz_decompress(buf, sizeof(buf), out, sizeof(out), &got, why, sizeof(why)))
            printf("flipped byte %zu of %zu not detected\n", at, sizeof(buf));
        CHECK(!xz_decompress(buf, sizeof(buf), out, sizeof(out), &got, why, sizeof(why)));
    }
    /* an output buffer one byte short */
    CHECK(!xz_decompress(xz_vector, sizeof(xz_vector), out, XZ_VECTOR_PLAIN_SIZE - 1, &got, why, sizeof(why)));
    CHECK_STR(why, "xz: an LZMA2 chunk runs past the data");
    /* the CRC32 of the data itself */
    memcpy(buf, xz_vector, sizeof(buf));
    u64 size;
    CHECK(xz_size(buf, sizeof(buf), &size, why, sizeof(why)));
    buf[sizeof(buf) - 12 - 4 - 2] ^= 1; /* inside the index: its CRC32 catches it */
    CHECK(!xz_size(buf, sizeof(buf), &size, why, sizeof(why)));
}

/* The stock Debian kernel, if the build has it: Zazen's own decoder
 * takes its XZ payload apart (CRC32 checked), finds the PVH note and
 * loads it where its segments ask. */
static u8 *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    u8 *p = malloc(*size);
    if (fread(p, 1, *size, f) != *size) {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

#define RAM (256u << 20)
static u8 *ram;
static bool write_ram(void *ctx, u64 gpa, const void *data, u64 len)
{
    (void)ctx;
    if (gpa >= RAM || len > RAM - gpa)
        return false;
    if (data)
        memcpy(ram + gpa, data, len);
    else
        memset(ram + gpa, 0, len);
    return true;
}
static void *alloc_host(u64 size) { return malloc(size); }
static void free_host(void *p, u64 size) { (void)size; free(p); }

static struct pvh_config config_for(const u8 *kernel, u64 size)
{
    static struct hvm_memmap_entry map[2] = {{0, 0x9f000, PVH_MEM_RAM, 0}, {MiB, RAM - 2 * MiB, PVH_MEM_RAM, 0}};
    return (struct pvh_config){
        .kernel = {kernel, size, "kernel 'vmlinuz' (zazen.cfg:3)"},
        .cmdline = "console=hvc0",
        .ram_size = RAM,
        .usable_top = RAM - MiB,
        .rsdp = 0x9f010,
        .memmap = map,
        .memmap_count = 2,
        .alloc = alloc_host,
        .free = free_host,
    };
}

TEST(debian_vmlinuz_loads_as_pvh)
{
    size_t size;
    u8 *k = read_file("build/linux/vmlinuz", &size);
    if (!k) {
        printf("SKIP debian_vmlinuz_loads_as_pvh: no build/linux/vmlinuz\n");
        return;
    }
    if (!ram)
        ram = calloc(1, RAM);
    struct pvh_config c = config_for(k, size);
    struct pvh_report rep;
    char why[200] = "";
    bool ok = pvh_load(&c, write_ram, NULL, &rep, why, sizeof(why));
    if (!ok)
        printf("why: %s\n", why);
    CHECK(ok);
    CHECK(rep.compressed);
    CHECK_STR(rep.format, "xz");
    CHECK_EQ(rep.kernel_start, 0x1000000);
    CHECK(rep.entry > rep.kernel_start && rep.entry < rep.kernel_end);
    const struct hvm_start_info *si = (const struct hvm_start_info *)(ram + PVH_START_INFO_ADDR);
    CHECK_EQ(si->magic, XEN_HVM_START_MAGIC);
    CHECK_EQ(si->version, 1);
    CHECK_EQ(si->memmap_entries, 2);
    CHECK_STR((const char *)ram + si->cmdline_paddr, "console=hvc0");
    /* a payload cut short is refused with the file named */
    c.kernel.size = size - 100000;
    CHECK(!pvh_load(&c, write_ram, NULL, &rep, why, sizeof(why)));
    CHECK(strncmp(why, "kernel 'vmlinuz' (zazen.cfg:3): ", 32) == 0);
    free(k);
}

/* A minimal ELF64 with one PT_LOAD at 16 MiB and a PT_NOTE. */
static size_t make_elf(u8 *img, bool with_note, u32 note_type, u32 descsz)
{
    memset(img, 0, 4096);
    memcpy(img, "\x7f" "ELF\x02\x01\x01", 7);
    *(u16 *)(img + 16) = 2;      /* ET_EXEC */
    *(u16 *)(img + 18) = 62;     /* EM_X86_64 */
    *(u32 *)(img + 20) = 1;
    *(u64 *)(img + 24) = 0x1000010;
    *(u64 *)(img + 32) = 64;     /* phoff */
    *(u16 *)(img + 52) = 64;
    *(u16 *)(img + 54) = 56;
    *(u16 *)(img + 56) = with_note ? 2 : 1;
    u8 *ph = img + 64;
    *(u32 *)ph = 1;              /* PT_LOAD */
    *(u64 *)(ph + 8) = 0x400;    /* offset */
    *(u64 *)(ph + 16) = 0xffffffff81000000ull;
    *(u64 *)(ph + 24) = 0x1000000;
    *(u64 *)(ph + 32) = 0x100;
    *(u64 *)(ph + 40) = 0x2000;
    ph += 56;
    *(u32 *)ph = 4;              /* PT_NOTE */
    *(u64 *)(ph + 8) = 0x300;
    *(u64 *)(ph + 32) = 12 + 4 + 8;
    u8 *n = img + 0x300;
    *(u32 *)n = 4;
    *(u32 *)(n + 4) = descsz;
    *(u32 *)(n + 8) = note_type;
    memcpy(n + 12, "Xen", 4);
    *(u64 *)(n + 16) = 0x1000010;
    return 0x500;
}

TEST(pvh_note_parser)
{
    static u8 img[4096];
    u32 entry = 0;
    char why[160];
    size_t size = make_elf(img, true, XEN_ELFNOTE_PHYS32_ENTRY, 8);
    CHECK(pvh_find_entry(img, size, &entry, why, sizeof(why)));
    CHECK_EQ(entry, 0x1000010);
    size = make_elf(img, true, 2, 8); /* another Xen note: no entry */
    CHECK(!pvh_find_entry(img, size, &entry, why, sizeof(why)));
    CHECK_STR(why, "no Xen PVH entry point (ELF note XEN_ELFNOTE_PHYS32_ENTRY): not a PVH kernel");
    size = make_elf(img, true, XEN_ELFNOTE_PHYS32_ENTRY, 0x7fffffff); /* a note longer than its segment */
    CHECK(!pvh_find_entry(img, size, &entry, why, sizeof(why)));
    CHECK_STR(why, "an ELF note runs past its segment");
    size = make_elf(img, false, 0, 0);
    CHECK(!pvh_find_entry(img, size, &entry, why, sizeof(why)));
}

TEST(pvh_loader_refuses)
{
    static u8 img[4096];
    if (!ram)
        ram = calloc(1, RAM);
    char why[200];
    struct pvh_report rep;
    size_t size = make_elf(img, true, XEN_ELFNOTE_PHYS32_ENTRY, 8);
    struct pvh_config c = config_for(img, size);
    CHECK(pvh_load(&c, write_ram, NULL, &rep, why, sizeof(why)));
    CHECK_EQ(rep.entry, 0x1000010);
    CHECK_EQ(*(u32 *)(ram + PVH_START_INFO_ADDR), XEN_HVM_START_MAGIC);
    /* a segment outside the domain's RAM */
    *(u64 *)(img + 64 + 24) = RAM;
    CHECK(!pvh_load(&c, write_ram, NULL, &rep, why, sizeof(why)));
    CHECK(strstr(why, "kernel 'vmlinuz' (zazen.cfg:3): ELF segment 0 (0x10000000-0x10002000) is outside") == why);
    /* no PVH note */
    size = make_elf(img, false, 0, 0);
    c = config_for(img, size);
    CHECK(!pvh_load(&c, write_ram, NULL, &rep, why, sizeof(why)));
    CHECK_STR(why, "kernel 'vmlinuz' (zazen.cfg:3): no Xen PVH entry point (ELF note XEN_ELFNOTE_PHYS32_ENTRY): not "
                   "a PVH kernel");
    /* neither ELF nor bzImage */
    c.kernel.size = 100;
    memset(img, 0x90, 100);
    CHECK(!pvh_load(&c, write_ram, NULL, &rep, why, sizeof(why)));
    CHECK_STR(why, "kernel 'vmlinuz' (zazen.cfg:3): neither an ELF vmlinux nor a bzImage");
}

/* ---- xenstore ---- */

static struct xs_store store;
static u8 outbuf[XS_OUT_MAX];

static void send(u32 type, u32 req, u32 tx, const void *payload, u32 len)
{
    u8 msg[16 + 512];
    u32 h[4] = {type, req, tx, len};
    memcpy(msg, h, 16);
    memcpy(msg + 16, payload, len);
    CHECK_EQ(xs_input(&store, msg, 16 + len), 16 + len);
}

/* The next queued message: its header and payload. */
static u32 next(u32 *type, u32 *req, char *payload)
{
    u32 h[4];
    if (xs_output(&store, (u8 *)h, 16) != 16)
        return ~0u;
    *type = h[0];
    *req = h[1];
    xs_output(&store, (u8 *)payload, h[3]);
    payload[h[3]] = 0;
    return h[3];
}

TEST(xenstore_protocol)
{
    xs_init(&store, 3);
    CHECK(xs_write(&store, "/local/domain/3/device/vbd/51712/state", "1"));
    u32 type, req;
    char p[4096];
    send(XS_READ, 1, 0, "device/vbd/51712/state", 23);
    CHECK_EQ(next(&type, &req, p), 1);
    CHECK_EQ(type, XS_READ);
    CHECK_EQ(req, 1);
    CHECK_STR(p, "1");
    send(XS_DIRECTORY, 2, 0, "device/vbd", 11);
    CHECK_EQ(next(&type, &req, p), 6);
    CHECK_STR(p, "51712");
    send(XS_READ, 3, 0, "/nothing", 9);
    next(&type, &req, p);
    CHECK_EQ(type, XS_ERROR);
    CHECK_STR(p, "ENOENT");
    /* a relative watch fires at once, and on a change, with a relative path */
    send(XS_WATCH, 4, 0, "device\0tok", 11);
    next(&type, &req, p);
    CHECK_STR(p, "OK");
    CHECK_EQ(next(&type, &req, p), 11);
    CHECK_EQ(type, XS_WATCH_EVENT);
    CHECK_STR(p, "device");
    CHECK_STR(p + 7, "tok");
    xs_write(&store, "/local/domain/3/device/vbd/51712/state", "4");
    next(&type, &req, p);
    CHECK_EQ(type, XS_WATCH_EVENT);
    CHECK_STR(p, "device/vbd/51712/state");
    /* writes outside the domain's home are refused */
    send(XS_WRITE, 5, 0, "/local/domain/0/backend/x\0v", 27);
    next(&type, &req, p);
    CHECK_STR(p, "EACCES");
    /* transactions: a known id works, an unknown one is ENOENT */
    send(XS_TRANSACTION_START, 6, 0, "", 1);
    next(&type, &req, p);
    CHECK_EQ(type, XS_TRANSACTION_START);
    u32 tx = (u32)atoi(p);
    CHECK(tx != 0);
    send(XS_WRITE, 7, tx, "control/x\0y", 11);
    next(&type, &req, p);
    CHECK_STR(p, "OK");
    send(XS_TRANSACTION_END, 8, tx, "T", 2);
    next(&type, &req, p);
    CHECK_STR(p, "OK");
    send(XS_READ, 9, 12345, "control/x", 10);
    next(&type, &req, p);
    CHECK_STR(p, "ENOENT");
    /* a header announcing more than 4096 bytes: E2BIG, then its payload is skipped */
    u32 h[4] = {XS_READ, 10, 0, 5000};
    CHECK_EQ(xs_input(&store, (u8 *)h, 16), 16);
    static u8 junk[5000];
    CHECK_EQ(xs_input(&store, junk, sizeof(junk)), sizeof(junk));
    next(&type, &req, p);
    CHECK_EQ(req, 10);
    CHECK_STR(p, "E2BIG");
    send(XS_READ, 11, 0, "control/x", 10);
    next(&type, &req, p);
    CHECK_STR(p, "y");
    /* bad paths */
    send(XS_READ, 12, 0, "a//b", 5);
    next(&type, &req, p);
    CHECK_STR(p, "EINVAL");
    send(XS_READ, 13, 0, "nonul", 5);
    next(&type, &req, p);
    CHECK_STR(p, "EINVAL");
}

TEST(xenstore_limits)
{
    xs_init(&store, 1);
    /* a flood whose responses are never read: the server stops taking
     * requests with room left for one more response */
    u8 msg[16 + 6];
    u32 h[4] = {XS_READ, 0, 0, 6};
    memcpy(msg, h, 16);
    memcpy(msg + 16, "domid", 6);
    u32 taken = 0;
    for (int i = 0; i < 5000; i++)
        taken += xs_input(&store, msg, sizeof(msg));
    CHECK(taken < 5000 * sizeof(msg));
    CHECK(store.out_len <= XS_OUT_MAX);
    while (xs_output(&store, outbuf, sizeof(outbuf)))
        ;
    /* nodes: the table fills and then writes fail cleanly */
    char path[64];
    unsigned ok = 0;
    for (int i = 0; i < XS_MAX_NODES + 10; i++) {
        snprintf(path, sizeof(path), "/local/domain/1/n%d", i);
        ok += xs_write(&store, path, "v");
    }
    CHECK(ok < XS_MAX_NODES);
    /* watches: at most XS_MAX_WATCHES */
    xs_init(&store, 1);
    unsigned refused = 0;
    for (int i = 0; i < XS_MAX_WATCHES + 4; i++) {
        char w[32];
        int n = snprintf(w, sizeof(w), "a%d", i);
        memcpy(w + n + 1, "t", 2);
        send(XS_WATCH, (u32)i, 0, w, (u32)n + 3);
        u32 type, req;
        char p[512];
        next(&type, &req, p);
        if (type == XS_ERROR)
            refused++;
        else
            next(&type, &req, p); /* its first event */
    }
    CHECK_EQ(refused, 4);
}

TEST(blkif_request_checks)
{
    struct blkif_request rq = {0};
    rq.operation = BLKIF_OP_READ;
    rq.nr_segments = 1;
    rq.seg[0].first_sect = 0;
    rq.seg[0].last_sect = 7;
    CHECK(blkif_check_request(&rq, 100).ok);
    CHECK_EQ(blkif_check_request(&rq, 100).sectors, 8);
    rq.sector_number = 93; /* 93 + 8 > 100 */
    CHECK(!blkif_check_request(&rq, 100).ok);
    rq.sector_number = ~0ull - 3; /* wraps */
    CHECK(!blkif_check_request(&rq, 100).ok);
    rq.sector_number = 0;
    rq.seg[0].last_sect = 8;
    CHECK(!blkif_check_request(&rq, 100).ok);
    rq.seg[0].first_sect = 5;
    rq.seg[0].last_sect = 4;
    CHECK(!blkif_check_request(&rq, 100).ok);
    rq.seg[0].first_sect = 0;
    rq.nr_segments = 12;
    CHECK(!blkif_check_request(&rq, 100).ok);
    rq.nr_segments = 0;
    CHECK(!blkif_check_request(&rq, 100).ok); /* a read of nothing */
    rq.operation = BLKIF_OP_FLUSH_DISKCACHE;
    CHECK(blkif_check_request(&rq, 100).ok);  /* a pure flush */
    rq.sector_number = ~0ull; /* whatever blkfront left there: Linux's empty flush */
    CHECK(blkif_check_request(&rq, 100).ok);
}

/* ---- gzip ---- */
#include "gzip_vector.h"

static size_t make_gzip_plain(u8 *out)
{
    size_t n = 0;
    for (int i = 0; i < 2000; i++) {
        n += (size_t)sprintf((char *)out + n, "gzip zazen %d ", i % 53);
        for (int k = 0; k < i % 17; k++)
            out[n++] = 'x';
        out[n++] = '\n';
    }
    return n;
}

TEST(gzip_members_decode)
{
    static u8 plain[80000], out[80000];
    size_t n = make_gzip_plain(plain);
    u64 got;
    char why[120];
    CHECK(compression_of(gz_dynamic, sizeof(gz_dynamic)) == COMPRESSION_GZIP);
    CHECK(gzip_decompress(gz_dynamic, sizeof(gz_dynamic), out, sizeof(out), &got, why, sizeof(why)));
    CHECK_EQ(got, n);
    CHECK(memcmp(out, plain, n) == 0);
    CHECK(gzip_decompress(gz_stored, sizeof(gz_stored), out, sizeof(out), &got, why, sizeof(why)));
    CHECK_EQ(got, 3000);
    CHECK(memcmp(out, plain, 3000) == 0);
    CHECK(gzip_decompress(gz_fixed, sizeof(gz_fixed), out, sizeof(out), &got, why, sizeof(why)));
    CHECK_EQ(got, 23);
    CHECK(memcmp(out, "hello hello hello zazen", 23) == 0);
}

TEST(gzip_refuses_broken_members)
{
    static u8 buf[sizeof(gz_dynamic)], out[80000];
    u64 got;
    char why[120];
    for (size_t cut = 0; cut < sizeof(gz_dynamic); cut += 5)
        CHECK(!gzip_decompress(gz_dynamic, cut, out, sizeof(out), &got, why, sizeof(why)));
    for (size_t at = 10; at < sizeof(gz_dynamic); at += 3) {
        memcpy(buf, gz_dynamic, sizeof(buf));
        buf[at] ^= 0x10;
        CHECK(!gzip_decompress(buf, sizeof(buf), out, sizeof(out), &got, why, sizeof(why)));
    }
    CHECK(!gzip_decompress(gz_dynamic, sizeof(gz_dynamic), out, 1000, &got, why, sizeof(why)));
    CHECK_STR(why, "gzip: corrupt or truncated DEFLATE data");
}
