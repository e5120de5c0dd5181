/*
 * memdns.h - an in-memory DNS backend for unit tests (header-only).
 *
 * A table of { name, type, data } rows served through struct
 * resolver_backend, so the planner and the SPF engine run their real code
 * against known data. A name with no row at all is NXDOMAIN; a name with
 * rows but none of the asked type is NODATA; data "TIMEOUT" makes every
 * query for the name a temporary failure. It counts the queries it serves.
 */
#ifndef TESTS_MEMDNS_H
#define TESTS_MEMDNS_H

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "provision/record.h"
#include "provision/resolver.h"
#include "provision/util.h"

struct memdns_row {
	const char *name; /* FQDN with or without dot */
	uint16_t type;    /* RR_*, or 0 with data "TIMEOUT" */
	const char *data; /* TXT text, "10 host." for MX, address, target */
};

struct memdns {
	const struct memdns_row *rows;
	unsigned long served;
};

static int memdns_query(void *ctx, const char *name, uint16_t type,
			struct dns_answer *ans)
{
	struct memdns *m = ctx;
	int exists = 0;
	m->served++;
	memset(ans, 0, sizeof *ans);
	for (const struct memdns_row *r = m->rows; r->name; r++) {
		if (!dname_equal(r->name, name))
			continue;
		exists = 1;
		if (r->type == 0 && strcmp(r->data, "TIMEOUT") == 0) {
			dns_answer_release(ans);
			ans->status = DNS_TEMPFAIL;
			strcpy(ans->why, "timeout (memdns)");
			return 0;
		}
		if (r->type != type)
			continue;
		struct dns_rr rr = { 0 };
		rr.type = type;
		rr.ttl = 300;
		const char *text = r->data;
		if (type == RR_MX) {
			rr.pref = (uint16_t)strtoul(r->data, NULL, 10);
			text = strchr(r->data, ' ') + 1;
		}
		if (type == RR_A)
			inet_pton(AF_INET, text, rr.addr);
		if (type == RR_AAAA)
			inet_pton(AF_INET6, text, rr.addr);
		char *owned = (type == RR_TXT || type == RR_A || type == RR_AAAA) ?
			strdup(text) : dname_fqdn(text);
		rr.text = owned;
		rr.text_len = strlen(owned);
		rr.nstrings = 1;
		if (dns_answer_add(ans, &rr) < 0) {
			free(owned);
			return -1;
		}
		free(owned);
	}
	ans->status = exists ? DNS_OK : DNS_NXDOMAIN;
	return 0;
}

static const struct resolver_backend memdns_backend = {
	"memdns", memdns_query, NULL,
};

/* A resolver over rows; m must outlive it. */
static inline struct resolver *memdns_resolver(struct memdns *m,
					       const struct memdns_row *rows)
{
	m->rows = rows;
	m->served = 0;
	return resolver_new(&memdns_backend, m);
}

/* The mailgun.org tree of email-auth-rules.md §5.2: 5 lookups. */
#define MEMDNS_MAILGUN_ROWS \
	{ "mailgun.org", RR_TXT, "v=spf1 include:_spf.mailgun.org include:_spf.eu.mailgun.org -all" }, \
	{ "_spf.mailgun.org", RR_TXT, "v=spf1 include:_spf1.mailgun.org include:_spf2.mailgun.org ~all" }, \
	{ "_spf1.mailgun.org", RR_TXT, "v=spf1 ip4:198.61.254.0/23 ip4:209.61.151.0/24 ~all" }, \
	{ "_spf2.mailgun.org", RR_TXT, "v=spf1 ip4:69.72.32.0/20 ip4:159.135.224.0/20 ~all" }, \
	{ "_spf.eu.mailgun.org", RR_TXT, "v=spf1 ip4:141.193.32.0/23 ip4:159.135.140.80/29 ~all" }

#endif
