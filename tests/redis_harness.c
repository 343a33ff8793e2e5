/*
 * tests/redis_harness.c: see redis_harness.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redis_harness.h"

#define MAX_SERVERS 16
#define START_TRIES 5
#define READY_MS 10000
#define REAP_MS 5000

static struct redis_server *running[MAX_SERVERS];
static bool hooked;

int64_t
redis_harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
redis_harness_nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

bool
redis_harness_available(void)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (path == NULL)
		return false;
	while (*path != '\0') {
		size_t n = strcspn(path, ":");

		if (n > 0 && n + sizeof("/redis-server") < sizeof(buf)) {
			memcpy(buf, path, n);
			memcpy(buf + n, "/redis-server", sizeof("/redis-server"));
			if (access(buf, X_OK) == 0)
				return true;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

void
redis_harness_require(const char *who)
{
	if (redis_harness_available())
		return;
	fprintf(stderr, "%s: FAILED: redis-server is not installed; run "
	    "scripts/setup.sh (it installs redis-server and libhiredis-dev)\n",
	    who);
	exit(1);
}

/* Reaps pid within a bounded time, SIGKILLing it if it lingers. */
static void
reap(pid_t pid)
{
	int64_t deadline = redis_harness_now_ms() + REAP_MS;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return;
		if (redis_harness_now_ms() > deadline) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			return;
		}
		redis_harness_nap_ms(5);
	}
}

static void
stop_all(void)
{
	for (int i = 0; i < MAX_SERVERS; i++) {
		if (running[i] != NULL)
			redis_server_stop(running[i]);
	}
}

static void
track(struct redis_server *srv, bool on)
{
	for (int i = 0; i < MAX_SERVERS; i++) {
		if (on && running[i] == NULL) {
			running[i] = srv;
			break;
		}
		if (!on && running[i] == srv) {
			running[i] = NULL;
			break;
		}
	}
	if (on && !hooked) {
		hooked = true;
		atexit(stop_all);
	}
}

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

redisContext *
redis_server_connect(const struct redis_server *srv)
{
	struct timeval tv = { 2, 0 };
	redisContext *c;

	c = srv->unix_socket ? redisConnectUnixWithTimeout(srv->sock, tv) :
	    redisConnectWithTimeout("127.0.0.1", srv->port, tv);
	if (c != NULL && c->err != 0) {
		redisFree(c);
		return NULL;
	}
	if (c != NULL)
		redisSetTimeout(c, tv);
	return c;
}

static bool
answers_ping(const struct redis_server *srv)
{
	redisContext *c = redis_server_connect(srv);
	redisReply *r;
	bool ok = false;

	if (c == NULL)
		return false;
	r = redisCommand(c, "PING");
	ok = r != NULL && r->type == REDIS_REPLY_STATUS &&
	    strcmp(r->str, "PONG") == 0;
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
	return ok;
}

static pid_t
spawn(struct redis_server *srv)
{
	char port[16], log[400];
	pid_t parent = getpid(), pid;

	snprintf(port, sizeof(port), "%d", srv->port);
	snprintf(log, sizeof(log), "%s/redis.log", srv->dir);
	pid = fork();
	if (pid != 0)
		return pid;
	/* Child: die with the test, whatever way it ends. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
	if (srv->unix_socket)
		execlp("redis-server", "redis-server", "--port", "0",
		    "--unixsocket", srv->sock, "--unixsocketperm", "700",
		    "--save", "", "--appendonly", "no", "--dir", srv->dir,
		    "--logfile", log, "--daemonize", "no", (char *)NULL);
	else
		execlp("redis-server", "redis-server", "--port", port,
		    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		    "--dir", srv->dir, "--logfile", log, "--daemonize", "no",
		    (char *)NULL);
	_exit(127);
}

/* Spawns on srv's port/socket; waits until it answers.  0 or -1. */
static int
launch(struct redis_server *srv)
{
	int64_t deadline = redis_harness_now_ms() + READY_MS;
	int status;

	srv->pid = spawn(srv);
	if (srv->pid < 0) {
		srv->pid = 0;
		return -1;
	}
	while (redis_harness_now_ms() < deadline) {
		if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
			srv->pid = 0;   /* died: port taken, bad binary, ... */
			return -1;
		}
		if (answers_ping(srv))
			return 0;
		redis_harness_nap_ms(10);
	}
	kill(srv->pid, SIGKILL);
	reap(srv->pid);
	srv->pid = 0;
	return -1;
}

int
redis_server_start(struct redis_server *srv, bool unix_socket)
{
	const char *tmp = getenv("TMPDIR");

	memset(srv, 0, sizeof(*srv));
	srv->unix_socket = unix_socket;
	snprintf(srv->dir, sizeof(srv->dir), "%s/evs-redis-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(srv->dir) == NULL) {
		perror("redis harness: mkdtemp");
		return -1;
	}
	for (int attempt = 0; attempt < START_TRIES; attempt++) {
		if (unix_socket) {
			snprintf(srv->sock, sizeof(srv->sock), "%s/redis.sock",
			    srv->dir);
			snprintf(srv->node, sizeof(srv->node), "unix:%s",
			    srv->sock);
		} else {
			srv->port = free_port();
			if (srv->port <= 0)
				continue;
			snprintf(srv->node, sizeof(srv->node), "127.0.0.1:%d",
			    srv->port);
		}
		if (launch(srv) == 0) {
			track(srv, true);
			return 0;
		}
	}
	fprintf(stderr, "redis harness: could not start redis-server (see "
	    "%s/redis.log)\n", srv->dir);
	return -1;
}

void
redis_server_kill(struct redis_server *srv)
{
	if (srv->pid <= 0)
		return;
	kill(srv->pid, SIGKILL);
	reap(srv->pid);
	srv->pid = 0;
	srv->paused = false;
}

int
redis_server_restart(struct redis_server *srv)
{
	redis_server_kill(srv);
	/* The same port may be briefly unavailable: retry a few times. */
	for (int attempt = 0; attempt < START_TRIES; attempt++) {
		if (launch(srv) == 0)
			return 0;
		redis_harness_nap_ms(100);
	}
	fprintf(stderr, "redis harness: could not restart %s\n", srv->node);
	return -1;
}

void
redis_server_pause(struct redis_server *srv)
{
	if (srv->pid > 0 && kill(srv->pid, SIGSTOP) == 0)
		srv->paused = true;
}

void
redis_server_resume(struct redis_server *srv)
{
	if (srv->pid > 0 && kill(srv->pid, SIGCONT) == 0)
		srv->paused = false;
}

void
redis_server_stop(struct redis_server *srv)
{
	char path[400];

	redis_server_kill(srv);
	track(srv, false);
	if (srv->dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/redis.log", srv->dir);
	(void)unlink(path);
	if (srv->sock[0] != '\0')
		(void)unlink(srv->sock);
	(void)rmdir(srv->dir);
	srv->dir[0] = '\0';
}
