/* fuzz-sources: devmodel/pit.c devmodel/bus.c devmodel/clock.c */
/* The 8254 PIT and port 0x61, driven as a guest drives them: control
 * words (modes, latches, read-back), counts of any access mode, counter
 * reads, gate 2 through port 0x61, all interleaved with steps of virtual
 * time from a nanosecond to years, so counter 0's timer and periodic tick
 * fire in every mode and phase. Checks: IRQ0 is the only line driven, and
 * one step of time never delivers a burst of IRQ0 edges (a late tick is
 * delivered once, docs/devices.md "missed ticks"). */
#include "fuzz_dev.h"
#include "../../devmodel/pit.h"

static struct pit pit;

static const struct window ports[] = {{PIT_BASE, 4}, {PIT_PORT_B, 1}};

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    struct dm_env *env = fuzz_env_reset(BIT(PIT_IRQ));
    if (!pit_init(&pit, env))
        abort();
    while (prog_more(&g)) {
        switch (take8(&g) % 5) {
        case 0:
            fuzz_any_in(&g, ports, ARRAY_SIZE(ports));
            break;
        case 1:
            fuzz_any_out(&g, ports, ARRAY_SIZE(ports));
            break;
        case 2: { /* a mode 0-5 control word and a two-byte count for one counter */
            u8 counter = take8(&g) % 3;
            fuzz_out(PIT_BASE + 3, 1, (u32)(counter << 6 | 0x30 | (take8(&g) & 0x0f)));
            fuzz_out(PIT_BASE + counter, 1, take8(&g));
            fuzz_out(PIT_BASE + counter, 1, take8(&g));
            break;
        }
        case 3: {
            unsigned before = fake.edges[PIT_IRQ];
            fuzz_advance(take_delay(&g));
            FUZZ_CHECK(fake.edges[PIT_IRQ] - before <= 2, "%u IRQ0 edges in one step of time",
                       fake.edges[PIT_IRQ] - before);
            break;
        }
        case 4:
            if (take8(&g) == 0xa5) /* rarely: the platform's reset */
                pit_reset(&pit);
            break;
        }
    }
    return 0;
}
