/* See xs_store.h. */
#include "xs_store.h"
#include "../format.h"
#include "../string.h"

static u32 get32(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }
static void put32(u8 *p, u32 v)
{
    p[0] = (u8)v;
    p[1] = (u8)(v >> 8);
    p[2] = (u8)(v >> 16);
    p[3] = (u8)(v >> 24);
}

static const char *strchr_(const char *s, char c)
{
    for (; *s; s++)
        if (*s == c)
            return s;
    return NULL;
}

/* ---- the tree ---- */

static struct xs_node *find(const struct xs_store *s, const char *path)
{
    for (unsigned i = 0; i < XS_MAX_NODES; i++)
        if (s->nodes[i].used && strcmp(s->nodes[i].path, path) == 0)
            return (struct xs_node *)&s->nodes[i];
    return NULL;
}

/* Is child directly below parent? */
static bool is_child(const char *parent, const char *child)
{
    size_t n = strlen(parent);
    if (n == 1) /* "/" */
        return child[0] == '/' && child[1] && !strchr_(child + 1, '/');
    return strncmp(child, parent, n) == 0 && child[n] == '/' && child[n + 1] && !strchr_(child + n + 1, '/');
}

/* At or below? */
static bool is_under(const char *top, const char *path)
{
    size_t n = strlen(top);
    if (n == 1)
        return path[0] == '/';
    return strncmp(path, top, n) == 0 && (path[n] == 0 || path[n] == '/');
}

static struct xs_node *create(struct xs_store *s, const char *path)
{
    struct xs_node *n = find(s, path);
    if (n)
        return n;
    /* parents first (xenstore.txt: WRITE and MKDIR create missing parents) */
    char parent[XS_PATH_MAX];
    strlcpy(parent, path, sizeof(parent));
    char *slash = NULL;
    for (char *p = parent; *p; p++)
        if (*p == '/')
            slash = p;
    if (slash && slash != parent) {
        *slash = 0;
        if (!create(s, parent))
            return NULL;
    }
    for (unsigned i = 0; i < XS_MAX_NODES; i++)
        if (!s->nodes[i].used) {
            n = &s->nodes[i];
            memset(n, 0, sizeof(*n));
            n->used = true;
            strlcpy(n->path, path, sizeof(n->path));
            return n;
        }
    return NULL;
}

/* ---- responses ---- */

static u32 out_room(const struct xs_store *s) { return XS_OUT_MAX - s->out_len; }

static void out_bytes(struct xs_store *s, const void *data, u32 len)
{
    const u8 *p = data;
    for (u32 i = 0; i < len; i++)
        s->out[(s->out_head + s->out_len++) % XS_OUT_MAX] = p[i];
}

/* A message whose header and payload are queued whole or not at all. */
static bool reply_parts(struct xs_store *s, u32 type, u32 req_id, u32 tx_id, const void *a, u32 alen, const void *b,
                        u32 blen)
{
    if (out_room(s) < XS_HEADER + alen + blen)
        return false; /* never when xs_input keeps room; a watch event may be lost on a flood */
    u8 h[XS_HEADER];
    put32(h, type);
    put32(h + 4, req_id);
    put32(h + 8, tx_id);
    put32(h + 12, alen + blen);
    out_bytes(s, h, XS_HEADER);
    out_bytes(s, a, alen);
    out_bytes(s, b, blen);
    return true;
}

u32 xs_output(struct xs_store *s, u8 *buf, u32 max)
{
    u32 n = MIN(max, s->out_len);
    for (u32 i = 0; i < n; i++)
        buf[i] = s->out[(s->out_head + i) % XS_OUT_MAX];
    s->out_head = (s->out_head + n) % XS_OUT_MAX;
    s->out_len -= n;
    return n;
}

/* ---- watches ---- */

/* Every watch at or above the changed path fires, with the path relative
 * if the watch was set relative (xenstore.txt WATCH_EVENT). */
static void fire_watches(struct xs_store *s, const char *path)
{
    for (unsigned i = 0; i < XS_MAX_WATCHES; i++) {
        struct xs_watch *w = &s->watches[i];
        if (!w->used || !is_under(w->path, path))
            continue;
        const char *epath = path;
        if (w->relative)
            epath = path + strlen(s->home) + 1;
        reply_parts(s, XS_WATCH_EVENT, 0, 0, epath, (u32)strlen(epath) + 1, w->token, (u32)strlen(w->token) + 1);
    }
}

bool xs_write(struct xs_store *s, const char *path, const char *value)
{
    size_t len = strlen(value);
    if (strlen(path) >= XS_PATH_MAX || len >= XS_VALUE_MAX)
        return false;
    struct xs_node *n = create(s, path);
    if (!n)
        return false;
    memcpy(n->value, value, len);
    n->len = (u16)len;
    fire_watches(s, path);
    return true;
}

bool xs_read(const struct xs_store *s, const char *path, char *buf, size_t size)
{
    const struct xs_node *n = find(s, path);
    if (!n || size == 0)
        return false;
    size_t len = MIN((size_t)n->len, size - 1);
    memcpy(buf, n->value, len);
    buf[len] = 0;
    return true;
}

void xs_rm(struct xs_store *s, const char *path)
{
    for (unsigned i = 0; i < XS_MAX_NODES; i++)
        if (s->nodes[i].used && is_under(path, s->nodes[i].path))
            s->nodes[i].used = false;
    fire_watches(s, path);
}

void xs_init(struct xs_store *s, unsigned domid)
{
    void (*changed)(void *, const char *) = s->guest_changed;
    void *ctx = s->ctx;
    memset(s, 0, sizeof(*s));
    s->guest_changed = changed;
    s->ctx = ctx;
    s->domid = domid;
    s->next_txn = 1;
    snprintf(s->home, sizeof(s->home), "/local/domain/%u", domid);
    create(s, "/");
}

/* ---- requests ---- */

static bool error(struct xs_store *s, const u8 *h, const char *e)
{
    s->errors++;
    return reply_parts(s, XS_ERROR, get32(h + 4), get32(h + 8), e, (u32)strlen(e) + 1, NULL, 0);
}

static bool ok(struct xs_store *s, const u8 *h, u32 type)
{
    return reply_parts(s, type, get32(h + 4), get32(h + 8), "OK", 3, NULL, 0);
}

/* The payload's first string as an absolute path: relative ones are
 * under the domain's home. False if it is not NUL-terminated, too long,
 * or malformed (empty components, a trailing slash). */
static bool path_arg(const struct xs_store *s, const u8 *payload, u32 len, char *path, u32 *used)
{
    u32 n = 0;
    while (n < len && payload[n])
        n++;
    if (n == len || n == 0)
        return false;
    *used = n + 1;
    const char *p = (const char *)payload;
    int w = p[0] == '/' ? snprintf(path, XS_PATH_MAX, "%s", p) : snprintf(path, XS_PATH_MAX, "%s/%s", s->home, p);
    if (w < 0 || w >= XS_PATH_MAX)
        return false;
    for (int i = 0; i < w; i++) {
        char c = path[i];
        bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                   c == '/' || c == '_' || c == '@' || c == '.';
        if (!okc || (c == '/' && i + 1 < w && path[i + 1] == '/'))
            return false;
    }
    return w == 1 || path[w - 1] != '/';
}

/* The guest writes under its home only (as Xen's default permissions
 * give a domU its own subtree). */
static bool writable(const struct xs_store *s, const char *path) { return is_under(s->home, path); }

static bool do_directory(struct xs_store *s, const u8 *h, const char *path)
{
    if (!find(s, path))
        return error(s, h, "ENOENT");
    char *list = s->scratch;
    u32 len = 0;
    for (unsigned i = 0; i < XS_MAX_NODES; i++) {
        const struct xs_node *n = &s->nodes[i];
        if (!n->used || !is_child(path, n->path))
            continue;
        const char *name = n->path + strlen(path) + (strlen(path) > 1);
        u32 l = (u32)strlen(name) + 1;
        if (len + l > XS_PAYLOAD_MAX)
            return error(s, h, "E2BIG");
        memcpy(list + len, name, l);
        len += l;
    }
    return reply_parts(s, XS_DIRECTORY, get32(h + 4), get32(h + 8), list, len, NULL, 0);
}

static bool do_write(struct xs_store *s, const u8 *h, const char *path, const u8 *value, u32 len)
{
    if (!writable(s, path))
        return error(s, h, "EACCES");
    if (len >= XS_VALUE_MAX)
        return error(s, h, "E2BIG");
    char v[XS_VALUE_MAX];
    memcpy(v, value, len);
    v[len] = 0;
    if (strlen(v) != len) { /* a NUL inside: kept as bytes by Xen; refused here */
        return error(s, h, "EINVAL");
    }
    if (!xs_write(s, path, v))
        return error(s, h, "ENOSPC");
    if (s->guest_changed)
        s->guest_changed(s->ctx, path);
    return ok(s, h, XS_WRITE);
}

static bool do_watch(struct xs_store *s, const u8 *h, const u8 *payload, u32 len, bool add)
{
    char path[XS_PATH_MAX];
    u32 used;
    if (!path_arg(s, payload, len, path, &used))
        return error(s, h, "EINVAL");
    const char *token = (const char *)payload + used;
    u32 tlen = 0;
    while (used + tlen < len && token[tlen])
        tlen++;
    if (used + tlen == len || tlen >= XS_TOKEN_MAX)
        return error(s, h, "EINVAL");
    bool relative = payload[0] != '/';
    for (unsigned i = 0; i < XS_MAX_WATCHES; i++) {
        struct xs_watch *w = &s->watches[i];
        if (w->used && strcmp(w->path, path) == 0 && strcmp(w->token, token) == 0) {
            if (add)
                return error(s, h, "EEXIST");
            w->used = false;
            return ok(s, h, XS_UNWATCH);
        }
    }
    if (!add)
        return error(s, h, "ENOENT");
    for (unsigned i = 0; i < XS_MAX_WATCHES; i++) {
        struct xs_watch *w = &s->watches[i];
        if (w->used)
            continue;
        w->used = true;
        w->relative = relative;
        strlcpy(w->path, path, sizeof(w->path));
        strlcpy(w->token, token, sizeof(w->token));
        if (!ok(s, h, XS_WATCH))
            return false;
        /* "When a watch is first set up it is triggered once straight away" */
        const char *epath = relative ? path + strlen(s->home) + 1 : path;
        return reply_parts(s, XS_WATCH_EVENT, 0, 0, epath, (u32)strlen(epath) + 1, w->token, tlen + 1);
    }
    return error(s, h, "ENOSPC");
}

static bool do_txn_start(struct xs_store *s, const u8 *h)
{
    for (unsigned i = 0; i < XS_MAX_TXNS; i++)
        if (!s->txns[i]) {
            s->txns[i] = s->next_txn++;
            if (!s->next_txn)
                s->next_txn = 1;
            char id[12];
            int n = snprintf(id, sizeof(id), "%u", s->txns[i]);
            return reply_parts(s, XS_TRANSACTION_START, get32(h + 4), get32(h + 8), id, (u32)n + 1, NULL, 0);
        }
    return error(s, h, "ENOSPC");
}

static bool do_txn_end(struct xs_store *s, const u8 *h)
{
    u32 id = get32(h + 8);
    for (unsigned i = 0; i < XS_MAX_TXNS; i++)
        if (id && s->txns[i] == id) {
            s->txns[i] = 0;
            return ok(s, h, XS_TRANSACTION_END);
        }
    return error(s, h, "ENOENT");
}

/* A request in a transaction must name an open one. */
static bool txn_known(const struct xs_store *s, u32 id)
{
    if (id == 0)
        return true;
    for (unsigned i = 0; i < XS_MAX_TXNS; i++)
        if (s->txns[i] == id)
            return true;
    return false;
}

static bool handle(struct xs_store *s, const u8 *h, const u8 *payload, u32 len)
{
    u32 type = get32(h);
    s->requests++;
    if (!txn_known(s, get32(h + 8)))
        return error(s, h, "ENOENT");
    char path[XS_PATH_MAX];
    u32 used = 0;
    switch (type) {
    case XS_WATCH: return do_watch(s, h, payload, len, true);
    case XS_UNWATCH: return do_watch(s, h, payload, len, false);
    case XS_TRANSACTION_START: return do_txn_start(s, h);
    case XS_TRANSACTION_END: return do_txn_end(s, h);
    case XS_RESET_WATCHES:
        memset(s->watches, 0, sizeof(s->watches));
        return ok(s, h, XS_RESET_WATCHES);
    case XS_GET_DOMAIN_PATH: {
        char p[48];
        int n = snprintf(p, sizeof(p), "/local/domain/%u", s->domid);
        return reply_parts(s, XS_GET_DOMAIN_PATH, get32(h + 4), get32(h + 8), p, (u32)n + 1, NULL, 0);
    }
    case XS_DIRECTORY: case XS_READ: case XS_WRITE: case XS_MKDIR: case XS_RM: case XS_GET_PERMS:
    case XS_SET_PERMS:
        break;
    default:
        return error(s, h, "ENOSYS");
    }
    if (!path_arg(s, payload, len, path, &used))
        return error(s, h, "EINVAL");
    struct xs_node *n = find(s, path);
    switch (type) {
    case XS_DIRECTORY:
        return do_directory(s, h, path);
    case XS_READ:
        if (!n)
            return error(s, h, "ENOENT");
        return reply_parts(s, XS_READ, get32(h + 4), get32(h + 8), n->value, n->len, NULL, 0);
    case XS_WRITE:
        return do_write(s, h, path, payload + used, len - used);
    case XS_MKDIR:
        if (!writable(s, path))
            return error(s, h, "EACCES");
        if (!n && !create(s, path))
            return error(s, h, "ENOSPC");
        if (!n)
            fire_watches(s, path);
        return ok(s, h, XS_MKDIR);
    case XS_RM:
        if (!writable(s, path))
            return error(s, h, "EACCES");
        if (!n)
            return error(s, h, "ENOENT");
        xs_rm(s, path);
        if (s->guest_changed)
            s->guest_changed(s->ctx, path);
        return ok(s, h, XS_RM);
    case XS_GET_PERMS: {
        if (!n)
            return error(s, h, "ENOENT");
        char perms[16]; /* owner: the domain for its home, 0 elsewhere; others read */
        int l = snprintf(perms, sizeof(perms), "n%u", writable(s, path) ? s->domid : 0);
        return reply_parts(s, XS_GET_PERMS, get32(h + 4), get32(h + 8), perms, (u32)l + 1, NULL, 0);
    }
    default: /* XS_SET_PERMS: accepted on its own nodes, not kept */
        if (!writable(s, path))
            return error(s, h, "EACCES");
        return n ? ok(s, h, XS_SET_PERMS) : error(s, h, "ENOENT");
    }
}

u32 xs_input(struct xs_store *s, const u8 *data, u32 len)
{
    u32 taken = 0;
    while (taken < len) {
        if (s->discard) { /* the rest of a message that was too long */
            u32 n = MIN(s->discard, len - taken);
            s->discard -= n;
            taken += n;
            continue;
        }
        /* Room for the largest response first: a guest that never reads
         * its responses stops being served, and nothing grows. */
        if (s->in_len < XS_HEADER && out_room(s) < XS_HEADER + XS_PAYLOAD_MAX + 2 * (XS_PATH_MAX + XS_TOKEN_MAX + 2 * XS_HEADER))
            break;
        u32 want = s->in_len < XS_HEADER ? XS_HEADER - s->in_len : XS_HEADER + get32(s->in + 12) - s->in_len;
        u32 n = MIN(want, len - taken);
        memcpy(s->in + s->in_len, data + taken, n);
        s->in_len += n;
        taken += n;
        if (s->in_len == XS_HEADER) {
            u32 plen = get32(s->in + 12);
            if (plen > XS_PAYLOAD_MAX) { /* Linux never sends one: refuse and skip it */
                error(s, s->in, "E2BIG");
                s->discard = plen;
                s->in_len = 0;
                continue;
            }
        }
        if (s->in_len >= XS_HEADER && s->in_len == XS_HEADER + get32(s->in + 12)) {
            handle(s, s->in, s->in + XS_HEADER, s->in_len - XS_HEADER);
            s->in_len = 0;
        }
    }
    return taken;
}
