/*
 * bench_spf.c - how fast the SPF engine evaluates (not a test).
 *
 * Reads the openspf RFC 7208 suite as JSON (tests/conformance/yaml2json.py)
 * and serves each scenario's zonedata from memory the way the conformance
 * driver (tests/helpers/spf_conformance.c) does: SPF entries as TXT unless
 * the name has TXT of its own, TIMEOUT as a temporary failure, one level of
 * CNAME, NXDOMAIN for a missing name. Then, for about SECONDS each, runs
 * every test's check_host() and spf_cost() of every SPF record in the
 * zonedata, once with a fresh resolver per call (nothing cached: every
 * question reaches the backend) and once with one cache per scenario.
 * Prints one line per figure ("sent/call": questions that reached the
 * backend per call). Usage: bench_spf [-t SECONDS] SUITE.json
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "provision/record.h"
#include "provision/resolver.h"
#include "provision/spf.h"
#include "provision/util.h"

/* The zone data, as in spf_conformance.c. */
#include "suite_zone.h"


struct job {
	struct suite_zone *zone;
	struct resolver *shared; /* one cache per scenario */
	struct spf_request req;  /* a check_host() test */
	char *sender;
	const char *domain, *record; /* an spf_cost() job (borrowed) */
};

struct bench {
	struct job *checks, *costs;
	size_t nchecks, ncosts;
	struct suite_zone **zones;
	struct resolver **shared;
	size_t nzones;
};


static struct job *push(struct job **v, size_t *n)
{
	struct job *nv = realloc(*v, (*n + 1) * sizeof *nv);
	if (!nv)
		return NULL;
	*v = nv;
	memset(&nv[*n], 0, sizeof nv[*n]);
	return &nv[(*n)++];
}

/* The SPF records of a zone that parse: what a domain there publishes. */
static int add_costs(struct bench *b, struct suite_zone *z, struct resolver *r)
{
	struct prov_error err = PROV_ERROR_INIT;
	for (size_t i = 0; i < z->n; i++)
		for (size_t k = 0; k < z->v[i].n; k++) {
			const struct zentry *e = &z->v[i].e[k];
			if (!e->text || !entry_is(&z->v[i], e, RR_TXT) ||
			    strlen(e->text) != e->len || !spf_is_record(e->text) ||
			    spf_validate(e->text, &err) < 0) {
				prov_error_clear(&err);
				continue;
			}
			struct job *j = push(&b->costs, &b->ncosts);
			if (!j)
				return -1;
			*j = (struct job){ .zone = z, .shared = r,
				.domain = z->v[i].name, .record = e->text };
		}
	return 0;
}

static int add_scenario(struct bench *b, const cJSON *sc)
{
	const cJSON *t;
	size_t len;
	struct suite_zone *z = zone_load(cJSON_GetObjectItemCaseSensitive(sc, "zonedata"));
	struct resolver *r = z ? resolver_new(&zone_backend_borrowed, z) : NULL;
	struct suite_zone **zv = realloc(b->zones, (b->nzones + 1) * sizeof *zv);
	struct resolver **rv = zv ? realloc(b->shared, (b->nzones + 1) * sizeof *rv) : NULL;
	if (zv)
		b->zones = zv;
	if (rv)
		b->shared = rv;
	if (!r || !zv || !rv) {
		resolver_free(r);
		zone_free(z);
		return -1;
	}
	b->zones[b->nzones] = z;
	b->shared[b->nzones++] = r;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(sc, "tests")) {
		struct job *j = push(&b->checks, &b->nchecks);
		const char *from = str(t, "mailfrom");
		if (!j || !(j->sender = to_bytes(from ? from : "", &len)))
			return -1;
		j->zone = z;
		j->shared = r;
		j->req = (struct spf_request){ .ip = str(t, "host"),
			.sender = j->sender, .helo = str(t, "helo"),
			.default_exp = "DEFAULT" };
	}
	return add_costs(b, z, r);
}

static void bench_release(struct bench *b)
{
	for (size_t i = 0; i < b->nchecks; i++)
		free(b->checks[i].sender);
	for (size_t i = 0; i < b->nzones; i++) {
		resolver_free(b->shared[i]);
		zone_free(b->zones[i]);
	}
	free(b->checks);
	free(b->costs);
	free(b->zones);
	free(b->shared);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One call of a job: check_host() or spf_cost(); adds the questions that
 * reached the backend to *sent. */
static void run_job(const struct job *j, int cost, int fresh,
		    unsigned long *sent)
{
	struct resolver *r = fresh ? resolver_new(&zone_backend_borrowed, j->zone)
				   : j->shared;
	struct resolver_stats before, after;
	struct prov_error err = PROV_ERROR_INIT;
	if (!r)
		return;
	resolver_get_stats(r, &before);
	if (cost) {
		struct spf_cost c;
		if (spf_cost(r, j->domain, j->record, &c, &err) == 0)
			spf_cost_release(&c);
	} else {
		char *exp = NULL;
		(void)spf_check_host(r, &j->req, &exp);
		free(exp);
	}
	resolver_get_stats(r, &after);
	*sent += after.sent - before.sent;
	if (fresh)
		resolver_free(r);
}

/* Whole passes over the jobs until secs have gone by; one line. */
static void measure(const char *what, const struct job *v, size_t n,
		    int cost, int fresh, double secs)
{
	unsigned long calls = 0, sent = 0;
	double t0 = now(), dt;
	if (n == 0)
		return;
	do {
		for (size_t i = 0; i < n; i++)
			run_job(&v[i], cost, fresh, &sent);
		calls += n;
	} while ((dt = now() - t0) < secs);
	printf("%-10s  %-14s  %10.0f  %8.2f  %9.2f  %9lu\n", what,
	       fresh ? "fresh resolver" : "shared cache", (double)calls / dt,
	       dt * 1e6 / (double)calls, (double)sent / (double)calls, calls);
}


int main(int argc, char **argv)
{
	double secs = 2.0;
	struct bench b;
	const cJSON *sc;
	int argi = 1, rc = 1;
	if (argc == 4 && strcmp(argv[1], "-t") == 0) {
		secs = atof(argv[2]);
		argi = 3;
	}
	if (argc != argi + 1 || secs <= 0) {
		fprintf(stderr, "usage: bench_spf [-t SECONDS] SUITE.json\n");
		return 64;
	}
	memset(&b, 0, sizeof b);
	char *text = slurp(argv[argi]);
	cJSON *suite = text ? cJSON_Parse(text) : NULL;
	free(text);
	if (!cJSON_IsArray(suite)) {
		fprintf(stderr, "bench_spf: cannot read %s\n", argv[argi]);
		goto out;
	}
	cJSON_ArrayForEach(sc, suite)
		if (add_scenario(&b, sc) < 0) {
			fprintf(stderr, "bench_spf: cannot load the suite\n");
			goto out;
		}
	printf("# %zu check_host() tests and %zu SPF records in %zu scenarios, %.1f s each\n",
	       b.nchecks, b.ncosts, b.nzones, secs);
	printf("%-10s  %-14s  %10s  %8s  %9s  %9s\n", "function", "resolver",
	       "calls/s", "us/call", "sent/call", "calls");
	measure("check_host", b.checks, b.nchecks, 0, 1, secs);
	measure("check_host", b.checks, b.nchecks, 0, 0, secs);
	measure("spf_cost", b.costs, b.ncosts, 1, 1, secs);
	measure("spf_cost", b.costs, b.ncosts, 1, 0, secs);
	rc = 0;
out:
	bench_release(&b);
	cJSON_Delete(suite);
	return rc;
}
