/* Ticket spinlocks: a lock is two counters, the next ticket to hand out and
 * the ticket now served; a CPU takes a ticket and spins until it is served,
 * so waiters get the lock in the order they asked (no starvation, unlike a
 * test-and-set lock). The atomics are the compiler's __atomic built-ins,
 * which are part of freestanding C11 as GCC implements it; on x86 an
 * acquire load and a release store are plain MOVs (SDM 3A 9.2.3.2: loads
 * are not reordered with older loads, stores not with older stores), the
 * ticket is taken with LOCK XADD.
 *
 * Zazen runs with interrupts disabled everywhere but at its few waiting
 * points (the SVM STGI window, idle HLT), and no interrupt handler takes a
 * lock, so a plain spinlock cannot deadlock against an interrupt on its own
 * CPU. A CPU never sleeps or enables interrupts while it holds one.
 *
 * Every lock has a name and a place in the lock order (docs/scheduler.md):
 * a CPU holding a lock may take only locks that come later in that order. */
#ifndef ZAZEN_LOCK_H
#define ZAZEN_LOCK_H

#include "types.h"

struct spinlock {
    u16 next;    /* the next ticket handed out */
    u16 serving; /* the ticket that owns the lock */
    const char *name;
};

#define SPINLOCK_INIT(n) {0, 0, n}

static inline void spin_init(struct spinlock *l, const char *name)
{
    l->next = 0;
    l->serving = 0;
    l->name = name;
}

static inline void spin_lock(struct spinlock *l)
{
    u16 ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != ticket)
        __asm__ volatile("pause" ::: "memory");
}

/* Takes the lock only if nobody holds it or waits for it. */
static inline bool spin_trylock(struct spinlock *l)
{
    u16 serving = __atomic_load_n(&l->serving, __ATOMIC_ACQUIRE);
    u16 expected = serving;
    return __atomic_compare_exchange_n(&l->next, &expected, (u16)(serving + 1), false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

static inline void spin_unlock(struct spinlock *l)
{
    /* Only the holder writes `serving`: a plain increment, released. */
    __atomic_store_n(&l->serving, (u16)(l->serving + 1), __ATOMIC_RELEASE);
}

static inline bool spin_is_locked(const struct spinlock *l)
{
    return __atomic_load_n(&l->next, __ATOMIC_RELAXED) != __atomic_load_n(&l->serving, __ATOMIC_RELAXED);
}

/* Test-and-test-and-set locks: one flag, no tickets, no order among the
 * waiters. For a lock taken on every exit by CPUs that may stop running
 * while they wait: a ticket lock hands the lock to the next waiter in
 * line whether or not that waiter's CPU is running, and everyone behind
 * it then waits until it runs again. Zazen's CPUs stop while they wait
 * when they are threads of a busy host (QEMU's TCG, one host thread per
 * CPU: the host's scheduler preempts them for milliseconds), which made
 * the domain's devices lock a convoy (docs/smp.md, Known problems: 82%
 * of two SMP Linux vCPUs' time spent waiting for a lock held 4% of it).
 * Here a CPU that is not running owns nothing: the one that is takes the
 * lock. Starvation is possible in principle; a vCPU lets the lock go for
 * the whole of each guest run, which is where the other one gets it. */
struct flaglock {
    u32 locked;
    const char *name;
};

#define FLAGLOCK_INIT(n) {0, n}

static inline void flag_init(struct flaglock *l, const char *name)
{
    l->locked = 0;
    l->name = name;
}

/* Reads first: a waiter spins on its cached copy, and only an apparently
 * free lock is asked for with the locked XCHG (SDM 2B XCHG: LOCK implied). */
static inline bool flag_trylock(struct flaglock *l)
{
    return !__atomic_load_n(&l->locked, __ATOMIC_RELAXED) && !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static inline void flag_lock(struct flaglock *l)
{
    while (!flag_trylock(l))
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
            __asm__ volatile("pause" ::: "memory");
}

static inline void flag_unlock(struct flaglock *l) { __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE); }

/* Shorthands for the atomics used outside locks (flags, counters). */
#define atomic_load(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define atomic_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define atomic_or(p, v) __atomic_fetch_or((p), (v), __ATOMIC_ACQ_REL)
#define atomic_and(p, v) __atomic_fetch_and((p), (v), __ATOMIC_ACQ_REL)
#define atomic_exchange(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define atomic_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
/* For "store my flag, then load yours" between two CPUs (each must see
 * the other's flag or be seen): x86 lets a load pass an earlier store to
 * another address (SDM Vol 3A 9.2.3.4), so the store is sequentially
 * consistent (a locked XCHG). */
#define atomic_store_seq(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define atomic_load_seq(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)

#endif
