/* fuzz-sources: devmodel/uart.c devmodel/bus.c devmodel/clock.c */
/* The 16550A (COM1) as a guest drives it, with the console on the other
 * side: every register in and out of DLAB, FIFO control (enable, resets,
 * trigger levels), loopback, bytes received from the console (overruns
 * included), and virtual time for the character timeout. Checks: the
 * receiver never holds more than its FIFO (or RBR) has room for; a byte
 * the UART says it kept is in the receiver; nothing is transmitted to the
 * console in loopback; LSR.DR says whether a byte waits; the IRQ 4 line
 * is what the UART thinks it drives, and no other line moves. */
#include "fuzz_dev.h"
#include "../../devmodel/uart.h"

#define FCR_FIFO_ENABLE 0x01
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define REG_LSR 5

static struct uart uart;
static unsigned transmitted;

static void on_tx(void *ctx, u8 byte)
{
    (void)byte;
    FUZZ_CHECK(ctx == &transmitted, "tx context %p", ctx);
    FUZZ_CHECK(!(uart.mcr & MCR_LOOP), "byte %#x transmitted in loopback", byte);
    transmitted++;
}

static const struct window ports[] = {{UART_COM1_BASE, UART_PORT_COUNT}};

static void check_state(void)
{
    unsigned room = (uart.fcr & FCR_FIFO_ENABLE) ? UART_FIFO_SIZE : 1;
    FUZZ_CHECK(uart.rx_count <= room && uart.rx_head < UART_FIFO_SIZE, "receiver holds %u from %u (room %u)",
               uart.rx_count, uart.rx_head, room);
    FUZZ_CHECK(fake.level[UART_COM1_GSI] == uart.irq_level, "IRQ 4 is %d, the UART drives %d",
               fake.level[UART_COM1_GSI], uart.irq_level);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    struct dm_env *env = fuzz_env_reset(BIT(UART_COM1_GSI));
    transmitted = 0;
    if (!uart_init(&uart, env, UART_COM1_BASE, UART_COM1_GSI, on_tx, &transmitted))
        abort();
    while (prog_more(&g)) {
        switch (take8(&g) % 6) {
        case 0: {
            u16 port = take_port(&g, ports, ARRAY_SIZE(ports));
            u8 io_size = take_io_size(&g);
            u8 rx_count = uart.rx_count;
            u32 v = fuzz_in(port, io_size);
            if (port == UART_COM1_BASE + REG_LSR && io_size == 1)
                FUZZ_CHECK(!(v & LSR_DR) == !rx_count, "LSR %#x with %u bytes received", v, rx_count);
            break;
        }
        case 1:
            fuzz_any_out(&g, ports, ARRAY_SIZE(ports));
            break;
        case 2: { /* a burst of console input */
            unsigned n = take8(&g) % 24;
            for (unsigned i = 0; i < n; i++) {
                unsigned before = uart.rx_count;
                if (uart_receive(&uart, take8(&g)))
                    FUZZ_CHECK(uart.rx_count == before + 1, "kept a byte: %u -> %u", before, uart.rx_count);
            }
            break;
        }
        case 3:
            fuzz_advance(take_delay(&g));
            break;
        case 4: /* drain the receiver as a driver's interrupt handler does */
            for (unsigned i = 0; i < 20 && (fuzz_in(UART_COM1_BASE + REG_LSR, 1) & LSR_DR); i++)
                fuzz_in(UART_COM1_BASE, 1);
            break;
        case 5:
            if (take8(&g) == 0xa5)
                uart_reset(&uart);
            break;
        }
        check_state();
    }
    return 0;
}
