/* The PC/AT keyboard controller (an Intel 8042 running IBM's firmware)
 * with a PS/2 keyboard behind it. Specifications: IBM Personal Computer
 * AT Technical Reference (6183355), "Keyboard Controller"; Intel
 * UPI-41A/41AH/42/42AH (8042/8742) datasheet; IBM Personal System/2
 * Hardware Interface Technical Reference, "Keyboard and Auxiliary Device
 * Controller" and "Keyboard" (the PS/2 keyboard command set).
 *
 * Ports 0x60 (data) and 0x64 (status on read, command on write); IRQ 1.
 * There is no auxiliary (mouse) device: see kbc.c for how the aux
 * commands answer. */
#ifndef ZAZEN_DEVMODEL_KBC_H
#define ZAZEN_DEVMODEL_KBC_H

#include "devmodel.h"

#define KBC_DATA_PORT 0x60
#define KBC_CMD_PORT 0x64 /* status register when read */
#define KBC_GSI 1

/* Bytes the keyboard holds while the controller's output buffer is full.
 * A real keyboard buffers 16; a console paste needs more (one shifted
 * character is six set-2 bytes). */
#define KBC_QUEUE_SIZE 64
#define KBC_RAM_SIZE 32 /* the 8042's internal RAM; byte 0 is the command byte */

struct kbc {
    /* The controller. */
    u8 ram[KBC_RAM_SIZE];
    u8 out;            /* the output buffer (port 0x60 reads) */
    bool obf;          /* output buffer full */
    bool last_was_cmd; /* status A2: the last write went to port 0x64 */
    u8 ctl_cmd;        /* a controller command waiting for its data byte, or 0 */
    u8 outport;        /* the output port's latched bits (see kbc.c) */
    bool irq_level;
    bool xlat_break;   /* translation saw a set-2 0xF0 break prefix */
    /* The keyboard. */
    u8 queue[KBC_QUEUE_SIZE];
    unsigned q_head, q_len;
    u8 kbd_cmd;        /* a keyboard command waiting for its data byte, or 0 */
    u8 last_sent;      /* for the keyboard's 0xFE resend */
    bool scanning;
    u8 scancode_set;   /* 1 or 2 */
    u8 leds;           /* bit 0 Scroll, bit 1 Num, bit 2 Caps Lock */
    u8 typematic;
    /* The platform. */
    void (*reset)(void *ctx);
    void *ctx;
    struct dm_env *env;
};

/* Claims ports 0x60 and 0x64 (width 1); reset is how the guest resets its
 * domain (the output port's reset line). */
bool kbc_init(struct kbc *k, struct dm_env *env, void (*reset)(void *ctx), void *ctx);
void kbc_reset(struct kbc *k);
/* A character typed on the console, sent as make and break scancodes
 * (with Shift or Ctrl around it where the character needs them). False
 * if it was not queued: no key makes it, the keyboard is not scanning,
 * or the queue has no room for the whole sequence (try again later). */
bool kbc_type(struct kbc *k, u8 ascii);
/* Ctrl-Alt-Del pressed and released (what a PC user does to reboot), in
 * the keyboard's current scan code set. False if the keyboard is not
 * scanning or its queue has no room. */
bool kbc_ctrl_alt_del(struct kbc *k);
/* The output port's A20 gate bit (the platform ORs it with port 0x92's). */
bool kbc_a20(const struct kbc *k);

#endif
