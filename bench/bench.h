/*
 * bench/bench.h: what the harness's files share.
 */
#ifndef EVS_BENCH_BENCH_H
#define EVS_BENCH_BENCH_H

#include <stddef.h>
#include <stdio.h>

/* Write a description of the machine, OS, compiler and flags to fp. */
void bench_machine_print(FILE *fp);
/* /proc/loadavg's line, or "?". */
void bench_loadavg(char *buf, size_t n);

#endif /* EVS_BENCH_BENCH_H */
