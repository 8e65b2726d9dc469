/* The xenstore server's core (Xen docs/misc/xenstore.txt, public/io/
 * xs_wire.h): the tree, watches, transactions and the wire protocol, for
 * one client domain. Pure: bytes in, bytes out (the ring glue is
 * xenstore.c), so the host unit tests and the fuzzer drive it directly.
 *
 * Limits (a guest's flood or a long message is refused, never grown
 * into): XS_MAX_NODES nodes, paths of XS_PATH_MAX bytes, values of
 * XS_VALUE_MAX, XS_MAX_WATCHES watches, XS_MAX_TXNS open transactions,
 * messages of XENSTORE_PAYLOAD_MAX (4096) bytes; responses wait in a
 * queue of XS_OUT_MAX bytes, and requests are not taken while it lacks
 * room for a whole response. Transactions apply their writes at once
 * (a single-client store never conflicts) and always commit. */
#ifndef ZAZEN_XS_STORE_H
#define ZAZEN_XS_STORE_H

#include "../types.h"

#define XS_MAX_NODES 256
#define XS_PATH_MAX 160
#define XS_VALUE_MAX 256
#define XS_MAX_WATCHES 32
#define XS_TOKEN_MAX 64
#define XS_MAX_TXNS 8
#define XS_PAYLOAD_MAX 4096
#define XS_HEADER 16
#define XS_OUT_MAX 16384

enum xs_type {
    XS_DIRECTORY = 1, XS_READ = 2, XS_GET_PERMS = 3, XS_WATCH = 4, XS_UNWATCH = 5, XS_TRANSACTION_START = 6,
    XS_TRANSACTION_END = 7, XS_INTRODUCE = 8, XS_RELEASE = 9, XS_GET_DOMAIN_PATH = 10, XS_WRITE = 11,
    XS_MKDIR = 12, XS_RM = 13, XS_SET_PERMS = 14, XS_WATCH_EVENT = 15, XS_ERROR = 16, XS_RESET_WATCHES = 21,
};

struct xs_node {
    bool used;
    char path[XS_PATH_MAX];
    char value[XS_VALUE_MAX];
    u16 len;
};

struct xs_watch {
    bool used;
    bool relative;
    char path[XS_PATH_MAX]; /* absolute */
    char token[XS_TOKEN_MAX];
};

struct xs_store {
    unsigned domid;
    char home[32]; /* "/local/domain/<domid>" */
    struct xs_node nodes[XS_MAX_NODES];
    struct xs_watch watches[XS_MAX_WATCHES];
    u32 txns[XS_MAX_TXNS]; /* open transaction ids; 0: free */
    u32 next_txn;
    /* the request being reassembled */
    u8 in[XS_HEADER + XS_PAYLOAD_MAX];
    u32 in_len;
    u32 discard; /* bytes still to drop of a message too long to take */
    /* responses and watch events not yet in the ring */
    u8 out[XS_OUT_MAX];
    u32 out_head, out_len;
    char scratch[XS_PAYLOAD_MAX]; /* a directory listing being built */
    u64 requests, errors;
    /* A write or removal by the guest under its home (blkback follows its frontends). */
    void (*guest_changed)(void *ctx, const char *path);
    void *ctx;
};

void xs_init(struct xs_store *s, unsigned domid);
/* Takes request bytes; returns how many it took (fewer when the
 * response queue is short of room for one more response). */
u32 xs_input(struct xs_store *s, const u8 *data, u32 len);
/* Hands out up to max queued bytes. */
u32 xs_output(struct xs_store *s, u8 *buf, u32 max);

/* The server's own changes (backends, the toolstack): absolute paths;
 * they fire the guest's watches. False: the store is full or a path too long. */
bool xs_write(struct xs_store *s, const char *path, const char *value);
bool xs_read(const struct xs_store *s, const char *path, char *buf, size_t size);
void xs_rm(struct xs_store *s, const char *path);

#endif
