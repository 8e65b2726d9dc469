/* fuzz-sources: devmodel/pic.c devmodel/bus.c devmodel/clock.c */
/* The 8259A pair and the ELCRs: initialization sequences (ICW1-4 in any
 * order and number), OCW1-3 (masks, EOIs of every kind, rotation, special
 * mask mode, poll, IRR/ISR reads), ELCR writes, the sixteen input lines
 * raised and lowered (edge and level), and interrupt acknowledges as the
 * CPU makes them, with or without a request pending. Checks: the vector an
 * acknowledge gives is a vector (0-255), and the PIC drives no GSI. */
#include "fuzz_dev.h"
#include "../../devmodel/pic.h"

static struct pic pic;

static const struct window ports[] = {{PIC_MASTER_BASE, 2}, {PIC_SLAVE_BASE, 2}, {PIC_ELCR_BASE, 2}};

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    struct dm_env *env = fuzz_env_reset(0);
    if (!pic_init(&pic, env))
        abort();
    while (prog_more(&g)) {
        switch (take8(&g) % 7) {
        case 0:
            fuzz_any_in(&g, ports, ARRAY_SIZE(ports));
            break;
        case 1:
            fuzz_any_out(&g, ports, ARRAY_SIZE(ports));
            break;
        case 2: /* a whole ICW1-ICW4 sequence on one chip */
        {
            u16 base = take_bool(&g) ? PIC_SLAVE_BASE : PIC_MASTER_BASE;
            u8 icw1 = take8(&g);
            fuzz_out(base, 1, 0x10 | icw1);
            fuzz_out(base + 1, 1, take8(&g));
            if (!(icw1 & 0x02))
                fuzz_out(base + 1, 1, take8(&g));
            if (icw1 & 0x01)
                fuzz_out(base + 1, 1, take8(&g));
            break;
        }
        case 3: {
            u8 line = take8(&g);
            pic_set_irq(&pic, line % 17, line & 0x80); /* 16: out of range, ignored */
            break;
        }
        case 4: { /* the CPU acknowledges, as the core does when INTR is up */
            if (pic_intr(&pic)) {
                int vector = pic_inta(&pic);
                FUZZ_CHECK(vector >= 0 && vector <= 255, "INTA gave %d", vector);
            }
            break;
        }
        case 5: { /* an acknowledge without INTR (an ExtINT message from the APIC) */
            int vector = pic_inta(&pic);
            FUZZ_CHECK(vector >= 0 && vector <= 255, "INTA gave %d", vector);
            break;
        }
        case 6:
            if (take8(&g) == 0xa5)
                pic_reset(&pic);
            break;
        }
    }
    return 0;
}
