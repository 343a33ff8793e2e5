/*
 * tests/fuzz/run_corpus.c: runs the fuzz target over files given on the
 * command line (the seed corpus, or a crash to reproduce), for builds
 * without libFuzzer (gcc, TSan, ASan).  Prints "N passed, 0 failed"; a
 * failing input aborts inside the target.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	int ran = 0;

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		static uint8_t buf[1 << 20];
		size_t n;

		if (f == NULL) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		ran++;
	}
	printf("run_corpus: %d passed, 0 failed\n", ran);
	return ran > 0 ? 0 : 1;
}
