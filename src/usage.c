/*
 * usage.c - the one-line usage error every command prints (exit 64), the
 * durations --wait takes, and which domains the command line selects
 * (names, --shard). Kept
 * out of main.c so that the commands, linked into the unit tests without
 * main.o, can use it too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "provision/util.h"

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

unsigned domain_shard(const char *name, unsigned n)
{
	uint32_t h = 2166136261u; /* FNV-1a, 32 bits */
	size_t len = strlen(name);
	if (len && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		h ^= c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
		h *= 16777619u;
	}
	return n ? h % n + 1 : 1;
}

int domain_selected(const struct options *o, const struct domain_config *d)
{
	if (o->shard_n && domain_shard(d->name, o->shard_n) != o->shard_k)
		return 0;
	if (!o->domains)
		return 1;
	for (char **dn = o->domains; *dn; dn++)
		if (dname_equal(*dn, d->name))
			return 1;
	return 0;
}

int shard_parse(const char *s, unsigned *k, unsigned *n)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long a = strtoul(s, &end, 10);
	if (errno || *end != '/' || end[1] < '0' || end[1] > '9')
		return -1;
	unsigned long b = strtoul(end + 1, &end, 10);
	if (errno || *end || a < 1 || b > 100000 || a > b)
		return -1;
	*k = (unsigned)a;
	*n = (unsigned)b;
	return 0;
}

void shard_note(const struct options *o, const struct config *cfg)
{
	size_t m = 0;
	if (!o->verbose || !o->shard_n)
		return;
	for (size_t i = 0; i < cfg->ndomains; i++)
		m += (size_t)domain_selected(o, &cfg->domains[i]);
	fprintf(stderr, "provision: shard %u/%u: %zu of %zu domains\n", o->shard_k, o->shard_n,
		m, cfg->ndomains);
}
