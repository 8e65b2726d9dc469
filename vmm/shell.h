/* The zazen> shell on the host console (vmm/shell.c). */
#ifndef ZAZEN_SHELL_H
#define ZAZEN_SHELL_H

#include "types.h"

/* After the domains started: attaches the console to the only domain, or
 * opens the shell when there are several (or none). */
void shell_start(void);
/* What was typed on the host console. */
void shell_input(const u8 *bytes, unsigned n);
/* Verbs that go on (top, shutdown -w), and the attached domain's end. */
void shell_poll(u64 now);

#endif
