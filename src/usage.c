/*
 * usage.c - the one-line usage error every command prints (exit 64), and
 * the durations --wait takes. Kept
 * out of main.c so that the commands, linked into the unit tests without
 * main.o, can use it too.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>

#include "commands.h"

int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "provision: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'provision --help'.\n");
	va_end(ap);
	return 64;
}

long duration_seconds(const char *s)
{
	long total = 0;
	if (!s || !*s)
		return -1;
	while (*s) {
		char *end;
		errno = 0;
		long v = strtol(s, &end, 10);
		if (end == s || *s == '-' || *s == '+' || errno || !*end)
			return -1;
		long mult = *end == 's' ? 1 : *end == 'm' ? 60
			    : *end == 'h' ? 3600 : 0;
		if (!mult || v > (1L << 30) / mult || total > (1L << 30))
			return -1;
		total += v * mult;
		s = end + 1;
	}
	return total;
}
