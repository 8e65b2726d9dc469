/* The locks of vmm/lock.h with a waiter that stops running while it waits
 * (what the host's scheduler does to a QEMU thread under TCG): a signal
 * handler holds the waiting thread in place, deterministically, inside
 * its spin loop. A ticket lock then stays closed to everyone after its
 * holder lets go (the stopped waiter's ticket is served); the flag lock
 * the domain's devices lock uses opens to the next CPU that runs
 * (docs/smp.md, Known problems). */
/* unit-sources: */
#define _POSIX_C_SOURCE 200809L /* nanosleep, pthread_kill under -std=c11 */
#include "unit.h"
#include "../../vmm/lock.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>

static volatile sig_atomic_t stopped, resume;

static void nap(void)
{
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

/* Runs in the waiter, in the middle of its spinning. */
static void hold_in_place(int sig)
{
    (void)sig;
    stopped = 1;
    while (!resume)
        nap();
}

struct waiter {
    struct spinlock *ticket;
    struct flaglock *flag;
    volatile int got; /* it had the lock once */
};

static void *wait_for_lock(void *arg)
{
    struct waiter *w = arg;
    if (w->ticket) {
        spin_lock(w->ticket);
        w->got = 1;
        spin_unlock(w->ticket);
    } else {
        flag_lock(w->flag);
        w->got = 1;
        flag_unlock(w->flag);
    }
    return NULL;
}

/* Starts a waiter for the lock this thread holds and stops it inside its
 * wait. */
static pthread_t start_and_stop_waiter(struct waiter *w)
{
    pthread_t t;
    stopped = resume = 0;
    signal(SIGUSR1, hold_in_place);
    pthread_create(&t, NULL, wait_for_lock, w);
    if (w->ticket)
        while ((u16)(__atomic_load_n(&w->ticket->next, __ATOMIC_ACQUIRE) - w->ticket->serving) != 2)
            nap(); /* its ticket taken: it spins */
    else
        for (int i = 0; i < 20; i++)
            nap(); /* nothing to see: a flag lock's waiter only reads */
    pthread_kill(t, SIGUSR1);
    while (!stopped)
        nap();
    return t;
}

TEST(ticket_lock_stays_closed_for_a_stopped_waiter)
{
    struct spinlock l = SPINLOCK_INIT("test");
    spin_lock(&l);
    struct waiter w = {&l, NULL, 0};
    pthread_t t = start_and_stop_waiter(&w);
    spin_unlock(&l);
    bool taken = false;
    for (int i = 0; i < 50 && !taken; i++, nap())
        taken = spin_trylock(&l);
    resume = 1;
    pthread_join(t, NULL);
    CHECK(!taken); /* everyone waits for the stopped thread: the convoy */
    CHECK(w.got);
    CHECK(!spin_is_locked(&l));
}

TEST(flag_lock_opens_to_a_running_cpu_while_a_waiter_is_stopped)
{
    struct flaglock l = FLAGLOCK_INIT("test");
    flag_lock(&l);
    struct waiter w = {NULL, &l, 0};
    pthread_t t = start_and_stop_waiter(&w);
    flag_unlock(&l);
    bool taken = flag_trylock(&l);
    CHECK(taken);
    CHECK(!flag_trylock(&l)); /* and it is held: nobody else gets it */
    flag_unlock(&l);
    resume = 1;
    pthread_join(t, NULL);
    CHECK(w.got); /* the waiter gets it once it runs again */
    CHECK(flag_trylock(&l));
    flag_unlock(&l);
}

/* Two threads adding under the lock: no increment is lost. */
static struct flaglock counted = FLAGLOCK_INIT("counted");
static unsigned long counter;

static void *add_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200000; i++) {
        flag_lock(&counted);
        counter++;
        flag_unlock(&counted);
    }
    return NULL;
}

TEST(flag_lock_excludes)
{
    pthread_t a, b;
    counter = 0;
    pthread_create(&a, NULL, add_many, NULL);
    pthread_create(&b, NULL, add_many, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK_EQ(counter, 400000);
}
