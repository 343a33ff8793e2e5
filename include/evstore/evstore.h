/*
 * <evstore/evstore.h>: the umbrella header.  Include this one.
 */
#ifndef EVSTORE_EVSTORE_H
#define EVSTORE_EVSTORE_H

#include <evstore/store.h>
#include <evstore/memory.h>
#include <evstore/caching.h>
#include <evstore/config.h>
#if EVS_HAVE_REDIS
#include <evstore/redis.h>
#endif

#endif /* EVSTORE_EVSTORE_H */
