/* fuzz-sources: devmodel/kbc.c devmodel/bus.c devmodel/clock.c */
/* The 8042 keyboard controller and its PS/2 keyboard, driven through
 * ports 0x60/0x64 (controller commands with and without data bytes, the
 * command byte, the output port and A20, keyboard commands such as set
 * LEDs, scancode set and resend) while the console types characters.
 * The reset the guest asks for is carried out after the access, as the
 * core does. Checks: the keyboard's queue stays within its buffer; a key
 * the keyboard can send is queued whenever it scans and has room; the
 * scancode set is 1 or 2; IRQ 1 is what the controller thinks it drives,
 * and no other line moves. */
#include "fuzz_dev.h"
#include "../../devmodel/kbc.h"

static struct kbc kbc;
static bool reset_requested;

static void on_reset(void *ctx)
{
    FUZZ_CHECK(ctx == &kbc, "reset context %p", ctx);
    reset_requested = true;
}

static const struct window ports[] = {{KBC_DATA_PORT, 1}, {KBC_CMD_PORT, 1}};

static void check_state(void)
{
    FUZZ_CHECK(kbc.q_len <= KBC_QUEUE_SIZE && kbc.q_head < KBC_QUEUE_SIZE, "queue %u at %u", kbc.q_len, kbc.q_head);
    FUZZ_CHECK(kbc.scancode_set == 1 || kbc.scancode_set == 2, "scancode set %u", kbc.scancode_set);
    FUZZ_CHECK(fake.level[KBC_GSI] == kbc.irq_level, "IRQ 1 is %d, the 8042 drives %d", fake.level[KBC_GSI],
               kbc.irq_level);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    struct dm_env *env = fuzz_env_reset(BIT(KBC_GSI));
    memset(&kbc, 0, sizeof(kbc));
    reset_requested = false;
    if (!kbc_init(&kbc, env, on_reset, &kbc))
        abort();
    while (prog_more(&g)) {
        switch (take8(&g) % 6) {
        case 0:
            fuzz_any_in(&g, ports, ARRAY_SIZE(ports));
            break;
        case 1:
            fuzz_any_out(&g, ports, ARRAY_SIZE(ports));
            break;
        case 2: { /* typing: a lower-case letter always has a key */
            u8 c = take8(&g);
            bool letter = c >= 'a' && c <= 'z';
            bool could = kbc.scanning && kbc.q_len + 6 <= KBC_QUEUE_SIZE;
            bool queued = kbc_type(&kbc, c);
            FUZZ_CHECK(!letter || !could || queued, "'%c' not queued (queue %u)", c, kbc.q_len);
            break;
        }
        case 3: /* a guest reading everything there is */
            for (unsigned i = 0; i < 80 && (fuzz_in(KBC_CMD_PORT, 1) & 1); i++)
                fuzz_in(KBC_DATA_PORT, 1);
            break;
        case 4:
            fuzz_advance(take_delay(&g));
            break;
        case 5:
            if (take8(&g) == 0xa5)
                kbc_reset(&kbc);
            break;
        }
        if (reset_requested) {
            reset_requested = false;
            kbc_reset(&kbc);
        }
        check_state();
    }
    return 0;
}
