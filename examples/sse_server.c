/*
 * evs-sse-server: a Server-Sent Events server that embeds evstore.
 *
 * The reference for servers that resume streams: a client that reconnects
 * with the last id it saw gets every later event exactly once, in order, or
 * an explicit `event: reset` that says why it cannot.  docs/SSE.md is the
 * user's guide; this comment is the maintainer's.
 *
 * HTTP interface (all on one port, loopback by default):
 *   GET    /events?session=S   text/event-stream of S's events.  Resumes after
 *                              the Last-Event-ID header, or ?lastEventId= when
 *                              there is no header (a new EventSource after a
 *                              page reload sends none).
 *   POST   /events?session=S   appends the body as one event; answers its id
 *                              as text/plain.
 *   DELETE /events?session=S   purges S (the next append starts a new epoch).
 *   GET    /info?session=S     the log's epoch and id range as JSON.
 *   GET    / (or /demo)        a small page that follows a session with
 *                              EventSource (?session=S, default gen-0).
 *
 * Wire format of the stream:
 *   retry: <ms>                      once, first
 *   id: <epoch>-<id>                 epoch: 16 lowercase hex digits
 *   data: <line>                     one line per line of the payload
 *   (blank line)
 *   : ping                           every --heartbeat-ms while idle
 *   event: reset                     the client's position cannot be honoured;
 *   data: {"reason":"...",...}       what follows is the log from its start
 *                                    (epoch, gone, bad-id) or from the oldest
 *                                    event still held (truncated).
 *
 * Design of the live path.  The store is the buffer: nothing is queued per
 * connection.  Each stream remembers the epoch and the last id it sent.
 * Producers (POST handler, generator) append, then wake the session's
 * subscribers.  A woken stream calls evs_store_replay_after(last_sent_id), so
 * whatever it missed while it was parked, suspended or being written, it gets
 * from the store, and an id it already sent is skipped by comparison.  A
 * stream subscribes before its first replay, so an event appended between the
 * two is found by the replay or wakes the stream afterwards: no gap at the
 * seam, and no duplicate either, because delivery is decided by id alone.
 *
 * Threads: libmicrohttpd's single epoll thread runs every HTTP callback and
 * owns each stream's output state.  The generator and the heartbeat ticker
 * are threads of their own; main() waits for SIGINT/SIGTERM.
 *
 * Ordering guarantees:
 *   - The subscriber lists and each stream's parked/wake/ping_due flags are
 *     protected by a striped mutex (one of NBUCKETS, by session hash).  No
 *     evstore call is made under it.  A stream parks (suspends its
 *     connection) only while holding its bucket's mutex and after seeing
 *     wake == false; a producer sets wake, or resumes a parked stream, under
 *     the same mutex after its append returned.  So an append is either seen
 *     by the stream's next replay or wakes it: a wake-up cannot be lost.
 *   - MHD_resume_connection() is only called on a stream whose parked flag
 *     is set, and that flag is set only after MHD_suspend_connection(), both
 *     under the bucket mutex: a connection that is not suspended is never
 *     resumed.
 *   - Shutdown sets `quiescing` (R1) before it takes every bucket mutex to
 *     resume all parked streams; a stream checks `quiescing` under its bucket
 *     mutex before it parks, so none parks after the sweep.
 *
 * Progress guarantees: producers never wait for a stream (waking is O(the
 * session's subscribers) under one bucket mutex); a stream never waits for a
 * producer.  With --store memory or caching, evstore calls are lock-free
 * (<evstore/memory.h>).  With --store redis they are network round trips
 * made in the calling thread (libmicrohttpd's, for streams), each bounded
 * by the Redis store's timeout; an unreachable Redis turns into 503s and
 * ended streams, never into a wait without end.
 *
 * Several processes over one Redis (--store redis): each process wakes only
 * its own streams.  A stream learns of an append made through another
 * process at its next replay, which the heartbeat ticker forces every
 * --heartbeat-ms at the latest; the replay itself is exact (same ids, same
 * epoch in every process), so resuming through any process has no gap.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include <evstore/evstore.h>

#define NBUCKETS        64          /* stripes of the subscriber table */
#define FILL_BYTES      (64 * 1024) /* stage at most this much per replay */
#define FILL_EVENTS     256         /* ... or this many events */
#define EPOCH_DIGITS    16
#define MAX_GEN_SESSIONS 100000
#define SHUTDOWN_WAIT_MS 5000
#define MAX_REDIS_NODES 64          /* --redis-node, at most */
#define REDIS_TTL_MAX_MS 1000000000000ull   /* --redis-ttl-ms, ~31 years */
#define ERROR_REPORT_NS 1000000000u /* backend errors: one line per second */

/* Replay callback stop codes (positive: apart from EVS_E* codes). */
#define FILL_FULL  1
#define FILL_NOMEM 2

/* ---- options ------------------------------------------------------------ */

struct options {
	unsigned port;
	const char *bind;
	const char *store;
	size_t capacity;
	size_t max_event_bytes;
	unsigned heartbeat_ms;
	unsigned retry_ms;
	unsigned rate;            /* generator: events/s in all, 0 = off */
	unsigned sessions;        /* generator: sessions gen-0 .. gen-(K-1) */
	unsigned close_every;     /* test switch: end a stream after K events */
	unsigned max_connections;
	unsigned exit_after_ms;   /* test switch: stop by itself, 0 = never */
	/* --store redis; accepted in any build, used only with EVS_HAVE_REDIS */
	const char *redis_nodes[MAX_REDIS_NODES];
	size_t redis_node_count;  /* 0: the store's default, 127.0.0.1:6379 */
	const char *redis_prefix; /* NULL: the store's default, "evs:" */
	uint64_t redis_ttl_ms;    /* 0: sessions do not expire */
	const char *redis_option; /* the first --redis-* given, for messages */
};

/* ---- subscriber bookkeeping -------------------------------------------- */

struct topic;

struct stream {
	/* Under the bucket mutex. */
	struct stream *prev, *next;   /* in topic->streams */
	struct topic *topic;
	bool parked;                  /* suspended; only a waker may resume */
	bool wake;                    /* an append happened since the last look */
	bool ping_due;                /* the ticker asks for a heartbeat */

	/* Set before the stream is shared, then read-only. */
	struct MHD_Connection *conn;
	unsigned bucket;
	char session[EVS_SESSION_ID_MAX + 1];

	/* libmicrohttpd's thread only. */
	uint64_t epoch;               /* log being followed; 0: adopt the next */
	uint64_t last_sent;           /* id of the last event sent */
	bool have_position;           /* the client holds events of this log */
	bool started;                 /* retry: was staged */
	const char *start_reset;      /* reason of a reset owed at start */
	uint64_t sent;                /* events sent on this connection */
	char *buf;                    /* staged bytes [off, len) */
	size_t len, off, cap;
};

struct topic {
	struct topic *next;           /* in bucket->topics */
	struct stream *streams;
	char session[];
};

struct bucket {
	pthread_mutex_t mu;
	struct topic *topics;
};

/* ---- the server ----------------------------------------------------------- */

static struct {
	struct options opt;
	struct evs_store *store;
	struct MHD_Daemon *daemon;
	struct bucket buckets[NBUCKETS];

	/* R1/A1: set once by shutdown; see the partners at its uses. */
	atomic_bool quiescing;

	/* Control plane: stop flag for the threads, live stream count. */
	pthread_mutex_t ctl_mu;
	pthread_cond_t ctl_cv;
	bool stop;
	size_t live_streams;

	/* Statistics.  Relaxed: counters only, nothing is published through
	 * them; they are read after the threads that write them are gone or
	 * as approximate values. */
	atomic_uint_fast64_t streams_opened;
	atomic_uint_fast64_t events_sent;
	atomic_uint_fast64_t resets_sent;
	atomic_uint_fast64_t appended;
} srv = {
	.ctl_mu = PTHREAD_MUTEX_INITIALIZER,
	.ctl_cv = PTHREAD_COND_INITIALIZER,
};

static uint64_t
now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned
bucket_of(const char *session)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (const unsigned char *p = (const unsigned char *)session; *p; p++) {
		h ^= *p;
		h *= UINT64_C(1099511628211);
	}
	return (unsigned)(h % NBUCKETS);
}

/* Bucket mutex held. */
static struct topic *
topic_find(struct bucket *b, const char *session)
{
	for (struct topic *t = b->topics; t != NULL; t = t->next)
		if (strcmp(t->session, session) == 0)
			return t;
	return NULL;
}

/* Links st into its session's subscriber list.  Returns 0 or EVS_ENOMEM. */
static int
subscribe(struct stream *st)
{
	struct bucket *b = &srv.buckets[st->bucket];
	struct topic *t;
	int rc = 0;

	pthread_mutex_lock(&b->mu);
	t = topic_find(b, st->session);
	if (t == NULL) {
		size_t n = strlen(st->session) + 1;

		t = malloc(sizeof(*t) + n);
		if (t == NULL) {
			rc = EVS_ENOMEM;
			goto out;
		}
		memcpy(t->session, st->session, n);
		t->streams = NULL;
		t->next = b->topics;
		b->topics = t;
	}
	st->topic = t;
	st->prev = NULL;
	st->next = t->streams;
	if (t->streams != NULL)
		t->streams->prev = st;
	t->streams = st;
out:
	pthread_mutex_unlock(&b->mu);
	return rc;
}

static void
unsubscribe(struct stream *st)
{
	struct bucket *b = &srv.buckets[st->bucket];
	struct topic *t = st->topic;

	if (t == NULL)
		return;
	pthread_mutex_lock(&b->mu);
	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		t->streams = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
	if (t->streams == NULL) {
		struct topic **pp = &b->topics;

		while (*pp != t)
			pp = &(*pp)->next;
		*pp = t->next;
		free(t);
	}
	pthread_mutex_unlock(&b->mu);
	st->topic = NULL;
}

/* Bucket mutex held.  Resumes a parked stream, else leaves it a note. */
static void
wake_locked(struct stream *st)
{
	if (st->parked) {
		st->parked = false;
		MHD_resume_connection(st->conn);
	} else {
		st->wake = true;
	}
}

/* Called by producers after an append or purge on `session` returned. */
static void
wake_session(const char *session)
{
	struct bucket *b = &srv.buckets[bucket_of(session)];
	struct topic *t;

	pthread_mutex_lock(&b->mu);
	t = topic_find(b, session);
	if (t != NULL)
		for (struct stream *st = t->streams; st != NULL; st = st->next)
			wake_locked(st);
	pthread_mutex_unlock(&b->mu);
}

/* Wakes every stream; `ping` also asks each for a heartbeat. */
static void
wake_all(bool ping)
{
	for (unsigned i = 0; i < NBUCKETS; i++) {
		struct bucket *b = &srv.buckets[i];

		pthread_mutex_lock(&b->mu);
		for (struct topic *t = b->topics; t != NULL; t = t->next)
			for (struct stream *st = t->streams; st != NULL;
			     st = st->next) {
				if (ping)
					st->ping_due = true;
				wake_locked(st);
			}
		pthread_mutex_unlock(&b->mu);
	}
}

/* ---- staging the stream's bytes ----------------------------------------- */

static int
reserve(struct stream *st, size_t more)
{
	size_t need = st->len + more;

	if (need <= st->cap)
		return 0;
	size_t cap = st->cap ? st->cap : 4096;
	while (cap < need)
		cap *= 2;
	char *p = realloc(st->buf, cap);
	if (p == NULL)
		return EVS_ENOMEM;
	st->buf = p;
	st->cap = cap;
	return 0;
}

static int
stage_bytes(struct stream *st, const void *p, size_t n)
{
	if (reserve(st, n) != 0)
		return EVS_ENOMEM;
	memcpy(st->buf + st->len, p, n);
	st->len += n;
	return 0;
}

static int
stage_str(struct stream *st, const char *s)
{
	return stage_bytes(st, s, strlen(s));
}

/*
 * Stages one event.  Each line of the payload (split at CR, LF or CRLF, the
 * way EventSource splits) becomes one `data:` line, so any bytes survive.
 */
static int
stage_event(struct stream *st, uint64_t epoch, const struct evs_event *ev)
{
	const unsigned char *d = ev->data;
	size_t lines = 1;
	char head[64];
	int n;

	for (size_t i = 0; i < ev->len; i++)
		if (d[i] == '\n' || (d[i] == '\r' &&
		    !(i + 1 < ev->len && d[i + 1] == '\n')))
			lines++;
	n = snprintf(head, sizeof(head), "id: %016" PRIx64 "-%" PRIu64 "\n",
	    epoch, ev->id);
	if (reserve(st, (size_t)n + ev->len + lines * 7 + 1) != 0)
		return EVS_ENOMEM;
	memcpy(st->buf + st->len, head, (size_t)n);
	st->len += (size_t)n;
	memcpy(st->buf + st->len, "data: ", 6);
	st->len += 6;
	for (size_t i = 0; i < ev->len; i++) {
		if (d[i] == '\r' || d[i] == '\n') {
			if (d[i] == '\r' && i + 1 < ev->len && d[i + 1] == '\n')
				i++;
			memcpy(st->buf + st->len, "\ndata: ", 7);
			st->len += 7;
		} else {
			st->buf[st->len++] = (char)d[i];
		}
	}
	st->buf[st->len++] = '\n';
	st->buf[st->len++] = '\n';
	return 0;
}

/*
 * Stages `event: reset`.  The data is one JSON object:
 *   reason  "epoch"     the client's id belongs to another log of this
 *                       session (purged and restarted, or another server)
 *           "gone"      the log the client followed no longer exists
 *           "truncated" events after the client's id were evicted
 *           "bad-id"    the client's id could not be parsed
 *   epoch   the log that follows, 16 hex digits (all zero: none yet)
 *   after   the client's last id (truncated only)
 *   first   the oldest id still held, where the stream goes on (truncated)
 * The reset carries no `id:` line, so the client's last id is unchanged
 * until the next event arrives.
 */
static int
stage_reset(struct stream *st, const char *reason, uint64_t epoch,
            uint64_t after, uint64_t first)
{
	char msg[256];
	int n;

	if (strcmp(reason, "truncated") == 0)
		n = snprintf(msg, sizeof(msg), "event: reset\ndata: {\"reason\":"
		    "\"%s\",\"epoch\":\"%016" PRIx64 "\",\"after\":%" PRIu64
		    ",\"first\":%" PRIu64 "}\n\n", reason, epoch, after, first);
	else
		n = snprintf(msg, sizeof(msg), "event: reset\ndata: {\"reason\":"
		    "\"%s\",\"epoch\":\"%016" PRIx64 "\"}\n\n", reason, epoch);
	/* Relaxed: statistics only. */
	atomic_fetch_add_explicit(&srv.resets_sent, 1, memory_order_relaxed);
	return stage_bytes(st, msg, (size_t)n);
}

struct fill_ctx {
	struct stream *st;
	uint64_t epoch;     /* written into the ids; checked after the replay */
	uint64_t last;      /* last id staged */
	uint64_t count;
	uint64_t limit;     /* events this fill may stage */
	size_t mark;        /* st->len when the replay started */
};

static int
on_replay(const struct evs_event *ev, void *arg)
{
	struct fill_ctx *c = arg;

	if (ev->id <= c->last)
		return 0;   /* already sent: the seam is decided by id */
	if (stage_event(c->st, c->epoch, ev) != 0)
		return FILL_NOMEM;
	c->last = ev->id;
	c->count++;
	if (c->count >= c->limit || c->st->len - c->mark >= FILL_BYTES)
		return FILL_FULL;
	return 0;
}

/*
 * Stages what the client should get next: events after last_sent from the
 * store, preceded by a reset when its position cannot be honoured.  Returns
 * 0 (possibly with nothing staged) or a negative code: end the stream.
 */
static int
fill(struct stream *st)
{
	uint64_t limit = FILL_EVENTS;

	if (!st->started) {
		char retry[48];

		snprintf(retry, sizeof(retry), "retry: %u\n\n", srv.opt.retry_ms);
		if (stage_str(st, retry) != 0)
			return EVS_ENOMEM;
		st->started = true;
	}
	if (st->start_reset != NULL) {
		if (stage_reset(st, st->start_reset, 0, 0, 0) != 0)
			return EVS_ENOMEM;
		st->start_reset = NULL;
	}
	if (srv.opt.close_every > 0) {
		if (st->sent >= srv.opt.close_every)
			return 0;
		limit = srv.opt.close_every - st->sent;
		if (limit > FILL_EVENTS)
			limit = FILL_EVENTS;
	}

	/* Bounded: each retry means the session's epoch changed under us. */
	for (int attempt = 0; attempt < 4; attempt++) {
		struct fill_ctx c = { .st = st, .last = st->last_sent,
		                      .limit = limit, .mark = st->len };
		struct evs_replay_info ri;
		int rc;

		c.epoch = st->epoch;
		if (c.epoch == 0) {
			struct evs_log_info li;

			rc = evs_store_info(srv.store, st->session, &li);
			if (rc != 0)
				return rc;
			if (li.epoch == 0)
				return 0;           /* no log yet: wait */
			c.epoch = li.epoch;
		}
		rc = evs_store_replay_after(srv.store, st->session,
		    st->last_sent, on_replay, &c, &ri);
		if (rc == FILL_NOMEM)
			return EVS_ENOMEM;
		if (rc < 0)
			return rc;
		if (ri.log.epoch != c.epoch) {
			/* What was staged carries a wrong epoch: drop it. */
			st->len = c.mark;
			if (ri.log.epoch == 0) {
				if (st->epoch == 0)
					return 0;   /* purged before we looked */
				rc = stage_reset(st, "gone", 0, 0, 0);
			} else if (st->epoch == 0) {
				continue;           /* adopt whatever is there */
			} else {
				rc = stage_reset(st, "epoch", ri.log.epoch, 0, 0);
			}
			if (rc != 0)
				return rc;
			st->epoch = ri.log.epoch;
			st->last_sent = 0;
			st->have_position = false;
			continue;
		}
		st->epoch = c.epoch;
		if (ri.truncated && st->have_position) {
			/* Put the reset in front of the events it explains. */
			char *tmp = NULL;
			size_t ev_len = st->len - c.mark;

			if (ev_len > 0) {
				tmp = malloc(ev_len);
				if (tmp == NULL)
					return EVS_ENOMEM;
				memcpy(tmp, st->buf + c.mark, ev_len);
			}
			st->len = c.mark;
			rc = stage_reset(st, "truncated", c.epoch, st->last_sent,
			    ri.log.first_id);
			if (rc == 0 && ev_len > 0)
				rc = stage_bytes(st, tmp, ev_len);
			free(tmp);
			if (rc != 0)
				return rc;
		}
		st->have_position = true;
		st->last_sent = c.last;
		st->sent += c.count;
		/* Relaxed: statistics only. */
		atomic_fetch_add_explicit(&srv.events_sent, c.count,
		    memory_order_relaxed);
		return 0;
	}
	return 0;
}

/* ---- libmicrohttpd callbacks for a stream ------------------------------- */

static bool
is_quiescing(void)
{
	/* A1: pairs with R1 in shutdown(); seeing true here only ends streams
	 * sooner: the decision that matters is re-made under the bucket mutex. */
	return atomic_load_explicit(&srv.quiescing, memory_order_acquire);
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream *st = cls;
	struct bucket *b = &srv.buckets[st->bucket];

	/* Each round either hands out staged bytes, stages some, or parks;
	 * a round that does neither was woken again meanwhile. */
	for (int round = 0; round < 8; round++) {
		bool ping;

		if (st->off < st->len) {
			size_t n = st->len - st->off;

			if (n > max)
				n = max;
			memcpy(out, st->buf + st->off, n);
			st->off += n;
			if (st->off == st->len)
				st->off = st->len = 0;
			return (ssize_t)n;
		}
		if (is_quiescing())
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (srv.opt.close_every > 0 && st->sent >= srv.opt.close_every)
			return MHD_CONTENT_READER_END_OF_STREAM;

		/* Clear the note before looking, so that an append after the
		 * look leaves a new one. */
		pthread_mutex_lock(&b->mu);
		st->wake = false;
		ping = st->ping_due;
		st->ping_due = false;
		pthread_mutex_unlock(&b->mu);

		if (fill(st) != 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (st->len > 0)
			continue;
		if (ping) {
			if (stage_str(st, ": ping\n\n") != 0)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			continue;
		}

		pthread_mutex_lock(&b->mu);
		if (st->wake || is_quiescing()) {
			pthread_mutex_unlock(&b->mu);
			continue;
		}
		st->parked = true;
		MHD_suspend_connection(st->conn);
		pthread_mutex_unlock(&b->mu);
		return 0;
	}
	return 0;   /* woken on every round: MHD calls again at once */
}

static void
stream_free(void *cls)
{
	struct stream *st = cls;

	unsubscribe(st);
	free(st->buf);
	free(st);
	pthread_mutex_lock(&srv.ctl_mu);
	srv.live_streams--;
	pthread_cond_broadcast(&srv.ctl_cv);
	pthread_mutex_unlock(&srv.ctl_mu);
}

/* ---- HTTP helpers --------------------------------------------------------- */

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type,
      const char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "GET, POST, DELETE");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned status, const char *body)
{
	return reply(c, status, "text/plain; charset=utf-8", body);
}

/*
 * Parses a client's last id: "<epoch hex>-<id>" as this server writes it,
 * or a bare decimal id (taken to be in whatever log is current).
 */
static bool
parse_last_id(const char *s, uint64_t *epoch, uint64_t *id)
{
	const char *dash = strchr(s, '-');
	char *end;

	*epoch = 0;
	if (dash != NULL) {
		size_t n = (size_t)(dash - s);

		if (n == 0 || n > EPOCH_DIGITS)
			return false;
		for (size_t i = 0; i < n; i++) {
			char ch = s[i];
			unsigned v;

			if (ch >= '0' && ch <= '9')
				v = (unsigned)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				v = (unsigned)(ch - 'a' + 10);
			else if (ch >= 'A' && ch <= 'F')
				v = (unsigned)(ch - 'A' + 10);
			else
				return false;
			*epoch = *epoch << 4 | v;
		}
		s = dash + 1;
	}
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*id = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static enum MHD_Result
start_stream(struct MHD_Connection *c, const char *session)
{
	struct MHD_Response *r;
	struct stream *st;
	const char *last;
	enum MHD_Result ret;

	if (is_quiescing())
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down\n");
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "no memory\n");
	st->conn = c;
	strcpy(st->session, session);   /* length checked by the caller */
	st->bucket = bucket_of(session);

	last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
	if (last == NULL || *last == '\0')
		last = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
		    "lastEventId");
	if (last != NULL && *last != '\0') {
		if (parse_last_id(last, &st->epoch, &st->last_sent)) {
			st->have_position = true;
		} else {
			st->epoch = st->last_sent = 0;
			st->start_reset = "bad-id";
		}
	}

	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
	    stream_read, st, stream_free);
	if (r == NULL) {
		free(st);
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "no memory\n");
	}
	/* From here on the response owns st: stream_free() releases it. */
	pthread_mutex_lock(&srv.ctl_mu);
	srv.live_streams++;
	pthread_mutex_unlock(&srv.ctl_mu);
	/* Relaxed: statistics only. */
	atomic_fetch_add_explicit(&srv.streams_opened, 1, memory_order_relaxed);

	MHD_add_response_header(r, "Content-Type", "text/event-stream");
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	if (subscribe(st) != 0) {
		MHD_destroy_response(r);
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "no memory\n");
	}
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static unsigned
status_of(int rc)
{
	switch (rc) {
	case EVS_EINVAL:  return MHD_HTTP_BAD_REQUEST;
	case EVS_ETOOBIG: return MHD_HTTP_CONTENT_TOO_LARGE;
	case EVS_EBACKEND: return MHD_HTTP_SERVICE_UNAVAILABLE;
	default:          return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

static enum MHD_Result
reply_error(struct MHD_Connection *c, int rc)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "%s: %s\n", evs_strerror_name(rc),
	    evs_strerror(rc));
	return reply_text(c, status_of(rc), msg);
}

static enum MHD_Result
info_json(struct MHD_Connection *c, const char *session)
{
	struct evs_log_info li;
	char body[256];
	int rc = evs_store_info(srv.store, session, &li);

	if (rc != 0)
		return reply_error(c, rc);
	snprintf(body, sizeof(body), "{\"epoch\":\"%016" PRIx64 "\",\"retained\":"
	    "%zu,\"first_id\":%" PRIu64 ",\"last_id\":%" PRIu64 "}\n", li.epoch,
	    li.retained, li.retained ? li.first_id : 0,
	    li.retained ? li.last_id : 0);
	return reply(c, MHD_HTTP_OK, "application/json", body);
}

/* ---- the demo page ------------------------------------------------------- */

static const char demo_page[] =
"<!doctype html>\n"
"<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
"<title>evstore SSE</title>\n"
"<style>body{font:14px/1.4 monospace;margin:1em}"
"#log{white-space:pre;border:1px solid #ccc;padding:.5em;height:30em;"
"overflow:auto}.reset{color:#b00}</style></head>\n"
"<body><h1>evstore: Server-Sent Events</h1>\n"
"<p>session <b id=\"session\"></b> &middot; state <b id=\"state\">"
"connecting</b> &middot; events <b id=\"count\">0</b> &middot; last id "
"<b id=\"last\">-</b> &middot; connections <b id=\"opens\">0</b> &middot; "
"resets <b id=\"resets\">0</b></p>\n"
"<div id=\"log\"></div>\n"
"<script>\n"
"'use strict';\n"
"const q = new URLSearchParams(location.search);\n"
"const session = q.get('session') || 'gen-0';\n"
"let url = 'events?session=' + encodeURIComponent(session);\n"
"if (q.get('lastEventId'))\n"
"  url += '&lastEventId=' + encodeURIComponent(q.get('lastEventId'));\n"
"const evs = window.evs = { received: [], resets: [], opens: 0, errors: 0 };\n"
"const $ = (id) => document.getElementById(id);\n"
"$('session').textContent = session;\n"
"const log = $('log');\n"
"function line(text, cls) {\n"
"  const d = document.createElement('div');\n"
"  d.textContent = text;\n"
"  if (cls) d.className = cls;\n"
"  log.appendChild(d);\n"
"  while (log.childNodes.length > 200) log.removeChild(log.firstChild);\n"
"  log.scrollTop = log.scrollHeight;\n"
"}\n"
"const es = new EventSource(url);\n"
"es.onopen = () => { evs.opens++; $('opens').textContent = evs.opens;\n"
"  $('state').textContent = 'open'; };\n"
"es.onerror = () => { evs.errors++; $('state').textContent =\n"
"  es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'; };\n"
"es.onmessage = (e) => {\n"
"  evs.received.push(e.lastEventId);\n"
"  $('count').textContent = evs.received.length;\n"
"  $('last').textContent = e.lastEventId;\n"
"  line(e.lastEventId + '  ' + e.data);\n"
"};\n"
"es.addEventListener('reset', (e) => {\n"
"  evs.resets.push(e.data);\n"
"  $('resets').textContent = evs.resets.length;\n"
"  line('reset ' + e.data, 'reset');\n"
"});\n"
"</script></body></html>\n";

/* ---- request routing ----------------------------------------------------- */

/* What a POST accumulates between calls. */
struct upload {
	char *data;
	size_t len, cap;
	bool too_big;
};

static bool
is_method(const char *m, const char *want)
{
	return strcmp(m, want) == 0;
}

static enum MHD_Result
on_upload(struct MHD_Connection *c, const char *session, struct upload *u,
          const char *data, size_t *size)
{
	if (*size > 0) {
		if (!u->too_big && *size > srv.opt.max_event_bytes - u->len) {
			u->too_big = true;
			free(u->data);
			u->data = NULL;
			u->len = u->cap = 0;
		}
		if (!u->too_big) {
			if (u->len + *size > u->cap) {
				size_t cap = u->cap ? u->cap : 1024;
				char *p;

				while (cap < u->len + *size)
					cap *= 2;
				p = realloc(u->data, cap);
				if (p == NULL)
					return MHD_NO;
				u->data = p;
				u->cap = cap;
			}
			memcpy(u->data + u->len, data, *size);
			u->len += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	if (u->too_big)
		return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE,
		    "event larger than --max-event-bytes\n");

	uint64_t id;
	char body[32];
	int rc = evs_store_append_next(srv.store, session, u->data, u->len, &id);

	if (rc != 0)
		return reply_error(c, rc);
	/* Relaxed: statistics only. */
	atomic_fetch_add_explicit(&srv.appended, 1, memory_order_relaxed);
	wake_session(session);
	snprintf(body, sizeof(body), "%" PRIu64 "\n", id);
	return reply_text(c, MHD_HTTP_OK, body);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload_data,
           size_t *upload_data_size, void **req_cls)
{
	const char *session;
	bool events = strcmp(url, "/events") == 0;
	bool info = strcmp(url, "/info") == 0;

	if (*req_cls != NULL) {
		/* A POST body arriving; the checks below passed on the first call. */
		session = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
		    "session");
		return on_upload(c, session, *req_cls, upload_data,
		    upload_data_size);
	}

	if (strcmp(url, "/") == 0 || strcmp(url, "/demo") == 0) {
		if (!is_method(method, MHD_HTTP_METHOD_GET) &&
		    !is_method(method, MHD_HTTP_METHOD_HEAD))
			return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method not allowed\n");
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", demo_page);
	}
	if (!events && !info)
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
	if (events ? !(is_method(method, MHD_HTTP_METHOD_GET) ||
	               is_method(method, MHD_HTTP_METHOD_POST) ||
	               is_method(method, MHD_HTTP_METHOD_DELETE))
	           : !is_method(method, MHD_HTTP_METHOD_GET))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");

	session = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "session");
	if (session == NULL || *session == '\0')
		return reply_text(c, MHD_HTTP_BAD_REQUEST, "missing ?session=\n");
	if (strlen(session) > EVS_SESSION_ID_MAX)
		return reply_text(c, MHD_HTTP_BAD_REQUEST,
		    "session id longer than 255 bytes\n");

	if (info)
		return info_json(c, session);
	if (is_method(method, MHD_HTTP_METHOD_GET))
		return start_stream(c, session);
	if (is_method(method, MHD_HTTP_METHOD_DELETE)) {
		int rc = evs_store_purge_session(srv.store, session);

		if (rc != 0)
			return reply_error(c, rc);
		wake_session(session);
		return reply_text(c, MHD_HTTP_OK, "purged\n");
	}

	/* POST: refuse a declared oversize body before reading it. */
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno == 0 && *end == '\0' && n > srv.opt.max_event_bytes)
			return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE,
			    "event larger than --max-event-bytes\n");
	}
	struct upload *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return MHD_NO;
	*req_cls = u;
	return MHD_YES;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
             enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *req_cls;

	if (u != NULL) {
		free(u->data);
		free(u);
		*req_cls = NULL;
	}
}

/* ---- generator and heartbeat threads -------------------------------------- */

/* Waits until `deadline_ns` (CLOCK_REALTIME, as the condvar uses) or stop.
 * Returns true if the server is stopping. */
static bool
wait_until(uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000u),
		.tv_nsec = (long)(deadline_ns % 1000000000u),
	};
	bool stop;

	pthread_mutex_lock(&srv.ctl_mu);
	while (!srv.stop) {
		if (pthread_cond_timedwait(&srv.ctl_cv, &srv.ctl_mu, &ts) ==
		    ETIMEDOUT)
			break;
	}
	stop = srv.stop;
	pthread_mutex_unlock(&srv.ctl_mu);
	return stop;
}

static void *
generator_main(void *arg)
{
	unsigned k = srv.opt.sessions;
	char (*names)[32] = calloc(k, sizeof(*names));
	bool *dirty = calloc(k, sizeof(*dirty));
	unsigned *touched = calloc(k, sizeof(*touched));
	uint64_t start = now_ns(CLOCK_MONOTONIC);
	uint64_t made = 0;
	bool failed = false;

	if (names == NULL || dirty == NULL || touched == NULL) {
		fprintf(stderr, "evs-sse-server: generator: out of memory\n");
		free(names);
		free(dirty);
		free(touched);
		return NULL;
	}
	for (unsigned i = 0; i < k; i++)
		snprintf(names[i], sizeof(names[i]), "gen-%u", i);

	/* One tick per millisecond at most; each tick catches up with the
	 * rate, in a bounded batch, then wakes each session it touched once
	 * (a stream replays everything new in one go). */
	for (;;) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		uint64_t due = (uint64_t)((double)(now - start) *
		    srv.opt.rate / 1e9);
		unsigned batch = 0, ntouched = 0;

		while (made < due && batch < 100000) {
			char data[96];
			unsigned s = (unsigned)(made % k);
			int n = snprintf(data, sizeof(data),
			    "{\"t\":%" PRIu64 ",\"n\":%" PRIu64 "}",
			    now_ns(CLOCK_MONOTONIC), made);
			int rc = evs_store_append_next(srv.store, names[s], data,
			    (size_t)n, NULL);

			if (rc == EVS_EBACKEND)
				break;   /* reported by on_redis_error; retry
				            at the next tick */
			if (rc != 0) {
				fprintf(stderr, "evs-sse-server: generator: %s\n",
				    evs_strerror(rc));
				failed = true;
				break;
			}
			/* Relaxed: statistics only. */
			atomic_fetch_add_explicit(&srv.appended, 1,
			    memory_order_relaxed);
			if (!dirty[s]) {
				dirty[s] = true;
				touched[ntouched++] = s;
			}
			made++;
			batch++;
		}
		for (unsigned i = 0; i < ntouched; i++) {
			wake_session(names[touched[i]]);
			dirty[touched[i]] = false;
		}
		if (failed || wait_until(now_ns(CLOCK_REALTIME) + 1000000u))
			break;
	}
	free(names);
	free(dirty);
	free(touched);
	return NULL;
}

static void *
ticker_main(void *arg)
{
	uint64_t period = (uint64_t)srv.opt.heartbeat_ms * 1000000u;

	while (!wait_until(now_ns(CLOCK_REALTIME) + period))
		wake_all(true);
	return NULL;
}

/* ---- startup and shutdown ------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
"usage: evs-sse-server [options]\n"
"  --port N             TCP port (default 8080; 0 picks a free one)\n"
"  --bind ADDR          address to listen on (default 127.0.0.1)\n"
"  --store KIND         memory (default); caching (a memory cache over a\n"
"                       memory backend); redis (a memory cache over Redis\n"
"                       Streams, shared by every server on the same Redis)\n"
"  --capacity N         events kept per session (default 1000)\n"
"  --max-event-bytes N  largest event; larger POSTs get 413 (default 65536)\n"
"  --heartbeat-ms N     ': ping' to idle streams every N ms (default 15000)\n"
"  --retry-ms N         reconnect delay sent as 'retry:' (default 1000)\n"
"  --rate N             built-in generator: N events/s in all (default 0)\n"
"  --sessions K         ... spread over sessions gen-0 .. gen-(K-1) (default 1)\n"
"  --close-every K      test switch: end each stream after K events\n"
"  --max-connections N  connection limit (default 10000)\n"
"  --exit-after-ms N    test switch: shut down cleanly after N ms, as on\n"
"                       SIGTERM (a test that dies leaves no server behind)\n"
"  --redis-node NODE    with --store redis: HOST:PORT or unix:/PATH; repeat\n"
"                       to spread sessions over several nodes (every server\n"
"                       must list the same ones; default 127.0.0.1:6379)\n"
"  --redis-prefix P     key prefix in Redis (default evs:)\n"
"  --redis-ttl-ms N     a session's keys expire N ms after its last append\n"
"                       (default 0: never)\n");
}

static bool
parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && *out <= max;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "store", required_argument, NULL, 's' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "max-event-bytes", required_argument, NULL, 'm' },
		{ "heartbeat-ms", required_argument, NULL, 'H' },
		{ "retry-ms", required_argument, NULL, 'R' },
		{ "rate", required_argument, NULL, 'r' },
		{ "sessions", required_argument, NULL, 'k' },
		{ "close-every", required_argument, NULL, 'C' },
		{ "max-connections", required_argument, NULL, 'M' },
		{ "exit-after-ms", required_argument, NULL, 'X' },
		{ "redis-node", required_argument, NULL, 'N' },
		{ "redis-prefix", required_argument, NULL, 'P' },
		{ "redis-ttl-ms", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, idx = 0;

	*o = (struct options){
		.port = 8080, .bind = "127.0.0.1", .store = "memory",
		.capacity = EVS_DEFAULT_MAX_EVENTS_PER_SESSION,
		.max_event_bytes = 65536, .heartbeat_ms = 15000,
		.retry_ms = 1000, .sessions = 1, .max_connections = 10000,
	};
	while ((ch = getopt_long(argc, argv, "h", longs, &idx)) != -1) {
		unsigned long long v = 0;
		bool ok = true;

		switch (ch) {
		case 'b': o->bind = optarg; continue;
		case 's': o->store = optarg; continue;
		case 'h': usage(stdout); exit(0);
		case 'p': ok = parse_uint(optarg, 65535, &v); o->port = (unsigned)v; break;
		case 'c': ok = parse_uint(optarg, EVS_MEMORY_MAX_EVENTS_LIMIT, &v) && v > 0;
		          o->capacity = (size_t)v; break;
		case 'm': ok = parse_uint(optarg, 64u << 20, &v) && v > 0;
		          o->max_event_bytes = (size_t)v; break;
		case 'H': ok = parse_uint(optarg, 3600000, &v) && v >= 10;
		          o->heartbeat_ms = (unsigned)v; break;
		case 'R': ok = parse_uint(optarg, 3600000, &v);
		          o->retry_ms = (unsigned)v; break;
		case 'r': ok = parse_uint(optarg, 100000000, &v); o->rate = (unsigned)v; break;
		case 'k': ok = parse_uint(optarg, MAX_GEN_SESSIONS, &v) && v > 0;
		          o->sessions = (unsigned)v; break;
		case 'C': ok = parse_uint(optarg, UINT32_MAX, &v); o->close_every = (unsigned)v; break;
		case 'M': ok = parse_uint(optarg, 1000000, &v) && v > 0;
		          o->max_connections = (unsigned)v; break;
		case 'X': ok = parse_uint(optarg, UINT32_MAX, &v);
		          o->exit_after_ms = (unsigned)v; break;
		case 'N':
			if (o->redis_node_count == MAX_REDIS_NODES) {
				fprintf(stderr, "evs-sse-server: at most %d "
				    "--redis-node\n", MAX_REDIS_NODES);
				return -1;
			}
			o->redis_nodes[o->redis_node_count++] = optarg;
			break;
		case 'P': o->redis_prefix = optarg; break;
		case 'T': ok = parse_uint(optarg, REDIS_TTL_MAX_MS, &v);
		          o->redis_ttl_ms = v; break;
		default: usage(stderr); return -1;
		}
		if (ch == 'N' || ch == 'P' || ch == 'T') {
			if (o->redis_option == NULL)
				o->redis_option = longs[idx].name;
		}
		if (!ok) {
			fprintf(stderr, "evs-sse-server: bad value '%s' for --%s\n",
			    optarg, longs[idx].name);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	if (o->redis_option != NULL && strcmp(o->store, "redis") != 0) {
		fprintf(stderr, "evs-sse-server: --%s needs --store redis\n",
		    o->redis_option);
		return -1;
	}
	return 0;
}

/* The stores a caching composer borrows; destroyed after it. */
static struct evs_store *borrowed[2];

/* `extra`: EVS_CACHING_OVERHEAD for a composer's cache, whose events carry
 * the composer's header in front of the payload (<evstore/caching.h>). */
static int
make_memory(const struct options *o, size_t extra, struct evs_store **out)
{
	struct evs_memory_opts mo = {
		.max_events_per_session = o->capacity,
		.max_event_bytes = o->max_event_bytes + extra,
		.producers = EVS_MULTI_PRODUCER,
	};

	return evs_memory_store_create(&mo, out);
}

#if EVS_HAVE_REDIS
_Static_assert(MAX_REDIS_NODES <= EVS_REDIS_MAX_NODES,
    "more --redis-node than the Redis store takes");

/* One report per ERROR_REPORT_NS; the next one says how many it skipped. */
static atomic_uint_fast64_t err_next_ns;
static atomic_uint_fast64_t err_skipped;

/*
 * The Redis store's on_error: runs in whichever thread's call failed, maybe
 * in several at once, so a Redis outage does not flood stderr: the thread
 * that wins the compare-and-swap on err_next_ns prints, the others count.
 */
static void
on_redis_error(int err, const char *node, const char *text, void *arg)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	/* Relaxed (all three): the value only elects the thread that prints;
	 * nothing else is published through it.  A report lost to a race
	 * is counted in err_skipped. */
	uint64_t next = atomic_load_explicit(&err_next_ns, memory_order_relaxed);

	if (now < next || !atomic_compare_exchange_strong_explicit(&err_next_ns,
	    &next, now + ERROR_REPORT_NS, memory_order_relaxed,
	    memory_order_relaxed)) {
		/* Relaxed: a counter, read by the next report only. */
		atomic_fetch_add_explicit(&err_skipped, 1, memory_order_relaxed);
		return;
	}
	/* Relaxed: a counter; an increment racing with this exchange is
	 * reported by the next report instead. */
	uint64_t skipped = atomic_exchange_explicit(&err_skipped, 0,
	    memory_order_relaxed);

	if (skipped > 0)
		fprintf(stderr, "evs-sse-server: redis %s: %s: %s (and %" PRIu64
		    " more since the last report)\n", node,
		    evs_strerror_name(err), text, skipped);
	else
		fprintf(stderr, "evs-sse-server: redis %s: %s: %s\n", node,
		    evs_strerror_name(err), text);
}

static int
make_redis(const struct options *o, struct evs_store **out)
{
	struct evs_redis_opts ro = {
		.nodes = o->redis_node_count > 0 ? o->redis_nodes : NULL,
		.node_count = o->redis_node_count,
		.key_prefix = o->redis_prefix,
		.max_events_per_session = o->capacity,
		.max_event_bytes = o->max_event_bytes,
		.session_ttl_ms = o->redis_ttl_ms,
		.on_error = on_redis_error,
	};
	struct evs_log_info li;
	int rc;

	rc = evs_redis_store_create(&ro, &borrowed[1]);
	if (rc == EVS_EINVAL) {
		fprintf(stderr, "evs-sse-server: bad Redis options: each "
		    "--redis-node is HOST:PORT or unix:/PATH, listed once; "
		    "--redis-prefix has no '{' and at most %d bytes\n",
		    EVS_REDIS_KEY_PREFIX_MAX);
		return rc;
	}
	if (rc == 0)
		rc = make_memory(o, EVS_CACHING_OVERHEAD, &borrowed[0]);
	if (rc == 0)
		rc = evs_caching_store_create(borrowed[0], borrowed[1], out);
	if (rc != 0)
		return rc;
	/* The store connects lazily.  Say at once if Redis is not there (the
	 * reason went to on_redis_error), but serve anyway: the store
	 * reconnects by itself, and requests get 503 until then. */
	if (evs_store_info(borrowed[1], "evs-sse-server:probe", &li) != 0)
		fprintf(stderr, "evs-sse-server: Redis is not reachable yet; "
		    "requests get 503 until it is\n");
	return 0;
}
#endif

static int
make_store(const struct options *o, struct evs_store **out)
{
	int rc = EVS_EINVAL;

	if (strcmp(o->store, "memory") == 0)
		return make_memory(o, 0, out);
	if (strcmp(o->store, "caching") == 0) {
		/* A memory cache over a memory "backend": the composer's
		 * behaviour without a server to run. */
		rc = make_memory(o, EVS_CACHING_OVERHEAD, &borrowed[0]);
		if (rc == 0)
			rc = make_memory(o, 0, &borrowed[1]);
		if (rc == 0)
			rc = evs_caching_store_create(borrowed[0], borrowed[1], out);
	} else if (strcmp(o->store, "redis") == 0) {
#if EVS_HAVE_REDIS
		rc = make_redis(o, out);
#else
		fprintf(stderr, "evs-sse-server: --store redis: this evstore was "
		    "built without the Redis store (hiredis was not found at "
		    "build time); run scripts/setup.sh and build again\n");
		return EVS_EINVAL;
#endif
	} else {
		fprintf(stderr, "evs-sse-server: unknown --store %s (memory, "
		    "caching, redis)\n", o->store);
		return EVS_EINVAL;
	}
	if (rc != 0) {
		evs_store_destroy(borrowed[0]);
		evs_store_destroy(borrowed[1]);
		borrowed[0] = borrowed[1] = NULL;
	}
	return rc;
}

static void
destroy_store(void)
{
	evs_store_destroy(srv.store);
	evs_store_destroy(borrowed[0]);
	evs_store_destroy(borrowed[1]);
#if EVS_HAVE_REDIS
	/* Relaxed: every thread that could report has stopped. */
	uint64_t skipped = atomic_load_explicit(&err_skipped,
	    memory_order_relaxed);

	if (skipped > 0)
		fprintf(stderr, "evs-sse-server: %" PRIu64 " more Redis errors "
		    "since the last report\n", skipped);
#endif
}

/* Room for the connections, and a few descriptors for the rest. */
static void
raise_fd_limit(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < (rlim_t)want + 64) {
		rl.rlim_cur = (rlim_t)want + 64;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
shutdown_streams(void)
{
	struct timespec ts;
	uint64_t deadline = now_ns(CLOCK_REALTIME) +
	    (uint64_t)SHUTDOWN_WAIT_MS * 1000000u;

	/* R1: pairs with A1 in is_quiescing() and, through each bucket mutex
	 * taken below, with the check a stream makes before it parks. */
	atomic_store_explicit(&srv.quiescing, true, memory_order_release);
	wake_all(false);   /* every parked stream resumes and ends */

	/* Wait (bounded) until every stream's response is released. */
	ts.tv_sec = (time_t)(deadline / 1000000000u);
	ts.tv_nsec = (long)(deadline % 1000000000u);
	pthread_mutex_lock(&srv.ctl_mu);
	while (srv.live_streams > 0)
		if (pthread_cond_timedwait(&srv.ctl_cv, &srv.ctl_mu, &ts) ==
		    ETIMEDOUT)
			break;
	if (srv.live_streams > 0)
		fprintf(stderr, "evs-sse-server: %zu streams still open at stop "
		    "(none suspended)\n", srv.live_streams);
	pthread_mutex_unlock(&srv.ctl_mu);
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	const union MHD_DaemonInfo *di;
	/* No MHD_USE_ERROR_LOG: it reports every client that goes away. */
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
	pthread_t gen, tick;
	bool have_gen = false;
	sigset_t sigs;
	int sig, rc;

	if (parse_options(argc, argv, &srv.opt) != 0)
		return 2;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, srv.opt.bind, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)srv.opt.port);
	} else if (inet_pton(AF_INET6, srv.opt.bind, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)srv.opt.port);
		flags |= MHD_USE_IPv6;
	} else {
		fprintf(stderr, "evs-sse-server: --bind wants a numeric address, "
		    "not '%s'\n", srv.opt.bind);
		return 2;
	}

	rc = make_store(&srv.opt, &srv.store);
	if (rc != 0) {
		fprintf(stderr, "evs-sse-server: store: %s\n", evs_strerror(rc));
		return 1;
	}
	for (unsigned i = 0; i < NBUCKETS; i++)
		pthread_mutex_init(&srv.buckets[i].mu, NULL);

	/* Every thread started from here on inherits this mask, so the
	 * signals reach only sigwait() below. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(srv.opt.max_connections);

	srv.daemon = MHD_start_daemon(flags, (uint16_t)srv.opt.port, NULL, NULL,
	    on_request, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)srv.opt.max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)0,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_END);
	if (srv.daemon == NULL) {
		fprintf(stderr, "evs-sse-server: cannot listen on %s port %u\n",
		    srv.opt.bind, srv.opt.port);
		destroy_store();
		return 1;
	}
	di = MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (pthread_create(&tick, NULL, ticker_main, NULL) != 0) {
		fprintf(stderr, "evs-sse-server: cannot start the ticker\n");
		return 1;
	}
	if (srv.opt.rate > 0) {
		if (pthread_create(&gen, NULL, generator_main, NULL) != 0) {
			fprintf(stderr, "evs-sse-server: cannot start the generator\n");
			return 1;
		}
		have_gen = true;
	}
	printf(flags & MHD_USE_IPv6 ? "http://[%s]:%u/\n" : "http://%s:%u/\n",
	    srv.opt.bind, di != NULL ? (unsigned)di->port : srv.opt.port);
	fflush(stdout);

	if (srv.opt.exit_after_ms > 0) {
		struct timespec ts = {
			.tv_sec = srv.opt.exit_after_ms / 1000,
			.tv_nsec = (long)(srv.opt.exit_after_ms % 1000) * 1000000,
		};

		/* Bounded: EINTR only when another signal arrived. */
		for (int i = 0; i < 1000; i++) {
			sig = sigtimedwait(&sigs, NULL, &ts);
			if (sig > 0 || errno != EINTR)
				break;
		}
		if (sig <= 0)
			sig = 0;   /* timed out: stop as on a signal */
	} else {
		do
			rc = sigwait(&sigs, &sig);
		while (rc != 0);
	}

	/* Producers first, so nothing wakes a stream after the sweep. */
	pthread_mutex_lock(&srv.ctl_mu);
	srv.stop = true;
	pthread_cond_broadcast(&srv.ctl_cv);
	pthread_mutex_unlock(&srv.ctl_mu);
	if (have_gen)
		pthread_join(gen, NULL);
	pthread_join(tick, NULL);

	shutdown_streams();
	MHD_stop_daemon(srv.daemon);
	/* Relaxed loads below: every thread that counted has been joined or
	 * stopped (MHD_stop_daemon joins its thread). */
	fprintf(stderr, "evs-sse-server: stopped by %s %d: %" PRIu64
	    " streams, %" PRIu64 " events appended, %" PRIu64 " sent, %" PRIu64
	    " resets\n", sig ? "signal" : "--exit-after-ms", sig,
	    (uint64_t)atomic_load_explicit(&srv.streams_opened, memory_order_relaxed),
	    (uint64_t)atomic_load_explicit(&srv.appended, memory_order_relaxed),
	    (uint64_t)atomic_load_explicit(&srv.events_sent, memory_order_relaxed),
	    (uint64_t)atomic_load_explicit(&srv.resets_sent, memory_order_relaxed));
	destroy_store();
	for (unsigned i = 0; i < NBUCKETS; i++)
		pthread_mutex_destroy(&srv.buckets[i].mu);
	return 0;
}
