/*
 * src/store.c: the evs_store_* wrappers, evs_strerror and small shared
 * helpers.  The wrappers check what every store shares before dispatching,
 * so each backend sees only well-formed calls (see <evstore/backend.h>).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "internal.h"

struct err_entry {
	int code;
	const char *name;
	const char *text;
};

static const struct err_entry err_table[] = {
	{ 0,            "EVS_OK",       "success" },
	{ EVS_EINVAL,   "EVS_EINVAL",   "invalid argument" },
	{ EVS_ENOMEM,   "EVS_ENOMEM",   "out of memory" },
	{ EVS_EORDER,   "EVS_EORDER",
	  "event id is not greater than the session's newest id" },
	{ EVS_ETOOBIG,  "EVS_ETOOBIG",  "event payload exceeds the store's limit" },
	{ EVS_EENCODE,  "EVS_EENCODE",  "could not encode the request" },
	{ EVS_EDECODE,  "EVS_EDECODE",  "stored data could not be decoded" },
	{ EVS_EBACKEND, "EVS_EBACKEND", "backend store failed" },
};

static const struct err_entry *
err_find(int err)
{
	for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++) {
		if (err_table[i].code == err)
			return &err_table[i];
	}
	return NULL;
}

const char *
evs_strerror(int err)
{
	const struct err_entry *e = err_find(err);

	return e != NULL ? e->text : "unknown error";
}

const char *
evs_strerror_name(int err)
{
	const struct err_entry *e = err_find(err);

	return e != NULL ? e->name : "EVS_UNKNOWN";
}

size_t
evs__session_len(const char *session)
{
	size_t n;

	if (session == NULL)
		return 0;
	n = strnlen(session, EVS_SESSION_ID_MAX + 1);
	return n > EVS_SESSION_ID_MAX ? 0 : n;
}

int
evs_store_append(struct evs_store *s, const char *session, uint64_t id,
                 const void *data, size_t len)
{
	size_t slen = evs__session_len(session);

	if (s == NULL || slen == 0 || (data == NULL && len > 0))
		return EVS_EINVAL;
	return s->ops->append(s, session, slen, id, data, len);
}

int
evs_store_append_next(struct evs_store *s, const char *session,
                      const void *data, size_t len, uint64_t *id)
{
	size_t slen = evs__session_len(session);
	uint64_t scratch;

	if (s == NULL || slen == 0 || (data == NULL && len > 0))
		return EVS_EINVAL;
	return s->ops->append_next(s, session, slen, data, len,
	    id != NULL ? id : &scratch);
}

int
evs_store_replay_after(struct evs_store *s, const char *session,
                       uint64_t after_id, evs_replay_fn *fn, void *arg,
                       struct evs_replay_info *info)
{
	size_t slen = evs__session_len(session);
	struct evs_replay_info scratch;

	if (s == NULL || slen == 0 || fn == NULL)
		return EVS_EINVAL;
	if (info == NULL)
		info = &scratch;
	memset(info, 0, sizeof(*info));
	return s->ops->replay_after(s, session, slen, after_id, fn, arg, info);
}

int
evs_store_info(struct evs_store *s, const char *session,
               struct evs_log_info *info)
{
	size_t slen = evs__session_len(session);

	if (s == NULL || slen == 0 || info == NULL)
		return EVS_EINVAL;
	memset(info, 0, sizeof(*info));
	return s->ops->info(s, session, slen, info);
}

int
evs_store_purge_session(struct evs_store *s, const char *session)
{
	size_t slen = evs__session_len(session);

	if (s == NULL || slen == 0)
		return EVS_EINVAL;
	return s->ops->purge_session(s, session, slen);
}

const char *
evs_store_name(const struct evs_store *s)
{
	return s != NULL && s->ops->name != NULL ? s->ops->name : "";
}

void
evs_store_destroy(struct evs_store *s)
{
	if (s != NULL)
		s->ops->destroy(s);
}

/* ---- shared helpers ----------------------------------------------------- */

static inline uint64_t
read64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t
fold(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

#define H_K0 UINT64_C(0x9e3779b97f4a7c15)
#define H_K1 UINT64_C(0xc2b2ae3d27d4eb4f)
#define H_K2 UINT64_C(0x165667b19e3779f9)

static inline uint64_t
read32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Keys of up to 16 bytes (most session ids) are read as two possibly
 * overlapping words, with no loop and no copy; longer keys are folded 16
 * bytes at a time and end with the last 16 bytes.  The length and the seed
 * enter the last two folds.
 */
uint64_t
evs__hash(const void *key, size_t len, uint64_t seed)
{
	const unsigned char *p = key;
	uint64_t a, b, h = seed;

	if (len <= 16) {
		if (len >= 8) {
			a = read64(p);
			b = read64(p + len - 8);
		} else if (len >= 4) {
			a = read32(p);
			b = read32(p + len - 4);
		} else if (len > 0) {
			a = (uint64_t)p[0] << 16 | (uint64_t)p[len >> 1] << 8 |
			    p[len - 1];
			b = 0;
		} else {
			a = b = 0;
		}
	} else {
		size_t n = len;

		while (n > 16) {
			h = fold(read64(p) ^ H_K1 ^ h, read64(p + 8) ^ H_K2);
			p += 16;
			n -= 16;
		}
		a = read64(p + n - 16);
		b = read64(p + n - 8);
	}
	h = fold(a ^ H_K1 ^ h, b ^ H_K2 ^ (uint64_t)len);
	return fold(h ^ H_K0, H_K1 ^ seed);
}

uint64_t
evs__random64(void)
{
	uint64_t v = 0;
	ssize_t r;

	do {
		r = getrandom(&v, sizeof(v), GRND_NONBLOCK);
	} while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof(v)) {
		struct timespec ts;
		uintptr_t addr = (uintptr_t)&v;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = evs__mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
		    (uint64_t)addr);
	}
	return v;
}

int64_t
evs__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
