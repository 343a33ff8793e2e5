/*
 * src/redis.c: the Redis Streams store (docs/REDIS.md tells the whole story).
 *
 *   - A session is two keys sharing the hash tag {session}:
 *       <prefix>{<session>}:s  a stream, one entry per event, entry id
 *                              "<id>-1" (see "Ids" below), fields
 *                              t = timestamp (ns, decimal) and d = payload;
 *       <prefix>{<session>}:m  a hash: e = epoch, l = newest id,
 *                              h = newest evicted id (once one was evicted).
 *     Both are created, trimmed and expired together by one Lua script, and
 *     deleted together by one DEL.
 *   - Two scripts, loaded with SCRIPT LOAD when a connection opens and run
 *     with EVALSHA (EVAL when the server answers NOSCRIPT): "append" checks
 *     or assigns the id, creates the log with the caller's random epoch if
 *     there is none, records the evicted high-water mark, XADDs with an
 *     exact MAXLEN and refreshes the TTL; "read" returns the log's metadata
 *     and, when asked, one batch of entries after an exclusive start.
 *     Redis runs a script atomically, so every process sees the same ids,
 *     epoch and high-water mark.
 *   - Ids: an evstore id N (any uint64) is the stream entry id "N-1".  Entry
 *     ids are <ms>-<seq> with two 64-bit parts ordered lexicographically, so
 *     "N-1" increases with N, covers 0..UINT64_MAX, and never is the
 *     forbidden 0-0.  Lua numbers are doubles, so the scripts compare and
 *     increment ids as decimal strings.
 *   - Nodes: a session lives on the node with the highest rendezvous score
 *     mix64(hash(session) ^ hash(node name)), with fixed hash seeds so every
 *     process that lists the same node names agrees.
 *
 * Ordering guarantees:
 *   - Each call is linearizable at the moment Redis runs its script or
 *     command; Redis's single-threaded execution orders calls from all
 *     threads and processes.  replay_after reads in batches: each batch is
 *     one atomic snapshot, and `truncated` is set when a batch shows an
 *     eviction above the position the replay had reached.
 *   - Connections: a connection is used by one thread at a time.  Taking it
 *     from its pool slot (A1, a compare-and-swap) pairs with the
 *     compare-and-swap that put it there (R1), so the taker sees everything
 *     the previous user did to the connection and its hiredis buffers.
 *
 * Progress guarantees:
 *   - No call waits for another thread: the pool is an array of slots,
 *     each taken and returned with one compare-and-swap; a call scans the
 *     slots at most once, and if none holds a free connection it opens its
 *     own (closed afterwards if no slot is free to return it to).  The pool
 *     is lock-free; the scans are bounded by pool_size, so taking and
 *     returning a connection is wait-free.
 *   - Every network wait is bounded by timeout_ms (connect, and each read or
 *     write on the socket).
 *   - destroy: no concurrent calls; closes every pooled connection.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <ck_pr.h>
#include <hiredis/hiredis.h>

#include <evstore/redis.h>

#include "internal.h"

/* ---- Lua ----------------------------------------------------------------- */

/*
 * Shared by both scripts.  U64MAX is UINT64_MAX in decimal; u64(s) says
 * whether s is a canonical decimal uint64; gt(a, b) compares two of them;
 * inc(a) adds one (the caller excludes UINT64_MAX); eid(e) turns an entry id
 * "<N>-1" back into N; state() checks the session's keys and returns the
 * meta fields {e, l, h}, nil when there is no log, or false and a reason
 * when the keys hold something this store did not write.
 */
#define LUA_PRELUDE \
"local U64MAX = '18446744073709551615'\n" \
"local function u64(s)\n" \
"  if type(s) ~= 'string' or #s == 0 or #s > 20 then return false end\n" \
"  if not string.find(s, '^%d+$') then return false end\n" \
"  if #s > 1 and string.byte(s, 1) == 48 then return false end\n" \
"  if #s == 20 and s > U64MAX then return false end\n" \
"  return true\n" \
"end\n" \
"local function gt(a, b)\n" \
"  if #a ~= #b then return #a > #b end\n" \
"  return a > b\n" \
"end\n" \
"local function inc(a)\n" \
"  local head, nines = string.match(a, '^(%d-)(9*)$')\n" \
"  local zeros = string.rep('0', #nines)\n" \
"  if head == '' then return '1' .. zeros end\n" \
"  local up = string.char(string.byte(head, #head) + 1)\n" \
"  return string.sub(head, 1, #head - 1) .. up .. zeros\n" \
"end\n" \
"local function eid(e)\n" \
"  local n = string.match(e, '^(%d+)%-1$')\n" \
"  if n and u64(n) then return n end\n" \
"  return nil\n" \
"end\n" \
"local function state(s, m)\n" \
"  local st = redis.call('TYPE', s)['ok']\n" \
"  local mt = redis.call('TYPE', m)['ok']\n" \
"  if st == 'none' and mt == 'none' then return nil end\n" \
"  if st ~= 'stream' or mt ~= 'hash' then return false, 'key types' end\n" \
"  local f = redis.call('HMGET', m, 'e', 'l', 'h')\n" \
"  if not u64(f[1]) or f[1] == '0' or not u64(f[2]) then\n" \
"    return false, 'meta fields'\n" \
"  end\n" \
"  if f[3] and not u64(f[3]) then return false, 'meta hwm' end\n" \
"  return f\n" \
"end\n"

/*
 * append: KEYS = stream, meta.  ARGV = id ('' for append_next), payload,
 * timestamp, max events, epoch for a new log, ttl ms ('0': none).
 * Returns {id, epoch}, or an error EVSORDER / EVSDECODE / EVSENCODE followed
 * by a reason (Redis prefixes "ERR " to an error of one word, so every error
 * has two).  Nothing is written before every check has passed.
 */
static const char lua_append[] = LUA_PRELUDE
"local f, why = state(KEYS[1], KEYS[2])\n"
"if f == false then return redis.error_reply('EVSDECODE ' .. why) end\n"
"local id, epoch, last = ARGV[1], ARGV[5], nil\n"
"if f then epoch, last = f[1], f[2] end\n"
"if id == '' then\n"
"  if last == nil then id = '1'\n"
"  elseif last == U64MAX then\n"
"    return redis.error_reply('EVSORDER id not greater than newest')\n"
"  else id = inc(last) end\n"
"elseif not u64(id) then return redis.error_reply('EVSENCODE id')\n"
"elseif last ~= nil and not gt(id, last) then\n"
"  return redis.error_reply('EVSORDER id not greater than newest')\n"
"end\n"
"local max = tonumber(ARGV[4])\n"
"local hwm = nil\n"
"if f then\n"
"  local len = redis.call('XLEN', KEYS[1])\n"
"  if len >= max then\n"
"    local ev = redis.call('XRANGE', KEYS[1], '-', '+',\n"
"                          'COUNT', len - max + 1)\n"
"    hwm = eid(ev[#ev][1])\n"
"    if not hwm then return redis.error_reply('EVSDECODE entry id') end\n"
"  end\n"
"end\n"
"local r = redis.pcall('XADD', KEYS[1], 'MAXLEN', '=', max, id .. '-1',\n"
"                      't', ARGV[3], 'd', ARGV[2])\n"
"if type(r) == 'table' and r.err then\n"
"  return redis.error_reply('EVSDECODE stream: ' .. r.err)\n"
"end\n"
"if hwm then redis.call('HSET', KEYS[2], 'e', epoch, 'l', id, 'h', hwm)\n"
"else redis.call('HSET', KEYS[2], 'e', epoch, 'l', id) end\n"
"if ARGV[6] ~= '0' then\n"
"  redis.call('PEXPIRE', KEYS[1], ARGV[6])\n"
"  redis.call('PEXPIRE', KEYS[2], ARGV[6])\n"
"end\n"
"return {id, epoch}\n";

/*
 * meta: KEYS = stream, meta.  No ARGV.
 * Returns {} when there is no log, else {epoch, last, hwm or '', retained,
 * first}: no payload crosses the wire.  replay_after sends it in one
 * MULTI/EXEC with a plain XRANGE, so metadata and batch are one atomic
 * snapshot (a plain XRANGE is ~4x cheaper than one made inside Lua, which
 * converts every entry to Lua tables and back).
 */
static const char lua_meta[] = LUA_PRELUDE
"local f, why = state(KEYS[1], KEYS[2])\n"
"if f == false then return redis.error_reply('EVSDECODE ' .. why) end\n"
"if f == nil then return {} end\n"
"local len = redis.call('XLEN', KEYS[1])\n"
"if len == 0 then return redis.error_reply('EVSDECODE empty stream') end\n"
"local head = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)\n"
"local first = eid(head[1][1])\n"
"if not first then return redis.error_reply('EVSDECODE entry id') end\n"
"return {f[1], f[2], f[3] or '', len, first}\n";

enum { SCRIPT_APPEND, SCRIPT_META, NSCRIPTS };

static const char *const script_src[NSCRIPTS] = { lua_append, lua_meta };
static const size_t script_len[NSCRIPTS] = {
	sizeof(lua_append) - 1, sizeof(lua_meta) - 1
};

/* ---- the store ----------------------------------------------------------- */

#define SHA_LEN 40
#define DEFAULT_POOL 16
#define DEFAULT_BATCH 128
#define DEFAULT_TIMEOUT_MS 1000
#define DEFAULT_EVENT_BYTES ((size_t)1 << 20)
/* prefix + "{" + session + "}:x" + NUL */
#define KEY_MAX (EVS_REDIS_KEY_PREFIX_MAX + EVS_SESSION_ID_MAX + 8)
/* Fixed seeds: every process must place a session on the same node. */
#define RDV_SEED_SESSION UINT64_C(0x6576732d72647631)
#define RDV_SEED_NODE    UINT64_C(0x6576732d6e6f6465)

struct conn {
	redisContext *ctx;
	bool broken;                  /* drop instead of pooling */
	char sha[NSCRIPTS][SHA_LEN + 1];
};

struct node {
	char *name;                   /* as given in the options */
	char *host;                   /* NULL for a unix socket */
	char *path;                   /* NULL for TCP */
	int port;
	uint64_t rank_key;            /* rendezvous: hash of the name */
	struct conn **slots;          /* pool_size slots; NULL: empty */
};

struct evs_redis_store {
	struct evs_store base;
	struct node *nodes;
	size_t nnodes;
	size_t pool_size;
	size_t batch;
	char *prefix;
	size_t prefix_len;
	uint64_t max_events;
	uint64_t max_bytes;
	uint64_t ttl_ms;
	struct timeval tv;
	evs_redis_error_fn *on_error;
	void *on_error_arg;
};

static inline struct evs_redis_store *
to_redis(struct evs_store *s)
{
	return evs__container_of(s, struct evs_redis_store, base);
}

static void
report(const struct evs_redis_store *r, const struct node *nd, int err,
       const char *text)
{
	if (r->on_error != NULL)
		r->on_error(err, nd->name, text != NULL ? text : "", r->on_error_arg);
}

/* ---- decimal helpers ----------------------------------------------------- */

static int
fmt_u64(char *buf, size_t n, uint64_t v)
{
	return snprintf(buf, n, "%llu", (unsigned long long)v);
}

/* Strict: canonical decimal, no sign, no leading zero, no overflow. */
static bool
parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool
parse_i64(const char *s, size_t len, int64_t *out)
{
	uint64_t v;
	bool neg = len > 0 && s[0] == '-';

	if (!parse_u64(s + neg, len - neg, &v))
		return false;
	if (v > (uint64_t)INT64_MAX + neg)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static bool
reply_u64(const redisReply *e, uint64_t *out)
{
	return e != NULL && e->type == REDIS_REPLY_STRING &&
	    parse_u64(e->str, e->len, out);
}

/* An entry id "<N>-1" back to N. */
static bool
parse_eid(const redisReply *e, uint64_t *out)
{
	return e != NULL && e->type == REDIS_REPLY_STRING && e->len > 2 &&
	    e->str[e->len - 2] == '-' && e->str[e->len - 1] == '1' &&
	    parse_u64(e->str, e->len - 2, out);
}

/* ---- nodes and rendezvous hashing ---------------------------------------- */

static size_t
node_index(const struct evs_redis_store *r, const char *session, size_t slen)
{
	uint64_t h, best = 0;
	size_t pick = 0;

	if (r->nnodes == 1)
		return 0;
	h = evs__hash(session, slen, RDV_SEED_SESSION);
	for (size_t i = 0; i < r->nnodes; i++) {
		uint64_t score = evs__mix64(h ^ r->nodes[i].rank_key);

		if (i == 0 || score > best) {
			best = score;
			pick = i;
		}
	}
	return pick;
}

static int
node_parse(struct node *nd, const char *spec)
{
	const char *colon;
	char *end;
	long port;
	size_t hlen;

	nd->name = strdup(spec);
	if (nd->name == NULL)
		return EVS_ENOMEM;
	nd->rank_key = evs__hash(spec, strlen(spec), RDV_SEED_NODE);
	if (strncmp(spec, "unix:", 5) == 0) {
		if (spec[5] == '\0')
			return EVS_EINVAL;
		nd->path = strdup(spec + 5);
		return nd->path != NULL ? 0 : EVS_ENOMEM;
	}
	colon = strrchr(spec, ':');
	if (colon == NULL || colon == spec || colon[1] == '\0')
		return EVS_EINVAL;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port < 1 || port > 65535)
		return EVS_EINVAL;
	hlen = (size_t)(colon - spec);
	if (spec[0] == '[' && hlen > 2 && spec[hlen - 1] == ']') {
		spec++;           /* "[::1]:6379" */
		hlen -= 2;
	}
	nd->host = strndup(spec, hlen);
	if (nd->host == NULL)
		return EVS_ENOMEM;
	nd->port = (int)port;
	return 0;
}

/* ---- connections --------------------------------------------------------- */

static void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->ctx != NULL)
		redisFree(c->ctx);
	free(c);
}

/* False if the server closed the idle connection (or sent something
 * unasked): a restarted server must not cost a failed call. */
static bool
conn_alive(const struct conn *c)
{
	struct pollfd p = { .fd = c->ctx->fd, .events = POLLIN };
	int n = poll(&p, 1, 0);

	return n == 0 || (n < 0 && errno == EINTR);
}

/* Maps a failed hiredis call on c to a code, reports it, and marks c. */
static int
conn_fail(const struct evs_redis_store *r, const struct node *nd,
          struct conn *c)
{
	int err = c->ctx->err == REDIS_ERR_OOM ? EVS_ENOMEM : EVS_EBACKEND;

	c->broken = true;
	report(r, nd, err, c->ctx->errstr);
	return err;
}

static int
conn_open(const struct evs_redis_store *r, const struct node *nd,
          struct conn **out)
{
	struct conn *c = evs__calloc(1, sizeof(*c));
	int rc = 0;

	if (c == NULL)
		return EVS_ENOMEM;
	if (nd->path != NULL)
		c->ctx = redisConnectUnixWithTimeout(nd->path, r->tv);
	else
		c->ctx = redisConnectWithTimeout(nd->host, nd->port, r->tv);
	if (c->ctx == NULL) {
		free(c);
		report(r, nd, EVS_ENOMEM, "cannot allocate a connection");
		return EVS_ENOMEM;
	}
	if (c->ctx->err != 0) {
		rc = conn_fail(r, nd, c);
		goto fail;
	}
	if (redisSetTimeout(c->ctx, r->tv) != REDIS_OK) {
		rc = conn_fail(r, nd, c);
		goto fail;
	}
	/* Load both scripts in one round trip; keep their digests. */
	for (int i = 0; i < NSCRIPTS; i++) {
		const char *argv[3] = { "SCRIPT", "LOAD", script_src[i] };
		size_t lens[3] = { 6, 4, script_len[i] };

		if (redisAppendCommandArgv(c->ctx, 3, argv, lens) != REDIS_OK) {
			rc = conn_fail(r, nd, c);
			goto fail;
		}
	}
	for (int i = 0; i < NSCRIPTS; i++) {
		void *v = NULL;
		redisReply *rep;

		if (redisGetReply(c->ctx, &v) != REDIS_OK) {
			rc = conn_fail(r, nd, c);
			goto fail;
		}
		rep = v;
		if (rep->type != REDIS_REPLY_STRING || rep->len != SHA_LEN) {
			rc = EVS_EBACKEND;
			report(r, nd, rc, rep->type == REDIS_REPLY_ERROR ?
			    rep->str : "unexpected SCRIPT LOAD reply");
			freeReplyObject(rep);
			goto fail;
		}
		memcpy(c->sha[i], rep->str, SHA_LEN);
		c->sha[i][SHA_LEN] = '\0';
		freeReplyObject(rep);
	}
	*out = c;
	return 0;
fail:
	conn_free(c);
	return rc;
}

/* A per-thread starting slot, so threads tend to use different slots. */
static _Thread_local size_t tl_hint;
static _Thread_local bool tl_hint_set;

static size_t
pool_hint(void)
{
	if (!tl_hint_set) {
		tl_hint = (size_t)evs__random64();
		tl_hint_set = true;
	}
	return tl_hint;
}

/* A pooled live connection, or NULL if no slot holds one. */
static struct conn *
pool_take(const struct evs_redis_store *r, struct node *nd)
{
	size_t h = pool_hint();

	for (size_t i = 0; i < r->pool_size; i++) {
		struct conn **slot = &nd->slots[(h + i) % r->pool_size];
		/* Relaxed peek: only says whether the slot is worth a CAS; the
		 * CAS below is what hands the connection over. */
		struct conn *c = ck_pr_load_ptr(slot);

		if (c == NULL)
			continue;
		/* A1: pairs with R1 in pool_put(): winning this CAS makes us
		 * the connection's only user, after everything its previous
		 * user did to it. */
		if (!ck_pr_cas_ptr(slot, c, NULL))
			continue;
		if (conn_alive(c))
			return c;
		conn_free(c);
	}
	return NULL;
}

static void
pool_put(const struct evs_redis_store *r, struct node *nd, struct conn *c)
{
	size_t h = pool_hint();

	if (c->broken) {
		conn_free(c);
		return;
	}
	for (size_t i = 0; i < r->pool_size; i++) {
		struct conn **slot = &nd->slots[(h + i) % r->pool_size];

		/* R1: pairs with A1 in pool_take(): our use of c happens
		 * before the next taker's. */
		if (ck_pr_load_ptr(slot) == NULL && ck_pr_cas_ptr(slot, NULL, c))
			return;
	}
	conn_free(c);   /* every slot is full: this was an extra connection */
}

/* ---- one call: a session's node, keys and a connection ------------------- */

struct call {
	struct evs_redis_store *r;
	struct node *nd;
	struct conn *c;
	char key[2][KEY_MAX];
	size_t klen[2];
};

static int
call_begin(struct evs_redis_store *r, const char *session, size_t slen,
           struct call *k)
{
	static const char suffix[2] = { 's', 'm' };
	int rc;

	k->r = r;
	k->nd = &r->nodes[node_index(r, session, slen)];
	for (int i = 0; i < 2; i++) {
		char *p = k->key[i];

		memcpy(p, r->prefix, r->prefix_len);
		p += r->prefix_len;
		*p++ = '{';
		memcpy(p, session, slen);
		p += slen;
		*p++ = '}';
		*p++ = ':';
		*p++ = suffix[i];
		*p = '\0';
		k->klen[i] = (size_t)(p - k->key[i]);
	}
	k->c = pool_take(r, k->nd);
	if (k->c != NULL)
		return 0;
	rc = conn_open(r, k->nd, &k->c);
	if (rc != 0)
		k->c = NULL;
	return rc;
}

static void
call_end(struct call *k)
{
	if (k->c != NULL)
		pool_put(k->r, k->nd, k->c);
	k->c = NULL;
}

/* Sends one command and reads its reply.  A reply that is a Redis error is
 * returned as a reply; only transport and format failures are errors here. */
static int
call_cmd(struct call *k, int argc, const char **argv, const size_t *lens,
         redisReply **out)
{
	void *v = NULL;

	if (redisAppendCommandArgv(k->c->ctx, argc, argv, lens) != REDIS_OK) {
		int err = k->c->ctx->err == REDIS_ERR_OOM ? EVS_ENOMEM :
		    EVS_EENCODE;

		k->c->broken = true;
		report(k->r, k->nd, err, k->c->ctx->errstr);
		return err;
	}
	if (redisGetReply(k->c->ctx, &v) != REDIS_OK)
		return conn_fail(k->r, k->nd, k->c);
	*out = v;
	return 0;
}

static bool
err_is(const redisReply *rep, const char *code)
{
	size_t n = strlen(code);

	return rep->len >= n && memcmp(rep->str, code, n) == 0 &&
	    (rep->len == n || rep->str[n] == ' ');
}

/* Turns an error reply into a code (reporting it), or returns 0. */
static int
reply_error(struct call *k, redisReply *rep)
{
	int err;

	if (rep->type != REDIS_REPLY_ERROR)
		return 0;
	if (err_is(rep, "EVSORDER"))
		return EVS_EORDER;
	if (err_is(rep, "EVSDECODE") || err_is(rep, "WRONGTYPE"))
		err = EVS_EDECODE;
	else if (err_is(rep, "EVSENCODE"))
		err = EVS_EENCODE;
	else
		err = EVS_EBACKEND;
	report(k->r, k->nd, err, rep->str);
	return err;
}

#define SCRIPT_MAX_ARGS 6

/* EVALSHA <sha> 2 <stream> <meta> args... (EVAL <source> ... if eval). */
static int
script_argv(const struct call *k, int script, bool eval, int nargs,
            const char **args, const size_t *arglens, const char **argv,
            size_t *lens)
{
	argv[0] = eval ? "EVAL" : "EVALSHA";
	lens[0] = eval ? 4 : 7;
	argv[1] = eval ? script_src[script] : k->c->sha[script];
	lens[1] = eval ? script_len[script] : SHA_LEN;
	argv[2] = "2";
	lens[2] = 1;
	for (int i = 0; i < 2; i++) {
		argv[3 + i] = k->key[i];
		lens[3 + i] = k->klen[i];
	}
	for (int i = 0; i < nargs; i++) {
		argv[5 + i] = args[i];
		lens[5 + i] = arglens[i];
	}
	return 5 + nargs;
}

/* Runs a script with the session's two keys and nargs arguments: EVALSHA,
 * then EVAL if the server lost the script.  On 0, *out is a non-error
 * reply the caller frees. */
static int
call_script(struct call *k, int script, int nargs, const char **args,
            const size_t *arglens, redisReply **out)
{
	const char *argv[5 + SCRIPT_MAX_ARGS];
	size_t lens[5 + SCRIPT_MAX_ARGS];
	redisReply *rep = NULL;
	int rc;

	for (int eval = 0; eval < 2; eval++) {
		int argc = script_argv(k, script, eval, nargs, args, arglens,
		    argv, lens);

		rc = call_cmd(k, argc, argv, lens, &rep);
		if (rc != 0)
			return rc;
		if (!eval && rep->type == REDIS_REPLY_ERROR &&
		    err_is(rep, "NOSCRIPT")) {
			freeReplyObject(rep);
			continue;
		}
		break;
	}
	rc = reply_error(k, rep);
	if (rc != 0) {
		freeReplyObject(rep);
		return rc;
	}
	*out = rep;
	return 0;
}

/*
 * One atomic snapshot for replay_after: MULTI, the meta script, XRANGE
 * <stream> <start> <end> COUNT <count>, EXEC, pipelined in one round trip.
 * On 0, *owner is the EXEC reply (the caller frees it), *meta and *batch
 * point into it.
 */
static int
call_read_batch(struct call *k, const char *start, size_t start_len,
                const char *end, size_t end_len, size_t count,
                redisReply **owner, const redisReply **meta,
                const redisReply **batch)
{
	char countb[24];
	size_t countlen = (size_t)fmt_u64(countb, sizeof(countb), count);
	int rc = 0;

	for (int eval = 0; eval < 2; eval++) {
		static const char *const multi[1] = { "MULTI" };
		static const char *const exec[1] = { "EXEC" };
		static const size_t l5[1] = { 5 }, l4[1] = { 4 };
		const char *xr[6] = { "XRANGE", k->key[0], start, end, "COUNT",
		    countb };
		size_t xl[6] = { 6, k->klen[0], start_len, end_len, 5, countlen };
		redisReply *rep[4] = { NULL, NULL, NULL, NULL };
		const char *sargv[5];
		size_t slens[5];
		int sargc = script_argv(k, SCRIPT_META, eval, 0, NULL, NULL,
		    sargv, slens);

		if (redisAppendCommandArgv(k->c->ctx, 1, (const char **)multi,
		    l5) != REDIS_OK ||
		    redisAppendCommandArgv(k->c->ctx, sargc, sargv, slens) !=
		    REDIS_OK ||
		    redisAppendCommandArgv(k->c->ctx, 6, xr, xl) != REDIS_OK ||
		    redisAppendCommandArgv(k->c->ctx, 1, (const char **)exec,
		    l4) != REDIS_OK) {
			k->c->broken = true;   /* part of it may be queued */
			rc = k->c->ctx->err == REDIS_ERR_OOM ? EVS_ENOMEM :
			    EVS_EENCODE;
			report(k->r, k->nd, rc, k->c->ctx->errstr);
			return rc;
		}
		for (int i = 0; i < 4; i++) {
			void *v = NULL;

			if (redisGetReply(k->c->ctx, &v) != REDIS_OK) {
				for (int j = 0; j < i; j++)
					freeReplyObject(rep[j]);
				return conn_fail(k->r, k->nd, k->c);
			}
			rep[i] = v;
		}
		for (int i = 0; i < 3; i++)
			freeReplyObject(rep[i]);   /* +OK, +QUEUED, +QUEUED */
		rc = reply_error(k, rep[3]);   /* EXECABORT, ... */
		if (rc != 0) {
			freeReplyObject(rep[3]);
			return rc;
		}
		if (rep[3]->type != REDIS_REPLY_ARRAY || rep[3]->elements != 2) {
			freeReplyObject(rep[3]);
			report(k->r, k->nd, EVS_EBACKEND, "unexpected EXEC reply");
			return EVS_EBACKEND;
		}
		if (!eval && rep[3]->element[0]->type == REDIS_REPLY_ERROR &&
		    err_is(rep[3]->element[0], "NOSCRIPT")) {
			freeReplyObject(rep[3]);
			continue;
		}
		rc = reply_error(k, rep[3]->element[0]);
		if (rc == 0)
			rc = reply_error(k, rep[3]->element[1]);
		if (rc != 0) {
			freeReplyObject(rep[3]);
			return rc;
		}
		*owner = rep[3];
		*meta = rep[3]->element[0];
		*batch = rep[3]->element[1];
		return 0;
	}
	report(k->r, k->nd, EVS_EBACKEND, "script missing after EVAL");
	return EVS_EBACKEND;
}

static int
decode_fail(struct call *k, const char *what)
{
	report(k->r, k->nd, EVS_EDECODE, what);
	return EVS_EDECODE;
}

/* ---- ops ----------------------------------------------------------------- */

static int
redis_append_common(struct evs_store *s, const char *session, size_t slen,
                    bool next, uint64_t id, const void *data, size_t len,
                    uint64_t *out_id)
{
	struct evs_redis_store *r = to_redis(s);
	char idb[24], tsb[24], maxb[24], epb[24], ttlb[24];
	const char *args[6] = { idb, data != NULL ? data : "", tsb, maxb, epb,
	    ttlb };
	size_t lens[6];
	uint64_t epoch = evs__random64(), got;
	redisReply *rep = NULL;
	struct call k;
	int rc;

	if (len > r->max_bytes)
		return EVS_ETOOBIG;
	if (epoch == 0)
		epoch = 1;   /* 0 means "no log" */
	idb[0] = '\0';
	lens[0] = next ? 0 : (size_t)fmt_u64(idb, sizeof(idb), id);
	lens[1] = len;
	lens[2] = (size_t)snprintf(tsb, sizeof(tsb), "%lld",
	    (long long)evs__now_ns());
	lens[3] = (size_t)fmt_u64(maxb, sizeof(maxb), r->max_events);
	lens[4] = (size_t)fmt_u64(epb, sizeof(epb), epoch);
	lens[5] = (size_t)fmt_u64(ttlb, sizeof(ttlb), r->ttl_ms);

	rc = call_begin(r, session, slen, &k);
	if (rc != 0)
		return rc;
	rc = call_script(&k, SCRIPT_APPEND, 6, args, lens, &rep);
	if (rc == 0) {
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    !reply_u64(rep->element[0], &got) ||
		    (!next && got != id))
			rc = decode_fail(&k, "unexpected append reply");
		else if (next)
			*out_id = got;
		freeReplyObject(rep);
	}
	call_end(&k);
	return rc;
}

static int
redis_append(struct evs_store *s, const char *session, size_t session_len,
             uint64_t id, const void *data, size_t len)
{
	return redis_append_common(s, session, session_len, false, id, data,
	    len, NULL);
}

static int
redis_append_next(struct evs_store *s, const char *session, size_t session_len,
                  const void *data, size_t len, uint64_t *id)
{
	return redis_append_common(s, session, session_len, true, 0, data, len,
	    id);
}

/* The metadata part of a read reply. */
struct meta {
	bool exists;
	uint64_t epoch, last, first, hwm;
	bool has_hwm;
	size_t retained;
};

static int
parse_meta(struct call *k, const redisReply *rep, struct meta *m)
{
	const redisReply *h;

	memset(m, 0, sizeof(*m));
	if (rep->type != REDIS_REPLY_ARRAY)
		return decode_fail(k, "unexpected read reply");
	if (rep->elements == 0)
		return 0;   /* no log */
	if (rep->elements < 5 ||
	    !reply_u64(rep->element[0], &m->epoch) || m->epoch == 0 ||
	    !reply_u64(rep->element[1], &m->last) ||
	    rep->element[2]->type != REDIS_REPLY_STRING ||
	    rep->element[3]->type != REDIS_REPLY_INTEGER ||
	    rep->element[3]->integer <= 0 ||
	    !reply_u64(rep->element[4], &m->first))
		return decode_fail(k, "malformed log metadata");
	h = rep->element[2];
	if (h->len > 0) {
		if (!reply_u64(h, &m->hwm))
			return decode_fail(k, "malformed high-water mark");
		m->has_hwm = true;
	}
	m->retained = (size_t)rep->element[3]->integer;
	m->exists = true;
	return 0;
}

static void
fill_info(const struct meta *m, struct evs_log_info *info)
{
	memset(info, 0, sizeof(*info));
	if (!m->exists)
		return;
	info->epoch = m->epoch;
	info->retained = m->retained;
	info->first_id = m->first;
	info->last_id = m->last;
}

/* Decodes one stream entry [id, [field, value, ...]]. */
static bool
decode_entry(const redisReply *e, struct evs_event *ev)
{
	const redisReply *f;
	bool have_t = false, have_d = false;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    !parse_eid(e->element[0], &ev->id))
		return false;
	f = e->element[1];
	if (f->type != REDIS_REPLY_ARRAY || f->elements % 2 != 0)
		return false;
	for (size_t i = 0; i < f->elements; i += 2) {
		const redisReply *name = f->element[i], *val = f->element[i + 1];

		if (name->type != REDIS_REPLY_STRING ||
		    val->type != REDIS_REPLY_STRING || name->len != 1)
			return false;
		if (name->str[0] == 't') {
			have_t = parse_i64(val->str, val->len, &ev->timestamp_ns);
			if (!have_t)
				return false;
		} else if (name->str[0] == 'd') {
			ev->data = val->str;
			ev->len = val->len;
			have_d = true;
		}
	}
	return have_t && have_d;
}

/* Metadata alone (count 0) or with one batch of entries after `start`.
 * The connection goes back to the pool before the caller runs any replay
 * callback, so a callback may use the store again. */
static int
read_call(struct evs_redis_store *r, const char *session, size_t slen,
          const char *start, size_t start_len, const char *end,
          size_t end_len, size_t count, redisReply **owner,
          const redisReply **batch, struct meta *m)
{
	const redisReply *meta = NULL;
	struct call k;
	int rc;

	*batch = NULL;
	rc = call_begin(r, session, slen, &k);
	if (rc != 0)
		return rc;
	if (count == 0) {
		rc = call_script(&k, SCRIPT_META, 0, NULL, NULL, owner);
		meta = *owner;
	} else {
		rc = call_read_batch(&k, start, start_len, end, end_len, count,
		    owner, &meta, batch);
	}
	if (rc == 0) {
		rc = parse_meta(&k, meta, m);
		if (rc == 0 && *batch != NULL &&
		    (*batch)->type != REDIS_REPLY_ARRAY)
			rc = decode_fail(&k, "unexpected XRANGE reply");
		if (rc != 0) {
			freeReplyObject(*owner);
			*owner = NULL;
			*batch = NULL;
		}
	}
	call_end(&k);
	return rc;
}

static void
fmt_eid(char *buf, size_t n, size_t *len, const char *lead, uint64_t id)
{
	*len = (size_t)snprintf(buf, n, "%s%llu-1", lead,
	    (unsigned long long)id);
}

static int
redis_replay_after(struct evs_store *s, const char *session, size_t slen,
                   uint64_t after_id, evs_replay_fn *fn, void *arg,
                   struct evs_replay_info *info)
{
	struct evs_redis_store *r = to_redis(s);
	char start[32], end[32] = "+";
	size_t start_len, end_len = 1;
	uint64_t pos = after_id, epoch = 0, upto = 0;
	bool first = true;
	int rc = 0;

	/* Bounded: each round either delivers a full batch (pos grows towards
	 * upto, fixed after the first round) or is the last. */
	for (;;) {
		redisReply *owner = NULL;
		const redisReply *batch = NULL;
		struct meta m;
		size_t count = pos == UINT64_MAX ? 0 : r->batch;

		fmt_eid(start, sizeof(start), &start_len, "(", pos);
		rc = read_call(r, session, slen, start, start_len, end, end_len,
		    count, &owner, &batch, &m);
		if (rc != 0)
			return rc;
		if (first) {
			fill_info(&m, &info->log);
			epoch = m.epoch;
			upto = m.last;
			fmt_eid(end, sizeof(end), &end_len, "", upto);
			first = false;
		}
		if (!m.exists || m.epoch != epoch) {
			/* No log, or purged (and maybe re-created) since the
			 * replay began: nothing more of the log it read. */
			freeReplyObject(owner);
			return 0;
		}
		if (m.has_hwm && m.hwm > pos)
			info->truncated = true;
		for (size_t i = 0; batch != NULL && i < batch->elements; i++) {
			struct evs_event ev;

			if (!decode_entry(batch->element[i], &ev) ||
			    ev.id <= pos || ev.id > upto) {
				freeReplyObject(owner);
				report(r, &r->nodes[node_index(r, session,
				    slen)], EVS_EDECODE, "malformed stream entry");
				return EVS_EDECODE;
			}
			info->delivered++;
			pos = ev.id;
			rc = fn(&ev, arg);
			if (rc != 0) {
				freeReplyObject(owner);
				return rc;
			}
		}
		if (batch == NULL || batch->elements < count || pos >= upto) {
			freeReplyObject(owner);
			return 0;
		}
		freeReplyObject(owner);
	}
}

static int
redis_info(struct evs_store *s, const char *session, size_t slen,
           struct evs_log_info *info)
{
	struct evs_redis_store *r = to_redis(s);
	redisReply *owner = NULL;
	const redisReply *batch;
	struct meta m;
	int rc;

	rc = read_call(r, session, slen, NULL, 0, NULL, 0, 0, &owner, &batch,
	    &m);
	if (rc != 0)
		return rc;
	fill_info(&m, info);
	freeReplyObject(owner);
	return 0;
}

static int
redis_purge_session(struct evs_store *s, const char *session, size_t slen)
{
	struct evs_redis_store *r = to_redis(s);
	const char *argv[3];
	size_t lens[3];
	redisReply *rep = NULL;
	struct call k;
	int rc;

	rc = call_begin(r, session, slen, &k);
	if (rc != 0)
		return rc;
	/* One DEL of both keys: atomic, and it also clears garbage. */
	argv[0] = "DEL";
	lens[0] = 3;
	for (int i = 0; i < 2; i++) {
		argv[1 + i] = k.key[i];
		lens[1 + i] = k.klen[i];
	}
	rc = call_cmd(&k, 3, argv, lens, &rep);
	if (rc == 0) {
		rc = reply_error(&k, rep);
		if (rc == 0 && rep->type != REDIS_REPLY_INTEGER)
			rc = decode_fail(&k, "unexpected DEL reply");
		freeReplyObject(rep);
	}
	call_end(&k);
	return rc;
}

/* ---- create / destroy ---------------------------------------------------- */

static void
free_store(struct evs_redis_store *r)
{
	for (size_t i = 0; r->nodes != NULL && i < r->nnodes; i++) {
		struct node *nd = &r->nodes[i];

		for (size_t j = 0; nd->slots != NULL && j < r->pool_size; j++)
			conn_free(nd->slots[j]);
		free(nd->slots);
		free(nd->name);
		free(nd->host);
		free(nd->path);
	}
	free(r->nodes);
	free(r->prefix);
	free(r);
}

static void
redis_destroy(struct evs_store *s)
{
	/* No concurrent calls (the contract), so the slots are read plainly:
	 * the caller's own synchronization orders them after the last call. */
	free_store(to_redis(s));
}

static const struct evs_store_ops redis_ops = {
	.name = "redis",
	.append = redis_append,
	.append_next = redis_append_next,
	.replay_after = redis_replay_after,
	.info = redis_info,
	.purge_session = redis_purge_session,
	.destroy = redis_destroy,
};

int
evs_redis_store_create(const struct evs_redis_opts *opts,
                       struct evs_store **out)
{
	static const char *const default_nodes[1] = { "127.0.0.1:6379" };
	struct evs_redis_opts o = { 0 };
	const char *const *nodes;
	struct evs_redis_store *r;
	const char *prefix;
	int rc;

	if (out == NULL)
		return EVS_EINVAL;
	if (opts != NULL)
		o = *opts;
	nodes = o.nodes;
	if (nodes == NULL) {
		if (o.node_count > 1)
			return EVS_EINVAL;
		nodes = default_nodes;
		o.node_count = 1;
	}
	prefix = o.key_prefix != NULL ? o.key_prefix : "evs:";
	if (o.max_events_per_session == 0)
		o.max_events_per_session = EVS_DEFAULT_MAX_EVENTS_PER_SESSION;
	if (o.max_event_bytes == 0)
		o.max_event_bytes = DEFAULT_EVENT_BYTES;
	if (o.timeout_ms == 0)
		o.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (o.pool_size == 0)
		o.pool_size = DEFAULT_POOL;
	if (o.replay_batch == 0)
		o.replay_batch = DEFAULT_BATCH;
	if (o.node_count == 0 || o.node_count > EVS_REDIS_MAX_NODES ||
	    o.max_events_per_session > EVS_REDIS_MAX_EVENTS_LIMIT ||
	    o.max_event_bytes > EVS_REDIS_EVENT_BYTES_LIMIT ||
	    o.pool_size > 4096 || o.replay_batch > 65536 ||
	    strlen(prefix) > EVS_REDIS_KEY_PREFIX_MAX ||
	    strchr(prefix, '{') != NULL)
		return EVS_EINVAL;
	for (size_t i = 0; i < o.node_count; i++) {
		if (nodes[i] == NULL)
			return EVS_EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(nodes[i], nodes[j]) == 0)
				return EVS_EINVAL;   /* same rendezvous rank */
	}

	r = evs__calloc(1, sizeof(*r));
	if (r == NULL)
		return EVS_ENOMEM;
	r->base.ops = &redis_ops;
	r->pool_size = o.pool_size;
	r->batch = o.replay_batch;
	r->max_events = o.max_events_per_session;
	r->max_bytes = o.max_event_bytes;
	r->ttl_ms = o.session_ttl_ms;
	r->tv.tv_sec = (time_t)(o.timeout_ms / 1000);
	r->tv.tv_usec = (suseconds_t)(o.timeout_ms % 1000) * 1000;
	r->on_error = o.on_error;
	r->on_error_arg = o.on_error_arg;
	r->prefix = strdup(prefix);
	r->prefix_len = strlen(prefix);
	r->nodes = evs__calloc(o.node_count, sizeof(*r->nodes));
	if (r->prefix == NULL || r->nodes == NULL) {
		free_store(r);
		return EVS_ENOMEM;
	}
	r->nnodes = o.node_count;
	for (size_t i = 0; i < o.node_count; i++) {
		rc = node_parse(&r->nodes[i], nodes[i]);
		if (rc == 0) {
			r->nodes[i].slots = evs__calloc(o.pool_size,
			    sizeof(*r->nodes[i].slots));
			if (r->nodes[i].slots == NULL)
				rc = EVS_ENOMEM;
		}
		if (rc != 0) {
			free_store(r);
			return rc;
		}
	}
	*out = &r->base;
	return 0;
}

int
evs_redis_store_node_of(const struct evs_store *s, const char *session)
{
	size_t slen = evs__session_len(session);

	if (s == NULL || s->ops != &redis_ops || slen == 0)
		return -1;
	return (int)node_index(evs__container_of(s, struct evs_redis_store,
	    base), session, slen);
}
