/*
 * <evstore/evstore.h>: the umbrella header.  Include this one.
 */
#ifndef EVSTORE_EVSTORE_H
#define EVSTORE_EVSTORE_H

#include <evstore/store.h>
#include <evstore/memory.h>
#include <evstore/caching.h>

#endif /* EVSTORE_EVSTORE_H */
