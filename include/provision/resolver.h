/*
 * resolver.h - the DNS questions the planner and the SPF engine ask.
 *
 * A resolver is a backend (real DNS through ldns, or in-memory data for the
 * conformance suite and unit tests) behind one cache per run: the same
 * question is sent once however many domains ask it. The planner does no
 * I/O of its own, only through this interface. A resolver may be used by
 * several threads at once (so a backend's query must allow that).
 */
#ifndef PROVISION_RESOLVER_H
#define PROVISION_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "provision/error.h"

enum dns_status {
	DNS_OK = 0,       /* NOERROR; n may be 0 (NODATA) */
	DNS_NXDOMAIN = 1, /* the name does not exist */
	DNS_TEMPFAIL = 2, /* SERVFAIL, other RCODEs, timeout, no answer */
};

/* One answer record, already decoded. */
struct dns_rr {
	uint16_t type;     /* RR_* of record.h */
	char *text;        /* TXT: logical text (strings joined), may hold
			    * any byte but NUL; MX/PTR/CNAME/NS: target FQDN,
			    * lower case with trailing dot; A/AAAA: address in
			    * presentation form */
	size_t text_len;   /* length of text (TXT may be binary) */
	size_t nstrings;   /* TXT: number of character-strings */
	uint16_t pref;     /* MX preference */
	unsigned char addr[16]; /* A: 4 bytes, AAAA: 16 bytes */
	uint32_t ttl;
};

struct dns_answer {
	enum dns_status status;
	size_t n;
	struct dns_rr *rr; /* records of the queried type only (CNAMEs that
			    * led to them are followed and left out) */
	char why[256];     /* for DNS_TEMPFAIL: "timeout from 127.0.0.1:53" */
};

/* A backend answers one question; returns 0 with ans filled (status says
 * NXDOMAIN/TEMPFAIL), or -1 only on memory failure. */
struct resolver_backend {
	const char *name;
	int (*query)(void *ctx, const char *name, uint16_t type,
		     struct dns_answer *ans);
	void (*free)(void *ctx);
};

struct resolver;

/* A resolver over a backend; takes ownership of ctx (freed with
 * backend->free). NULL on no memory. */
struct resolver *resolver_new(const struct resolver_backend *backend,
			      void *ctx);
/* Real DNS through ldns. server is "HOST", "HOST:PORT", "[v6]:PORT" or NULL
 * for the system's resolvers (/etc/resolv.conf). timeout_ms per query, with
 * one retry. Returns NULL and fills err when the server cannot be used. */
struct resolver *resolver_new_dns(const char *server, int timeout_ms,
				  int recursion, struct prov_error *err);
void resolver_free(struct resolver *r);

/* Ask (name, type). name is any case, with or without trailing dot. The
 * answer is borrowed from the cache: valid until resolver_free(); do not
 * free it. Never NULL (a memory failure gives a DNS_TEMPFAIL answer). */
const struct dns_answer *resolver_query(struct resolver *r, const char *name,
					uint16_t type);

struct resolver_stats {
	unsigned long questions; /* resolver_query() calls */
	unsigned long sent;      /* questions that reached the backend */
};
void resolver_get_stats(struct resolver *r, struct resolver_stats *st);
/* What the calling thread asked so far, over every resolver: the cost of
 * one domain when a thread works on one domain at a time. */
void resolver_thread_stats(struct resolver_stats *st);

/* Helpers for backends and tests. */
void dns_answer_release(struct dns_answer *ans);
int dns_answer_add(struct dns_answer *ans, const struct dns_rr *rr);

#endif
