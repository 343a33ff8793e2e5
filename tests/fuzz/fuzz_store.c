/*
 * tests/fuzz/fuzz_store.c: libFuzzer target for the store interface.
 *
 * The input is decoded into a store configuration and a sequence of
 * operations -- append, append_next, replay_after (some stopped early by
 * the callback), info, purge, and calls with bad arguments -- on arbitrary
 * session ids (fixed ones, a 255-byte one, and ids built from the input:
 * empty, over 255 bytes, with high bytes), arbitrary ids (0, UINT64_MAX,
 * around the newest) and payload lengths (0 to over the store's limit, NULL
 * data).  Each operation runs on two stores:
 *   - a memory store, and
 *   - a caching composer over two memory stores (its cache sometimes
 *     smaller, in events or bytes, than the backend; and sometimes tampered
 *     with behind the composer's back, which it promises to detect),
 * and every result -- return code, assigned id, delivered events and their
 * bytes, `truncated`, the log's info, epochs changing exactly when a log is
 * created anew -- is compared with a small reference model kept here.
 *
 * Built by -DEVSTORE_FUZZ=ON with clang (-fsanitize=fuzzer,address,
 * undefined); tests/fuzz/run_corpus.c replays the seed corpus in every
 * other build.  See docs/TESTING.md.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evstore/evstore.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXCAP    33
#define MAXBYTES  48
#define MAXSESS   12
#define MAXOPS    400
#define NTARGETS  2

/* Abort with a message: libFuzzer saves the input as a crash. */
#define EXPECT(cond, ...) do {                                         \
	if (!(cond)) {                                                 \
		fprintf(stderr, "fuzz_store: %s:%d: %s: ", __FILE__,   \
		    __LINE__, #cond);                                  \
		fprintf(stderr, __VA_ARGS__);                          \
		fputc('\n', stderr);                                   \
		abort();                                               \
	}                                                              \
} while (0)

/* ---- input decoding --------------------------------------------------------- */

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t
byte(struct in *in)
{
	uint8_t b;

	if (in->n == 0)
		return 0;
	b = *in->p++;
	in->n--;
	return b;
}

static uint64_t
u64(struct in *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | byte(in);
	return v;
}

/* ---- the reference model ---------------------------------------------------- */

struct mev {
	uint64_t id;
	size_t len;
	uint8_t data[MAXBYTES + 3];
};

struct mlog {
	char name[300];        /* as passed (NUL-terminated) */
	struct mev ev[MAXCAP]; /* oldest first */
	size_t n;
	bool evicted;
	uint64_t hwm;          /* newest evicted id (when evicted) */
	uint64_t epoch[NTARGETS];      /* 0 until seen for this log */
	uint64_t old_epoch[NTARGETS];  /* of the previous log */
};

static struct mlog model[MAXSESS];
static size_t nmodel;
static size_t cap, max_bytes;

static struct mlog *
model_find(const char *name, bool create)
{
	for (size_t i = 0; i < nmodel; i++)
		if (strcmp(model[i].name, name) == 0)
			return &model[i];
	if (!create || nmodel == MAXSESS)
		return NULL;
	memset(&model[nmodel], 0, sizeof(model[nmodel]));
	strcpy(model[nmodel].name, name);
	return &model[nmodel++];
}

static uint64_t
newest(const struct mlog *l)
{
	return l->n > 0 ? l->ev[l->n - 1].id : 0;
}

static void
model_append(struct mlog *l, uint64_t id, const uint8_t *d, size_t len)
{
	if (l->n == cap) {
		l->evicted = true;
		l->hwm = l->ev[0].id;
		memmove(&l->ev[0], &l->ev[1], (l->n - 1) * sizeof(l->ev[0]));
		l->n--;
	}
	l->ev[l->n].id = id;
	l->ev[l->n].len = len;
	if (len > 0)
		memcpy(l->ev[l->n].data, d, len);
	l->n++;
}

static void
model_purge(struct mlog *l)
{
	for (int t = 0; t < NTARGETS; t++) {
		if (l->epoch[t] != 0)
			l->old_epoch[t] = l->epoch[t];
		l->epoch[t] = 0;
	}
	l->n = 0;
	l->evicted = false;
}

/* ---- comparing a store with the model ------------------------------------------ */

static struct evs_store *targets[NTARGETS];
static struct evs_store *cache_store;   /* the composer's cache */
static void note_name(const char *name);

static void
check_log(int t, struct mlog *l, const struct evs_log_info *li)
{
	EXPECT(li->retained == l->n, "target %d: retained %zu, model %zu", t,
	    li->retained, l->n);
	if (l->n == 0) {
		EXPECT(li->epoch == 0, "target %d: epoch of an empty log", t);
		return;
	}
	EXPECT(li->first_id == l->ev[0].id && li->last_id == newest(l),
	    "target %d: ids %llu..%llu, model %llu..%llu", t,
	    (unsigned long long)li->first_id, (unsigned long long)li->last_id,
	    (unsigned long long)l->ev[0].id, (unsigned long long)newest(l));
	EXPECT(li->epoch != 0, "target %d: epoch 0", t);
	if (l->epoch[t] == 0) {
		EXPECT(li->epoch != l->old_epoch[t], "target %d: epoch reused "
		    "after purge", t);
		l->epoch[t] = li->epoch;
	}
	EXPECT(li->epoch == l->epoch[t], "target %d: epoch changed", t);
}

struct collect {
	struct mev got[MAXCAP];
	size_t n;
	size_t stop_at;    /* 0: never */
	bool called;
};

static int
collect_cb(const struct evs_event *ev, void *arg)
{
	struct collect *c = arg;

	c->called = true;
	EXPECT(c->n < MAXCAP, "more events than the capacity");
	EXPECT(ev->len <= MAXBYTES + 2 && (ev->len == 0 || ev->data != NULL),
	    "bad event length %zu", ev->len);
	c->got[c->n].id = ev->id;
	c->got[c->n].len = ev->len;
	if (ev->len > 0)
		memcpy(c->got[c->n].data, ev->data, ev->len);
	c->n++;
	return c->stop_at != 0 && c->n == c->stop_at ? 5 : 0;
}

static void
check_replay(int t, struct mlog *l, const char *name, uint64_t after,
             size_t stop_at, bool with_info)
{
	struct evs_replay_info ri;
	struct collect c;
	size_t first = 0, want;
	int rc;

	memset(&c, 0, sizeof(c));
	c.stop_at = stop_at;
	rc = evs_store_replay_after(targets[t], name, after, collect_cb, &c,
	    with_info ? &ri : NULL);
	while (first < l->n && l->ev[first].id <= after)
		first++;
	want = l->n - first;
	if (stop_at != 0 && stop_at <= want) {
		EXPECT(rc == 5, "target %d: replay returned %d, callback 5", t, rc);
		want = stop_at;
	} else {
		EXPECT(rc == 0, "target %d: replay returned %d", t, rc);
	}
	EXPECT(c.n == want, "target %d: %zu events delivered, model %zu", t,
	    c.n, want);
	for (size_t i = 0; i < c.n; i++) {
		const struct mev *m = &l->ev[first + i];

		EXPECT(c.got[i].id == m->id && c.got[i].len == m->len &&
		    memcmp(c.got[i].data, m->data, m->len) == 0,
		    "target %d: event %zu differs (id %llu, model %llu)", t, i,
		    (unsigned long long)c.got[i].id, (unsigned long long)m->id);
	}
	if (!with_info)
		return;
	EXPECT(ri.delivered == c.n, "target %d: delivered %zu", t, ri.delivered);
	EXPECT(ri.truncated == (l->n > 0 && l->evicted && l->hwm > after),
	    "target %d: truncated %d (after %llu, hwm %llu)", t, ri.truncated,
	    (unsigned long long)after, (unsigned long long)l->hwm);
	check_log(t, l, &ri.log);
}

static void
check_info(int t, struct mlog *l, const char *name)
{
	struct evs_log_info li;

	EXPECT(evs_store_info(targets[t], name, &li) == 0, "info");
	check_log(t, l, &li);
}

static void
check_counts(void)
{
	size_t events = 0, sessions = 0;

	for (size_t i = 0; i < nmodel; i++) {
		events += model[i].n;
		sessions += model[i].n > 0;
	}
	EXPECT(evs_memory_store_total_events(targets[0]) == events,
	    "total events %zu, model %zu",
	    evs_memory_store_total_events(targets[0]), events);
	EXPECT(evs_memory_store_session_count(targets[0]) == sessions,
	    "sessions %zu, model %zu",
	    evs_memory_store_session_count(targets[0]), sessions);
}

/* ---- operations ----------------------------------------------------------------- */

static const size_t caps[] = { 1, 2, 3, 4, 7, 8, 9, 16, 17, 33 };

/* A session id from the input; `valid` says whether the API accepts it. */
static void
pick_session(struct in *in, char *buf, bool *valid)
{
	static const char *fixed[] = { "a", "b", "session-c", "\xff\xfe\x80",
	    "a b", "" /* the 255-byte one */ };
	uint8_t b = byte(in);
	size_t len;

	if (b < 0xe0) {
		b %= sizeof(fixed) / sizeof(fixed[0]);
		if (fixed[b][0] == '\0') {
			memset(buf, 'L', 255);
			buf[255] = '\0';
		} else {
			strcpy(buf, fixed[b]);
		}
	} else {
		/* From the input: 0..299 bytes, maybe cut short by a NUL. */
		len = (size_t)byte(in) + (b & 1 ? 100 : 0);
		if (len > 299)
			len = 299;
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)byte(in);
		buf[len] = '\0';
	}
	len = strlen(buf);
	*valid = len >= 1 && len <= EVS_SESSION_ID_MAX;
}

static uint64_t
pick_id(struct in *in, const struct mlog *l)
{
	uint8_t b = byte(in);
	uint64_t top = l != NULL ? newest(l) : 0;

	switch (b % 8) {
	case 0:  return 0;
	case 1:  return UINT64_MAX;
	case 2:  return UINT64_MAX - 1;
	case 6:  return u64(in);
	case 7:  return byte(in);
	default: return top + (uint64_t)(b >> 3) % 5 - 2;   /* top-2 .. top+2 */
	}
}

static size_t
pick_len(struct in *in, uint8_t *buf, unsigned opno)
{
	size_t len = byte(in) % (max_bytes + 3);   /* a few over the limit */

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(opno * 37 + i * 11 + len);
	return len;
}

static void
op_append(struct in *in, unsigned opno, bool next)
{
	char name[300];
	uint8_t buf[MAXBYTES + 3];
	bool valid, null_data;
	struct mlog *l;
	uint64_t id, got, want_id;
	size_t len;
	int expect, rc;

	pick_session(in, name, &valid);
	l = valid ? model_find(name, true) : NULL;
	if (valid && l == NULL)
		return;   /* model full */
	id = pick_id(in, l);
	len = pick_len(in, buf, opno);
	null_data = byte(in) % 16 == 0;
	if (!valid || (null_data && len > 0))
		expect = EVS_EINVAL;
	else if (len > max_bytes)
		expect = EVS_ETOOBIG;
	else if (next)
		expect = l->n > 0 && newest(l) == UINT64_MAX ? EVS_EORDER : 0;
	else
		expect = l->n > 0 && id <= newest(l) ? EVS_EORDER : 0;
	want_id = next ? (l != NULL && l->n > 0 ? newest(l) + 1 : 1) : id;
	for (int t = 0; t < NTARGETS; t++) {
		got = 12345;
		if (next)
			rc = evs_store_append_next(targets[t], name,
			    null_data ? NULL : buf, len,
			    byte(in) % 8 == 0 ? NULL : &got);
		else
			rc = evs_store_append(targets[t], name, id,
			    null_data ? NULL : buf, len);
		EXPECT(rc == expect, "target %d: %s returned %d, model %d", t,
		    next ? "append_next" : "append", rc, expect);
		if (next && rc == 0 && got != 12345)
			EXPECT(got == want_id, "target %d: append_next gave %llu, "
			    "model %llu", t, (unsigned long long)got,
			    (unsigned long long)want_id);
		if (next && rc != 0)
			EXPECT(got == 12345, "id written on failure");
	}
	if (expect == 0)
		model_append(l, want_id, buf, len);
}

static void
op_replay(struct in *in)
{
	char name[300];
	bool valid;
	struct mlog *l;
	uint64_t after;
	size_t stop_at;
	bool with_info;

	pick_session(in, name, &valid);
	l = valid ? model_find(name, false) : NULL;
	after = pick_id(in, l);
	stop_at = byte(in) % 4 == 0 ? 1 + byte(in) % 4 : 0;
	with_info = byte(in) % 8 != 0;
	for (int t = 0; t < NTARGETS; t++) {
		if (!valid) {
			struct collect c;

			memset(&c, 0, sizeof(c));
			EXPECT(evs_store_replay_after(targets[t], name, after,
			    collect_cb, &c, NULL) == EVS_EINVAL, "bad session");
			EXPECT(!c.called, "callback called on EVS_EINVAL");
			continue;
		}
		if (l == NULL) {
			struct mlog empty;

			memset(&empty, 0, sizeof(empty));
			check_replay(t, &empty, name, after, stop_at, with_info);
			continue;
		}
		check_replay(t, l, name, after, stop_at, with_info);
	}
}

static void
op_info_purge(struct in *in, bool purge)
{
	char name[300];
	bool valid;
	struct mlog *l;

	pick_session(in, name, &valid);
	l = valid ? model_find(name, false) : NULL;
	for (int t = 0; t < NTARGETS; t++) {
		struct evs_log_info li;

		if (!valid) {
			EXPECT((purge ? evs_store_purge_session(targets[t], name)
			    : evs_store_info(targets[t], name, &li)) == EVS_EINVAL,
			    "bad session accepted");
			continue;
		}
		if (purge) {
			EXPECT(evs_store_purge_session(targets[t], name) == 0,
			    "purge");
		} else if (l != NULL) {
			check_info(t, l, name);
		} else {
			EXPECT(evs_store_info(targets[t], name, &li) == 0 &&
			    li.epoch == 0 && li.retained == 0, "unknown session");
		}
	}
	if (purge && l != NULL)
		model_purge(l);
}

/* Calls every store must refuse, whatever its state. */
static void
op_bad(struct in *in)
{
	struct evs_log_info li;
	struct collect c;
	uint64_t id = 77;
	uint8_t b = byte(in);

	memset(&c, 0, sizeof(c));
	for (int t = 0; t < NTARGETS; t++) {
		struct evs_store *s = b & 1 ? NULL : targets[t];
		const char *name = b & 2 ? NULL : "a";

		if (s != NULL && name != NULL) {
			/* Only the data / fn / info pointer is bad. */
			EXPECT(evs_store_append(s, name, 1, NULL, 1) == EVS_EINVAL,
			    "NULL data");
			EXPECT(evs_store_append_next(s, name, NULL, 3, &id) ==
			    EVS_EINVAL && id == 77, "NULL data");
			EXPECT(evs_store_replay_after(s, name, 0, NULL, NULL,
			    NULL) == EVS_EINVAL, "NULL fn");
			EXPECT(evs_store_info(s, name, NULL) == EVS_EINVAL,
			    "NULL info");
			continue;
		}
		EXPECT(evs_store_append(s, name, 1, "x", 1) == EVS_EINVAL, "append");
		EXPECT(evs_store_append_next(s, name, "x", 1, &id) == EVS_EINVAL &&
		    id == 77, "append_next");
		EXPECT(evs_store_replay_after(s, name, 0, collect_cb, &c, NULL) ==
		    EVS_EINVAL && !c.called, "replay");
		EXPECT(evs_store_info(s, name, &li) == EVS_EINVAL, "info");
		EXPECT(evs_store_purge_session(s, name) == EVS_EINVAL, "purge");
	}
}

/* Write to the composer's cache behind its back: allowed to cost misses,
 * never wrong answers (<evstore/caching.h>). */
static void
op_tamper(struct in *in)
{
	char name[300];
	bool valid;
	uint8_t b = byte(in);

	pick_session(in, name, &valid);
	if (!valid)
		return;
	note_name(name);
	if (b % 2 == 0) {
		(void)evs_store_purge_session(cache_store, name);
	} else {
		/* Junk that is not a composer record. */
		(void)evs_store_append_next(cache_store, name, "junk", 4, NULL);
	}
}

/*
 * Stores are kept between inputs, one set per configuration: destroying a
 * memory store waits for RCU callbacks (milliseconds), which would cut the
 * fuzzing rate tenfold.  Each input starts from empty stores all the same:
 * at its end every session it named is purged and the stores must be empty.
 * EVS_FUZZ_FRESH=1 in the environment creates and destroys the stores for
 * every input instead (to rule out leftovers when reproducing a crash).
 */
#define NCFG (10 * 4 * 2 * 4)
static struct evs_store *kept[NCFG][4];   /* memory, backend, cache, composer */
static const size_t byte_sizes[] = { 1, 7, 16, MAXBYTES };

/* Names an input used, to purge at its end. */
static char used[64][300];
static size_t nused;

static void
note_name(const char *name)
{
	for (size_t i = 0; i < nused; i++)
		if (strcmp(used[i], name) == 0)
			return;
	if (nused < 64)
		strcpy(used[nused++], name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct evs_memory_opts o, oc;
	uint8_t h0 = byte(&in), h1 = byte(&in), h2 = byte(&in);
	bool tamper = (h2 & 0x80) != 0;
	bool fresh = getenv("EVS_FUZZ_FRESH") != NULL;
	unsigned ci = h0 % 10, bi = h1 % 4, cfg;
	struct evs_store **st;

	memset(&o, 0, sizeof(o));
	cap = caps[ci];
	max_bytes = byte_sizes[bi];
	o.max_events_per_session = cap;
	o.max_event_bytes = max_bytes;
	o.producers = h2 & 1 ? EVS_SINGLE_PRODUCER : EVS_MULTI_PRODUCER;
	oc = o;
	/* The cache: sometimes fewer events, sometimes too small in bytes. */
	if (h2 & 2)
		oc.max_events_per_session = caps[(ci + 3) % 10];
	oc.max_event_bytes = max_bytes + (h2 & 4 ? 0 : EVS_CACHING_OVERHEAD);
	cfg = ((ci * 4 + bi) * 2 + (h2 & 1)) * 4 + ((h2 >> 1) & 3);
	st = kept[cfg];
	nmodel = 0;
	nused = 0;

	if (st[0] == NULL) {
		EXPECT(evs_memory_store_create(&o, &st[0]) == 0, "create");
		EXPECT(evs_memory_store_create(&o, &st[1]) == 0, "create");
		EXPECT(evs_memory_store_create(&oc, &st[2]) == 0, "create");
		EXPECT(evs_caching_store_create(st[2], st[1], &st[3]) == 0,
		    "create composer");
	}
	targets[0] = st[0];
	targets[1] = st[3];
	cache_store = st[2];

	for (unsigned opno = 0; opno < MAXOPS && in.n > 0; opno++) {
		uint8_t op = byte(&in);

		switch (op % 10) {
		case 0: case 1: op_append(&in, opno, false); break;
		case 2: case 3: op_append(&in, opno, true); break;
		case 4: case 5: op_replay(&in); break;
		case 6: op_info_purge(&in, false); break;
		case 7: op_info_purge(&in, true); break;
		case 8: op_bad(&in); break;
		default:
			if (tamper)
				op_tamper(&in);
			else
				check_counts();
			break;
		}
	}
	/* Finally every session the model knows, on both targets. */
	for (size_t i = 0; i < nmodel; i++)
		for (int t = 0; t < NTARGETS; t++)
			check_replay(t, &model[i], model[i].name, 0, 0, true);
	check_counts();

	/* Back to empty stores for the next input. */
	for (size_t i = 0; i < nmodel; i++)
		note_name(model[i].name);
	for (size_t i = 0; i < nused; i++)
		for (int k = 3; k >= 0; k--)
			EXPECT(evs_store_purge_session(st[k], used[i]) == 0, "purge");
	for (int k = 0; k < 3; k++)
		EXPECT(evs_memory_store_session_count(st[k]) == 0 &&
		    evs_memory_store_total_events(st[k]) == 0,
		    "store %d not empty after purging every session", k);
	if (fresh) {
		evs_store_destroy(st[3]);
		for (int k = 2; k >= 0; k--)
			evs_store_destroy(st[k]);
		memset(st, 0, 4 * sizeof(st[0]));
	}
	return 0;
}
