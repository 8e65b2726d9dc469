/* The management protocol on the host's second serial port (COM2, 2F8h):
 * one request per line, one JSON reply per line (docs/management.md).
 *
 *   request:  1 list -l\n          (the protocol version, then a verb as the shell takes it)
 *   reply:    {"v":1,"ok":true,"verb":"list","domains":[...]}\n
 *   error:    {"v":1,"ok":false,"error":"unknown verb 'lst' (help lists them)"}\n
 *
 * The port is the host's: guests have emulated UARTs of their own and can
 * never reach it. Polled by CPU 0 with the console (vmm/console_service.c):
 * replies wait in a ring and go out a FIFO burst at a time, so a long
 * reply never holds the CPU. Registers: PC16550D datasheet, section 8. */
#include "mgmtproto.h"
#include "console.h"
#include "mgmt.h"
#include "string.h"
#include "x86.h"

#define COM2 0x2f8
#define UART_DATA 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LCR_DLAB 0x80
#define TX_BURST 16
#define REQUEST_MAX 300
#define TX_RING (128 * 1024) /* a power of two: a whole dmesg fits */

static struct {
    bool present;
    char request[REQUEST_MAX + 1];
    unsigned len;
    bool overflow;            /* the line being read is too long: skip to its end */
    char tx[TX_RING];
    size_t tx_head, tx_tail;  /* free-running */
    struct mgmt_front front;
} proto;

static void queue_reply(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        if (proto.tx_head - proto.tx_tail == TX_RING)
            return; /* a reply longer than the ring: cut (never happens with 128 KiB) */
        proto.tx[proto.tx_head++ % TX_RING] = s[i];
    }
}

static struct mgmt_out json_out = {.json = true, .write = queue_reply};

static void end_reply(void) { queue_reply(NULL, "\n", 1); }

void mgmtproto_init(void)
{
    outb(COM2 + UART_IER, 0x00); /* polled */
    outb(COM2 + UART_LCR, LCR_DLAB);
    outb(COM2 + UART_DATA, 1); /* 115200 baud */
    outb(COM2 + UART_IER, 0);
    outb(COM2 + UART_LCR, 0x03); /* 8N1 */
    outb(COM2 + UART_FCR, 0x07);
    outb(COM2 + UART_MCR, 0x03);
    proto.present = inb(COM2 + UART_LSR) != 0xff; /* nothing there reads all ones */
    if (proto.present)
        kprintf("zazen: management protocol %u on COM2 (docs/management.md)\n", MGMT_PROTOCOL_VERSION);
}

/* "1 verb args...": the version first. */
static void handle_request(char *line)
{
    char *argv[MGMT_MAX_ARGS + 1];
    const char *why = "";
    int argc = mgmt_split(line, argv, &why);
    if (argc < 0) {
        mgmt_error(&json_out, "%s", why);
    } else if (argc == 0) {
        return; /* an empty line: nothing asked, nothing said */
    } else if (strcmp(argv[0], "1") != 0) {
        mgmt_error(&json_out, "unsupported protocol version '%.8s': this is version %u", argv[0],
                   MGMT_PROTOCOL_VERSION);
    } else if (proto.front.pending.active) {
        mgmt_error(&json_out, "busy: the previous request is still running");
    } else {
        enum mgmt_status st = mgmt_exec(&proto.front, argc - 1, argv + 1, &json_out);
        if (st == MGMT_PENDING)
            return; /* its reply comes when it is done */
    }
    end_reply();
}

static void receive(void)
{
    for (unsigned n = 0; n < 64 && (inb(COM2 + UART_LSR) & LSR_DR); n++) {
        char c = (char)inb(COM2 + UART_DATA);
        if (c == '\n' || c == '\r') {
            if (proto.overflow) {
                mgmt_error(&json_out, "request longer than %u characters", REQUEST_MAX);
                end_reply();
            } else {
                proto.request[proto.len] = 0;
                handle_request(proto.request);
            }
            proto.len = 0;
            proto.overflow = false;
        } else if (proto.len < REQUEST_MAX) {
            proto.request[proto.len++] = c;
        } else {
            proto.overflow = true;
        }
    }
}

static void transmit(void)
{
    if (proto.tx_head == proto.tx_tail || !(inb(COM2 + UART_LSR) & LSR_THRE))
        return;
    for (unsigned i = 0; i < TX_BURST && proto.tx_tail != proto.tx_head; i++)
        outb(COM2 + UART_DATA, (u8)proto.tx[proto.tx_tail++ % TX_RING]);
}

void mgmtproto_poll(u64 now)
{
    if (!proto.present)
        return;
    struct mgmt_pending *p = &proto.front.pending;
    if (p->active && !p->poll(p, &json_out, now)) {
        p->active = false;
        end_reply();
    }
    receive();
    transmit();
}

bool mgmtproto_sending(void) { return proto.present && proto.tx_head != proto.tx_tail; }
