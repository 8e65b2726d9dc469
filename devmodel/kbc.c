/* kbc.c: the 8042 keyboard controller and a PS/2 keyboard. See kbc.h for
 * the specifications; sections below name the chapter of each.
 *
 * Two chips in one file, because the wire between them is invisible to
 * the guest except through the controller:
 *   - the controller owns the status register, the command byte (byte 0
 *     of its RAM), the output port (reset line and A20 gate) and the
 *     output buffer the guest reads at port 0x60; it translates what the
 *     keyboard sends from scancode set 2 to set 1 when the command byte
 *     says so;
 *   - the keyboard answers the commands written to port 0x60 and sends
 *     scancodes for what is typed on the console. Its bytes wait in a
 *     queue while the output buffer is full or the interface is disabled,
 *     as the real keyboard waits while the controller holds its clock
 *     line low.
 *
 * There is no auxiliary (mouse) device and no aux port behind it: the aux
 * enable bits are kept in the command byte, the aux interface test (0xA9)
 * answers 0x01 ("clock line stuck low"), and bytes for the aux side
 * (0xD3, 0xD4) are taken and dropped, with no answer. A guest therefore
 * concludes the port is absent (Linux's i8042 gives up on it when the
 * 0xA9 answer is not 0x00, 0xFA or 0xFF) instead of probing for a mouse. */
#include "kbc.h"
#include "../vmm/string.h"

/* Status register, read at port 0x64 (AT Technical Reference, "Status
 * Register"; PS/2 KADC, "Status Register"). */
#define STS_OBF 0x01      /* output buffer full: port 0x60 has a byte */
#define STS_IBF 0x02      /* input buffer full: never, writes are taken at once */
#define STS_SYS 0x04      /* system flag: command byte bit 2 */
#define STS_A2 0x08       /* 1: the last write was a command (port 0x64) */
#define STS_UNLOCKED 0x10 /* keyboard inhibit switch: 1 = not inhibited */
#define STS_AUX_OBF 0x20  /* the output buffer holds aux data: never */
#define STS_TIMEOUT 0x40  /* never: the keyboard always answers */
#define STS_PARITY 0x80   /* never: no wire to garble a byte */

/* The command byte, RAM byte 0 (AT Technical Reference, "Command Byte";
 * PS/2 KADC, "Controller Command Byte"). */
#define CMD_KBD_INT 0x01     /* IRQ 1 when the output buffer is full */
#define CMD_AUX_INT 0x02     /* IRQ 12 for aux data (no aux: never raised) */
#define CMD_SYS 0x04         /* the system flag shown in the status register */
#define CMD_KBD_DISABLE 0x10 /* keyboard clock held low: nothing comes in */
#define CMD_AUX_DISABLE 0x20
#define CMD_TRANSLATE 0x40   /* set 2 -> set 1 translation ("PC compatibility") */
/* After power-on, before any firmware writes it: the keyboard interrupt
 * and translation on, as every PC BIOS leaves them, so a guest that never
 * programs the controller still gets set-1 keys on IRQ 1; the system flag
 * is clear until the self-test (0xAA) sets it, which is how POST tells a
 * cold boot from a warm one. */
#define CMD_POWER_ON (CMD_KBD_INT | CMD_TRANSLATE)

/* The output port (AT Technical Reference, "Output Port"; PS/2 KADC). */
#define OUT_NOT_RESET 0x01 /* 0 holds the processor in reset */
#define OUT_A20 0x02       /* the A20 gate */
#define OUT_AUX_DATA 0x04
#define OUT_AUX_CLOCK 0x08
#define OUT_KBD_OBF 0x10   /* driven from the output buffer (IRQ 1 line) */
#define OUT_AUX_OBF 0x20   /* driven from the output buffer (IRQ 12 line) */
#define OUT_KBD_CLOCK 0x40
#define OUT_KBD_DATA 0x80
#define OUT_DRIVEN (OUT_KBD_OBF | OUT_AUX_OBF) /* not latched from writes */
/* The 8042's port pins are quasi-bidirectional and come out of reset high
 * (8042 datasheet, "I/O Ports"): reset line inactive, A20 on, the
 * keyboard and aux lines idle. */
#define OUT_POWER_ON (OUT_NOT_RESET | OUT_A20 | OUT_AUX_DATA | OUT_AUX_CLOCK | OUT_KBD_CLOCK | OUT_KBD_DATA)

/* The input port as the AT defines it (AT Technical Reference, "Input
 * Port"): bit 7 keyboard not inhibited, bit 6 clear = colour display,
 * bit 5 no manufacturing jumper, bit 4 second 256 KiB of system-board RAM
 * enabled. */
#define INPORT_VALUE 0xb0

/* Controller commands, written to port 0x64 (AT Technical Reference and
 * PS/2 KADC, "Commands (I/O Address Hex 64)"). */
#define CTL_READ_RAM_FIRST 0x20 /* 0x20-0x3F: read RAM byte (0x20: command byte) */
#define CTL_READ_RAM_LAST 0x3f
#define CTL_WRITE_RAM_FIRST 0x60 /* 0x60-0x7F: write RAM byte (0x60: command byte) */
#define CTL_WRITE_RAM_LAST 0x7f
#define CTL_AUX_DISABLE 0xa7
#define CTL_AUX_ENABLE 0xa8
#define CTL_AUX_TEST 0xa9
#define CTL_SELF_TEST 0xaa
#define CTL_KBD_TEST 0xab
#define CTL_KBD_DISABLE 0xad
#define CTL_KBD_ENABLE 0xae
#define CTL_READ_INPORT 0xc0
#define CTL_READ_OUTPORT 0xd0
#define CTL_WRITE_OUTPORT 0xd1
#define CTL_WRITE_KBD_OBUF 0xd2
#define CTL_WRITE_AUX_OBUF 0xd3
#define CTL_WRITE_AUX 0xd4
#define CTL_A20_OFF 0xdd /* not IBM's: some chipsets' shortcuts for D1 DD / D1 DF */
#define CTL_A20_ON 0xdf
#define CTL_PULSE_FIRST 0xf0 /* 0xF0-0xFF: pulse output port bits 0-3 where the command's bit is 0 */

#define SELF_TEST_OK 0x55
#define INTERFACE_OK 0x00
#define INTERFACE_CLOCK_STUCK_LOW 0x01

/* Keyboard commands, written to port 0x60 (PS/2 Hardware Interface
 * Technical Reference, "Keyboard", "Commands from the System"). */
#define KBD_SET_LEDS 0xed /* + data byte */
#define KBD_ECHO 0xee
#define KBD_SCANCODE_SET 0xf0 /* + data byte; 0 reads the current set */
#define KBD_IDENTIFY 0xf2
#define KBD_TYPEMATIC 0xf3 /* + data byte */
#define KBD_ENABLE 0xf4
#define KBD_DEFAULT_DISABLE 0xf5
#define KBD_SET_DEFAULT 0xf6
#define KBD_SET3_FIRST 0xf7 /* 0xF7-0xFD: set-3 key types, meaningless in sets 1 and 2 */
#define KBD_SET3_LAST 0xfd
#define KBD_RESEND 0xfe
#define KBD_RESET 0xff
#define KBD_FIRST_COMMAND KBD_SET_LEDS

/* What the keyboard sends back ("Commands to the System"). */
#define KBD_ACK 0xfa
#define KBD_BAT_OK 0xaa /* basic assurance test passed, after a reset */
#define KBD_ECHO_REPLY 0xee
#define KBD_RESEND_REPLY 0xfe /* also what an unknown command gets */
#define KBD_ID_FIRST 0xab     /* a 101/102-key keyboard: 0xAB 0x83 */
#define KBD_ID_SECOND 0x83
#define KBD_TYPEMATIC_DEFAULT 0x2b /* 10.9 characters/s after 500 ms */
#define KBD_LED_MASK 0x07
#define KBD_TYPEMATIC_MASK 0x7f

/* Scancode set 2 (PS/2 Technical Reference, "Keyboard", scan code set 2
 * table): a key's make code; its break code is 0xF0 then the make code. */
#define SET2_BREAK_PREFIX 0xf0
#define SET2_LSHIFT 0x12
#define SET2_LCTRL 0x14
#define SET2_TAB 0x0d
#define SET2_ENTER 0x5a
#define SET2_BACKSPACE 0x66
#define SET2_ESCAPE 0x76
#define SET1_BREAK 0x80 /* set 1: the break code is the make code | 0x80 */

/* The controller's translation of set 2 to set 1, indexed by the set-2
 * byte (the table of the IBM 8042 firmware; for every key it gives the
 * key's set-1 make code: 0x1C 'A' -> 0x1E, 0x5A Enter -> 0x1C, ...). A
 * set-2 0xF0 is not passed on; it sets bit 7 of the next translated byte,
 * which turns a make code into its set-1 break code. */
static const u8 set2_to_set1[128] = {
    0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, /* 00: overrun F9 - F5 F3 F1 F2 F12 */
    0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59, /* 08: - F10 F8 F6 F4 Tab ` - */
    0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, /* 10: - LAlt LShift (JIS) LCtrl Q 1 - */
    0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b, /* 18: - - Z S A W 2 - */
    0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, /* 20: - C X D E 4 3 - */
    0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d, /* 28: - Space V F T R 5 - */
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, /* 30: - N B H G Y 6 - */
    0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f, /* 38: - - M J U 7 8 - */
    0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, /* 40: - , K I O 0 9 - */
    0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61, /* 48: - . / L ; P - - */
    0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, /* 50: - (JIS) ' - [ = - - */
    0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76, /* 58: Caps RShift Enter ] - \ - - */
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, /* 60: - (ISO \) - - (JIS) - Backspace (JIS) */
    0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f, /* 68: - KP1 (JIS) KP4 KP7 - - - */
    0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, /* 70: KP0 KP. KP2 KP5 KP6 KP8 Esc NumLock */
    0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54, /* 78: F11 KP+ KP3 KP- KP* KP9 ScrollLock - */
};
/* The two set-2 make codes above 0x7F. Other bytes from 0x80 up (0xFA,
 * 0xAA, 0xE0, ...) pass through unchanged. */
#define SET2_F7 0x83
#define SET1_F7 0x41
#define SET2_SYSRQ 0x84
#define SET1_SYSRQ 0x54

/* The keys the console can type, by ASCII code, on a US layout: the set-2
 * make code and whether Shift is held. */
struct ascii_key {
    u8 code;
    bool shift;
};

static const struct ascii_key ascii_keys[128] = {
    ['\b'] = {SET2_BACKSPACE, false}, ['\t'] = {SET2_TAB, false},     ['\n'] = {SET2_ENTER, false},
    ['\r'] = {SET2_ENTER, false},     [0x1b] = {SET2_ESCAPE, false},  [0x7f] = {SET2_BACKSPACE, false},
    [' '] = {0x29, false},
    ['a'] = {0x1c, false}, ['b'] = {0x32, false}, ['c'] = {0x21, false}, ['d'] = {0x23, false},
    ['e'] = {0x24, false}, ['f'] = {0x2b, false}, ['g'] = {0x34, false}, ['h'] = {0x33, false},
    ['i'] = {0x43, false}, ['j'] = {0x3b, false}, ['k'] = {0x42, false}, ['l'] = {0x4b, false},
    ['m'] = {0x3a, false}, ['n'] = {0x31, false}, ['o'] = {0x44, false}, ['p'] = {0x4d, false},
    ['q'] = {0x15, false}, ['r'] = {0x2d, false}, ['s'] = {0x1b, false}, ['t'] = {0x2c, false},
    ['u'] = {0x3c, false}, ['v'] = {0x2a, false}, ['w'] = {0x1d, false}, ['x'] = {0x22, false},
    ['y'] = {0x35, false}, ['z'] = {0x1a, false},
    ['A'] = {0x1c, true}, ['B'] = {0x32, true}, ['C'] = {0x21, true}, ['D'] = {0x23, true},
    ['E'] = {0x24, true}, ['F'] = {0x2b, true}, ['G'] = {0x34, true}, ['H'] = {0x33, true},
    ['I'] = {0x43, true}, ['J'] = {0x3b, true}, ['K'] = {0x42, true}, ['L'] = {0x4b, true},
    ['M'] = {0x3a, true}, ['N'] = {0x31, true}, ['O'] = {0x44, true}, ['P'] = {0x4d, true},
    ['Q'] = {0x15, true}, ['R'] = {0x2d, true}, ['S'] = {0x1b, true}, ['T'] = {0x2c, true},
    ['U'] = {0x3c, true}, ['V'] = {0x2a, true}, ['W'] = {0x1d, true}, ['X'] = {0x22, true},
    ['Y'] = {0x35, true}, ['Z'] = {0x1a, true},
    ['1'] = {0x16, false}, ['2'] = {0x1e, false}, ['3'] = {0x26, false}, ['4'] = {0x25, false},
    ['5'] = {0x2e, false}, ['6'] = {0x36, false}, ['7'] = {0x3d, false}, ['8'] = {0x3e, false},
    ['9'] = {0x46, false}, ['0'] = {0x45, false},
    ['!'] = {0x16, true}, ['@'] = {0x1e, true}, ['#'] = {0x26, true}, ['$'] = {0x25, true},
    ['%'] = {0x2e, true}, ['^'] = {0x36, true}, ['&'] = {0x3d, true}, ['*'] = {0x3e, true},
    ['('] = {0x46, true}, [')'] = {0x45, true},
    ['`'] = {0x0e, false}, ['~'] = {0x0e, true},  ['-'] = {0x4e, false}, ['_'] = {0x4e, true},
    ['='] = {0x55, false}, ['+'] = {0x55, true},  ['['] = {0x54, false}, ['{'] = {0x54, true},
    [']'] = {0x5b, false}, ['}'] = {0x5b, true},  ['\\'] = {0x5d, false}, ['|'] = {0x5d, true},
    [';'] = {0x4c, false}, [':'] = {0x4c, true},  ['\''] = {0x52, false}, ['"'] = {0x52, true},
    [','] = {0x41, false}, ['<'] = {0x41, true},  ['.'] = {0x49, false}, ['>'] = {0x49, true},
    ['/'] = {0x4a, false}, ['?'] = {0x4a, true},
};

#define ASCII_CTRL_A 0x01 /* 0x01-0x1A: Ctrl+A .. Ctrl+Z where no key has the code */
#define ASCII_CTRL_Z 0x1a
#define KEY_SEQUENCE_MAX 6 /* set 2: Shift make, key make, F0 key, F0 Shift */

/* ---- the controller's output side ---- */

static void kbc_update_irq(struct kbc *k)
{
    /* IRQ 1 follows the output buffer, gated by the command byte's
     * keyboard interrupt bit (AT Technical Reference, "Command Byte" bit
     * 0; the output port's OBF pin is the IRQ 1 line). */
    bool level = k->obf && (k->ram[0] & CMD_KBD_INT);
    if (level != k->irq_level) {
        k->irq_level = level;
        dm_irq_set(k->env->irq, KBC_GSI, level);
    }
}

/* A byte from the controller itself (a command's answer). It goes straight
 * into the output buffer, replacing what was there: "devices attached to
 * the 8042 should be disabled before issuing commands that return data
 * since data in the output register will be overwritten" (8042 command
 * notes, AT Technical Reference). */
static void kbc_reply(struct kbc *k, u8 byte)
{
    k->out = byte;
    k->obf = true;
    kbc_update_irq(k);
}

static u8 translate_to_set1(u8 set2)
{
    if (set2 < ARRAY_SIZE(set2_to_set1))
        return set2_to_set1[set2];
    if (set2 == SET2_F7)
        return SET1_F7;
    if (set2 == SET2_SYSRQ)
        return SET1_SYSRQ;
    return set2;
}

static bool kbd_queue_pop(struct kbc *k, u8 *byte)
{
    if (!k->q_len)
        return false;
    *byte = k->queue[k->q_head];
    k->q_head = (k->q_head + 1) % KBC_QUEUE_SIZE;
    k->q_len--;
    return true;
}

/* Moves keyboard bytes into the empty output buffer while the keyboard
 * interface is enabled, translating them if the command byte says so
 * (AT Technical Reference, "Keyboard Controller", receiving data). */
static void kbc_pump(struct kbc *k)
{
    u8 byte;
    while (!k->obf && !(k->ram[0] & CMD_KBD_DISABLE) && kbd_queue_pop(k, &byte)) {
        if (k->ram[0] & CMD_TRANSLATE) {
            if (byte == SET2_BREAK_PREFIX) {
                k->xlat_break = true;
                continue;
            }
            byte = translate_to_set1(byte) | (k->xlat_break ? SET1_BREAK : 0);
            k->xlat_break = false;
        }
        k->out = byte;
        k->obf = true;
    }
    kbc_update_irq(k);
}

static u8 kbc_read_data(struct kbc *k)
{
    u8 byte = k->out; /* an empty buffer reads its last byte again */
    k->obf = false;
    kbc_update_irq(k); /* the line drops, so the next byte is a new edge */
    kbc_pump(k);
    return byte;
}

static u8 kbc_status(const struct kbc *k)
{
    u8 status = STS_UNLOCKED;
    if (k->obf)
        status |= STS_OBF;
    if (k->ram[0] & CMD_SYS)
        status |= STS_SYS;
    if (k->last_was_cmd)
        status |= STS_A2;
    return status;
}

/* ---- the keyboard ---- */

static bool kbd_queue_room(const struct kbc *k, unsigned n) { return KBC_QUEUE_SIZE - k->q_len >= n; }

/* A byte the keyboard sends. It is lost if the queue is full, as a real
 * keyboard's buffer overruns; a guest that reads nothing for 64 bytes
 * has stopped listening anyway. */
static void kbd_send(struct kbc *k, u8 byte)
{
    if (!kbd_queue_room(k, 1))
        return;
    k->queue[(k->q_head + k->q_len) % KBC_QUEUE_SIZE] = byte;
    k->q_len++;
    k->last_sent = byte;
}

/* F4, F5, F6 and FF clear the keyboard's output buffer ("Commands from the
 * System"); a break prefix the translator had taken is dropped with it. */
static void kbd_clear_buffer(struct kbc *k)
{
    k->q_head = k->q_len = 0;
    k->xlat_break = false;
}

/* The keyboard's power-on defaults ("Set Default", 0xF6). */
static void kbd_set_defaults(struct kbc *k)
{
    k->scancode_set = 2;
    k->typematic = KBD_TYPEMATIC_DEFAULT;
    k->leds = 0;
}

/* The data byte of ED, F3 or F0. */
static void kbd_command_data(struct kbc *k, u8 cmd, u8 data)
{
    switch (cmd) {
    case KBD_SET_LEDS:
        k->leds = data & KBD_LED_MASK;
        kbd_send(k, KBD_ACK);
        break;
    case KBD_TYPEMATIC:
        k->typematic = data & KBD_TYPEMATIC_MASK;
        kbd_send(k, KBD_ACK);
        break;
    case KBD_SCANCODE_SET:
        kbd_send(k, KBD_ACK);
        if (data == 0)
            kbd_send(k, k->scancode_set); /* translated like any other byte, as on hardware */
        else if (data == 1 || data == 2)
            k->scancode_set = data;
        /* Set 3 is acknowledged but not taken: a guest that reads the set
         * back sees 2 and stays there (Linux's atkbd does exactly that). */
        else if (data != 3)
            kbd_send(k, KBD_RESEND_REPLY);
        break;
    default:
        break;
    }
}

/* A byte written to port 0x60 that is not a controller command's data. */
static void kbd_receive(struct kbc *k, u8 byte)
{
    u8 pending = k->kbd_cmd;
    k->kbd_cmd = 0;
    /* A command byte where data was expected starts that command: the
     * guest gave up on the one before. */
    if (pending && byte < KBD_FIRST_COMMAND) {
        kbd_command_data(k, pending, byte);
        return;
    }
    switch (byte) {
    case KBD_SET_LEDS:
    case KBD_TYPEMATIC:
    case KBD_SCANCODE_SET:
        kbd_send(k, KBD_ACK); /* each byte of a two-byte command is acknowledged */
        k->kbd_cmd = byte;
        break;
    case KBD_ECHO:
        kbd_send(k, KBD_ECHO_REPLY);
        break;
    case KBD_IDENTIFY:
        kbd_send(k, KBD_ACK);
        kbd_send(k, KBD_ID_FIRST);
        kbd_send(k, KBD_ID_SECOND);
        break;
    case KBD_ENABLE:
        kbd_clear_buffer(k);
        k->scanning = true;
        kbd_send(k, KBD_ACK);
        break;
    case KBD_DEFAULT_DISABLE:
        kbd_clear_buffer(k);
        kbd_set_defaults(k);
        k->scanning = false;
        kbd_send(k, KBD_ACK);
        break;
    case KBD_SET_DEFAULT:
        kbd_clear_buffer(k);
        kbd_set_defaults(k); /* scanning continues as it was */
        kbd_send(k, KBD_ACK);
        break;
    case KBD_RESEND:
        kbd_send(k, k->last_sent);
        break;
    case KBD_RESET:
        kbd_clear_buffer(k);
        kbd_set_defaults(k);
        k->scanning = true;
        kbd_send(k, KBD_ACK);
        kbd_send(k, KBD_BAT_OK);
        break;
    default:
        if (byte >= KBD_SET3_FIRST && byte <= KBD_SET3_LAST)
            kbd_send(k, KBD_ACK);
        else
            kbd_send(k, KBD_RESEND_REPLY); /* unknown: "resend" */
        break;
    }
}

/* ---- the controller's commands ---- */

static void kbc_request_reset(struct kbc *k)
{
    if (k->reset)
        k->reset(k->ctx);
}

static u8 kbc_outport(const struct kbc *k)
{
    return (u8)(k->outport | (k->obf ? OUT_KBD_OBF : 0));
}

/* 0xD1's data byte (AT Technical Reference, "Output Port"): bit 1 is the
 * A20 gate; bit 0 at 0 resets the processor. The reset is an event for
 * the domain, so the latch keeps bit 0 at 1: the domain restarts with the
 * line released. The callback comes last, as it may reset this chip. */
static void kbc_write_outport(struct kbc *k, u8 value)
{
    k->outport = (u8)((value & ~OUT_DRIVEN) | OUT_NOT_RESET);
    if (!(value & OUT_NOT_RESET))
        kbc_request_reset(k);
}

static void kbc_set_a20(struct kbc *k, bool on)
{
    k->outport = (u8)(on ? k->outport | OUT_A20 : k->outport & ~OUT_A20);
}

/* 0xF0-0xFF pulse the output port bits whose command bit is 0 low for
 * about 6 us (AT Technical Reference, "Pulse Output Port"); only bit 0,
 * the reset line, has an effect worth a pulse. 0xFE is the classic reset;
 * 0xFF pulses nothing. */
static void kbc_pulse(struct kbc *k, u8 cmd)
{
    if (!(cmd & OUT_NOT_RESET))
        kbc_request_reset(k);
}

static bool kbc_command_takes_data(u8 cmd)
{
    return (cmd >= CTL_WRITE_RAM_FIRST && cmd <= CTL_WRITE_RAM_LAST) || cmd == CTL_WRITE_OUTPORT ||
           cmd == CTL_WRITE_KBD_OBUF || cmd == CTL_WRITE_AUX_OBUF || cmd == CTL_WRITE_AUX;
}

/* A byte written to port 0x64. Unknown commands are ignored. */
static void kbc_command(struct kbc *k, u8 cmd)
{
    if (kbc_command_takes_data(cmd)) {
        k->ctl_cmd = cmd;
        return;
    }
    if (cmd >= CTL_READ_RAM_FIRST && cmd <= CTL_READ_RAM_LAST) {
        kbc_reply(k, k->ram[cmd - CTL_READ_RAM_FIRST]);
        return;
    }
    if (cmd >= CTL_PULSE_FIRST) {
        kbc_pulse(k, cmd);
        return;
    }
    switch (cmd) {
    case CTL_AUX_DISABLE:
        k->ram[0] |= CMD_AUX_DISABLE;
        break;
    case CTL_AUX_ENABLE:
        k->ram[0] &= (u8)~CMD_AUX_DISABLE;
        break;
    case CTL_AUX_TEST:
        kbc_reply(k, INTERFACE_CLOCK_STUCK_LOW); /* no aux port: see the top of the file */
        break;
    case CTL_SELF_TEST:
        k->ram[0] |= CMD_SYS; /* a passed self-test sets the system flag */
        kbc_reply(k, SELF_TEST_OK);
        break;
    case CTL_KBD_TEST:
        kbc_reply(k, INTERFACE_OK);
        break;
    case CTL_KBD_DISABLE:
        k->ram[0] |= CMD_KBD_DISABLE;
        break;
    case CTL_KBD_ENABLE:
        k->ram[0] &= (u8)~CMD_KBD_DISABLE;
        kbc_pump(k);
        break;
    case CTL_READ_INPORT:
        kbc_reply(k, INPORT_VALUE);
        break;
    case CTL_READ_OUTPORT:
        kbc_reply(k, kbc_outport(k));
        break;
    case CTL_A20_OFF:
        kbc_set_a20(k, false);
        break;
    case CTL_A20_ON:
        kbc_set_a20(k, true);
        break;
    default:
        break;
    }
}

/* The data byte of a controller command (port 0x60 after 0x60-0x7F, D1-D4). */
static void kbc_command_data(struct kbc *k, u8 cmd, u8 data)
{
    if (cmd >= CTL_WRITE_RAM_FIRST && cmd <= CTL_WRITE_RAM_LAST) {
        k->ram[cmd - CTL_WRITE_RAM_FIRST] = data;
        kbc_pump(k); /* the keyboard may have been enabled, the interrupt bit set */
        return;
    }
    switch (cmd) {
    case CTL_WRITE_OUTPORT:
        kbc_write_outport(k, data);
        break;
    case CTL_WRITE_KBD_OBUF:
        kbc_reply(k, data); /* as if from the keyboard, but not translated (PS/2 KADC, D2) */
        break;
    default: /* D3, D4: nothing behind the aux port */
        break;
    }
}

static void kbc_write_data(struct kbc *k, u8 data)
{
    u8 cmd = k->ctl_cmd;
    k->last_was_cmd = false;
    k->ctl_cmd = 0;
    if (cmd) {
        kbc_command_data(k, cmd, data);
        return;
    }
    /* To send the byte the controller must release the keyboard clock:
     * writing to the keyboard enables its interface again. */
    k->ram[0] &= (u8)~CMD_KBD_DISABLE;
    kbd_receive(k, data);
    kbc_pump(k);
}

static void kbc_write_command(struct kbc *k, u8 cmd)
{
    k->last_was_cmd = true;
    k->ctl_cmd = 0; /* a new command replaces one still waiting for data */
    kbc_command(k, cmd);
}

/* ---- the bus ---- */

static u32 kbc_io_read(void *dev, u16 port, u8 size)
{
    struct kbc *k = dev;
    (void)size; /* byte wide: the bus splits wider INs */
    return port == KBC_DATA_PORT ? kbc_read_data(k) : kbc_status(k);
}

static void kbc_io_write(void *dev, u16 port, u8 size, u32 value)
{
    struct kbc *k = dev;
    (void)size;
    if (port == KBC_DATA_PORT)
        kbc_write_data(k, (u8)value);
    else
        kbc_write_command(k, (u8)value);
}

/* ---- the platform ---- */

bool kbc_type(struct kbc *k, u8 ascii)
{
    struct ascii_key key = ascii < ARRAY_SIZE(ascii_keys) ? ascii_keys[ascii] : (struct ascii_key){0, false};
    u8 modifier = key.shift ? SET2_LSHIFT : 0;
    if (!key.code && ascii >= ASCII_CTRL_A && ascii <= ASCII_CTRL_Z) {
        key = ascii_keys['a' + ascii - ASCII_CTRL_A];
        modifier = SET2_LCTRL;
    }
    if (!key.code || !k->scanning)
        return false;

    /* Make codes in order, then break codes in reverse order, in the
     * keyboard's current set; set 1 is what the controller's translation
     * of set 2 gives. */
    u8 seq[KEY_SEQUENCE_MAX];
    unsigned n = 0;
    bool set1 = k->scancode_set == 1;
    if (modifier)
        seq[n++] = set1 ? translate_to_set1(modifier) : modifier;
    seq[n++] = set1 ? translate_to_set1(key.code) : key.code;
    if (set1) {
        seq[n++] = translate_to_set1(key.code) | SET1_BREAK;
        if (modifier)
            seq[n++] = translate_to_set1(modifier) | SET1_BREAK;
    } else {
        seq[n++] = SET2_BREAK_PREFIX;
        seq[n++] = key.code;
        if (modifier) {
            seq[n++] = SET2_BREAK_PREFIX;
            seq[n++] = modifier;
        }
    }
    if (!kbd_queue_room(k, n))
        return false;
    for (unsigned i = 0; i < n; i++)
        kbd_send(k, seq[i]);
    kbc_pump(k);
    return true;
}

/* Set 2: Ctrl (14), Alt (11), Delete (E0 71) made, then broken in the
 * reverse order (F0 prefixes); set 1: the same keys, breaks with bit 7
 * (IBM PS/2 Hardware Interface Technical Reference, keyboard scan codes). */
bool kbc_ctrl_alt_del(struct kbc *k)
{
    static const u8 set2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14};
    static const u8 set1[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
    const u8 *seq = k->scancode_set == 1 ? set1 : set2;
    unsigned n = k->scancode_set == 1 ? sizeof(set1) : sizeof(set2);
    if (!k->scanning || !kbd_queue_room(k, n))
        return false;
    for (unsigned i = 0; i < n; i++)
        kbd_send(k, seq[i]);
    kbc_pump(k);
    return true;
}

bool kbc_a20(const struct kbc *k) { return k->outport & OUT_A20; }

void kbc_reset(struct kbc *k)
{
    memset(k->ram, 0, sizeof(k->ram));
    k->ram[0] = CMD_POWER_ON;
    k->out = 0;
    k->obf = false;
    k->last_was_cmd = false;
    k->ctl_cmd = 0;
    k->outport = OUT_POWER_ON;
    k->xlat_break = false;
    k->irq_level = false;
    dm_irq_set(k->env->irq, KBC_GSI, false);

    kbd_clear_buffer(k);
    kbd_set_defaults(k);
    k->kbd_cmd = 0;
    k->last_sent = 0;
    k->scanning = true;
}

bool kbc_init(struct kbc *k, struct dm_env *env, void (*reset)(void *ctx), void *ctx)
{
    k->env = env;
    k->reset = reset;
    k->ctx = ctx;
    kbc_reset(k);
    return bus_claim_io(env->bus, KBC_DATA_PORT, 1, 1, kbc_io_read, kbc_io_write, k, "kbc data") &&
           bus_claim_io(env->bus, KBC_CMD_PORT, 1, 1, kbc_io_read, kbc_io_write, k, "kbc command");
}
