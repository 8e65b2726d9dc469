/* A 16550A UART: the PC's COM ports. Datasheet: National Semiconductor
 * PC16550D "Universal Asynchronous Receiver/Transmitter with FIFOs"
 * (June 1995). See uart.c for what is modelled and what is not. */
#ifndef ZAZEN_DEVMODEL_UART_H
#define ZAZEN_DEVMODEL_UART_H

#include "devmodel.h"

#define UART_FIFO_SIZE 16
#define UART_PORT_COUNT 8

#define UART_COM1_BASE 0x3f8
#define UART_COM1_GSI 4
#define UART_COM2_BASE 0x2f8
#define UART_COM2_GSI 3

struct uart {
    /* registers the guest reads back */
    u8 ier, lcr, mcr, scr;
    u8 fcr;          /* FIFO enable, DMA mode and trigger bits as last programmed */
    u8 lsr_errors;   /* LSR OE/PE/FE/BI: sticky until LSR is read */
    u8 msr;          /* MSR: line states in 7:4, delta bits in 3:0 */
    u16 divisor;     /* DLM:DLL */

    /* the receiver: a ring of received bytes (one deep in 16450 mode) */
    u8 rx[UART_FIFO_SIZE];
    u8 rx_head, rx_count;
    u8 rbr_last;     /* what RBR reads once the FIFO is empty */

    /* interrupt conditions that are events rather than states */
    bool thre_pending;    /* THR became empty and IIR/THR have not cleared it */
    bool timeout_pending; /* character timeout indication (FIFO mode) */
    struct dm_timer rx_timeout;

    bool irq_level;  /* what we last drove on the line */
    u16 base;
    unsigned gsi;
    void (*tx)(void *ctx, u8 byte);
    void *tx_ctx;
    struct dm_env *env;
};

/* base 0x3F8 (COM1, GSI 4) or 0x2F8 (COM2, GSI 3); tx is called for each
 * byte the guest transmits (never in loopback). Claims 8 ports, width 1. */
bool uart_init(struct uart *u, struct dm_env *env, u16 base, unsigned gsi, void (*tx)(void *ctx, u8 byte),
               void *tx_ctx);
/* Has software set a baud rate (a non-zero divisor latch)? A guest that
 * drives the port as its console does; the divisor powers on at 0, and
 * the Zazen BIOS sets it to 0 again at POST. */
bool uart_programmed(const struct uart *u);
/* The Master Reset of the datasheet (Table III). */
void uart_reset(struct uart *u);
/* A byte arriving on the serial input (console input). False if the byte
 * was lost: the receiver overflowed (overrun error, LSR.OE set), or
 * loopback has disconnected the serial input. */
bool uart_receive(struct uart *u, u8 byte);
/* Would a byte arriving now be kept? (Room in the FIFO, or an empty RBR
 * in 16450 mode, and not in loopback.) Lets a sender pace itself as a
 * real line's flow of characters would. */
bool uart_can_receive(const struct uart *u);

#endif
