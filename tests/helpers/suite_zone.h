/*
 * suite_zone.h - the RFC 7208 conformance suite's zone data served as DNS
 * (header-only, for the helper programs spf_conformance and bench_spf).
 *
 * zone_load() reads a scenario's "zonedata" (as yaml2json.py writes it) and
 * zone_backend answers from it through struct resolver_backend, following
 * the suite's conventions: SPF entries copied as TXT unless the name has its
 * own TXT, TIMEOUT, one level of CNAME (see shared/conformance/spf/README).
 */
#ifndef TESTS_SUITE_ZONE_H
#define TESTS_SUITE_ZONE_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include "provision/record.h"
#include "provision/resolver.h"
#include "provision/spf.h"
#include "provision/util.h"

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

struct suite_zone {
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
	struct suite_zone *z = ctx;
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

static struct suite_zone *zone_load(const cJSON *zonedata)
{
	struct suite_zone *z = calloc(1, sizeof *z);
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

static const struct zname *zone_find(const struct suite_zone *z, const char *name)
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

static int answer(const struct suite_zone *z, const char *name, uint16_t type,
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

static const struct resolver_backend zone_backend = {
	.name = "conformance", .query = zone_query, .free = zone_free,
};

/* The same, for a zone that outlives the resolvers made over it. */
static const struct resolver_backend zone_backend_borrowed = {
	.name = "conformance", .query = zone_query, .free = NULL,
};

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
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

#endif
