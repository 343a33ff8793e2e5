/*
 * evs-sse-load: N concurrent SSE streams against evs-sse-server on loopback.
 *
 * Starts the server (or uses --url) with its built-in generator appending
 * --rate events/s spread over --sessions sessions, opens --streams streams
 * (stream i follows session gen-(i % sessions)), and reads them all from one
 * epoll thread.  Reports delivered events/s, delivery latency percentiles
 * (each event's data carries the CLOCK_MONOTONIC time the generator
 * appended it), and checks that every stream's ids are consecutive: no gap,
 * no duplicate, no reset.  Exits 0 only when all of that holds and the
 * server it started shut down cleanly.
 *
 *   evs-sse-load [--server PATH | --url URL] [--streams N] [--sessions K]
 *                [--rate R] [--seconds S] [--warmup-ms W] [--short]
 *
 * Single-threaded: no shared state, no atomics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES (64u << 20)   /* latency samples kept (512 MiB at most) */
#define LINE_MAX_BYTES 4096

struct options {
	const char *server;
	const char *url;
	unsigned streams;
	unsigned sessions;
	unsigned rate;
	unsigned seconds;
	unsigned warmup_ms;
};

enum phase { HEADERS, CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, RAW, DONE };

struct conn {
	int fd;
	unsigned index;
	enum phase phase;
	bool chunked;
	char hdr[4096];
	size_t hlen;
	uint64_t chunk_left;
	char line[LINE_MAX_BYTES];
	size_t llen;
	bool line_overflow;
	/* the event being parsed */
	uint64_t ev_id;
	bool ev_has_id;
	bool ev_reset;
	uint64_t ev_t;
	bool ev_has_t;
	bool ev_has_data;
	/* results */
	uint64_t last_id;
	bool have_last;
	uint64_t events;
	uint64_t gaps, dups, resets;
	bool failed;
};

static struct {
	uint64_t *lat;
	size_t nlat;
	size_t caplat;
	uint64_t win_start, win_end;   /* CLOCK_MONOTONIC ns */
	uint64_t in_window;            /* events received within the window */
	uint64_t pings;
} g;

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
record_latency(uint64_t ns)
{
	if (g.nlat == g.caplat) {
		size_t cap = g.caplat ? g.caplat * 2 : 1u << 16;
		uint64_t *p;

		if (cap > MAX_SAMPLES || (p = realloc(g.lat, cap * sizeof(*p))) == NULL)
			return;   /* enough samples: the rest only count */
		g.lat = p;
		g.caplat = cap;
	}
	g.lat[g.nlat++] = ns;
}

/* ---- SSE parsing ----------------------------------------------------------- */

static void
dispatch(struct conn *c, uint64_t now)
{
	if (c->ev_reset) {
		c->resets++;
	} else if (c->ev_has_data && c->ev_has_id) {
		if (c->have_last && c->ev_id != c->last_id + 1) {
			if (c->ev_id <= c->last_id)
				c->dups++;
			else
				c->gaps++;
		}
		c->last_id = c->ev_id;
		c->have_last = true;
		c->events++;
		if (now >= g.win_start && now < g.win_end) {
			g.in_window++;
			if (c->ev_has_t && c->ev_t >= g.win_start && c->ev_t <= now)
				record_latency(now - c->ev_t);
		}
	}
	c->ev_has_id = c->ev_reset = c->ev_has_t = c->ev_has_data = false;
}

static void
on_line(struct conn *c, const char *l, size_t n, uint64_t now)
{
	if (n == 0) {
		dispatch(c, now);
		return;
	}
	if (n >= 4 && memcmp(l, "id: ", 4) == 0) {
		const char *dash = memchr(l, '-', n);

		if (dash != NULL) {
			c->ev_id = strtoull(dash + 1, NULL, 10);
			c->ev_has_id = true;
		}
	} else if (n >= 6 && memcmp(l, "data: ", 6) == 0) {
		const char *t = strstr(l, "\"t\":");

		c->ev_has_data = true;
		if (t != NULL) {
			c->ev_t = strtoull(t + 4, NULL, 10);
			c->ev_has_t = true;
		}
	} else if (n == 12 && memcmp(l, "event: reset", 12) == 0) {
		c->ev_reset = true;
	} else if (l[0] == ':') {
		g.pings++;
	}
}

static void
sse_bytes(struct conn *c, const char *p, size_t n, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];

		if (ch == '\n') {
			size_t len = c->llen;

			if (len > 0 && c->line[len - 1] == '\r')
				len--;
			c->line[len] = '\0';
			if (!c->line_overflow)
				on_line(c, c->line, len, now);
			c->llen = 0;
			c->line_overflow = false;
		} else if (c->llen < sizeof(c->line) - 1) {
			c->line[c->llen++] = ch;
		} else {
			c->line_overflow = true;
		}
	}
}

/* ---- HTTP ------------------------------------------------------------------- */

static void
body_bytes(struct conn *c, const char *p, size_t n, uint64_t now)
{
	size_t i = 0;

	while (i < n && c->phase != DONE) {
		switch (c->phase) {
		case RAW:
			sse_bytes(c, p + i, n - i, now);
			return;
		case CHUNK_SIZE: {
			char ch = p[i++];

			if (ch == '\n') {
				if (c->chunk_left == 0) {
					c->phase = DONE;   /* the server ended the stream */
					c->failed = true;
				} else {
					c->phase = CHUNK_DATA;
				}
			} else if (ch >= '0' && ch <= '9') {
				c->chunk_left = c->chunk_left * 16 + (uint64_t)(ch - '0');
			} else if (ch >= 'a' && ch <= 'f') {
				c->chunk_left = c->chunk_left * 16 + (uint64_t)(ch - 'a' + 10);
			} else if (ch >= 'A' && ch <= 'F') {
				c->chunk_left = c->chunk_left * 16 + (uint64_t)(ch - 'A' + 10);
			}
			break;
		}
		case CHUNK_DATA: {
			size_t take = n - i;

			if (take > c->chunk_left)
				take = (size_t)c->chunk_left;
			sse_bytes(c, p + i, take, now);
			i += take;
			c->chunk_left -= take;
			if (c->chunk_left == 0)
				c->phase = CHUNK_CRLF;
			break;
		}
		case CHUNK_CRLF:
			if (p[i++] == '\n') {
				c->phase = CHUNK_SIZE;
				c->chunk_left = 0;
			}
			break;
		default:
			return;
		}
	}
}

static void
on_bytes(struct conn *c, const char *p, size_t n, uint64_t now)
{
	if (c->phase == HEADERS) {
		size_t take = sizeof(c->hdr) - 1 - c->hlen;
		char *end;

		if (take > n)
			take = n;
		memcpy(c->hdr + c->hlen, p, take);
		c->hlen += take;
		c->hdr[c->hlen] = '\0';
		end = strstr(c->hdr, "\r\n\r\n");
		if (end == NULL) {
			if (c->hlen == sizeof(c->hdr) - 1) {
				c->failed = true;
				c->phase = DONE;
			}
			return;
		}
		if (strncmp(c->hdr, "HTTP/1.1 200", 12) != 0 &&
		    strncmp(c->hdr, "HTTP/1.0 200", 12) != 0) {
			fprintf(stderr, "evs-sse-load: stream %u: %.*s\n", c->index,
			    (int)strcspn(c->hdr, "\r"), c->hdr);
			c->failed = true;
			c->phase = DONE;
			return;
		}
		*end = '\0';
		for (char *h = strstr(c->hdr, "\r\n"); h != NULL;
		     h = strstr(h + 2, "\r\n"))
			if (strncasecmp(h + 2, "transfer-encoding:", 18) == 0 &&
			    strstr(h + 2, "chunked") != NULL)
				c->chunked = true;
		c->phase = c->chunked ? CHUNK_SIZE : RAW;
		c->chunk_left = 0;
		/* What followed the headers in this read is body. */
		size_t used = (size_t)(end + 4 - c->hdr) - (c->hlen - take);
		body_bytes(c, p + used, n - used, now);
		return;
	}
	body_bytes(c, p, n, now);
}

/* ---- the server ----------------------------------------------------------- */

static pid_t
start_server(const struct options *o, char *url, size_t urlsz)
{
	int pipefd[2];
	char rate[32], sessions[32], life[32];
	pid_t pid;
	FILE *f;

	if (pipe(pipefd) != 0)
		return -1;
	snprintf(rate, sizeof(rate), "%u", o->rate);
	snprintf(sessions, sizeof(sessions), "%u", o->sessions);
	/* The server goes away by itself a minute after the run, even if
	 * this program is killed. */
	snprintf(life, sizeof(life), "%llu", (unsigned long long)o->seconds *
	    1000u + o->warmup_ms + 60000u);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execl(o->server, o->server, "--port", "0", "--rate", rate,
		    "--sessions", sessions, "--heartbeat-ms", "1000",
		    "--capacity", "10000", "--exit-after-ms", life, (char *)NULL);
		fprintf(stderr, "evs-sse-load: cannot run %s: %s\n", o->server,
		    strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	if (f == NULL || fgets(url, (int)urlsz, f) == NULL ||
	    strncmp(url, "http://", 7) != 0) {
		fprintf(stderr, "evs-sse-load: the server printed no URL\n");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	url[strcspn(url, "\r\n")] = '\0';
	fclose(f);
	return pid;
}

/* SIGTERM, then wait up to 10 s (SIGKILL after).  Returns the exit status
 * for a normal exit, or -1. */
static int
stop_server(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	for (int i = 0; i < 1000; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "evs-sse-load: server did not stop in 10 s: killed\n");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static int
parse_url(const char *url, struct sockaddr_in *sa)
{
	char host[64];
	unsigned port;

	if (sscanf(url, "http://%63[0-9.]:%u", host, &port) != 2 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int
open_stream(const struct sockaddr_in *sa, unsigned session, int ep,
            struct conn *c)
{
	char req[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	struct epoll_event ev = { .events = EPOLLIN };
	int n;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
		close(fd);
		return -1;
	}
	n = snprintf(req, sizeof(req), "GET /events?session=gen-%u HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n", session);
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c->fd = fd;
	ev.data.ptr = c;
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct_us(double p)
{
	size_t i;

	if (g.nlat == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(g.nlat - 1) + 0.5);
	return (double)g.lat[i] / 1000.0;
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: evs-sse-load [options]\n"
"  --server PATH   evs-sse-server to start (default: next to this program)\n"
"  --url URL       use a running server instead (it must run --rate with\n"
"                  --sessions equal to ours)\n"
"  --streams N     concurrent streams (default 200)\n"
"  --sessions K    sessions gen-0..gen-(K-1); stream i follows i %% K (default 20)\n"
"  --rate R        events/s the server's generator appends in all (default 20000)\n"
"  --seconds S     measured time (default 10)\n"
"  --warmup-ms W   unmeasured time after the streams open (default 1000)\n"
"  --short         a quick check: 50 streams, 5 sessions, 5000/s, 2 s\n");
}

static bool
parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static char self_server[PATH_MAX];

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "server", required_argument, NULL, 'S' },
		{ "url", required_argument, NULL, 'U' },
		{ "streams", required_argument, NULL, 'n' },
		{ "sessions", required_argument, NULL, 'k' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "warmup-ms", required_argument, NULL, 'w' },
		{ "short", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, idx = 0;

	*o = (struct options){ .streams = 200, .sessions = 20, .rate = 20000,
	                       .seconds = 10, .warmup_ms = 1000 };
	while ((ch = getopt_long(argc, argv, "h", longs, &idx)) != -1) {
		bool ok = true;

		switch (ch) {
		case 'S': o->server = optarg; break;
		case 'U': o->url = optarg; break;
		case 'n': ok = parse_uint(optarg, 100000, &o->streams) && o->streams > 0; break;
		case 'k': ok = parse_uint(optarg, 100000, &o->sessions) && o->sessions > 0; break;
		case 'r': ok = parse_uint(optarg, 100000000, &o->rate); break;
		case 's': ok = parse_uint(optarg, 3600, &o->seconds) && o->seconds > 0; break;
		case 'w': ok = parse_uint(optarg, 600000, &o->warmup_ms); break;
		case 'q':
			o->streams = 50;
			o->sessions = 5;
			o->rate = 5000;
			o->seconds = 2;
			o->warmup_ms = 500;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
		if (!ok) {
			fprintf(stderr, "evs-sse-load: bad value '%s' for --%s\n",
			    optarg, longs[idx].name);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	if (o->server == NULL && o->url == NULL) {
		ssize_t n = readlink("/proc/self/exe", self_server,
		    sizeof(self_server) - 32);
		char *slash;

		if (n <= 0)
			return -1;
		self_server[n] = '\0';
		slash = strrchr(self_server, '/');
		strcpy(slash ? slash + 1 : self_server, "evs-sse-server");
		o->server = self_server;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct sockaddr_in sa;
	struct conn *conns;
	struct epoll_event evs[256];
	struct rlimit rl;
	char url[256];
	char buf[65536];
	pid_t pid = -1;
	int ep, server_rc = 0;
	uint64_t t_open, deadline;
	uint64_t gaps = 0, dups = 0, resets = 0, failed = 0, silent = 0;
	uint64_t events = 0;
	double secs, rate_out, expected;
	bool ok;

	if (parse_options(argc, argv, &o) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < o.streams + 64u) {
		rl.rlim_cur = o.streams + 64u;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	if (o.url != NULL) {
		snprintf(url, sizeof(url), "%s", o.url);
	} else {
		pid = start_server(&o, url, sizeof(url));
		if (pid < 0)
			return 1;
	}
	if (parse_url(url, &sa) != 0) {
		fprintf(stderr, "evs-sse-load: cannot use URL '%s' (http://IPv4:port/)\n", url);
		if (pid > 0)
			stop_server(pid);
		return 1;
	}

	conns = calloc(o.streams, sizeof(*conns));
	ep = epoll_create1(0);
	if (conns == NULL || ep < 0) {
		perror("evs-sse-load");
		if (pid > 0)
			stop_server(pid);
		return 1;
	}
	for (unsigned i = 0; i < o.streams; i++) {
		conns[i].index = i;
		conns[i].fd = -1;
		if (open_stream(&sa, i % o.sessions, ep, &conns[i]) != 0) {
			fprintf(stderr, "evs-sse-load: stream %u: cannot connect: %s\n",
			    i, strerror(errno));
			conns[i].failed = true;
		}
	}
	t_open = mono_ns();
	g.win_start = t_open + (uint64_t)o.warmup_ms * 1000000u;
	g.win_end = g.win_start + (uint64_t)o.seconds * 1000000000u;
	deadline = g.win_end;

	/* Bounded by the deadline; each epoll_wait waits at most 100 ms. */
	for (;;) {
		uint64_t now = mono_ns();
		int n;

		if (now >= deadline)
			break;
		n = epoll_wait(ep, evs, 256, 100);
		if (n < 0 && errno != EINTR)
			break;
		now = mono_ns();
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			/* Bounded: a few reads per wake-up, so no stream starves
			 * the others. */
			for (int r = 0; r < 4; r++) {
				ssize_t got = read(c->fd, buf, sizeof(buf));

				if (got > 0) {
					on_bytes(c, buf, (size_t)got, now);
					if (c->phase != DONE)
						continue;
				} else if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
					break;
				} else {
					c->failed = true;   /* closed by the server */
				}
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				break;
			}
		}
	}
	secs = (double)o.seconds;
	for (unsigned i = 0; i < o.streams; i++) {
		struct conn *c = &conns[i];

		if (c->fd >= 0)
			close(c->fd);
		gaps += c->gaps;
		dups += c->dups;
		resets += c->resets;
		failed += c->failed;
		silent += c->events == 0;
		events += c->events;
	}
	close(ep);
	if (pid > 0)
		server_rc = stop_server(pid);

	qsort(g.lat, g.nlat, sizeof(*g.lat), cmp_u64);
	rate_out = (double)g.in_window / secs;
	/* Each event reaches streams/sessions streams (rounded per session). */
	expected = (double)o.rate * (double)o.streams / (double)o.sessions;
	printf("evs-sse-load: %u streams over %u sessions, generator %u events/s, "
	    "%u s measured after %u ms warm-up\n", o.streams, o.sessions, o.rate,
	    o.seconds, o.warmup_ms);
	printf("delivered: %.0f events/s to clients (%.1f%% of %.0f offered), "
	    "%" PRIu64 " events in all\n", rate_out,
	    expected > 0 ? 100.0 * rate_out / expected : 0.0, expected, events);
	printf("latency (append to client read, %zu samples): p50 %.0f us, "
	    "p90 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us\n", g.nlat,
	    pct_us(50), pct_us(90), pct_us(99), pct_us(99.9), pct_us(100));
	printf("checks: gaps %" PRIu64 ", duplicates %" PRIu64 ", resets %" PRIu64
	    ", failed streams %" PRIu64 ", silent streams %" PRIu64
	    ", heartbeats %" PRIu64 ", server exit %d\n", gaps, dups, resets,
	    failed, silent, g.pings, server_rc);
	printf("| %u | %u | %u | %.0f | %.0f | %.0f | %.0f | %.0f | %" PRIu64 " |\n",
	    o.streams, o.sessions, o.rate, rate_out, pct_us(50), pct_us(99),
	    pct_us(99.9), pct_us(100), gaps + dups + resets);
	ok = gaps == 0 && dups == 0 && resets == 0 && failed == 0 &&
	    (o.rate == 0 || silent == 0) && server_rc == 0;
	printf("evs-sse-load: %s\n", ok ? "ok" : "FAILED");
	free(conns);
	free(g.lat);
	return ok ? 0 : 1;
}
