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
struct zentry {
	uint16_t type;  /* RR_*, 99 for SPF, 0 for TIMEOUT */
	int none;       /* "TXT: NONE" */
	char *text;
	size_t len, nstrings;
	uint16_t pref;
};

struct zname {
	char *name;
	struct zentry *e;
	size_t n;
	int own_txt;
};

struct zone {
	struct zname *v;
	size_t n;
};

#define RR_SPF 99

/* A JSON string back to bytes: code points up to U+00FF are one byte each,
 * U+2400 is NUL (see yaml2json.py). */
static char *to_bytes(const char *s, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = malloc(strlen(s) + 1);
	size_t n = 0;
	if (!out)
		return NULL;
	while (*p) {
		unsigned cp = *p;
		if (p[0] >= 0xc2 && p[0] <= 0xc3 && (p[1] & 0xc0) == 0x80) {
			cp = ((p[0] & 0x1fu) << 6) | (p[1] & 0x3fu);
			p += 2;
		} else if (p[0] == 0xe2 && p[1] == 0x90 && p[2] == 0x80) {
			cp = 0;
			p += 3;
		} else {
			p++;
		}
		out[n++] = (char)cp;
	}
	out[n] = '\0';
	*len = n;
	return out;
}

static int add_text(struct zentry *e, const cJSON *v)
{
	struct buf b = BUF_INIT;
	size_t len;
	if (cJSON_IsString(v)) {
		e->text = to_bytes(v->valuestring, &e->len);
		e->nstrings = 1;
		return e->text ? 0 : -1;
	}
	const cJSON *s;
	buf_puts(&b, "");
	cJSON_ArrayForEach(s, v) {
		char *piece = cJSON_IsString(s) ? to_bytes(s->valuestring, &len)
						: NULL;
		if (!piece)
			return buf_release(&b), -1;
		buf_add(&b, piece, len);
		free(piece);
		e->nstrings++;
	}
	e->len = b.len;
	e->text = buf_detach(&b);
	return e->text ? 0 : -1;
}

static int add_entry(struct zname *zn, const cJSON *item)
{
	struct zentry *v = realloc(zn->e, (zn->n + 1) * sizeof *v);
	if (!v)
		return -1;
	zn->e = v;
	struct zentry *e = &v[zn->n++];
	memset(e, 0, sizeof *e);
	if (cJSON_IsString(item))
		return strcmp(item->valuestring, "TIMEOUT") == 0 ? 0 : -1;
	const cJSON *val = item->child;
	if (!val || !val->string)
		return -1;
	const char *type = val->string;
	e->type = strcmp(type, "SPF") == 0 ? RR_SPF : rr_type_from_name(type);
	if (e->type == RR_TXT)
		zn->own_txt = 1;
	if (e->type == RR_TXT && cJSON_IsString(val) &&
	    strcmp(val->valuestring, "NONE") == 0)
		return e->none = 1, 0;
	if (e->type == RR_TXT || e->type == RR_SPF)
		return add_text(e, val);
	if (e->type == RR_MX) {
		const cJSON *pref = cJSON_GetArrayItem(val, 0);
		val = cJSON_GetArrayItem(val, 1);
		if (!cJSON_IsString(pref) || !cJSON_IsString(val))
			return -1;
		e->pref = (uint16_t)atoi(pref->valuestring);
	}
	if (!cJSON_IsString(val) || !e->type)
		return -1;
	e->text = strdup(val->valuestring);
	e->len = e->text ? strlen(e->text) : 0;
	return e->text ? 0 : -1;
}

static void zone_free(void *ctx)
{
	struct zone *z = ctx;
	if (!z)
		return;
	for (size_t i = 0; i < z->n; i++) {
		for (size_t k = 0; k < z->v[i].n; k++)
			free(z->v[i].e[k].text);
		free(z->v[i].e);
		free(z->v[i].name);
	}
	free(z->v);
	free(z);
}

static struct zone *zone_load(const cJSON *zonedata)
{
	struct zone *z = calloc(1, sizeof *z);
	const cJSON *name, *item;
	if (!z)
		return NULL;
	cJSON_ArrayForEach(name, zonedata) {
		struct zname *v = realloc(z->v, (z->n + 1) * sizeof *v);
		if (!v)
			goto fail;
		z->v = v;
		struct zname *zn = &v[z->n++];
		memset(zn, 0, sizeof *zn);
		if (!(zn->name = strdup(name->string)))
			goto fail;
		cJSON_ArrayForEach(item, name)
			if (add_entry(zn, item) < 0) {
				fprintf(stderr, "bad zonedata at %s\n", zn->name);
				goto fail;
			}
	}
	return z;
fail:
	zone_free(z);
	return NULL;
}

static const struct zname *zone_find(const struct zone *z, const char *name)
{
	for (size_t i = 0; i < z->n; i++)
		if (dname_equal(z->v[i].name, name))
			return &z->v[i];
	return NULL;
}

static int entry_is(const struct zname *zn, const struct zentry *e,
		    uint16_t type)
{
	if (type == RR_TXT)
		return (e->type == RR_TXT && !e->none) ||
		       (e->type == RR_SPF && !zn->own_txt);
	return e->type == type;
}

static int make_rr(const struct zentry *e, uint16_t type, struct dns_answer *ans)
{
	struct dns_rr rr;
	char tmp[INET6_ADDRSTRLEN];
	char *fq = NULL;
	memset(&rr, 0, sizeof rr);
	rr.type = type;
	rr.ttl = 300;
	rr.text = e->text;
	rr.text_len = e->len;
	rr.nstrings = e->nstrings;
	rr.pref = e->pref;
	if (type == RR_A || type == RR_AAAA) {
		int af = type == RR_A ? AF_INET : AF_INET6;
		if (inet_pton(af, e->text, rr.addr) != 1 ||
		    !inet_ntop(af, rr.addr, tmp, sizeof tmp))
			return 0; /* not an address: leave it out */
		rr.text = tmp;
		rr.text_len = strlen(tmp);
	} else if (type != RR_TXT) {
		if (!(fq = dname_fqdn(e->text)))
			return -1;
		rr.text = fq;
		rr.text_len = strlen(fq);
	}
	int rc = dns_answer_add(ans, &rr);
	free(fq);
	return rc;
}

static int answer(const struct zone *z, const char *name, uint16_t type,
		  struct dns_answer *ans, int follow)
{
	const struct zname *zn = zone_find(z, name);
	memset(ans, 0, sizeof *ans);
	if (!zn)
		return ans->status = DNS_NXDOMAIN, 0;
	const char *cname = NULL;
	for (size_t i = 0; i < zn->n; i++) {
		const struct zentry *e = &zn->e[i];
		if (e->type == 0 && ans->n == 0) {
			dns_answer_release(ans);
			ans->status = DNS_TEMPFAIL;
			snprintf(ans->why, sizeof ans->why, "timeout for %s", name);
			return 0;
		}
		if (e->type == RR_CNAME)
			cname = e->text;
		if (e->type && entry_is(zn, e, type) && make_rr(e, type, ans) < 0)
			return -1;
	}
	if (ans->n == 0 && cname && type != RR_CNAME && follow)
		return answer(z, cname, type, ans, 0);
	return 0;
}

static int zone_query(void *ctx, const char *name, uint16_t type,
		      struct dns_answer *ans)
{
	return answer(ctx, name, type, ans, 1);
}

/* free is NULL: a zone outlives the resolvers made over it. */
static const struct resolver_backend zone_backend = {
	.name = "bench", .query = zone_query, .free = NULL,
};

struct job {
	struct zone *zone;
	struct resolver *shared; /* one cache per scenario */
	struct spf_request req;  /* a check_host() test */
	char *sender;
	const char *domain, *record; /* an spf_cost() job (borrowed) */
};

struct bench {
	struct job *checks, *costs;
	size_t nchecks, ncosts;
	struct zone **zones;
	struct resolver **shared;
	size_t nzones;
};

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

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
static int add_costs(struct bench *b, struct zone *z, struct resolver *r)
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
	struct zone *z = zone_load(cJSON_GetObjectItemCaseSensitive(sc, "zonedata"));
	struct resolver *r = z ? resolver_new(&zone_backend, z) : NULL;
	struct zone **zv = realloc(b->zones, (b->nzones + 1) * sizeof *zv);
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
	struct resolver *r = fresh ? resolver_new(&zone_backend, j->zone)
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

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;
	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b);
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
