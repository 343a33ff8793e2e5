/* tests/caching_wrap.c: see caching_wrap.h. */
#include <stdlib.h>

#include <evstore/backend.h>

#include "caching_wrap.h"

struct wrap_store {
	struct evs_store base;
	struct evs_store *inner;
	struct wrap_ctl *ctl;
};

static struct wrap_store *
to_wrap(struct evs_store *s)
{
	return (struct wrap_store *)(void *)s;   /* base is the first member */
}

/* Count the call; return the error to inject, or 0. */
static int
enter(struct wrap_store *w, enum wrap_op op)
{
	unsigned every;
	int err;

	/* Relaxed throughout: test counters and switches, read after the
	 * threads that use them are joined (or by the same thread). */
	atomic_fetch_add_explicit(&w->ctl->calls[op], 1, memory_order_relaxed);
	err = atomic_load_explicit(&w->ctl->fail[op], memory_order_relaxed);
	if (err != 0)
		return err;
	every = atomic_load_explicit(&w->ctl->fail_every, memory_order_relaxed);
	if (every > 0 && (op == WRAP_APPEND || op == WRAP_APPEND_NEXT)) {
		unsigned x = atomic_fetch_add_explicit(&w->ctl->fail_seed,
		    0x9e3779b9u, memory_order_relaxed);

		x ^= x >> 15;
		x *= 0x2c1b3c6du;
		x ^= x >> 12;
		if (x % every == 0)
			return EVS_EBACKEND;
	}
	return 0;
}

static int
w_append(struct evs_store *s, const char *session, size_t session_len,
         uint64_t id, const void *data, size_t len)
{
	struct wrap_store *w = to_wrap(s);
	int err = enter(w, WRAP_APPEND);

	(void)session_len;
	return err != 0 ? err : evs_store_append(w->inner, session, id, data, len);
}

static int
w_append_next(struct evs_store *s, const char *session, size_t session_len,
              const void *data, size_t len, uint64_t *id)
{
	struct wrap_store *w = to_wrap(s);
	int err = enter(w, WRAP_APPEND_NEXT);

	(void)session_len;
	return err != 0 ? err :
	    evs_store_append_next(w->inner, session, data, len, id);
}

struct fwd {
	evs_replay_fn *fn;
	void *arg;
	struct wrap_ctl *ctl;
};

static int
fwd_cb(const struct evs_event *ev, void *arg)
{
	struct fwd *f = arg;

	/* Relaxed: a test counter. */
	atomic_fetch_add_explicit(&f->ctl->delivered, 1, memory_order_relaxed);
	return f->fn(ev, f->arg);
}

static int
w_replay(struct evs_store *s, const char *session, size_t session_len,
         uint64_t after_id, evs_replay_fn *fn, void *arg,
         struct evs_replay_info *info)
{
	struct wrap_store *w = to_wrap(s);
	struct fwd f = { fn, arg, w->ctl };
	int err = enter(w, WRAP_REPLAY);

	(void)session_len;
	if (err != 0)
		return err;
	return evs_store_replay_after(w->inner, session, after_id, fwd_cb, &f,
	    info);
}

static int
w_info(struct evs_store *s, const char *session, size_t session_len,
       struct evs_log_info *info)
{
	struct wrap_store *w = to_wrap(s);
	int err = enter(w, WRAP_INFO);

	(void)session_len;
	return err != 0 ? err : evs_store_info(w->inner, session, info);
}

static int
w_purge(struct evs_store *s, const char *session, size_t session_len)
{
	struct wrap_store *w = to_wrap(s);
	int err = enter(w, WRAP_PURGE);

	(void)session_len;
	return err != 0 ? err : evs_store_purge_session(w->inner, session);
}

static void
w_destroy(struct evs_store *s)
{
	free(to_wrap(s));
}

static const struct evs_store_ops wrap_ops = {
	.name = "test-wrap",
	.append = w_append,
	.append_next = w_append_next,
	.replay_after = w_replay,
	.info = w_info,
	.purge_session = w_purge,
	.destroy = w_destroy,
};

int
wrap_store_create(struct evs_store *inner, struct wrap_ctl *ctl,
                  struct evs_store **out)
{
	struct wrap_store *w;

	if (inner == NULL || ctl == NULL || out == NULL)
		return EVS_EINVAL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return EVS_ENOMEM;
	w->base.ops = &wrap_ops;
	w->inner = inner;
	w->ctl = ctl;
	*out = &w->base;
	return 0;
}
