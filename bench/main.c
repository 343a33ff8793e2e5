/*
 * bench/main.c: evs-bench, evstore's benchmark harness.
 *
 * Runs every contender (evstore's memory store in both producer modes, the
 * lock-based baselines, the no-concurrency-control floor and, when it is
 * built, the caching composer) through the same scenarios behind the same
 * struct evs_store interface, repetitions interleaved across contenders.
 * Prints tables, writes results.csv, report.txt and PNG plots into a run
 * directory.  `evs-bench --help` lists the options.
 *
 * Ordering guarantees: the harness's only shared state between its threads
 * is the per-session id hint of the replay scenario (relaxed: a hint) and
 * what the stores themselves publish; start is a pthread barrier, end is
 * pthread_join.
 * Progress guarantees: not applicable (a test driver); every loop is bounded
 * in count and in time.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <evstore/evstore.h>
#include <evstore/memory.h>
#ifdef EVS_BENCH_HAVE_CACHING
#include <evstore/caching.h>
#endif

#include "bench.h"
#include "hist.h"
#include "prims.h"
#include "smap.h"

#define MAX_REPS      15u
#define MAX_OPS       2000000000ull   /* per thread per trial: the count bound */
#define CLOCK_EVERY   32u             /* ops between deadline checks */
#define MAX_PAYLOAD   1024u
#define ID_STRIDE     16u

/* ---- options ------------------------------------------------------------- */

enum scen_bit {
	S_LIMITS = 1, S_APPEND = 2, S_REPLAY = 4, S_CHURN = 8, S_SCALE = 16,
	S_MEMORY = 32, S_CACHING = 64, S_SSE = 128
};

static const struct {
	const char *name;
	unsigned bit;
	const char *what;
} scen_names[] = {
	{ "limits",  S_LIMITS,  "raw primitives, one thread" },
	{ "append",  S_APPEND,  "append throughput: 1 / 100,000 sessions, 64 B / 1 KiB, 1, 2, 4 threads" },
	{ "replay",  S_REPLAY,  "replay 100 events while one thread appends: throughput, latency" },
	{ "churn",   S_CHURN,   "reader latency while another thread creates and purges sessions" },
	{ "scale",   S_SCALE,   "cost per append and per replay at 1K, 100K, 1M sessions" },
	{ "memory",  S_MEMORY,  "bytes per session and per event at steady state" },
	{ "caching", S_CACHING, "caching composer over two memory stores: hit and miss" },
	{ "sse",     S_SSE,     "SSE load tool (evs-sse-load), when it is built" },
};
#define NSCEN (sizeof(scen_names) / sizeof(scen_names[0]))

static struct {
	bool quick;
	bool plots;
	unsigned reps;
	unsigned trial_ms;
	unsigned only;
	const char *outdir;
	unsigned ncpu;
} opt = { false, true, 5, 200, 0xffu, "bench-results", 2 };

static char rundir[1024];
static FILE *report_fp;
static FILE *csv_fp;
static bool progress_tty;
static uint64_t t_start_ns;

/* ---- output helpers -------------------------------------------------------- */

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (report_fp != NULL) {
		va_start(ap, fmt);
		vfprintf(report_fp, fmt, ap);
		va_end(ap);
	}
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char last_progress[200];

static void
progress(const char *fmt, ...)
{
	va_list ap;
	double el = (double)(bench_now_ns() - t_start_ns) / 1e9;

	va_start(ap, fmt);
	vsnprintf(last_progress, sizeof(last_progress), fmt, ap);
	va_end(ap);

	fprintf(stderr, progress_tty ? "\r\033[K[%6.1fs] " : "[%6.1fs] ", el);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (!progress_tty)
		fputc('\n', stderr);
	fflush(stderr);
}

static void
progress_done(void)
{
	if (progress_tty)
		fputs("\r\033[K", stderr);
}

/* Value with an SI suffix: 12.3k, 4.56M. */
static const char *
fmt_si(char *buf, size_t n, double v)
{
	const char *suf[] = { "", "k", "M", "G", "T" };
	unsigned i = 0;
	double a = fabs(v);

	if (isnan(v)) {
		snprintf(buf, n, "-");
		return buf;
	}
	while (a >= 1000.0 && i < 4) {
		a /= 1000.0;
		v /= 1000.0;
		i++;
	}
	if (a >= 100.0 || (i == 0 && a == floor(a)))
		snprintf(buf, n, "%.0f%s", v, suf[i]);
	else if (a >= 10.0)
		snprintf(buf, n, "%.1f%s", v, suf[i]);
	else
		snprintf(buf, n, "%.2f%s", v, suf[i]);
	return buf;
}

/* ---- results --------------------------------------------------------------- */

struct result {
	char scen[16];
	char conf[48];
	char fconf[48];     /* configuration of the floor to compare with */
	unsigned thr;
	char cont[40];
	char metric[24];
	char unit[12];
	double v[MAX_REPS];
	unsigned n;
};

static struct result *res;
static size_t nres, capres;

static struct result *
res_get(const char *scen, const char *conf, const char *fconf, unsigned thr,
        const char *cont, const char *metric, const char *unit)
{
	struct result *r;

	for (size_t i = 0; i < nres; i++) {
		r = &res[i];
		if (r->thr == thr && strcmp(r->scen, scen) == 0 &&
		    strcmp(r->conf, conf) == 0 && strcmp(r->cont, cont) == 0 &&
		    strcmp(r->metric, metric) == 0)
			return r;
	}
	if (nres == capres) {
		size_t nc = capres ? capres * 2 : 256;
		struct result *nr = realloc(res, nc * sizeof(*nr));

		if (nr == NULL) {
			fprintf(stderr, "evs-bench: out of memory\n");
			exit(1);
		}
		res = nr;
		capres = nc;
	}
	r = &res[nres++];
	memset(r, 0, sizeof(*r));
	snprintf(r->scen, sizeof(r->scen), "%s", scen);
	snprintf(r->conf, sizeof(r->conf), "%s", conf);
	snprintf(r->fconf, sizeof(r->fconf), "%s", fconf != NULL ? fconf : conf);
	r->thr = thr;
	snprintf(r->cont, sizeof(r->cont), "%s", cont);
	snprintf(r->metric, sizeof(r->metric), "%s", metric);
	snprintf(r->unit, sizeof(r->unit), "%s", unit);
	return r;
}

static void
res_add(const char *scen, const char *conf, const char *fconf, unsigned thr,
        const char *cont, const char *metric, const char *unit, double v)
{
	struct result *r = res_get(scen, conf, fconf, thr, cont, metric, unit);

	if (r->n < MAX_REPS)
		r->v[r->n++] = v;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	double med, min, max, spread;
};

static struct stats
res_stats(const struct result *r)
{
	double s[MAX_REPS];
	struct stats st = { NAN, NAN, NAN, NAN };

	if (r == NULL || r->n == 0)
		return st;
	memcpy(s, r->v, r->n * sizeof(s[0]));
	qsort(s, r->n, sizeof(s[0]), cmp_double);
	st.min = s[0];
	st.max = s[r->n - 1];
	st.med = r->n % 2 ? s[r->n / 2] : (s[r->n / 2 - 1] + s[r->n / 2]) / 2;
	st.spread = st.med != 0 ? (st.max - st.min) / fabs(st.med) : 0;
	return st;
}

static const struct result *
res_find(const char *scen, const char *conf, int thr, const char *cont,
         const char *metric)
{
	for (size_t i = 0; i < nres; i++) {
		const struct result *r = &res[i];

		if ((thr < 0 || r->thr == (unsigned)thr) &&
		    strcmp(r->scen, scen) == 0 && strcmp(r->conf, conf) == 0 &&
		    strcmp(r->cont, cont) == 0 && strcmp(r->metric, metric) == 0)
			return r;
	}
	return NULL;
}

static double
res_median(const char *scen, const char *conf, int thr, const char *cont,
           const char *metric)
{
	return res_stats(res_find(scen, conf, thr, cont, metric)).med;
}

static void
ratios(const struct result *r, double med, double *x_rw, double *x_fl)
{
	double rw = res_median(r->scen, r->conf, (int)r->thr, "baseline-rwlock",
	    r->metric);
	double fl = res_median(r->scen, r->fconf, -1, "floor", r->metric);

	*x_rw = rw > 0 ? med / rw : NAN;
	*x_fl = fl > 0 ? med / fl : NAN;
}

static void
csv_header(void)
{
	fprintf(csv_fp, "scenario,config,threads,contender,metric,unit,median,min,"
	    "max,spread_pct,spread_flag,x_rwlock,x_floor,reps,values\n");
}

/* Print a scenario's table and append its rows to the CSV. */
static void
report_scenario(const char *scen)
{
	const char *last_conf = "";
	char b[5][32];

	out("\n%-10s %-4s %-32s %-20s %9s %9s %9s %7s %9s %9s\n", "config", "thr",
	    "contender", "metric", "median", "min", "max", "spread", "x rwlock",
	    "x floor");
	for (size_t i = 0; i < nres; i++) {
		const struct result *r = &res[i];
		struct stats st;
		double xrw, xfl;
		bool flag;

		if (strcmp(r->scen, scen) != 0)
			continue;
		st = res_stats(r);
		ratios(r, st.med, &xrw, &xfl);
		flag = r->n > 1 && st.spread > 0.10;
		if (strcmp(last_conf, r->conf) != 0) {
			out("%s\n", r->conf);
			last_conf = r->conf;
		}
		snprintf(b[3], sizeof(b[3]), "%.2f", xrw);
		snprintf(b[4], sizeof(b[4]), "%.2f", xfl);
		out("%-10s %-4u %-32s %-20s %9s %9s %9s %6.1f%%%s %8s %8s\n", "",
		    r->thr, r->cont, r->metric,
		    fmt_si(b[0], sizeof(b[0]), st.med),
		    fmt_si(b[1], sizeof(b[1]), st.min),
		    fmt_si(b[2], sizeof(b[2]), st.max),
		    st.spread * 100, flag ? "!" : " ",
		    isnan(xrw) ? "-" : b[3], isnan(xfl) ? "-" : b[4]);
		if (csv_fp != NULL) {
			fprintf(csv_fp, "%s,\"%s\",%u,\"%s\",\"%s\",%s,%.6g,%.6g,%.6g,%.2f,%d,",
			    r->scen, r->conf, r->thr, r->cont, r->metric, r->unit,
			    st.med, st.min, st.max, st.spread * 100, flag);
			if (isnan(xrw))
				fputs(",", csv_fp);
			else
				fprintf(csv_fp, "%.4g,", xrw);
			if (isnan(xfl))
				fputs(",", csv_fp);
			else
				fprintf(csv_fp, "%.4g,", xfl);
			fprintf(csv_fp, "%u,\"", r->n);
			for (unsigned k = 0; k < r->n; k++)
				fprintf(csv_fp, "%s%.6g", k ? ";" : "", r->v[k]);
			fputs("\"\n", csv_fp);
			fflush(csv_fp);
		}
	}
	out("(median of the repetitions; '!' marks a spread (max-min)/median over "
	    "10%%; x rwlock and x floor are median / that contender's median, "
	    "units as the metric)\n");
}

/* ---- contenders -------------------------------------------------------------- */

struct inst {
	struct evs_store *s;
	struct evs_store *aux[2];
	uint64_t churn_next;
};

enum { C_SINGLE_PRODUCER = 1, C_SINGLE_THREAD = 2 };

struct contender {
	const char *name;
	unsigned flags;
	int (*create)(const struct bench_store_opts *o, struct inst *in);
};

static int
mk_mem(const struct bench_store_opts *o, enum evs_producers p, struct inst *in)
{
	struct evs_memory_opts mo;

	memset(&mo, 0, sizeof(mo));
	mo.max_events_per_session = o->cap;
	mo.max_event_bytes = o->max_bytes;
	mo.producers = p;
	return evs_memory_store_create(&mo, &in->s);
}

static int
mk_multi(const struct bench_store_opts *o, struct inst *in)
{
	return mk_mem(o, EVS_MULTI_PRODUCER, in);
}

static int
mk_single(const struct bench_store_opts *o, struct inst *in)
{
	return mk_mem(o, EVS_SINGLE_PRODUCER, in);
}

static int
mk_rwlock(const struct bench_store_opts *o, struct inst *in)
{
	return bench_rwlock_create(o, &in->s);
}

static int
mk_mutex(const struct bench_store_opts *o, struct inst *in)
{
	return bench_mutex_create(o, &in->s);
}

static int
mk_floor(const struct bench_store_opts *o, struct inst *in)
{
	return bench_floor_create(o, &in->s);
}

static const struct contender contenders[] = {
	{ "memory-multi",    0,                 mk_multi },
	{ "memory-single",   C_SINGLE_PRODUCER, mk_single },
	{ "baseline-rwlock", 0,                 mk_rwlock },
	{ "baseline-mutex",  0,                 mk_mutex },
	{ "floor",           C_SINGLE_THREAD,   mk_floor },
};
#define NCONT (sizeof(contenders) / sizeof(contenders[0]))

static void
inst_destroy(struct inst *in)
{
	evs_store_destroy(in->s);
	evs_store_destroy(in->aux[0]);
	evs_store_destroy(in->aux[1]);
	memset(in, 0, sizeof(*in));
}

static void
inst_create(const struct contender *c, const struct bench_store_opts *o,
            struct inst *in)
{
	int err;

	memset(in, 0, sizeof(*in));
	err = c->create(o, in);
	if (err != 0) {
		fprintf(stderr, "evs-bench: creating %s: %s\n", c->name,
		    evs_strerror(err));
		exit(1);
	}
}

/* ---- workload helpers ------------------------------------------------------- */

static unsigned char payload[MAX_PAYLOAD];
static char *ids;          /* session ids "s0000042", ID_STRIDE bytes each */
static size_t nids;

static const char *
sid(size_t i)
{
	return ids + i * ID_STRIDE;
}

static void
ids_ensure(size_t n)
{
	char *p;

	if (n <= nids)
		return;
	p = realloc(ids, n * ID_STRIDE);
	if (p == NULL) {
		fprintf(stderr, "evs-bench: out of memory for %zu ids\n", n);
		exit(1);
	}
	ids = p;
	for (size_t i = nids; i < n; i++) {
		/* "s" + at least 7 digits + NUL: fits up to 10^14 ids; checked,
		 * because a truncated id would silently alias another session. */
		int len = snprintf(ids + i * ID_STRIDE, ID_STRIDE, "s%07zu", i);

		if (len < 0 || (size_t)len >= ID_STRIDE) {
			fprintf(stderr, "evs-bench: session id %zu does not fit in "
			    "%u bytes\n", i, ID_STRIDE);
			exit(1);
		}
	}
	nids = n;
}

static inline uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545F4914F6CDD1D);
}

static void
pin_to(unsigned cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu % opt.ncpu, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static uint64_t
trial_ns(void)
{
	return (uint64_t)opt.trial_ms * 1000000u;
}

static uint64_t
warm_ns(void)
{
	return trial_ns() / 4 + 1000000u;
}

static unsigned long errors_seen;

static void
prefill(struct inst *in, const char *name, size_t nsess, size_t per,
        size_t plen)
{
	for (size_t k = 0; k < per; k++) {
		for (size_t i = 0; i < nsess; i++) {
			uint64_t id;

			int err = evs_store_append_next(in->s, sid(i), payload,
			    plen, &id);

			if (err != 0) {
				errors_seen++;
				out("note: prefill of %s failed: %s\n", name,
				    evs_strerror(err));
			}
		}
		if (nsess >= 100000)
			progress("prefill %s: %zu/%zu events per session", name,
			    k + 1, per);
	}
}

/* Common part of every worker thread. */
struct wbase {
	pthread_t th;
	pthread_barrier_t *bar;
	unsigned cpu;
	uint64_t dur;
	uint64_t t0, t1, ops, errs;
};

static void
wbase_start(struct wbase *w)
{
	pin_to(w->cpu);
	pthread_barrier_wait(w->bar);
	w->t0 = bench_now_ns();
}

static double
rate_of(struct wbase **w, unsigned n)
{
	uint64_t t0 = UINT64_MAX, t1 = 0, ops = 0;

	for (unsigned i = 0; i < n; i++) {
		if (w[i]->t0 < t0)
			t0 = w[i]->t0;
		if (w[i]->t1 > t1)
			t1 = w[i]->t1;
		ops += w[i]->ops;
		errors_seen += w[i]->errs;
		if (w[i]->errs > 0)
			out("note: %" PRIu64 " failed or empty calls in: %s\n",
			    w[i]->errs, last_progress);
	}
	return t1 > t0 ? (double)ops * 1e9 / (double)(t1 - t0) : 0;
}

/* ---- same behaviour check -------------------------------------------------- */

struct collect {
	uint64_t ids[16];
	unsigned n;
	bool bad_payload;
	int64_t ts_min, ts_max;
};

static int
collect_cb(const struct evs_event *e, void *arg)
{
	struct collect *c = arg;

	if (c->n < 16)
		c->ids[c->n] = e->id;
	c->n++;
	if (e->len != 64 || memcmp(e->data, payload, 64) != 0)
		c->bad_payload = true;
	if (e->timestamp_ns < c->ts_min || e->timestamp_ns > c->ts_max)
		c->bad_payload = true;
	return 0;
}

/*
 * Every contender must behave the same through the interface the harness
 * uses (ids, order, eviction at the same cap, truncation, purge, errors,
 * payload copies, REALTIME timestamps), or their timings do not compare.
 * Returns the number of failed checks.
 */
static unsigned
check_contender(const struct contender *c)
{
	struct bench_store_opts so = { 8, 100 };
	struct inst in;
	struct collect col;
	struct evs_replay_info ri;
	struct evs_log_info li;
	struct timespec ts;
	unsigned fail = 0;
	uint64_t id = 0;
	char big[128];

#define CHECK(cond) do { if (!(cond)) { fail++; out("check %s: failed: %s " \
	"(line %d)\n", c->name, #cond, __LINE__); } } while (0)
	memset(big, 1, sizeof(big));
	inst_create(c, &so, &in);
	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&col, 0, sizeof(col));
	col.ts_min = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	for (unsigned i = 0; i < 12; i++)
		CHECK(evs_store_append(in.s, "a", 10 + i, payload, 64) == 0);
	CHECK(evs_store_append(in.s, "a", 21, payload, 64) == EVS_EORDER);
	CHECK(evs_store_append(in.s, "a", 30, big, sizeof(big)) == EVS_ETOOBIG);
	CHECK(evs_store_append_next(in.s, "a", payload, 64, &id) == 0 && id == 22);
	clock_gettime(CLOCK_REALTIME, &ts);
	col.ts_max = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	CHECK(evs_store_info(in.s, "a", &li) == 0 && li.epoch != 0 &&
	    li.retained == 8 && li.first_id == 15 && li.last_id == 22);
	CHECK(evs_store_replay_after(in.s, "a", 18, collect_cb, &col, &ri) == 0);
	CHECK(col.n == 4 && col.ids[0] == 19 && col.ids[3] == 22 &&
	    !col.bad_payload && ri.delivered == 4 && !ri.truncated);
	col.n = 0;
	CHECK(evs_store_replay_after(in.s, "a", 12, collect_cb, &col, &ri) == 0);
	CHECK(col.n == 8 && col.ids[0] == 15 && ri.truncated);
	col.n = 0;
	CHECK(evs_store_replay_after(in.s, "b", 0, collect_cb, &col, &ri) == 0 &&
	    col.n == 0 && ri.log.epoch == 0);
	CHECK(evs_store_purge_session(in.s, "a") == 0);
	CHECK(evs_store_info(in.s, "a", &li) == 0 && li.epoch == 0);
	CHECK(evs_store_append_next(in.s, "a", payload, 64, &id) == 0 && id == 1);
	CHECK(evs_store_purge_session(in.s, "nope") == 0);
	inst_destroy(&in);
#undef CHECK
	return fail;
}

/* The histogram against exact order statistics of known data. */
static unsigned
check_hist(void)
{
	struct bench_hist *h = malloc(sizeof(*h));
	unsigned fail = 0;
	static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };

	if (h == NULL)
		return 1;
	bench_hist_reset(h);
	for (uint64_t v = 1; v <= 100000; v++)
		bench_hist_record(h, v * 37);   /* 37 .. 3,700,000 */
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		double exact = ceil(qs[i] * 100000) * 37;
		double got = (double)bench_hist_quantile(h, qs[i]);

		if (got < exact || got > exact * (1 + 1.0 / 64)) {
			out("check hist: q%.3f = %.0f, exact %.0f\n", qs[i], got,
			    exact);
			fail++;
		}
	}
	if (bench_hist_quantile(h, 1.0) != 3700000 || h->min != 37 ||
	    bench_hist_index(127) != 127 || bench_hist_index(128) != 128 ||
	    bench_hist_bucket_high(bench_hist_index(UINT64_MAX)) != UINT64_MAX)
		fail++;
	free(h);
	return fail;
}

static unsigned
check_all(void)
{
	unsigned fail = check_hist();

	for (size_t c = 0; c < NCONT; c++)
		fail += check_contender(&contenders[c]);
	out("check: histogram percentiles within 1/64 of exact; %zu contenders "
	    "behave alike (ids, order,\n       cap 8 eviction, truncation, purge, "
	    "EORDER, ETOOBIG, payload copies, REALTIME\n       timestamps): %s\n",
	    NCONT, fail == 0 ? "ok" : "FAILED");
	return fail;
}

/* ---- limits ------------------------------------------------------------------- */

static void
scen_limits(void)
{
	size_t plens[] = { 64, MAX_PAYLOAD };

	out("\n== limits: raw primitives on one thread (ns per operation; %u reps "
	    "interleaved, ~%u ms each)\n", opt.reps, opt.trial_ms / 4 + 1);
	for (unsigned r = 0; r < opt.reps; r++) {
		for (size_t i = 0; i < bench_nprims; i++) {
			const struct bench_prim *p = &bench_prims[(i + r) % bench_nprims];

			for (size_t k = 0; k < (p->uses_payload ? 2u : 1u); k++) {
				size_t plen = plens[k];
				char conf[48];
				double ns, per;
				uint64_t iters = 1000;

				progress("limits: %s rep %u/%u", p->name, r + 1, opt.reps);
				/* calibrate to about trial_ms / 4 */
				ns = p->run(iters, plen);
				if (ns > 0)
					iters = (uint64_t)((double)iters *
					    (double)(trial_ns() / 4) / ns);
				if (iters < 1000)
					iters = 1000;
				if (iters > 200000000u)
					iters = 200000000u;
				ns = p->run(iters, plen);
				per = ns / (double)iters;
				if (p->uses_payload)
					snprintf(conf, sizeof(conf), "p=%zu", plen);
				else
					snprintf(conf, sizeof(conf), "-");
				res_add("limits", conf, NULL, 1, p->name, "cost", "ns", per);
			}
		}
	}
	progress_done();
	report_scenario("limits");
}

/* ---- append throughput ----------------------------------------------------------- */

struct append_w {
	struct wbase b;
	struct evs_store *s;
	size_t nsess;
	unsigned tid, nthr;
	size_t plen;
	uint64_t seed;
};

static void *
append_worker(void *arg)
{
	struct append_w *w = arg;
	size_t per = w->nsess >= w->nthr ? w->nsess / w->nthr : 1;
	uint64_t deadline;

	wbase_start(&w->b);
	deadline = w->b.t0 + w->b.dur;
	for (uint64_t i = 0; i < MAX_OPS; i++) {
		size_t idx = 0;
		uint64_t id;

		if (w->nsess > 1)   /* this thread's share: idx % nthr == tid */
			idx = (size_t)(rng_next(&w->seed) % per) * w->nthr + w->tid;
		if (evs_store_append_next(w->s, sid(idx), payload, w->plen, &id) != 0)
			w->b.errs++;
		w->b.ops++;
		if (i % CLOCK_EVERY == 0 && bench_now_ns() >= deadline)
			break;
	}
	w->b.t1 = bench_now_ns();
	return NULL;
}

static double
append_trial(struct inst *in, size_t nsess, size_t plen, unsigned nthr,
             uint64_t dur)
{
	struct append_w w[8];
	struct wbase *wb[8];
	pthread_barrier_t bar;

	pthread_barrier_init(&bar, NULL, nthr);
	for (unsigned i = 0; i < nthr; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].b.bar = &bar;
		w[i].b.cpu = i;
		w[i].b.dur = dur;
		w[i].s = in->s;
		w[i].nsess = nsess;
		w[i].tid = i;
		w[i].nthr = nthr;
		w[i].plen = plen;
		w[i].seed = 0x9e3779b97f4a7c15ull * (i + 1) ^ bench_now_ns();
		wb[i] = &w[i].b;
		pthread_create(&w[i].b.th, NULL, append_worker, &w[i]);
	}
	for (unsigned i = 0; i < nthr; i++)
		pthread_join(w[i].b.th, NULL);
	pthread_barrier_destroy(&bar);
	return rate_of(wb, nthr);
}

static bool
append_applies(const struct contender *c, size_t nsess, unsigned nthr)
{
	if ((c->flags & C_SINGLE_THREAD) && nthr > 1)
		return false;
	if ((c->flags & C_SINGLE_PRODUCER) && nthr > 1 && nsess < nthr)
		return false;   /* two producers on one session: not allowed */
	return true;
}

static void
scen_append(void)
{
	size_t sess_list[] = { 1, 100000 };
	size_t plens[] = { 64, MAX_PAYLOAD };
	unsigned thr_list[] = { 1, 2, 4 };

	out("\n== append: append_next() throughput (ops/s, all threads together)\n"
	    "   sessions 1 (cap 1000 events) and 100,000 (cap 8); payloads 64 B and "
	    "1 KiB;\n   threads 1, 2 and 4 (4 = oversubscribed: pinned two per core "
	    "on %u cores).\n   With 100,000 sessions thread i appends to sessions "
	    "i, i+T, ... in random order\n   (so the single-producer store's rule "
	    "holds); with 1 session all threads share it\n   (memory-single: n/a). "
	    "Prefill: %s. %u reps x %u ms, interleaved; warm-up first.\n",
	    opt.ncpu, opt.quick ? "1 event per session (quick)" : "every session "
	    "full, so each append evicts", opt.reps, opt.trial_ms);
	for (size_t si = 0; si < 2; si++) {
		for (size_t pi = 0; pi < 2; pi++) {
			size_t nsess = sess_list[si], plen = plens[pi];
			struct bench_store_opts so = { nsess == 1 ? 1000 : 8, 4096 };
			size_t per = opt.quick && nsess > 1 ? 1 : so.cap;
			struct inst in[NCONT];
			char conf[48];

			snprintf(conf, sizeof(conf), "s=%zu p=%zu", nsess, plen);
			for (size_t c = 0; c < NCONT; c++) {
				progress("append %s: create+prefill %s", conf,
				    contenders[c].name);
				inst_create(&contenders[c], &so, &in[c]);
				prefill(&in[c], contenders[c].name, nsess, per, plen);
			}
			for (size_t ti = 0; ti < 3; ti++) {
				unsigned nthr = thr_list[ti];
				size_t idx[NCONT], n = 0;

				for (size_t c = 0; c < NCONT; c++)
					if (append_applies(&contenders[c], nsess, nthr))
						idx[n++] = c;
				for (size_t j = 0; j < n; j++) {
					progress("append %s t=%u: warm-up %s", conf, nthr,
					    contenders[idx[j]].name);
					(void)append_trial(&in[idx[j]], nsess, plen, nthr,
					    warm_ns());
				}
				for (unsigned r = 0; r < opt.reps; r++) {
					for (size_t j = 0; j < n; j++) {
						size_t c = idx[(j + r) % n];
						double v;

						progress("append %s t=%u: %s rep %u/%u", conf,
						    nthr, contenders[c].name, r + 1, opt.reps);
						v = append_trial(&in[c], nsess, plen, nthr,
						    trial_ns());
						res_add("append", conf, NULL, nthr,
						    contenders[c].name, "throughput", "ops/s", v);
					}
				}
			}
			for (size_t c = 0; c < NCONT; c++)
				inst_destroy(&in[c]);
		}
	}
	progress_done();
	report_scenario("append");
}

/* ---- replay while appending --------------------------------------------------------- */

#define REPLAY_N 100u

struct rcb {
	unsigned n, want;
	uint64_t sum;
};

static int
replay_cb(const struct evs_event *e, void *arg)
{
	struct rcb *r = arg;

	r->sum += e->len + (e->len > 0 ? ((const unsigned char *)e->data)[0] : 0);
	return ++r->n >= r->want ? 1 : 0;
}

struct replay_w {
	struct wbase b;
	struct evs_store *s;
	size_t nsess;
	atomic_uint_fast64_t *hint;   /* newest id per session */
	uint64_t fixed_after;         /* churn: replay after this id */
	bool appender;
	size_t plen;
	uint64_t seed;
	struct bench_hist *h;
	uint64_t trunc;               /* empty replays with truncated set */
};

static void *
replay_worker(void *arg)
{
	struct replay_w *w = arg;
	uint64_t deadline, sum = 0;
	size_t rr = 0;

	wbase_start(&w->b);
	deadline = w->b.t0 + w->b.dur;
	for (uint64_t i = 0; i < MAX_OPS; i++) {
		if (w->appender) {
			uint64_t id;

			rr = rr + 1 == w->nsess ? 0 : rr + 1;
			if (evs_store_append_next(w->s, sid(rr), payload, w->plen,
			    &id) != 0)
				w->b.errs++;
			else
				/* Relaxed: a hint for the reader's after_id; the
				 * event itself is published by the store. */
				atomic_store_explicit(&w->hint[rr], id,
				    memory_order_relaxed);
		} else {
			size_t k = w->nsess > 1 ?
			    (size_t)(rng_next(&w->seed) % w->nsess) : 0;
			struct rcb cb = { 0, REPLAY_N, 0 };
			struct evs_replay_info ri;
			uint64_t after = w->fixed_after, t0, t1;
			int rc;

			if (w->hint != NULL) {
				/* Relaxed: pairs with nothing; see the store. */
				uint64_t newest = atomic_load_explicit(&w->hint[k],
				    memory_order_relaxed);

				after = newest > REPLAY_N ? newest - REPLAY_N : 0;
			}
			t0 = bench_now_ns();
			rc = evs_store_replay_after(w->s, sid(k), after, replay_cb,
			    &cb, &ri);
			t1 = bench_now_ns();
			bench_hist_record(w->h, t1 - t0);
			/* Nothing delivered is right only when every event the
			 * replay could deliver was evicted first (the reader was
			 * preempted while the appender lapped the ring): then
			 * `truncated` says so. */
			if (rc < 0 || (cb.n == 0 && !ri.truncated))
				w->b.errs++;
			else if (cb.n == 0)
				w->trunc++;
			sum += cb.sum;
		}
		w->b.ops++;
		if (i % CLOCK_EVERY == 0 && bench_now_ns() >= deadline)
			break;
	}
	w->b.t1 = bench_now_ns();
	bench_sink(sum);
	return NULL;
}

static void
record_lat(const char *scen, const char *conf, const char *fconf,
           unsigned thr, const char *cont, const char *pre,
           const struct bench_hist *h)
{
	static const struct {
		const char *name;
		double q;
	} qs[] = { { "p50", 0.5 }, { "p99", 0.99 }, { "p99.9", 0.999 },
		   { "max", 1.0 } };
	char m[24];

	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		snprintf(m, sizeof(m), "%s%s", pre, qs[i].name);
		res_add(scen, conf, fconf, thr, cont, m, "ns",
		    (double)bench_hist_quantile(h, qs[i].q));
	}
}

static void
replay_trial(struct inst *in, const struct contender *c, size_t nsess,
             atomic_uint_fast64_t *hint, uint64_t dur, const char *conf,
             bool record)
{
	struct replay_w w[2];
	struct wbase *wb[2];
	pthread_barrier_t bar;
	struct bench_hist *h = malloc(sizeof(*h));
	unsigned n = (c->flags & C_SINGLE_THREAD) ? 1 : 2;
	double app, rep;

	if (h == NULL)
		exit(1);
	bench_hist_reset(h);
	pthread_barrier_init(&bar, NULL, n);
	for (unsigned i = 0; i < n; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].b.bar = &bar;
		w[i].b.dur = dur;
		w[i].s = in->s;
		w[i].nsess = nsess;
		w[i].hint = hint;
		w[i].plen = 64;
		w[i].h = h;
		w[i].seed = 0x2545F4914F6CDD1Dull * (i + 3) ^ bench_now_ns();
		/* reader is w[0] (cpu 1 when there is an appender on cpu 0) */
		w[i].appender = i == 1;
		w[i].b.cpu = n == 1 ? 0 : (i == 0 ? 1 : 0);
		wb[i] = &w[i].b;
	}
	for (unsigned i = 0; i < n; i++)
		pthread_create(&w[i].b.th, NULL, replay_worker, &w[i]);
	for (unsigned i = 0; i < n; i++)
		pthread_join(w[i].b.th, NULL);
	pthread_barrier_destroy(&bar);
	rep = rate_of(&wb[0], 1);
	app = n > 1 ? rate_of(&wb[1], 1) : 0;
	if (n > 1 && record)
		res_add("replay", conf, NULL, n, c->name, "empty+truncated",
		    "calls", (double)w[0].trunc);
	if (record) {
		res_add("replay", conf, NULL, n, c->name, "replays", "ops/s", rep);
		if (n > 1)
			res_add("replay", conf, NULL, n, c->name, "appends", "ops/s",
			    app);
		res_add("replay", conf, NULL, n, c->name, "total ops", "ops/s",
		    rep + app);
		record_lat("replay", conf, NULL, n, c->name, "replay ", h);
	}
	free(h);
}

static void
scen_replay(void)
{
	size_t sess_list[] = { 1, 1000 };
	size_t nconf = opt.quick ? 1 : 2;

	out("\n== replay: one thread replays %u events after a recent id (newest "
	    "- %u) of a random session\n   while one thread appends (64 B) "
	    "round-robin to the same sessions; cap 1000, sessions prefilled full.\n"
	    "   Reader on cpu 1, appender on cpu 0.  floor: the reader alone "
	    "(no appender, no locks).\n   Latency: each replay_after() call timed "
	    "with CLOCK_MONOTONIC into a log-linear histogram.\n   %u reps x %u "
	    "ms, interleaved; warm-up first.\n", REPLAY_N, REPLAY_N, opt.reps,
	    opt.trial_ms);
	for (size_t si = 0; si < nconf; si++) {
		size_t nsess = sess_list[si];
		struct bench_store_opts so = { 1000, 4096 };
		struct inst in[NCONT];
		atomic_uint_fast64_t *hint[NCONT];
		char conf[48];

		snprintf(conf, sizeof(conf), "s=%zu p=64", nsess);
		for (size_t c = 0; c < NCONT; c++) {
			progress("replay %s: create+prefill %s", conf,
			    contenders[c].name);
			inst_create(&contenders[c], &so, &in[c]);
			prefill(&in[c], contenders[c].name, nsess, so.cap, 64);
			hint[c] = calloc(nsess, sizeof(*hint[c]));
			if (hint[c] == NULL)
				exit(1);
			for (size_t i = 0; i < nsess; i++)
				/* Relaxed: set before the threads are created. */
				atomic_store_explicit(&hint[c][i], so.cap,
				    memory_order_relaxed);
		}
		for (size_t c = 0; c < NCONT; c++) {
			progress("replay %s: warm-up %s", conf, contenders[c].name);
			replay_trial(&in[c], &contenders[c], nsess, hint[c],
			    warm_ns(), conf, false);
		}
		for (unsigned r = 0; r < opt.reps; r++) {
			for (size_t j = 0; j < NCONT; j++) {
				size_t c = (j + r) % NCONT;

				progress("replay %s: %s rep %u/%u", conf,
				    contenders[c].name, r + 1, opt.reps);
				replay_trial(&in[c], &contenders[c], nsess, hint[c],
				    trial_ns(), conf, true);
			}
		}
		for (size_t c = 0; c < NCONT; c++) {
			inst_destroy(&in[c]);
			free(hint[c]);
		}
	}
	progress_done();
	report_scenario("replay");
}

/* ---- reads during churn ------------------------------------------------------------ */

#define CHURN_SESS   1000u
#define CHURN_CAP    200u
#define CHURN_LIVE   64u

struct churn_w {
	struct wbase b;
	struct inst *in;
};

static void *
churn_worker(void *arg)
{
	struct churn_w *w = arg;
	uint64_t deadline, k = w->in->churn_next;
	char name[32];

	wbase_start(&w->b);
	deadline = w->b.t0 + w->b.dur;
	for (uint64_t i = 0; i < MAX_OPS; i++, k++) {
		uint64_t id;

		snprintf(name, sizeof(name), "churn%" PRIu64, k);
		if (evs_store_append_next(w->in->s, name, payload, 64, &id) != 0)
			w->b.errs++;
		if (k >= w->in->churn_next + CHURN_LIVE) {
			snprintf(name, sizeof(name), "churn%" PRIu64, k - CHURN_LIVE);
			if (evs_store_purge_session(w->in->s, name) != 0)
				w->b.errs++;
		}
		w->b.ops++;
		if (i % CLOCK_EVERY == 0 && bench_now_ns() >= deadline)
			break;
	}
	w->b.t1 = bench_now_ns();
	/* untimed: remove what is left, so every trial starts alike */
	for (uint64_t j = k > CHURN_LIVE ? k - CHURN_LIVE : 0; j <= k; j++) {
		snprintf(name, sizeof(name), "churn%" PRIu64, j);
		(void)evs_store_purge_session(w->in->s, name);
	}
	w->in->churn_next = k + 1;
	return NULL;
}

static double last_p99;   /* the last churn_trial()'s reader p99 */

/* One reader (cpu 0), with or without the churn thread (cpu 1).
 * Returns the reader's p99.9. */
static double
churn_trial(struct inst *in, const struct contender *c, bool churn,
            uint64_t dur, bool record)
{
	struct replay_w rw;
	struct churn_w cw;
	struct wbase *wb;
	pthread_barrier_t bar;
	struct bench_hist *h = malloc(sizeof(*h));
	const char *conf = churn ? "churn" : "quiet";
	double p999;

	if (h == NULL)
		exit(1);
	bench_hist_reset(h);
	pthread_barrier_init(&bar, NULL, churn ? 2 : 1);
	memset(&rw, 0, sizeof(rw));
	rw.b.bar = &bar;
	rw.b.dur = dur;
	rw.b.cpu = 0;
	rw.s = in->s;
	rw.nsess = CHURN_SESS;
	rw.fixed_after = CHURN_CAP - REPLAY_N;
	rw.h = h;
	rw.seed = 0x51afd6ed4ecd5f1dull ^ bench_now_ns();
	memset(&cw, 0, sizeof(cw));
	cw.b.bar = &bar;
	cw.b.dur = dur;
	cw.b.cpu = 1;
	cw.in = in;
	pthread_create(&rw.b.th, NULL, replay_worker, &rw);
	if (churn)
		pthread_create(&cw.b.th, NULL, churn_worker, &cw);
	pthread_join(rw.b.th, NULL);
	if (churn)
		pthread_join(cw.b.th, NULL);
	pthread_barrier_destroy(&bar);
	p999 = (double)bench_hist_quantile(h, 0.999);
	last_p99 = (double)bench_hist_quantile(h, 0.99);
	if (record) {
		wb = &rw.b;
		res_add("churn", conf, "quiet", churn ? 2 : 1, c->name, "replays",
		    "ops/s", rate_of(&wb, 1));
		record_lat("churn", conf, "quiet", churn ? 2 : 1, c->name,
		    "reader ", h);
		if (churn) {
			wb = &cw.b;
			res_add("churn", conf, "quiet", 2, c->name, "create+purge",
			    "ops/s", rate_of(&wb, 1));
		}
	}
	free(h);
	return p999;
}

static void
scen_churn(void)
{
	struct bench_store_opts so = { CHURN_CAP, 4096 };
	struct inst in[NCONT];

	out("\n== churn: one reader (cpu 0) replays %u events (after id %u) of a "
	    "random one of %u sessions\n   (cap %u, full, 64 B); 'churn': "
	    "another thread (cpu 1) creates a session (one append) and purges\n"
	    "   the one created %u before, as fast as it can; 'quiet': the reader "
	    "alone.\n   Quiet and churn runs alternate per contender; %u reps x "
	    "%u ms.  'p99.9 churn/quiet' is per rep.\n", REPLAY_N,
	    CHURN_CAP - REPLAY_N, CHURN_SESS, CHURN_CAP, CHURN_LIVE, opt.reps,
	    opt.trial_ms);
	for (size_t c = 0; c < NCONT; c++) {
		progress("churn: create+prefill %s", contenders[c].name);
		inst_create(&contenders[c], &so, &in[c]);
		prefill(&in[c], contenders[c].name, CHURN_SESS, CHURN_CAP, 64);
		(void)churn_trial(&in[c], &contenders[c], false, warm_ns(), false);
		if (!(contenders[c].flags & C_SINGLE_THREAD))
			(void)churn_trial(&in[c], &contenders[c], true, warm_ns(),
			    false);
	}
	for (unsigned r = 0; r < opt.reps; r++) {
		for (size_t j = 0; j < NCONT; j++) {
			size_t c = (j + r) % NCONT;
			double q, ch, q99;

			progress("churn: %s rep %u/%u", contenders[c].name, r + 1,
			    opt.reps);
			q = churn_trial(&in[c], &contenders[c], false, trial_ns(), true);
			q99 = last_p99;
			if (contenders[c].flags & C_SINGLE_THREAD)
				continue;
			ch = churn_trial(&in[c], &contenders[c], true, trial_ns(), true);
			res_add("churn", "churn", "quiet", 2, contenders[c].name,
			    "p99.9 churn/quiet", "x", q > 0 ? ch / q : NAN);
			res_add("churn", "churn", "quiet", 2, contenders[c].name,
			    "p99 churn/quiet", "x", q99 > 0 ? last_p99 / q99 : NAN);
		}
	}
	for (size_t c = 0; c < NCONT; c++)
		inst_destroy(&in[c]);
	progress_done();
	report_scenario("churn");
}

/* ---- scale --------------------------------------------------------------------- */

static size_t
heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static size_t
rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, rss = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (size_t)sysconf(_SC_PAGESIZE);
}

struct scale_w {
	struct wbase b;
	struct evs_store *s;
	size_t nsess;
	bool replay;
	uint64_t seed;
};

static void *
scale_worker(void *arg)
{
	struct scale_w *w = arg;
	uint64_t deadline, sum = 0;

	wbase_start(&w->b);
	deadline = w->b.t0 + w->b.dur;
	for (uint64_t i = 0; i < MAX_OPS; i++) {
		size_t k = (size_t)(rng_next(&w->seed) % w->nsess);
		int rc;

		if (w->replay) {
			struct rcb cb = { 0, REPLAY_N, 0 };

			rc = evs_store_replay_after(w->s, sid(k), 0, replay_cb, &cb,
			    NULL);
			if (cb.n == 0)
				rc = -1;
			sum += cb.sum;
		} else {
			uint64_t id;

			rc = evs_store_append_next(w->s, sid(k), payload, 64, &id);
		}
		if (rc < 0)
			w->b.errs++;
		w->b.ops++;
		if (i % CLOCK_EVERY == 0 && bench_now_ns() >= deadline)
			break;
	}
	w->b.t1 = bench_now_ns();
	bench_sink(sum);
	return NULL;
}

static double
scale_trial(struct inst *in, size_t nsess, bool replay, uint64_t dur)
{
	struct scale_w w;
	struct wbase *wb = &w.b;
	pthread_barrier_t bar;
	double rate;

	pthread_barrier_init(&bar, NULL, 1);
	memset(&w, 0, sizeof(w));
	w.b.bar = &bar;
	w.b.dur = dur;
	w.b.cpu = 0;
	w.s = in->s;
	w.nsess = nsess;
	w.replay = replay;
	w.seed = 0x7f4a7c159e3779b9ull ^ bench_now_ns();
	pthread_create(&w.b.th, NULL, scale_worker, &w);
	pthread_join(w.b.th, NULL);
	pthread_barrier_destroy(&bar);
	rate = rate_of(&wb, 1);
	return rate > 0 ? 1e9 / rate : NAN;
}

#define SCALE_CAP 4u

static void
scen_scale(void)
{
	size_t sizes[] = { 1000, 100000, 1000000 };
	size_t nsizes = opt.quick ? 2 : 3;

	out("\n== scale: one thread (cpu 0), random sessions out of N; cap %u "
	    "events of 64 B, every session full\n   (so each append evicts); "
	    "replay delivers the %u held events.  ns per call.\n   bytes/session: "
	    "heap growth (mallinfo2) while prefilling, / N (session + %u events "
	    "+ table).\n   %u reps x %u ms, interleaved; warm-up first.\n",
	    SCALE_CAP, SCALE_CAP, SCALE_CAP, opt.reps, opt.trial_ms);
	for (size_t si = 0; si < nsizes; si++) {
		size_t n = sizes[si];
		struct bench_store_opts so = { SCALE_CAP, 4096 };
		struct inst in[NCONT];
		char conf[48];

		snprintf(conf, sizeof(conf), "N=%zu", n);
		ids_ensure(n);
		for (size_t c = 0; c < NCONT; c++) {
			size_t m0, m1;

			progress("scale %s: create+prefill %s", conf,
			    contenders[c].name);
			bench_urcu_bp_barrier();
			m0 = heap_bytes();
			inst_create(&contenders[c], &so, &in[c]);
			prefill(&in[c], contenders[c].name, n, SCALE_CAP, 64);
			bench_urcu_bp_barrier();
			m1 = heap_bytes();
			res_add("scale", conf, NULL, 1, contenders[c].name,
			    "bytes/session", "B", (double)(m1 - m0) / (double)n);
			(void)scale_trial(&in[c], n, false, warm_ns());
			(void)scale_trial(&in[c], n, true, warm_ns());
		}
		for (unsigned r = 0; r < opt.reps; r++) {
			for (size_t j = 0; j < NCONT; j++) {
				size_t c = (j + r) % NCONT;

				progress("scale %s: %s rep %u/%u", conf,
				    contenders[c].name, r + 1, opt.reps);
				res_add("scale", conf, NULL, 1, contenders[c].name,
				    "ns/append", "ns", scale_trial(&in[c], n, false,
				    trial_ns()));
				res_add("scale", conf, NULL, 1, contenders[c].name,
				    "ns/replay", "ns", scale_trial(&in[c], n, true,
				    trial_ns()));
			}
		}
		for (size_t c = 0; c < NCONT; c++) {
			progress("scale %s: destroy %s", conf, contenders[c].name);
			inst_destroy(&in[c]);
		}
	}
	progress_done();
	report_scenario("scale");
}

/* ---- memory ------------------------------------------------------------------------ */

#define MEM_CAP 32u
#define MEM_PAYLOAD 64u

struct fill_w {
	struct evs_store *s;
	size_t nsess, per;
	unsigned long errs;
};

static void *
fill_worker(void *arg)
{
	struct fill_w *w = arg;

	for (size_t k = 0; k < w->per; k++)
		for (size_t i = 0; i < w->nsess; i++) {
			uint64_t id;

			if (evs_store_append_next(w->s, sid(i), payload, MEM_PAYLOAD,
			    &id) != 0)
				w->errs++;
		}
	return NULL;
}

/* Append `per` events to each session on a thread that then exits (so the
 * memory store's per-thread retire batch is released), then wait for the
 * deferred frees. */
static void
fill_phase(struct evs_store *s, size_t nsess, size_t per)
{
	struct fill_w w = { s, nsess, per, 0 };
	pthread_t th;

	pthread_create(&th, NULL, fill_worker, &w);
	pthread_join(th, NULL);
	errors_seen += w.errs;
	bench_urcu_bp_barrier();
}

static void
scen_memory(void)
{
	size_t n = opt.quick ? 10000 : 100000;
	struct bench_store_opts so = { MEM_CAP, 4096 };
	char conf[48];

	snprintf(conf, sizeof(conf), "N=%zu cap=%u p=%u", n, MEM_CAP, MEM_PAYLOAD);
	ids_ensure(n);
	out("\n== memory: %zu sessions, payload %u B, cap %u.  Heap in use "
	    "(mallinfo2: uordblks + hblkhd) after\n   (1) one event per session, "
	    "(2) full (%u events), (3) %u more per session (all evicted once),\n"
	    "   each phase on a thread that exits, then an RCU barrier (deferred "
	    "frees done).\n   per event = (2)-(1) / (N x %u); per session = (1)/N "
	    "- per event; steady = (3)/(N x %u).\n   'above payload' subtracts the "
	    "%u payload bytes.  One measurement (deterministic).\n", n,
	    MEM_PAYLOAD, MEM_CAP, MEM_CAP, MEM_CAP, MEM_CAP - 1, MEM_CAP,
	    MEM_PAYLOAD);
	for (size_t c = 0; c < NCONT; c++) {
		struct inst in;
		size_t m0, m1, m2, m3, r0, r3;
		double ev, ss;

		progress("memory: %s", contenders[c].name);
		bench_urcu_bp_barrier();
		m0 = heap_bytes();
		r0 = rss_bytes();
		inst_create(&contenders[c], &so, &in);
		fill_phase(in.s, n, 1);
		m1 = heap_bytes();
		fill_phase(in.s, n, MEM_CAP - 1);
		m2 = heap_bytes();
		fill_phase(in.s, n, MEM_CAP);
		m3 = heap_bytes();
		r3 = rss_bytes();
		ev = (double)(m2 - m1) / ((double)n * (MEM_CAP - 1));
		ss = (double)(m1 - m0) / (double)n - ev;
		res_add("memory", conf, NULL, 1, contenders[c].name,
		    "bytes/session", "B", ss);
		res_add("memory", conf, NULL, 1, contenders[c].name,
		    "bytes/event", "B", ev);
		res_add("memory", conf, NULL, 1, contenders[c].name,
		    "event above payload", "B", ev - MEM_PAYLOAD);
		res_add("memory", conf, NULL, 1, contenders[c].name,
		    "steady B/event", "B",
		    (double)(m3 - m0) / ((double)n * MEM_CAP));
		res_add("memory", conf, NULL, 1, contenders[c].name,
		    "steady above payload", "B",
		    (double)(m3 - m0) / ((double)n * MEM_CAP) - MEM_PAYLOAD);
		res_add("memory", conf, NULL, 1, contenders[c].name,
		    "RSS growth", "B", r3 > r0 ? (double)(r3 - r0) : 0);
		inst_destroy(&in);
	}
	progress_done();
	report_scenario("memory");
}

/* ---- caching ------------------------------------------------------------------------- */

#ifdef EVS_BENCH_HAVE_CACHING
#define CACHE_SESS 1000u
#define CACHE_FILL 200u

struct cache_w {
	struct wbase b;
	struct inst *in;
	int mode;   /* 0: plain replay on in->s, 1: hit, 2: miss */
	uint64_t seed;
};

static void *
cache_worker(void *arg)
{
	struct cache_w *w = arg;
	uint64_t deadline, sum = 0;

	wbase_start(&w->b);
	deadline = w->b.t0 + w->b.dur;
	for (uint64_t i = 0; i < MAX_OPS; i++) {
		size_t k = (size_t)(rng_next(&w->seed) % CACHE_SESS);
		struct rcb cb = { 0, REPLAY_N, 0 };
		int rc;

		if (w->mode == 2)
			(void)evs_store_purge_session(w->in->aux[0], sid(k));
		rc = evs_store_replay_after(w->in->s, sid(k),
		    CACHE_FILL - REPLAY_N, replay_cb, &cb, NULL);
		if (rc < 0 || cb.n == 0)
			w->b.errs++;
		sum += cb.sum;
		w->b.ops++;
		if (i % CLOCK_EVERY == 0 && bench_now_ns() >= deadline)
			break;
	}
	w->b.t1 = bench_now_ns();
	bench_sink(sum);
	return NULL;
}

static double
cache_trial(struct inst *in, int mode, uint64_t dur)
{
	struct cache_w w;
	struct wbase *wb = &w.b;
	pthread_barrier_t bar;
	double rate;

	pthread_barrier_init(&bar, NULL, 1);
	memset(&w, 0, sizeof(w));
	w.b.bar = &bar;
	w.b.dur = dur;
	w.in = in;
	w.mode = mode;
	w.seed = 0x94d049bb133111ebull ^ bench_now_ns();
	pthread_create(&w.b.th, NULL, cache_worker, &w);
	pthread_join(w.b.th, NULL);
	pthread_barrier_destroy(&bar);
	rate = rate_of(&wb, 1);
	return rate > 0 ? 1e9 / rate : NAN;
}

static void
scen_caching(void)
{
	struct bench_store_opts so = { 1000, 4096 }, cso = so;
	struct inst mem, cache;
	struct evs_caching_stats st0, st1;
	const char *names[3] = { "memory-multi", "caching hit", "caching miss" };
	int err;

	out("\n== caching: the caching composer over two memory stores (cache, "
	    "backend), one thread.\n   %u sessions x %u events of 64 B appended "
	    "through the composer; replay %u events of a\n   random session. hit: "
	    "replay through the composer; miss: purge the session from the\n   "
	    "cache store first (the purge is included), then replay.  "
	    "memory-multi: the same\n   replay on a plain memory store.  ns per "
	    "replay; %u reps x %u ms.\n", CACHE_SESS, CACHE_FILL, REPLAY_N,
	    opt.reps, opt.trial_ms);
	inst_create(&contenders[0], &so, &mem);
	memset(&cache, 0, sizeof(cache));
#ifdef EVS_CACHING_OVERHEAD
	cso.max_bytes += EVS_CACHING_OVERHEAD;   /* the cache holds a header too */
#endif
	if ((err = mk_multi(&cso, &cache)) != 0) {
		out("caching: cannot create the cache store: %s\n", evs_strerror(err));
		inst_destroy(&mem);
		return;
	}
	cache.aux[0] = cache.s;
	cache.s = NULL;
	if ((err = mk_multi(&so, &cache)) != 0 ||
	    (cache.aux[1] = cache.s, cache.s = NULL,
	     err = evs_caching_store_create(cache.aux[0], cache.aux[1],
	         &cache.s)) != 0) {
		out("caching: cannot create the composer: %s\n", evs_strerror(err));
		inst_destroy(&mem);
		inst_destroy(&cache);
		return;
	}
	progress("caching: prefill");
	prefill(&mem, "memory-multi", CACHE_SESS, CACHE_FILL, 64);
	prefill(&cache, "caching", CACHE_SESS, CACHE_FILL, 64);
	(void)cache_trial(&mem, 0, warm_ns());
	(void)cache_trial(&cache, 1, warm_ns());
	(void)cache_trial(&cache, 2, warm_ns());
	(void)evs_caching_store_stats(cache.s, &st0);
	for (unsigned r = 0; r < opt.reps; r++) {
		for (int j = 0; j < 3; j++) {
			int mode = (j + (int)r) % 3;

			progress("caching: %s rep %u/%u", names[mode], r + 1, opt.reps);
			res_add("caching", "s=1000 p=64", NULL, 1, names[mode],
			    "ns/replay", "ns",
			    cache_trial(mode == 0 ? &mem : &cache, mode, trial_ns()));
		}
	}
	(void)evs_caching_store_stats(cache.s, &st1);
	progress_done();
	out("caching stats during the timed runs: hits %llu, misses %llu, warmups "
	    "%llu, cache errors %llu\n",
	    (unsigned long long)(st1.hits - st0.hits),
	    (unsigned long long)(st1.misses - st0.misses),
	    (unsigned long long)(st1.warmups - st0.warmups),
	    (unsigned long long)(st1.cache_errors - st0.cache_errors));
	inst_destroy(&mem);
	inst_destroy(&cache);
	report_scenario("caching");
}
#else
static void
scen_caching(void)
{
	out("\n== caching: SKIPPED: the caching composer (src/caching.c) is not "
	    "part of this build of libevstore.\n");
}
#endif

/* ---- SSE load ---------------------------------------------------------------------- */

static void
scen_sse(void)
{
#ifdef EVS_BENCH_SSE_LOAD
	const char *tool = EVS_BENCH_SSE_LOAD;
	char cmd[2048], line[1024];
	FILE *p;
	int st;

	if (access(tool, X_OK) != 0) {
		out("\n== sse: SKIPPED: evs-sse-load was configured but is not built "
		    "(build the evs-sse-load target).\n");
		return;
	}
	out("\n== sse: evs-sse-load%s: SSE streams from evs-sse-server on "
	    "loopback\n   (the tool starts the server; its own output follows; "
	    "limit 300 s)\n", opt.quick ? " --short" : " (its defaults)");
	snprintf(cmd, sizeof(cmd), "timeout 300 '%s'%s 2>&1", tool,
	    opt.quick ? " --short" : "");
	progress("sse: running evs-sse-load");
	fflush(stdout);
	p = popen(cmd, "r");
	if (p == NULL) {
		out("sse: cannot run evs-sse-load: %s\n", strerror(errno));
		return;
	}
	for (int i = 0; i < 10000 && fgets(line, sizeof(line), p) != NULL; i++)
		out("  %s", line);
	st = pclose(p);
	progress_done();
	out("sse: evs-sse-load exit status %d\n", WIFEXITED(st) ? WEXITSTATUS(st)
	    : -1);
#else
	out("\n== sse: SKIPPED: no SSE load tool in this tree (neither "
	    "bench/sse_load.c nor a target evs-sse-load).\n");
#endif
}

/* ---- targets -------------------------------------------------------------------------- */

static void
target_line(const char *what, double v, double lim, bool at_least,
            const char *detail)
{
	const char *verdict = isnan(v) ? "NOT MEASURED" :
	    (at_least ? v >= lim : v <= lim) ? "MET" : "NOT MET";

	out("  %-12s %-58s %s\n", verdict, what, detail);
}

static void
report_targets(void)
{
	char d[256];
	double a, b, v;

	out("\n== targets (issue 4), medians from this run\n");
	a = res_median("replay", "s=1 p=64", 2, "memory-multi", "total ops");
	b = res_median("replay", "s=1 p=64", 2, "baseline-rwlock", "total ops");
	v = a / b;
	snprintf(d, sizeof(d), "memory-multi %.3g ops/s / rwlock %.3g = %.1fx; "
	    "memory-single %.1fx", a, b, v,
	    res_median("replay", "s=1 p=64", 2, "memory-single", "total ops") / b);
	target_line("1 appender + 1 replayer on one session: >= 50x rwlock", v,
	    50, true, d);
	a = res_median("append", "s=1 p=64", 1, "memory-multi", "throughput");
	b = res_median("append", "s=1 p=64", 1, "floor", "throughput");
	v = a / b;
	snprintf(d, sizeof(d), "memory-multi %.3g / floor %.3g ops/s = %.2fx; "
	    "single %.2fx; 100K sessions: multi %.2fx", a, b, v,
	    res_median("append", "s=1 p=64", 1, "memory-single", "throughput") / b,
	    res_median("append", "s=100000 p=64", 1, "memory-multi", "throughput") /
	    res_median("append", "s=100000 p=64", 1, "floor", "throughput"));
	target_line("single-thread append >= 0.5x floor (1 session, 64 B)", v, 0.5,
	    true, d);
	v = res_median("churn", "churn", 2, "memory-multi", "p99.9 churn/quiet");
	snprintf(d, sizeof(d), "memory-multi %.2fx (p99.9 %.3g vs %.3g ns); "
	    "rwlock %.2fx (%.3g vs %.3g ns)", v,
	    res_median("churn", "churn", 2, "memory-multi", "reader p99.9"),
	    res_median("churn", "quiet", 1, "memory-multi", "reader p99.9"),
	    res_median("churn", "churn", 2, "baseline-rwlock", "p99.9 churn/quiet"),
	    res_median("churn", "churn", 2, "baseline-rwlock", "reader p99.9"),
	    res_median("churn", "quiet", 1, "baseline-rwlock", "reader p99.9"));
	target_line("reader p99.9 during churn <= 2x without churn", v, 2, false,
	    d);
	a = res_median("scale", "N=1000000", 1, "memory-multi", "ns/append");
	b = res_median("scale", "N=1000", 1, "memory-multi", "ns/append");
	v = a / b;
	snprintf(d, sizeof(d), "memory-multi %.0f ns at 1M / %.0f ns at 1K = "
	    "%.2fx (rwlock %.2fx, floor %.2fx)", a, b, v,
	    res_median("scale", "N=1000000", 1, "baseline-rwlock", "ns/append") /
	    res_median("scale", "N=1000", 1, "baseline-rwlock", "ns/append"),
	    res_median("scale", "N=1000000", 1, "floor", "ns/append") /
	    res_median("scale", "N=1000", 1, "floor", "ns/append"));
	target_line("append cost at 1M sessions <= 2x at 1K", v, 2, false, d);
	{
		char conf[48];

		snprintf(conf, sizeof(conf), "N=%zu cap=%u p=%u",
		    opt.quick ? (size_t)10000 : (size_t)100000, MEM_CAP, MEM_PAYLOAD);
		v = res_median("memory", conf, 1, "memory-multi",
		    "event above payload");
		snprintf(d, sizeof(d), "memory-multi %.1f B per event above the "
		    "payload (steady, session share included: %.1f B)", v,
		    res_median("memory", conf, 1, "memory-multi",
		    "steady above payload"));
		target_line("memory per retained event <= payload + 48 B", v, 48,
		    false, d);
	}
}

/* ---- plots -------------------------------------------------------------------------------- */

static FILE *
open_in_run(const char *name)
{
	char path[1200];

	snprintf(path, sizeof(path), "%s/%s", rundir, name);
	return fopen(path, "w");
}

/* A table: rows are `keys` (x values), columns the contenders. */
static void
dat_by_contender(const char *file, const char *scen, const char **confs,
                 const int *thrs, const char **xs, size_t nrows,
                 const char *metric, const char **conts, size_t ncont)
{
	FILE *f = open_in_run(file);

	if (f == NULL)
		return;
	fprintf(f, "x");
	for (size_t c = 0; c < ncont; c++)
		fprintf(f, "\t%s", conts[c]);
	fputc('\n', f);
	for (size_t r = 0; r < nrows; r++) {
		fprintf(f, "%s", xs[r]);
		for (size_t c = 0; c < ncont; c++) {
			double v = res_median(scen, confs[r], thrs[r], conts[c], metric);

			if (isnan(v))
				fprintf(f, "\tNaN");
			else
				fprintf(f, "\t%.6g", v);
		}
		fputc('\n', f);
	}
	fclose(f);
}

static void
write_plots(void)
{
	static const char *all[] = { "memory-multi", "memory-single",
		"baseline-rwlock", "baseline-mutex", "floor" };
	FILE *gp;
	char cmd[1400];

	{
		const char *c1[] = { "s=1 p=64", "s=1 p=64", "s=1 p=64" };
		const char *c2[] = { "s=100000 p=64", "s=100000 p=64",
			"s=100000 p=64" };
		const char *c3[] = { "s=1 p=1024", "s=1 p=1024", "s=1 p=1024" };
		const char *c4[] = { "s=100000 p=1024", "s=100000 p=1024",
			"s=100000 p=1024" };
		const int t[] = { 1, 2, 4 };
		const char *x[] = { "1", "2", "4" };

		dat_by_contender("tput_s1_p64.dat", "append", c1, t, x, 3,
		    "throughput", all, 5);
		dat_by_contender("tput_s100k_p64.dat", "append", c2, t, x, 3,
		    "throughput", all, 5);
		dat_by_contender("tput_s1_p1024.dat", "append", c3, t, x, 3,
		    "throughput", all, 5);
		dat_by_contender("tput_s100k_p1024.dat", "append", c4, t, x, 3,
		    "throughput", all, 5);
	}
	{
		FILE *f = open_in_run("latency.dat");

		if (f != NULL) {
			fprintf(f, "contender\tp50\tp99\tp99.9\tmax\n");
			for (size_t c = 0; c < 5; c++) {
				int thr = c == 4 ? 1 : 2;

				fprintf(f, "%s\t%.6g\t%.6g\t%.6g\t%.6g\n", all[c],
				    res_median("replay", "s=1 p=64", thr, all[c],
				        "replay p50"),
				    res_median("replay", "s=1 p=64", thr, all[c],
				        "replay p99"),
				    res_median("replay", "s=1 p=64", thr, all[c],
				        "replay p99.9"),
				    res_median("replay", "s=1 p=64", thr, all[c],
				        "replay max"));
			}
			fclose(f);
		}
		f = open_in_run("churn.dat");
		if (f != NULL) {
			fprintf(f, "contender\tp99.9_quiet\tp99.9_churn\tmax_quiet\t"
			    "max_churn\n");
			for (size_t c = 0; c < 4; c++)
				fprintf(f, "%s\t%.6g\t%.6g\t%.6g\t%.6g\n", all[c],
				    res_median("churn", "quiet", 1, all[c],
				        "reader p99.9"),
				    res_median("churn", "churn", 2, all[c],
				        "reader p99.9"),
				    res_median("churn", "quiet", 1, all[c], "reader max"),
				    res_median("churn", "churn", 2, all[c], "reader max"));
			fclose(f);
		}
	}
	{
		const char *c[] = { "N=1000", "N=100000", "N=1000000" };
		const int t[] = { 1, 1, 1 };
		const char *x[] = { "1000", "100000", "1000000" };
		size_t n = res_find("scale", "N=1000000", 1, "floor", "ns/append") ?
		    3 : 2;

		dat_by_contender("scale_append.dat", "scale", c, t, x, n,
		    "ns/append", all, 5);
		dat_by_contender("scale_replay.dat", "scale", c, t, x, n,
		    "ns/replay", all, 5);
	}
	gp = open_in_run("plots.gp");
	if (gp == NULL)
		return;
	fputs("# written by evs-bench; run from this directory: gnuplot plots.gp\n"
	    "set terminal pngcairo size 1400,600 font 'sans,10' noenhanced\n"
	    "set datafile separator tab\n"
	    "set datafile missing 'NaN'\n"
	    "set key outside right top\n"
	    "set grid ytics\n"
	    "set pointsize 1.3\n", gp);
	if (res_find("append", "s=1 p=64", 1, "floor", "throughput") != NULL)
		fputs("\n"
		    "set output 'throughput.png'\n"
		    "set style data linespoints\n"
		    "set multiplot layout 1,2 title 'append throughput by producer "
		    "threads (64 B payload; 4 = oversubscribed on 2 cores)'\n"
		    "set xlabel 'producer threads'\n"
		    "set ylabel 'appends per second (all threads)'\n"
		    "set logscale y\n"
		    "set format y '%.0s%c'\n"
		    "set title '1 session (all threads share it)'\n"
		    "plot for [i=2:6] 'tput_s1_p64.dat' using i:xtic(1) "
		    "title columnheader(i) lw 2\n"
		    "set title '100,000 sessions (each thread its own share)'\n"
		    "plot for [i=2:6] 'tput_s100k_p64.dat' using i:xtic(1) "
		    "title columnheader(i) lw 2\n"
		    "unset multiplot\n"
		    "unset logscale y\n", gp);
	if (res_find("replay", "s=1 p=64", -1, "floor", "replay p50") != NULL &&
	    res_find("churn", "quiet", -1, "floor", "reader p50") != NULL)
		fputs("\n"
		    "set output 'latency.png'\n"
		    "set multiplot layout 1,2 title 'replay latency (ns, log scale; "
		    "lower is better)'\n"
		    "set style data histograms\n"
		    "set style histogram clustered gap 1\n"
		    "set style fill solid 0.8 border -1\n"
		    "set boxwidth 0.9\n"
		    "unset xlabel\n"
		    "set logscale y\n"
		    "set ylabel 'ns per replay_after() of 100 events'\n"
		    "set xtics rotate by -20\n"
		    "set format y '%.0s%c'\n"
		    "set title 'replay while 1 thread appends to the same session'\n"
		    "plot for [i=2:5] 'latency.dat' using i:xtic(1) "
		    "title columnheader(i)\n"
		    "set title 'reader p99.9 and max, quiet vs. session churn'\n"
		    "plot for [i=2:5] 'churn.dat' using i:xtic(1) "
		    "title columnheader(i)\n"
		    "unset multiplot\n"
		    "unset logscale y\n"
		    "set xtics norotate\n", gp);
	if (res_find("scale", "N=1000", 1, "floor", "ns/append") != NULL)
		fputs("\n"
		    "set output 'scale.png'\n"
		    "set style data linespoints\n"
		    "set multiplot layout 1,2 title 'cost vs. number of sessions "
		    "(1 thread, 4 events of 64 B per session)'\n"
		    "set logscale x\n"
		    "set xrange [500:2000000]\n"
		    "set yrange [0:*]\n"
		    "set format y '%g'\n"
		    "set format x '%.0s%c'\n"
		    "set xlabel 'sessions'\n"
		    "set ylabel 'ns per append'\n"
		    "set title 'append (evicts the oldest)'\n"
		    "plot for [i=2:6] 'scale_append.dat' using 1:i "
		    "title columnheader(i) lw 2\n"
		    "set ylabel 'ns per replay'\n"
		    "set title 'replay of the 4 held events'\n"
		    "plot for [i=2:6] 'scale_replay.dat' using 1:i "
		    "title columnheader(i) lw 2\n"
		    "unset multiplot\n", gp);
	fclose(gp);
	if (!opt.plots)
		return;
	if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
		out("\nplots: gnuplot not found; data and plots.gp are in %s\n",
		    rundir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "cd '%s' && gnuplot plots.gp >gnuplot.log 2>&1",
	    rundir);
	if (system(cmd) != 0)
		out("\nplots: gnuplot failed (see %s/gnuplot.log)\n", rundir);
	else
		out("\nplots: in %s (throughput.png, latency.png, scale.png: those "
		    "whose scenarios ran)\n", rundir);
}

/* ---- main ---------------------------------------------------------------------------------- */

static int
mkdir_p(const char *path)
{
	char tmp[1024];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: evs-bench [options]\n"
	    "  --quick          CI smoke: short trials, smaller sizes (< 60 s)\n"
	    "  --out DIR        results directory (default bench-results); each "
	    "run writes\n"
	    "                   DIR/<date-time>/{results.csv,report.txt,*.png}\n"
	    "  --only A,B,...   run only these scenarios (see --list)\n"
	    "  --reps N         repetitions per measurement (default 5, quick 3; "
	    "max %u)\n"
	    "  --ms N           milliseconds per timed trial (default 200, quick "
	    "25)\n"
	    "  --no-plots       do not call gnuplot\n"
	    "  --list           list the scenarios\n"
	    "  --help\n", MAX_REPS);
}

static int
parse_only(const char *arg)
{
	char buf[256], *save = NULL;
	unsigned mask = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *t = strtok_r(buf, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < NSCEN; i++)
			if (strcmp(t, scen_names[i].name) == 0)
				break;
		if (i == NSCEN) {
			fprintf(stderr, "evs-bench: unknown scenario '%s' (--list)\n", t);
			return -1;
		}
		mask |= scen_names[i].bit;
	}
	opt.only = mask;
	return 0;
}

int
main(int argc, char **argv)
{
	bool reps_set = false, ms_set = false;
	char name[64];
	time_t now;
	struct tm tm;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--quick") == 0) {
			opt.quick = true;
		} else if (strcmp(a, "--out") == 0 && i + 1 < argc) {
			opt.outdir = argv[++i];
		} else if (strcmp(a, "--only") == 0 && i + 1 < argc) {
			if (parse_only(argv[++i]) != 0)
				return 2;
		} else if (strcmp(a, "--reps") == 0 && i + 1 < argc) {
			opt.reps = (unsigned)atoi(argv[++i]);
			reps_set = true;
		} else if (strcmp(a, "--ms") == 0 && i + 1 < argc) {
			opt.trial_ms = (unsigned)atoi(argv[++i]);
			ms_set = true;
		} else if (strcmp(a, "--no-plots") == 0) {
			opt.plots = false;
		} else if (strcmp(a, "--list") == 0) {
			for (size_t k = 0; k < NSCEN; k++)
				printf("%-8s %s\n", scen_names[k].name,
				    scen_names[k].what);
			return 0;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (opt.quick) {
		if (!reps_set)
			opt.reps = 3;
		if (!ms_set)
			opt.trial_ms = 25;
	}
	if (opt.reps < 1 || opt.reps > MAX_REPS || opt.trial_ms < 1 ||
	    opt.trial_ms > 10000) {
		fprintf(stderr, "evs-bench: --reps 1..%u, --ms 1..10000\n", MAX_REPS);
		return 2;
	}
	opt.ncpu = ncpu > 0 ? (unsigned)ncpu : 1;
	progress_tty = isatty(2);
	t_start_ns = bench_now_ns();
	memset(payload, 0x5a, sizeof(payload));
	ids_ensure(100000);

	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(name, sizeof(name), "%Y%m%d-%H%M%S", &tm);
	snprintf(rundir, sizeof(rundir), "%s/%s%s", opt.outdir, name,
	    opt.quick ? "-quick" : "");
	if (mkdir_p(rundir) != 0) {
		fprintf(stderr, "evs-bench: cannot create %s: %s\n", rundir,
		    strerror(errno));
		return 1;
	}
	report_fp = open_in_run("report.txt");
	csv_fp = open_in_run("results.csv");
	if (csv_fp != NULL)
		csv_header();
	{
		FILE *m = open_in_run("machine.txt");

		if (m != NULL) {
			bench_machine_print(m);
			fclose(m);
		}
	}
	out("evs-bench: evstore benchmark harness (%s suite)\n",
	    opt.quick ? "quick" : "default");
	bench_machine_print(stdout);
	if (report_fp != NULL)
		bench_machine_print(report_fp);
	out("contenders: memory-multi, memory-single (evstore memory store), "
	    "baseline-rwlock, baseline-mutex,\n            floor (no concurrency "
	    "control)%s\n", 
#ifdef EVS_BENCH_HAVE_CACHING
	    ", caching (composer over two memory stores)"
#else
	    "; caching: not built"
#endif
	    );
	out("method: %u reps x %u ms per measurement, contenders interleaved, "
	    "warm-up first; timer CLOCK_MONOTONIC;\n        threads pinned "
	    "(pthread_setaffinity_np) on %u cores; results in %s\n", opt.reps,
	    opt.trial_ms, opt.ncpu, rundir);

	if (check_all() != 0) {
		fprintf(stderr, "evs-bench: contenders do not behave alike; "
		    "their timings would not compare\n");
		return 1;
	}
	if (opt.only & S_LIMITS)
		scen_limits();
	if (opt.only & S_APPEND)
		scen_append();
	if (opt.only & S_REPLAY)
		scen_replay();
	if (opt.only & S_CHURN)
		scen_churn();
	if (opt.only & S_SCALE)
		scen_scale();
	if (opt.only & S_MEMORY)
		scen_memory();
	if (opt.only & S_CACHING)
		scen_caching();
	if (opt.only & S_SSE)
		scen_sse();
	report_targets();
	if (errors_seen > 0)
		out("\nWARNING: %lu store calls failed during the run\n",
		    errors_seen);
	write_plots();
	{
		char load[128];

		bench_loadavg(load, sizeof(load));
		out("\nloadavg at the end: %s (other tenants of the machine show "
		    "here; the one at the start is above)\n", load);
	}
	out("total time %.1f s; CSV: %s/results.csv\n",
	    (double)(bench_now_ns() - t_start_ns) / 1e9, rundir);
	{
		char link[1100];

		snprintf(link, sizeof(link), "%s/latest", opt.outdir);
		(void)unlink(link);
		if (symlink(strrchr(rundir, '/') + 1, link) != 0)
			fprintf(stderr, "evs-bench: cannot link %s\n", link);
	}
	if (report_fp != NULL)
		fclose(report_fp);
	if (csv_fp != NULL)
		fclose(csv_fp);
	free(res);
	free(ids);
	return 0;
}
