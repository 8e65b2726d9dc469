/* fuzz-sources: vmm/config.c vmm/format.c vmm/string.c */
/* The zazen.cfg parser on any text (not NUL-terminated, as the boot
 * entries hand it over: ASan sees a read past its end): sections, keys,
 * values, comments, long lines, NUL bytes, CR/LF. Then, on a parsed
 * configuration, the walk over the files it names with their size checks,
 * and the size formatter. Checks: a success describes 1-16 domains whose
 * names and file names are terminated strings inside their arrays, whose
 * memory is in range and whose lines exist; every error message is
 * terminated and names a line of the text (or 0); the formatter stays in
 * its buffer. */
#include "fuzz.h"
#include "../../vmm/config.h"

static struct config cfg;
static struct config_error err;
static unsigned lines;

static bool terminated(const char *s, size_t size) { return memchr(s, 0, size) != NULL; }

static void check_file(const struct config_file *f)
{
    FUZZ_CHECK(terminated(f->name, sizeof(f->name)), "file name not terminated");
    if (f->name[0])
        FUZZ_CHECK(f->key && f->line >= 1 && f->line <= lines, "file '%s' from line %u", f->name, f->line);
}

static bool on_file(void *ctx, const struct domain_config *d, const struct config_file *f)
{
    struct prog *g = ctx;
    FUZZ_CHECK(f->name[0] && d >= cfg.domains && d < cfg.domains + cfg.domain_count, "walked an empty file");
    struct config_error e;
    memset(&e, 0xee, sizeof(e));
    u64 size = take64(g) >> (take8(g) % 64);
    if (!config_check_file_size(f, size, &e))
        FUZZ_CHECK(terminated(e.msg, sizeof(e.msg)) && e.line == f->line, "size error not terminated, or line %u",
                   e.line);
    return take8(g) != 0xff;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    /* The first bytes drive the checks after parsing; the rest is the text. */
    struct prog g = {data, size < 32 ? size : 32};
    size_t text_len = size - g.left;
    char *text = malloc(text_len ? text_len : 1); /* exactly the text: no terminator */
    memcpy(text, data + g.left, text_len);
    lines = 1;
    for (size_t i = 0; i < text_len; i++)
        lines += text[i] == '\n';

    if (config_parse(text, text_len, &cfg, &err)) {
        FUZZ_CHECK(cfg.domain_count >= 1 && cfg.domain_count <= CONFIG_MAX_DOMAINS, "%u domains", cfg.domain_count);
        for (unsigned i = 0; i < cfg.domain_count; i++) {
            const struct domain_config *d = &cfg.domains[i];
            FUZZ_CHECK(terminated(d->name, sizeof(d->name)) && d->name[0], "domain %u has no proper name", i);
            FUZZ_CHECK(d->line >= 1 && d->line <= lines, "domain '%s' on line %u of %u", d->name, d->line, lines);
            FUZZ_CHECK(d->memory >= CONFIG_MIN_MEMORY && d->memory <= CONFIG_MAX_MEMORY && d->vcpus >= 1 &&
                           d->vcpus <= CONFIG_MAX_VCPUS,
                       "domain '%s': memory %llu, %u vCPUs", d->name, (unsigned long long)d->memory, d->vcpus);
            check_file(&d->firmware);
            check_file(&d->cdrom);
            for (unsigned k = 0; k < CONFIG_MAX_DISKS; k++)
                check_file(&d->disks[k]);
        }
        config_for_each_file(&cfg, on_file, &g);
    } else {
        FUZZ_CHECK(terminated(err.msg, sizeof(err.msg)) && err.msg[0], "error without a message");
        FUZZ_CHECK(err.line <= lines, "error on line %u of %u: %s", err.line, lines, err.msg);
    }

    size_t buf_size = 1 + take8(&g) % 32;
    char *buf = malloc(buf_size); /* exactly: ASan sees any byte beyond */
    config_format_size(buf, buf_size, take64(&g) << (take8(&g) % 64));
    FUZZ_CHECK(terminated(buf, buf_size), "formatted size not terminated");
    free(buf);
    free(text);
    return 0;
}
