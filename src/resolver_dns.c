/*
 * resolver_dns.c - the real-DNS backend of resolver.h, through ldns.
 *
 * One question per call, to a chosen server ("HOST", "HOST:PORT",
 * "[v6]:PORT", bare v6) or the system's resolvers: UDP with EDNS0 (1232
 * bytes), one retry, TCP when the reply is truncated (RFC 7766 §5; ldns's
 * fallback). Replies are decoded through ldns accessors only. A CNAME chain
 * in the answer is followed from the query name (RFC 1034 §3.6.2); when an
 * authoritative server stops at an out-of-zone target, the target is asked
 * again. A TXT record's character-strings are joined (RFC 7208 §3.3).
 *
 * An ldns_resolver is not for two threads at once: each question takes a
 * copy of the configured one from a free list (made when none is free), so
 * as many questions fly as threads ask.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "provision/buf.h"
#include "provision/record.h"
#include "provision/resolver.h"

#define DNS_EDNS_SIZE 1232  /* DNS flag day 2020 */
#define DNS_MAX_QUERIES 8   /* per question, when chasing CNAME targets */
#define DNS_MAX_CHAIN 16    /* CNAME hops followed inside one reply */

struct dns_ctx {
	ldns_resolver *res;   /* as configured; only copied once set up */
	ldns_resolver **spare; /* copies not in use */
	size_t nspare, cap;
	pthread_mutex_t lock;
	int recursion;
	char label[200]; /* "127.0.0.1:5353" or "a, b" for several servers */
};

/* ---- server string ---------------------------------------------------- */

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -1;
	v = strtol(s, &end, 10);
	if (*end || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Split server into host (caller frees) and port (53 when absent). */
static int split_server(const char *server, char **host, uint16_t *port,
			struct prov_error *err)
{
	const char *colon = strchr(server, ':');
	const char *h = server, *ps = NULL;
	size_t hlen = strlen(server);

	*port = LDNS_PORT;
	if (server[0] == '[') {
		const char *close = strchr(server, ']');
		if (!close || (close[1] && close[1] != ':'))
			return prov_errorf(err, PROV_ERR_CONFIG,
					   "resolver '%s': expected [IPv6]:PORT",
					   server);
		h = server + 1;
		hlen = (size_t)(close - h);
		ps = close[1] ? close + 2 : NULL;
	} else if (colon && !strchr(colon + 1, ':')) {
		hlen = (size_t)(colon - server);
		ps = colon + 1;
	}
	if (hlen == 0)
		return prov_errorf(err, PROV_ERR_CONFIG,
				   "resolver '%s': no host", server);
	if (ps && parse_port(ps, port) < 0)
		return prov_errorf(err, PROV_ERR_CONFIG,
				   "resolver '%s': bad port '%s'", server, ps);
	*host = strndup(h, hlen);
	return *host ? 0 : prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
}

static void label_add(struct dns_ctx *c, const struct sockaddr *sa,
		      uint16_t port)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	size_t used = strlen(c->label);
	const void *a = sa->sa_family == AF_INET6 ?
		(const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
		(const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	inet_ntop(sa->sa_family, a, ip, sizeof ip);
	snprintf(c->label + used, sizeof c->label - used,
		 sa->sa_family == AF_INET6 ? "%s[%s]:%u" : "%s%s:%u",
		 used ? ", " : "", ip, port);
}

/* Resolve host (normally an address literal) and push every address. */
static int push_host(struct dns_ctx *c, const char *server, const char *host,
		     uint16_t port, struct prov_error *err)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	int rc = 0, e;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	e = getaddrinfo(host, NULL, &hints, &ai);
	if (e)
		return prov_errorf(err, PROV_ERR_CONFIG,
				   "resolver '%s': cannot resolve '%s': %s",
				   server, host, gai_strerror(e));
	for (struct addrinfo *p = ai; p; p = p->ai_next) {
		struct sockaddr_storage ss = { 0 };
		ldns_rdf *rdf;

		if (p->ai_family != AF_INET && p->ai_family != AF_INET6)
			continue;
		memcpy(&ss, p->ai_addr, p->ai_addrlen);
		rdf = ldns_sockaddr_storage2rdf(&ss, NULL);
		if (!rdf || ldns_resolver_push_nameserver(c->res, rdf)) {
			ldns_rdf_deep_free(rdf);
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			goto out;
		}
		ldns_rdf_deep_free(rdf);
		label_add(c, p->ai_addr, port);
	}
	if (ldns_resolver_nameserver_count(c->res) == 0)
		rc = prov_errorf(err, PROV_ERR_CONFIG,
				 "resolver '%s': no IPv4 or IPv6 address",
				 server);
out:
	freeaddrinfo(ai);
	return rc;
}

static int setup_server(struct dns_ctx *c, const char *server,
			struct prov_error *err)
{
	char *host = NULL;
	uint16_t port;
	int rc = split_server(server, &host, &port, err);

	if (rc)
		return rc;
	c->res = ldns_resolver_new();
	if (!c->res) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		goto out;
	}
	ldns_resolver_set_port(c->res, port);
	rc = push_host(c, server, host, port, err);
out:
	free(host);
	return rc;
}

static int setup_system(struct dns_ctx *c, struct prov_error *err)
{
	ldns_status s = ldns_resolver_new_frm_file(&c->res, NULL);
	size_t n;

	if (s != LDNS_STATUS_OK)
		return prov_errorf(err, PROV_ERR_CONFIG,
				   "resolver: cannot use %s: %s",
				   LDNS_RESOLV_CONF, ldns_get_errorstr_by_id(s));
	n = ldns_resolver_nameserver_count(c->res);
	if (n == 0)
		return prov_errorf(err, PROV_ERR_CONFIG,
				   "resolver: no nameserver in %s",
				   LDNS_RESOLV_CONF);
	for (size_t i = 0; i < n; i++) {
		ldns_rdf *ns = ldns_resolver_nameservers(c->res)[i];
		struct sockaddr_storage *ss = ldns_rdf2native_sockaddr_storage(
			ns, ldns_resolver_port(c->res), &(size_t){ 0 });
		if (!ss)
			continue;
		label_add(c, (struct sockaddr *)ss,
			  ldns_resolver_port(c->res));
		LDNS_FREE(ss);
	}
	return 0;
}

/* ---- decoding ---------------------------------------------------------- */

/* Presentation text of an rdf, lower-cased when it is a domain name. */
static char *rdf_text(const ldns_rdf *rdf)
{
	char *s = ldns_rdf2str(rdf);

	if (s && ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME)
		for (char *p = s; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return s;
}

/* TXT: each rdf is one length-prefixed character-string. */
static int decode_txt(const ldns_rr *rr, struct buf *b, struct dns_rr *out)
{
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		const uint8_t *d = ldns_rdf_data(f);
		size_t sz = ldns_rdf_size(f);

		if (sz == 0 || (size_t)d[0] + 1 > sz)
			continue; /* ldns already refused malformed ones */
		if (buf_add(b, d + 1, d[0]) < 0)
			return -1;
		out->nstrings++;
	}
	return 0;
}

static int decode_addr(const ldns_rr *rr, struct buf *b, struct dns_rr *out)
{
	const ldns_rdf *f = ldns_rr_rdf(rr, 0);
	size_t len = out->type == RR_A ? 4 : 16;
	char ip[INET6_ADDRSTRLEN];

	if (!f || ldns_rdf_size(f) != len)
		return 1;
	memcpy(out->addr, ldns_rdf_data(f), len);
	if (!inet_ntop(len == 4 ? AF_INET : AF_INET6, out->addr, ip, sizeof ip))
		return 1;
	return buf_puts(b, ip);
}

/* Every other type: the rdfs' presentation joined by spaces (MX: the
 * exchange only, its preference going to pref). */
static int decode_generic(const ldns_rr *rr, struct buf *b,
			  struct dns_rr *out)
{
	size_t i = 0;

	if (out->type == RR_MX) {
		if (ldns_rr_rd_count(rr) != 2)
			return 1;
		out->pref = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
		i = 1;
	}
	for (size_t first = i; i < ldns_rr_rd_count(rr); i++) {
		char *s = rdf_text(ldns_rr_rdf(rr, i));
		int rc = s ? 0 : -1;

		if (!rc && i > first)
			rc = buf_putc(b, ' ');
		if (!rc)
			rc = buf_puts(b, s);
		free(s);
		if (rc)
			return -1;
	}
	return 0;
}

/* Add one record of the asked type to ans: 0, -1 on no memory (a record
 * ldns could not make sense of is skipped). */
static int add_rr(struct dns_answer *ans, const ldns_rr *rr)
{
	struct dns_rr out = { 0 };
	struct buf b = BUF_INIT;
	int rc;

	out.type = (uint16_t)ldns_rr_get_type(rr);
	out.ttl = ldns_rr_ttl(rr);
	if (out.type == RR_TXT)
		rc = decode_txt(rr, &b, &out);
	else if (out.type == RR_A || out.type == RR_AAAA)
		rc = decode_addr(rr, &b, &out);
	else
		rc = decode_generic(rr, &b, &out);
	if (rc == 0 && buf_putc(&b, '\0') == 0) {
		out.text = b.data;
		out.text_len = b.len - 1;
		rc = dns_answer_add(ans, &out);
	}
	buf_release(&b);
	return rc < 0 ? -1 : 0;
}

/* Follow the CNAME chain of the answer section from *name, adding the
 * records of type found at its end. *name is left at the end of the chain
 * (owned by the caller; replaced with a clone when moved). 0, 1 when the
 * chain does not end (a loop), -1 on no memory. */
static int collect(struct dns_answer *ans, const ldns_pkt *pkt,
		   ldns_rdf **name, uint16_t type)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t n = ldns_rr_list_rr_count(an);

	for (int hop = 0; hop < DNS_MAX_CHAIN; hop++) {
		const ldns_rdf *next = NULL;
		for (size_t i = 0; i < n; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(an, i);
			if (ldns_dname_compare(ldns_rr_owner(rr), *name))
				continue;
			if (ldns_rr_get_type(rr) == type) {
				if (add_rr(ans, rr) < 0)
					return -1;
			} else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
				   ldns_rr_rd_count(rr) == 1) {
				next = ldns_rr_rdf(rr, 0);
			}
		}
		if (ans->n || !next || type == RR_CNAME)
			return 0;
		ldns_rdf *copy = ldns_rdf_clone(next);
		if (!copy)
			return -1;
		ldns_rdf_deep_free(*name);
		*name = copy;
	}
	return 1;
}

static int has_soa(const ldns_pkt *pkt)
{
	const ldns_rr_list *au = ldns_pkt_authority(pkt);

	for (size_t i = 0; i < ldns_rr_list_rr_count(au); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(au, i)) ==
		    LDNS_RR_TYPE_SOA)
			return 1;
	return 0;
}

/* ---- the question ------------------------------------------------------ */

static void tempfail(struct dns_answer *ans, const struct dns_ctx *c,
		     const char *what, const char *detail)
{
	dns_answer_release(ans);
	ans->status = DNS_TEMPFAIL;
	snprintf(ans->why, sizeof ans->why, "%s from %s%s%s%s", what,
		 c->label, detail ? " (" : "", detail ? detail : "",
		 detail ? ")" : "");
}

/* Send one query; NULL with ans set to TEMPFAIL when there is no reply. */
static ldns_pkt *send_one(struct dns_ctx *c, ldns_resolver *res,
			  const ldns_rdf *name, uint16_t type,
			  struct dns_answer *ans)
{
	ldns_pkt *q = NULL, *r = NULL;
	ldns_status s;

	/* A server that timed out once stays usable for the next question. */
	for (size_t i = 0; i < ldns_resolver_nameserver_count(res); i++)
		ldns_resolver_set_nameserver_rtt(res, i, LDNS_RESOLV_RTT_MIN);
	s = ldns_resolver_prepare_query_pkt(&q, res, name, type,
					    LDNS_RR_CLASS_IN,
					    c->recursion ? LDNS_RD : 0);
	if (s == LDNS_STATUS_OK)
		s = ldns_resolver_send_pkt(&r, res, q);
	if (s != LDNS_STATUS_OK || !r)
		tempfail(ans, c, "no answer",
			 s == LDNS_STATUS_NETWORK_ERR || s == LDNS_STATUS_OK ?
			 "timeout" : ldns_get_errorstr_by_id(s));
	else if (ldns_pkt_id(r) != ldns_pkt_id(q) || !ldns_pkt_qr(r))
		tempfail(ans, c, "mismatched reply", NULL);
	if (ans->status == DNS_TEMPFAIL) {
		ldns_pkt_free(r);
		r = NULL;
	}
	ldns_pkt_free(q);
	return r;
}

/* Judge one reply: 1 when the chain must be chased with a new query. */
static int judge(struct dns_ctx *c, const ldns_pkt *pkt, ldns_rdf **name,
		 uint16_t type, struct dns_answer *ans)
{
	ldns_pkt_rcode rc = ldns_pkt_get_rcode(pkt);
	ldns_rdf *start = ldns_rdf_clone(*name);
	int moved, ret = 0;

	if (!start)
		return -1;
	if (rc == LDNS_RCODE_NXDOMAIN) {
		ans->status = DNS_NXDOMAIN;
	} else if (rc != LDNS_RCODE_NOERROR) {
		const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes,
							       (int)rc);
		tempfail(ans, c, t ? t->name : "bad rcode", NULL);
	} else if ((ret = collect(ans, pkt, name, type)) != 0) {
		if (ret > 0)
			tempfail(ans, c, "a CNAME loop", NULL);
		ret = ret > 0 ? 0 : -1;
	} else {
		ans->status = DNS_OK;
		moved = ldns_dname_compare(start, *name) != 0;
		/* An authoritative server leaves an out-of-zone target to us;
		 * a recursive one shows NODATA with the target zone's SOA. */
		if (ans->n == 0 && moved && !has_soa(pkt))
			ret = 1;
	}
	ldns_rdf_deep_free(start);
	return ret;
}

/* A copy of the configured resolver for one question, or NULL. */
static ldns_resolver *res_take(struct dns_ctx *c)
{
	ldns_resolver *res = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->nspare)
		res = c->spare[--c->nspare];
	else
		res = ldns_resolver_clone(c->res);
	pthread_mutex_unlock(&c->lock);
	return res;
}

static void res_give(struct dns_ctx *c, ldns_resolver *res)
{
	pthread_mutex_lock(&c->lock);
	if (c->nspare == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		ldns_resolver **v = realloc(c->spare, cap * sizeof *v);
		if (v) {
			c->spare = v;
			c->cap = cap;
		}
	}
	if (c->nspare < c->cap) {
		c->spare[c->nspare++] = res;
		res = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (res)
		ldns_resolver_deep_free(res);
}

static int dns_query(void *ctx, const char *name, uint16_t type,
		     struct dns_answer *ans)
{
	struct dns_ctx *c = ctx;
	ldns_rdf *qname = ldns_dname_new_frm_str(name);
	ldns_resolver *res = qname ? res_take(c) : NULL;
	int rc = 0;

	memset(ans, 0, sizeof *ans);
	if (qname && !res) {
		ldns_rdf_deep_free(qname);
		return -1;
	}
	if (!qname) {
		ans->status = DNS_TEMPFAIL;
		snprintf(ans->why, sizeof ans->why, "invalid name '%.200s'",
			 name);
		return 0;
	}
	for (int i = 0; i < DNS_MAX_QUERIES; i++) {
		ldns_pkt *pkt = send_one(c, res, qname, type, ans);
		if (!pkt)
			break;
		rc = judge(c, pkt, &qname, type, ans);
		ldns_pkt_free(pkt);
		if (rc <= 0)
			break;
	}
	if (rc > 0) {
		tempfail(ans, c, "a CNAME chain too long", NULL);
		rc = 0;
	}
	ldns_rdf_deep_free(qname);
	res_give(c, res);
	return rc;
}

static void dns_free(void *ctx)
{
	struct dns_ctx *c = ctx;

	if (!c)
		return;
	for (size_t i = 0; i < c->nspare; i++)
		ldns_resolver_deep_free(c->spare[i]);
	free(c->spare);
	if (c->res)
		ldns_resolver_deep_free(c->res);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const struct resolver_backend dns_backend = {
	.name = "dns",
	.query = dns_query,
	.free = dns_free,
};

struct resolver *resolver_new_dns(const char *server, int timeout_ms,
				  int recursion, struct prov_error *err)
{
	struct dns_ctx *c = calloc(1, sizeof *c);
	struct resolver *r = NULL;
	struct timeval tv;

	if (!c) {
		prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	if (timeout_ms <= 0)
		timeout_ms = 5000;
	if ((server ? setup_server(c, server, err) : setup_system(c, err)))
		goto out;
	c->recursion = recursion;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	ldns_resolver_set_timeout(c->res, tv);
	ldns_resolver_set_retry(c->res, 2);   /* one try and one retry */
	ldns_resolver_set_retrans(c->res, 0); /* no sleep between servers */
	ldns_resolver_set_random(c->res, false);
	ldns_resolver_set_fallback(c->res, true); /* TCP when truncated */
	ldns_resolver_set_recursive(c->res, recursion != 0);
	ldns_resolver_set_dnssec(c->res, false);
	ldns_resolver_set_edns_udp_size(c->res, DNS_EDNS_SIZE);
	ldns_resolver_set_defnames(c->res, false);
	ldns_resolver_set_dnsrch(c->res, false);
	r = resolver_new(&dns_backend, c);
	c = NULL; /* owned by r, or freed by resolver_new() */
	if (!r)
		prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
out:
	dns_free(c);
	return r;
}
