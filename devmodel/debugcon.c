/* Port 0xE9 debug console. Reading the port returns 0xE9, which is how
 * guests detect it on Bochs and QEMU. Carriage returns are dropped, a
 * backspace takes back the line's last character; other control bytes
 * are kept as '?' so a line stays printable. */
#include "debugcon.h"

void debugcon_flush(struct debugcon *dc)
{
    if (dc->len != dc->shown) {
        dc->emit(dc->ctx, dc->line, dc->len, false);
        dc->shown = dc->len;
    }
}

static void end_line(struct debugcon *dc)
{
    dc->emit(dc->ctx, dc->line, dc->len, true);
    dc->len = 0;
    dc->shown = 0;
}

void debugcon_finish(struct debugcon *dc)
{
    if (dc->len)
        end_line(dc);
}

/* A backspace takes the unfinished line's last character back, as a
 * terminal shows "\b \b" (a prompt that erases itself, iPXE's): the line
 * reads as the screen ends up. Shown unfinished already, the line is
 * drawn again at the next flush. */
static void rub_out(struct debugcon *dc)
{
    if (!dc->len)
        return;
    dc->len--;
    if (dc->shown > dc->len)
        dc->shown = DEBUGCON_REDRAW;
}

static void debugcon_byte(struct debugcon *dc, u8 c)
{
    dc->bytes++;
    if (c == '\n') {
        end_line(dc);
        return;
    }
    if (c == '\r')
        return;
    if (c == '\b') {
        rub_out(dc);
        return;
    }
    dc->line[dc->len++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? (char)c : '?';
    if (dc->len == DEBUGCON_LINE_MAX)
        end_line(dc); /* an overlong line goes out in lines of this length */
}

static u32 debugcon_read(void *dev, u16 port, u8 size)
{
    (void)dev;
    (void)port;
    (void)size;
    return DEBUGCON_PORT;
}

static void debugcon_write(void *dev, u16 port, u8 size, u32 value)
{
    (void)port;
    (void)size; /* byte wide: the bus splits wider OUTs, lowest byte first */
    debugcon_byte(dev, (u8)value);
}

bool debugcon_attach(struct debugcon *dc, struct io_bus *bus, debugcon_line_fn emit, void *ctx)
{
    dc->len = 0;
    dc->shown = 0;
    dc->bytes = 0;
    dc->emit = emit;
    dc->ctx = ctx;
    /* SeaBIOS as built for QEMU (Debian's bios-256k.bin) writes its log
     * to port 402h, QEMU's debug port for it: the same console shows it. */
    /* Its writes raise no interrupt and arm no timer: the fast way may
     * do them (the line buffer's quiet flush is the platform's,
     * platform_note_output_quick). */
    return bus_claim_io(bus, 0x402, 1, 1, debugcon_read, debugcon_write, dc, "debugcon402") &&
           bus_set_writes(bus, 0x402, BUS_WRITES_QUIET) &&
           bus_claim_io(bus, DEBUGCON_PORT, 1, 1, debugcon_read, debugcon_write, dc, "debugcon") &&
           bus_set_writes(bus, DEBUGCON_PORT, BUS_WRITES_QUIET);
}
