/* unit-sources: devmodel/kbc.c devmodel/bus.c devmodel/clock.c */
/* The 8042 keyboard controller and its PS/2 keyboard, driven through
 * ports 0x60 and 0x64 as a guest drives them. */
#include "unit.h"
#include "dm_fake.h"
#include "../../devmodel/kbc.h"

/* The status register as the AT Technical Reference defines it. */
#define ST_OBF 0x01
#define ST_SYS 0x04
#define ST_A2 0x08
#define ST_UNLOCKED 0x10

static struct kbc kbc;
static int resets;

static void on_reset(void *ctx)
{
    (void)ctx;
    resets++;
}

static bool setup(void)
{
    struct dm_env *env = fake_env_reset();
    memset(&kbc, 0, sizeof(kbc));
    resets = 0;
    return kbc_init(&kbc, env, on_reset, NULL);
}

static u8 status(void) { return inb_(KBC_CMD_PORT); }

/* The next byte of the output buffer, or -1 if the status says it is empty. */
static int next_byte(void)
{
    if (!(status() & ST_OBF))
        return -1;
    return inb_(KBC_DATA_PORT);
}

static void command(u8 cmd) { outb_(KBC_CMD_PORT, cmd); }

static void command_with_data(u8 cmd, u8 data)
{
    outb_(KBC_CMD_PORT, cmd);
    outb_(KBC_DATA_PORT, data);
}

static void to_keyboard(u8 byte) { outb_(KBC_DATA_PORT, byte); }

TEST(kbc_self_test_sets_system_flag)
{
    CHECK(setup());
    CHECK_EQ(status(), ST_UNLOCKED); /* cold: no system flag, nothing to read */
    command(0xaa);
    CHECK_EQ(status(), ST_UNLOCKED | ST_SYS | ST_A2 | ST_OBF);
    CHECK_EQ(next_byte(), 0x55);
    CHECK_EQ(status(), ST_UNLOCKED | ST_SYS | ST_A2);
    CHECK_EQ(next_byte(), -1);
    command(0xab); /* keyboard interface test: no error */
    CHECK_EQ(next_byte(), 0x00);
    command(0xa9); /* aux interface test: no aux port */
    CHECK_EQ(next_byte(), 0x01);
    command(0xc0);
    CHECK_EQ(next_byte(), 0xb0);
}

TEST(kbc_command_byte_read_write)
{
    CHECK(setup());
    command(0x20);
    CHECK_EQ(next_byte(), 0x41); /* keyboard interrupt and translation on */
    command_with_data(0x60, 0x45);
    CHECK_EQ(status() & (ST_A2 | ST_SYS), ST_SYS); /* last write was data; bit 2 is the system flag */
    command(0x20);
    CHECK_EQ(next_byte(), 0x45);
    command(0xa7);
    command(0x20);
    CHECK_EQ(next_byte(), 0x65);
    command(0xa8);
    command(0xad);
    command(0x20);
    CHECK_EQ(next_byte(), 0x55);
    command(0xae);
    command(0x20);
    CHECK_EQ(next_byte(), 0x45);
    command_with_data(0x7f, 0x99); /* internal RAM byte 31 */
    command(0x3f);
    CHECK_EQ(next_byte(), 0x99);
}

TEST(kbc_output_port_reset_line_and_a20)
{
    CHECK(setup());
    command(0xd0);
    CHECK_EQ(next_byte(), 0xcf); /* reset released, A20 on, lines idle */
    CHECK(kbc_a20(&kbc));
    command_with_data(0xd1, 0xcd); /* A20 off, bit 0 still 1 */
    CHECK(!kbc_a20(&kbc));
    CHECK_EQ(resets, 0);
    command(0xd0);
    CHECK_EQ(next_byte(), 0xcd);
    command_with_data(0xd1, 0xce); /* bit 0 clear: reset, A20 on */
    CHECK_EQ(resets, 1);
    CHECK(kbc_a20(&kbc));
    command(0xd0);
    CHECK_EQ(next_byte(), 0xcf);
    command(0xdd);
    CHECK(!kbc_a20(&kbc));
    command(0xdf);
    CHECK(kbc_a20(&kbc));
    CHECK_EQ(resets, 1);
}

TEST(kbc_pulse_commands_reset)
{
    CHECK(setup());
    command(0xff); /* pulses nothing */
    CHECK_EQ(resets, 0);
    command(0xfe); /* pulses bit 0: how Linux's reboot=kbd resets */
    CHECK_EQ(resets, 1);
    command(0xf0);
    CHECK_EQ(resets, 2);
    command(0xf3);
    CHECK_EQ(resets, 2);
}

TEST(kbc_keyboard_reset_identify_echo)
{
    CHECK(setup());
    to_keyboard(0xff);
    CHECK_EQ(next_byte(), 0xfa);
    CHECK_EQ(next_byte(), 0xaa);
    CHECK_EQ(next_byte(), -1);
    to_keyboard(0xf2); /* translated, the ID reads AB 41 as on hardware */
    CHECK_EQ(next_byte(), 0xfa);
    CHECK_EQ(next_byte(), 0xab);
    CHECK_EQ(next_byte(), 0x41);
    command_with_data(0x60, 0x01); /* translation off */
    to_keyboard(0xf2);
    CHECK_EQ(next_byte(), 0xfa);
    CHECK_EQ(next_byte(), 0xab);
    CHECK_EQ(next_byte(), 0x83);
    to_keyboard(0xee);
    CHECK_EQ(next_byte(), 0xee);
    to_keyboard(0xe9); /* not a command */
    CHECK_EQ(next_byte(), 0xfe);
    to_keyboard(0xfe); /* resend: the last byte again */
    CHECK_EQ(next_byte(), 0xfe);
    CHECK_EQ(next_byte(), -1);
}

TEST(kbc_leds_and_typematic_take_a_data_byte)
{
    CHECK(setup());
    to_keyboard(0xed);
    CHECK_EQ(next_byte(), 0xfa);
    to_keyboard(0x05);
    CHECK_EQ(next_byte(), 0xfa);
    CHECK_EQ(kbc.leds, 0x05);
    to_keyboard(0xf3);
    CHECK_EQ(next_byte(), 0xfa);
    to_keyboard(0x20);
    CHECK_EQ(next_byte(), 0xfa);
    CHECK_EQ(kbc.typematic, 0x20);
    /* a command where the LED byte was expected is that command */
    to_keyboard(0xed);
    CHECK_EQ(next_byte(), 0xfa);
    to_keyboard(0xee);
    CHECK_EQ(next_byte(), 0xee);
    CHECK_EQ(kbc.leds, 0x05);
    to_keyboard(0xf6); /* defaults */
    CHECK_EQ(next_byte(), 0xfa);
    CHECK_EQ(kbc.leds, 0);
    CHECK_EQ(kbc.typematic, 0x2b);
}

/* Reads n bytes into out; returns how many were there. */
static unsigned drain(u8 *out, unsigned n)
{
    unsigned i = 0;
    for (int b; i < n && (b = next_byte()) >= 0; i++)
        out[i] = (u8)b;
    return i;
}

#define CHECK_BYTES(...)                                                \
    do {                                                                \
        static const u8 want_[] = {__VA_ARGS__};                        \
        u8 got_[sizeof(want_) + 1];                                     \
        CHECK_EQ(drain(got_, sizeof(got_)), sizeof(want_));             \
        for (unsigned i_ = 0; i_ < sizeof(want_); i_++)                 \
            CHECK_EQ(got_[i_], want_[i_]);                              \
    } while (0)

TEST(kbc_typed_characters_in_set1)
{
    CHECK(setup());
    CHECK(kbc_type(&kbc, 'a'));
    CHECK_BYTES(0x1e, 0x9e);
    CHECK(kbc_type(&kbc, 'A')); /* Shift down, A down, A up, Shift up */
    CHECK_BYTES(0x2a, 0x1e, 0x9e, 0xaa);
    CHECK(kbc_type(&kbc, '!'));
    CHECK_BYTES(0x2a, 0x02, 0x82, 0xaa);
    CHECK(kbc_type(&kbc, '\n'));
    CHECK_BYTES(0x1c, 0x9c);
    CHECK(kbc_type(&kbc, '\b'));
    CHECK_BYTES(0x0e, 0x8e);
    CHECK(kbc_type(&kbc, '\t'));
    CHECK_BYTES(0x0f, 0x8f);
    CHECK(kbc_type(&kbc, 0x1b));
    CHECK_BYTES(0x01, 0x81);
    CHECK(kbc_type(&kbc, 0x03)); /* Ctrl+C */
    CHECK_BYTES(0x1d, 0x2e, 0xae, 0x9d);
    CHECK(kbc_type(&kbc, ' '));
    CHECK_BYTES(0x39, 0xb9);
    CHECK(!kbc_type(&kbc, 0x00));
    CHECK(!kbc_type(&kbc, 0x80));
    CHECK_EQ(next_byte(), -1);
}

TEST(kbc_typed_characters_in_set2_without_translation)
{
    CHECK(setup());
    command_with_data(0x60, 0x01);
    CHECK(kbc_type(&kbc, 'a'));
    CHECK_BYTES(0x1c, 0xf0, 0x1c);
    CHECK(kbc_type(&kbc, 'A'));
    CHECK_BYTES(0x12, 0x1c, 0xf0, 0x1c, 0xf0, 0x12);
    CHECK(kbc_type(&kbc, '\r'));
    CHECK_BYTES(0x5a, 0xf0, 0x5a);
}

TEST(kbc_ctrl_alt_del)
{
    CHECK(setup());
    /* translated to set 1, as the guest reads it by default */
    CHECK(kbc_ctrl_alt_del(&kbc));
    CHECK_BYTES(0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d);
    CHECK_EQ(next_byte(), -1);
    /* set 2 without translation */
    command_with_data(0x60, 0x01);
    CHECK(kbc_ctrl_alt_del(&kbc));
    CHECK_BYTES(0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14);
}

TEST(kbc_scancode_set_selection)
{
    CHECK(setup());
    to_keyboard(0xf0);
    to_keyboard(0x00);
    CHECK_BYTES(0xfa, 0xfa, 0x41); /* set 2, as the translation shows it */
    command_with_data(0x60, 0x01);
    to_keyboard(0xf0);
    to_keyboard(0x00);
    CHECK_BYTES(0xfa, 0xfa, 0x02);
    to_keyboard(0xf0);
    to_keyboard(0x01);
    CHECK_BYTES(0xfa, 0xfa);
    CHECK(kbc_type(&kbc, 'a')); /* the keyboard itself now speaks set 1 */
    CHECK_BYTES(0x1e, 0x9e);
    to_keyboard(0xf0);
    to_keyboard(0x03); /* acknowledged, not taken */
    to_keyboard(0xf0);
    to_keyboard(0x00);
    CHECK_BYTES(0xfa, 0xfa, 0xfa, 0xfa, 0x01);
}

TEST(kbc_irq1_follows_the_output_buffer)
{
    CHECK(setup());
    CHECK(!fake.level[KBC_GSI]);
    CHECK(kbc_type(&kbc, 'a'));
    CHECK(fake.level[KBC_GSI]);
    CHECK_EQ(fake.edges[KBC_GSI], 1);
    CHECK_EQ(inb_(KBC_DATA_PORT), 0x1e);
    CHECK(fake.level[KBC_GSI]); /* the break code came in behind it: a new edge */
    CHECK_EQ(fake.edges[KBC_GSI], 2);
    CHECK_EQ(inb_(KBC_DATA_PORT), 0x9e);
    CHECK(!fake.level[KBC_GSI]);
    command_with_data(0x60, 0x40); /* interrupt bit clear */
    CHECK(kbc_type(&kbc, 'a'));
    CHECK(status() & ST_OBF);
    CHECK(!fake.level[KBC_GSI]);
    CHECK_EQ(fake.edges[KBC_GSI], 2);
    command_with_data(0x60, 0x41); /* set again with data waiting */
    CHECK(fake.level[KBC_GSI]);
}

TEST(kbc_queued_bytes_come_one_by_one)
{
    CHECK(setup());
    CHECK(kbc_type(&kbc, 'A'));
    CHECK(kbc_type(&kbc, 'b'));
    static const u8 want[] = {0x2a, 0x1e, 0x9e, 0xaa, 0x30, 0xb0};
    for (unsigned i = 0; i < sizeof(want); i++) {
        CHECK(status() & ST_OBF);
        CHECK(fake.level[KBC_GSI]);
        CHECK_EQ(fake.edges[KBC_GSI], i + 1);
        CHECK_EQ(inb_(KBC_DATA_PORT), want[i]);
    }
    CHECK(!(status() & ST_OBF));
    CHECK(!fake.level[KBC_GSI]);
}

TEST(kbc_disabled_keyboard_holds_its_bytes)
{
    CHECK(setup());
    command(0xad);
    CHECK(kbc_type(&kbc, 'a'));
    CHECK_EQ(next_byte(), -1);
    CHECK(!fake.level[KBC_GSI]);
    command(0xae);
    CHECK_BYTES(0x1e, 0x9e);
    /* writing to the keyboard enables its interface again */
    command(0xad);
    to_keyboard(0xee);
    CHECK_BYTES(0xee);
    command(0x20);
    CHECK_EQ(next_byte(), 0x41);
}

TEST(kbc_scanning_disabled_types_nothing)
{
    CHECK(setup());
    to_keyboard(0xf5);
    CHECK_BYTES(0xfa);
    CHECK(!kbc_type(&kbc, 'a'));
    CHECK_EQ(next_byte(), -1);
    to_keyboard(0xf4);
    CHECK_BYTES(0xfa);
    CHECK(kbc_type(&kbc, 'a'));
    CHECK_BYTES(0x1e, 0x9e);
}

TEST(kbc_write_keyboard_output_buffer)
{
    CHECK(setup());
    command_with_data(0xd2, 0x83); /* not translated */
    CHECK(fake.level[KBC_GSI]);
    CHECK_BYTES(0x83);
    command_with_data(0xd3, 0x5a); /* aux loopback: nothing behind it */
    command_with_data(0xd4, 0xff);
    CHECK_EQ(next_byte(), -1);
}

TEST(kbc_full_queue_refuses_a_whole_character)
{
    CHECK(setup());
    unsigned typed = 0;
    while (kbc_type(&kbc, 'A'))
        typed++;
    /* Six set-2 bytes a character (12 1C F0 1C F0 12); the first one
     * moved on into the output buffer. */
    CHECK_EQ(typed, 1 + (KBC_QUEUE_SIZE - 5) / 6);
    CHECK_EQ(next_byte(), 0x2a);
    CHECK_EQ(next_byte(), 0x1e);
}

TEST(kbc_reset_restores_power_on_state)
{
    CHECK(setup());
    command(0xaa);
    command_with_data(0xd1, 0xcd);
    CHECK(kbc_type(&kbc, 'a'));
    kbc_reset(&kbc);
    CHECK_EQ(status(), ST_UNLOCKED);
    CHECK(!fake.level[KBC_GSI]);
    CHECK(kbc_a20(&kbc));
    command(0x20);
    CHECK_EQ(next_byte(), 0x41);
}
