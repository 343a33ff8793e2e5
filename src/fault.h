/*
 * src/fault.h: control of allocation fault injection (src/fault.c).
 * Exists only in builds configured with -DEVSTORE_FAULT_INJECTION=ON, which
 * are for tests: nothing here is part of the public API.
 */
#ifndef EVS_FAULT_H
#define EVS_FAULT_H

#include <stdint.h>

/*
 * evs__fault_set - make each later evs__malloc/evs__calloc fail with
 * probability permille/1000, decided by a hash of (seed, call number), so a
 * single-threaded run is repeatable from its seed.  permille 0 turns
 * failures off (the default); 1000 fails every call.  Resets the counters.
 * Thread-safe; calls already running may still use the old setting.
 */
void evs__fault_set(uint64_t seed, unsigned permille);

/* Allocation calls seen and failures injected since the last evs__fault_set. */
uint64_t evs__fault_calls(void);
uint64_t evs__fault_failures(void);

#endif /* EVS_FAULT_H */
