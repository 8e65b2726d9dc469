/* The PC's pair of 8259A programmable interrupt controllers, master at
 * 0x20 and slave at 0xA0 on the master's IR2, with the edge/level control
 * registers (ELCR) of the PIIX3/PIIX4 south bridges at 0x4D0/0x4D1.
 * Datasheets: Intel 8259A Programmable Interrupt Controller (231468);
 * Intel 82371AB PIIX4 (290562), ELCR1/ELCR2. */
#ifndef ZAZEN_DEVMODEL_PIC_H
#define ZAZEN_DEVMODEL_PIC_H

#include "devmodel.h"

#define PIC_MASTER_BASE 0x20
#define PIC_SLAVE_BASE 0xa0
#define PIC_ELCR_BASE 0x4d0
#define PIC_CASCADE_IR 2 /* the master input the slave's INT drives */

/* One 8259A. */
struct pic_chip {
    u8 irr;           /* interrupt request register */
    u8 isr;           /* in-service register */
    u8 imr;           /* interrupt mask register (OCW1) */
    u8 lines;         /* what drives IR0-7 now */
    u8 level;         /* inputs that are level triggered (LTIM or ELCR) */
    u8 vector_base;   /* ICW2 T7-T3 */
    u8 icw3;          /* master: inputs with a slave; slave: its ID */
    u8 lowest;        /* the IR with the lowest priority (rotation) */
    u8 init_step;     /* next ICW expected on the odd port; 0: none */
    bool ltim;        /* ICW1: level triggered mode */
    bool single;      /* ICW1 SNGL */
    bool need_icw4;   /* ICW1 IC4 */
    bool auto_eoi;    /* ICW4 AEOI */
    bool sfnm;        /* ICW4 special fully nested mode */
    bool rotate_aeoi; /* OCW2: rotate in automatic EOI mode */
    bool special_mask;
    bool read_isr;    /* OCW3: the even port reads ISR (else IRR) */
    bool poll;        /* OCW3: the next even-port read is a poll */
};

/* IR0's bits of a chip's IRR, ISR and IMR, packed (one load: they are
 * the struct's first three bytes): what the PC's timer gate reads of the
 * master (pc_irq0_gate_inputs). */
#define PIC_IR0_BITS 0x010101u
static inline u32 pic_chip_ir0_bits(const struct pic_chip *c)
{
    _Static_assert(__builtin_offsetof(struct pic_chip, irr) == 0 && __builtin_offsetof(struct pic_chip, isr) == 1 &&
                       __builtin_offsetof(struct pic_chip, imr) == 2 && sizeof(struct pic_chip) >= 4,
                   "irr, isr, imr: the first three bytes");
    u32 bytes;
    __builtin_memcpy(&bytes, c, sizeof(bytes));
    return bytes & PIC_IR0_BITS;
}

struct pic {
    struct pic_chip chip[2]; /* [0] master at 0x20, [1] slave at 0xA0 */
    u8 elcr[2];              /* 0x4D0 (IRQ0-7), 0x4D1 (IRQ8-15) */
    struct dm_env *env;
};

/* Claims 0x20-0x21, 0xA0-0xA1 and 0x4D0-0x4D1 (width 1); resets. */
bool pic_init(struct pic *p, struct dm_env *env);
/* Power-on state. What drives the input lines is kept. */
void pic_reset(struct pic *p);
/* Input line IRQ0-15 as driven by a device (via the platform). IRQ2 is
 * the cascade input, driven by the slave: setting it does nothing. */
void pic_set_irq(struct pic *p, unsigned irq, bool level);
/* The master's INTR output: an interrupt request for the CPU. */
bool pic_intr(const struct pic *p);
/* The interrupt-acknowledge cycles: returns the vector the CPU gets. */
int pic_inta(struct pic *p);

#endif
