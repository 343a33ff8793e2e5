/*
 * bench/machine.c: the machine a report was made on.
 */
#include <gnu/libc-version.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <evstore/store.h>

#include "bench.h"

#ifndef EVS_BENCH_BUILD_FLAGS
#define EVS_BENCH_BUILD_FLAGS "(unknown)"
#endif
#ifndef EVS_BENCH_BUILD_TYPE
#define EVS_BENCH_BUILD_TYPE "(unknown)"
#endif

void
bench_loadavg(char *buf, size_t n)
{
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(buf, n, "?");
	if (f == NULL)
		return;
	if (fgets(buf, (int)n, f) != NULL)
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

void
bench_machine_print(FILE *fp)
{
	char line[4096], model[256] = "(unknown)", load[128] = "?";
	bool hyper = false, got_model = false;
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");
	time_t now = time(NULL);
	struct tm tm;

	for (int i = 0; f != NULL && i < 100000 &&
	     fgets(line, sizeof(line), f) != NULL; i++) {
		char *colon = strchr(line, ':');

		if (colon == NULL)
			continue;
		if (!got_model && strncmp(line, "model name", 10) == 0) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			got_model = true;
		}
		if (strncmp(line, "flags", 5) == 0 &&
		    strstr(colon, " hypervisor") != NULL)
			hyper = true;
	}
	if (f != NULL)
		fclose(f);
	bench_loadavg(load, sizeof(load));
	gmtime_r(&now, &tm);
	strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(fp, "date:      %s\n", line);
	fprintf(fp, "cpu:       %s\n", model);
	fprintf(fp, "cores:     %ld online (%ld configured)\n",
	    sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_NPROCESSORS_CONF));
	fprintf(fp, "vm:        %s\n", hyper ? "yes (cpuinfo has the hypervisor flag)"
	    : "no hypervisor flag");
	if (uname(&u) == 0)
		fprintf(fp, "os:        %s %s %s, glibc %s\n", u.sysname, u.release,
		    u.machine, gnu_get_libc_version());
	fprintf(fp, "loadavg:   %s\n", load);
	fprintf(fp, "compiler:  %s\n",
#ifdef __clang__
	    "clang " __VERSION__
#else
	    "gcc " __VERSION__
#endif
	    );
	fprintf(fp, "build:     %s, flags: %s\n", EVS_BENCH_BUILD_TYPE,
	    EVS_BENCH_BUILD_FLAGS);
	fprintf(fp, "evstore:   %d.%d.%d\n", EVS_VERSION_MAJOR, EVS_VERSION_MINOR,
	    EVS_VERSION_PATCH);
}
