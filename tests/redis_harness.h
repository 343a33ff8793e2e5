/*
 * tests/redis_harness.h: real redis-server processes for the tests and the
 * Redis bench.  Each server listens on a free loopback port (or on a unix
 * socket in a fresh temporary directory) with persistence off, and is
 * killed when the test process exits, however it exits (the child asks the
 * kernel for SIGKILL when its parent dies, and an atexit hook stops what is
 * still running).
 */
#ifndef EVS_TEST_REDIS_HARNESS_H
#define EVS_TEST_REDIS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

struct redis_server {
	pid_t pid;                /* 0: not running */
	bool  unix_socket;
	int   port;               /* TCP port (0 for a unix socket) */
	bool  paused;
	char  dir[256];           /* temporary directory: socket, log */
	char  sock[320];          /* unix socket path */
	char  node[340];          /* "127.0.0.1:<port>" or "unix:<path>" */
};

/* True if a redis-server binary is on PATH.  redis_harness_require() prints
 * how to get one and exits with status 1 (a failure, not a skip) if not. */
bool redis_harness_available(void);
void redis_harness_require(const char *who);

/* Starts a server and waits (bounded) until it answers PING.
 * Returns 0, or -1 after printing why. */
int  redis_server_start(struct redis_server *srv, bool unix_socket);
/* Kills it (SIGKILL: an abrupt stop, as a crash) and reaps it. */
void redis_server_kill(struct redis_server *srv);
/* Starts it again on the same port or socket path.  0 or -1. */
int  redis_server_restart(struct redis_server *srv);
/* SIGSTOP / SIGCONT: a server that accepts connections but never answers. */
void redis_server_pause(struct redis_server *srv);
void redis_server_resume(struct redis_server *srv);
/* Stops it for good and removes its directory. */
void redis_server_stop(struct redis_server *srv);
/* A plain hiredis connection for raw commands (caller frees), or NULL. */
redisContext *redis_server_connect(const struct redis_server *srv);

/* CLOCK_MONOTONIC in milliseconds, and a nap for bounded polling loops
 * (never as synchronization: callers poll an observable condition). */
int64_t redis_harness_now_ms(void);
void    redis_harness_nap_ms(long ms);

#endif
