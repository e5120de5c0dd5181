/*
 * fuzz_config.c - libFuzzer target for the configuration loader
 * (src/config.c, libconfig text -> struct config).
 *
 * The input is one provision.cfg. config_load() takes a path, so the text
 * goes into one memfd per process, loaded as /proc/self/fd/N (nothing is
 * written to disk; @include is refused here, as it would read other
 * files). Asserted, with abort() on a mismatch:
 *   - a refusal is PROV_ERR_CONFIG with "FILE:LINE: " in front, FILE the
 *     path loaded and LINE a line of the text (1 to lines + 1);
 *   - a loaded configuration names its file, every domain has its
 *     provider's operations, and config_find_domain() finds each domain;
 *   - the text config_load() keeps (cfg.content, written back by libconfig
 *     for the saved plan's digest) loads again, to as many providers and
 *     domains with the same names.
 * Everything is freed (LeakSanitizer is on).
 *
 * Build: make fuzz (clang, -fsanitize=fuzzer,address,undefined).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "provision/util.h"

#define FUZZ_MAX 16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

static int put(const void *data, size_t size)
{
	if (fd < 0) {
		if ((fd = memfd_create("fuzz_config", 0)) < 0)
			return -1;
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return -1;
	return 0;
}

/* 1 when the text holds "@include" in any case. */
static int has_include(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i + 8 <= size; i++)
		if (data[i] == '@' && strncasecmp((const char *)data + i, "@include", 8) == 0)
			return 1;
	return 0;
}

static size_t lines_of(const uint8_t *data, size_t size)
{
	size_t n = 1;
	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

/* "PATH:LINE: " with 1 <= LINE <= maxline. */
static void check_refusal(int rc, const struct prov_error *err, size_t maxline)
{
	size_t n = strlen(path);
	const char *m = err->msg;
	if (rc == PROV_ERR_NOMEM)
		return;
	if (rc != PROV_ERR_CONFIG || strncmp(m, path, n) != 0 || m[n] != ':' ||
	    !isdigit((unsigned char)m[n + 1]))
		abort();
	char *end;
	unsigned long line = strtoul(m + n + 1, &end, 10);
	if (line < 1 || line > maxline || strncmp(end, ": ", 2) != 0 || !end[2])
		abort();
}

static void check_loaded(struct config *cfg)
{
	if (!cfg->file || strcmp(cfg->file, path) != 0 || !cfg->content)
		abort();
	for (size_t i = 0; i < cfg->ndomains; i++) {
		const struct domain_config *d = &cfg->domains[i];
		if (!d->name || !d->prov || !d->prov->ops || !d->policy.spf.include)
			abort();
		if (!config_find_domain(cfg, d->name))
			abort();
	}
}

/* The text libconfig wrote back loads again, to the same names. */
static void check_rewritten(const struct config *cfg)
{
	struct config again = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	if (put(cfg->content, cfg->content_len) < 0)
		return;
	int rc = config_load(path, &again, &err);
	if (rc == PROV_ERR_NOMEM)
		return;
	if (rc != 0 || again.ndomains != cfg->ndomains ||
	    again.nproviders != cfg->nproviders)
		abort();
	for (size_t i = 0; i < cfg->ndomains; i++)
		if (strcmp(again.domains[i].name, cfg->domains[i].name) != 0 ||
		    strcmp(again.domains[i].provider, cfg->domains[i].provider) != 0)
			abort();
	for (size_t i = 0; i < cfg->nproviders; i++)
		if (strcmp(again.providers[i].name, cfg->providers[i].name) != 0)
			abort();
	config_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX || has_include(data, size))
		return -1; /* @include would read other files */
	if (put(data, size) < 0)
		return 0;
	struct config cfg = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	int rc = config_load(path, &cfg, &err);
	if (rc != 0) {
		check_refusal(rc, &err, lines_of(data, size));
		if (cfg.file || cfg.domains)
			abort(); /* filled only on success */
		return 0;
	}
	check_loaded(&cfg);
	check_rewritten(&cfg);
	config_release(&cfg);
	return 0;
}
