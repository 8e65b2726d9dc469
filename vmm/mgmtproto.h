/* The management protocol on the host's COM2 (vmm/mgmtproto.c). */
#ifndef ZAZEN_MGMTPROTO_H
#define ZAZEN_MGMTPROTO_H

#include "types.h"

/* Sets COM2 up, if the machine has one. */
void mgmtproto_init(void);
/* Reads requests, runs them, sends what replies wait (CPU 0). */
void mgmtproto_poll(u64 now);
/* Replies are waiting for the UART. */
bool mgmtproto_sending(void);

#endif
