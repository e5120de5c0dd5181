/*
 * dmarc_report.c - one DMARC aggregate report from XML, with libxml2.
 *
 * RFC 7489 Appendix C (no namespace, or the draft-era form without
 * <version>), and the DMARCbis aggregate format
 * (urn:ietf:params:xml:ns:dmarc-2.0: np, testing, discovery_method, no
 * pct). Elements are found by local name, so either schema reads the same.
 * The parse never reaches the network, never substitutes entities and is
 * refused on the first error libxml2 reports (not well-formed, invalid
 * UTF-8). What makes no sense as a report is refused too: no
 * policy_published/domain, a date range that does not parse, ends before it
 * begins or lies in the future, a count that is negative or absurd, a
 * source that is not an IP address.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "dmarc_report.h"

#define DR_NS_BIS "urn:ietf:params:xml:ns:dmarc-2.0"
#define DR_FUTURE_SLACK 86400 /* a day of clock skew between receivers */

static int fail(char *why, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -1;
}

static int is_el(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* The first child element called name, or NULL. */
static const xmlNode *child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (is_el(c, name))
			return c;
	return NULL;
}

/* The element's text, trimmed (caller frees); NULL when n is NULL or the
 * text is empty. */
static char *text(const xmlNode *n)
{
	xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
	if (!t)
		return NULL;
	const char *s = (const char *)t;
	while (*s && isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	char *out = len ? strndup(s, len) : NULL;
	xmlFree(t);
	return out;
}

static char *path_text(const xmlNode *n, const char *a, const char *b)
{
	return text(child(child(n, a), b));
}

/* A whole number in [min, max] from the element's text; -1 when absent or
 * not one (then *bad is set). */
static long long number(const xmlNode *n, long long min, long long max, int *bad)
{
	char *t = text(n), *end = NULL;
	errno = 0;
	long long v = t ? strtoll(t, &end, 10) : -1;
	int ok = t && end != t && *end == '\0' && errno == 0 && v >= min && v <= max;
	free(t);
	if (!ok)
		*bad = 1;
	return ok ? v : -1;
}

static void auth_release(struct dr_auth *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].domain);
		free(a[i].selector);
		free(a[i].scope);
		free(a[i].result);
	}
	free(a);
}

void dr_release(struct dr_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrecs; i++) {
		struct dr_record *x = &r->recs[i];
		free(x->source_ip);
		free(x->disposition);
		free(x->dkim);
		free(x->spf);
		free(x->header_from);
		free(x->envelope_from);
		auth_release(x->dkims, x->ndkims);
		auth_release(x->spfs, x->nspfs);
	}
	free(r->recs);
	free(r->org);
	free(r->email);
	free(r->report_id);
	free(r->domain);
	free(r->adkim);
	free(r->aspf);
	free(r->p);
	free(r->sp);
	free(r->np);
	free(r->pct);
	free(r->testing);
	memset(r, 0, sizeof *r);
}

/* auth_results/dkim or /spf: every one of them. */
static int read_auths(const xmlNode *ar, const char *what, struct dr_auth **out, size_t *n)
{
	for (const xmlNode *c = ar ? ar->children : NULL; c; c = c->next) {
		if (!is_el(c, what))
			continue;
		struct dr_auth *v = realloc(*out, (*n + 1) * sizeof *v);
		if (!v)
			return -1;
		*out = v;
		v[(*n)++] = (struct dr_auth){ text(child(c, "domain")), text(child(c, "selector")),
					      text(child(c, "scope")), text(child(c, "result")) };
	}
	return 0;
}

static int read_record(const xmlNode *rec, size_t idx, struct dr_record *x, char *why,
		       size_t whysz)
{
	const xmlNode *row = child(rec, "row");
	int bad = 0;
	unsigned char addr[16];
	x->source_ip = text(child(row, "source_ip"));
	x->count = number(child(row, "count"), 0, DR_MAX_COUNT, &bad);
	if (bad) {
		char *t = text(child(row, "count"));
		fail(why, whysz, "record %zu: count '%s' is not a number of messages (0 to %lld)",
		     idx + 1, t ? t : "", DR_MAX_COUNT);
		free(t);
		return -1;
	}
	if (!x->source_ip || (inet_pton(AF_INET, x->source_ip, addr) != 1 &&
			      inet_pton(AF_INET6, x->source_ip, addr) != 1))
		return fail(why, whysz, "record %zu: source_ip '%s' is not an IP address", idx + 1,
			    x->source_ip ? x->source_ip : "");
	const xmlNode *pe = child(row, "policy_evaluated");
	x->disposition = text(child(pe, "disposition"));
	x->dkim = text(child(pe, "dkim"));
	x->spf = text(child(pe, "spf"));
	x->header_from = path_text(rec, "identifiers", "header_from");
	x->envelope_from = path_text(rec, "identifiers", "envelope_from");
	const xmlNode *ar = child(rec, "auth_results");
	if (read_auths(ar, "dkim", &x->dkims, &x->ndkims) < 0 ||
	    read_auths(ar, "spf", &x->spfs, &x->nspfs) < 0)
		return fail(why, whysz, "out of memory");
	return 0;
}

static void day(long long t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm))
		strftime(buf, n, "%Y-%m-%d %H:%M UTC", &tm);
	else
		snprintf(buf, n, "%lld", t);
}

static int read_feedback(const xmlNode *root, long long now, struct dr_report *r, char *why,
			 size_t whysz)
{
	if (!is_el(root, "feedback"))
		return fail(why, whysz, "not a DMARC aggregate report: the root element is <%s>, "
			    "not <feedback>", root ? (const char *)root->name : "");
	r->bis = root->ns && root->ns->href && strcmp((const char *)root->ns->href, DR_NS_BIS) == 0;
	const xmlNode *meta = child(root, "report_metadata"), *pol = child(root, "policy_published");
	if (!meta || !pol)
		return fail(why, whysz, "not a DMARC aggregate report: no <%s>",
			    meta ? "policy_published" : "report_metadata");
	r->org = text(child(meta, "org_name"));
	r->email = text(child(meta, "email"));
	r->report_id = text(child(meta, "report_id"));
	const xmlNode *dr = child(meta, "date_range");
	int bad = 0;
	r->begin = number(child(dr, "begin"), 0, 253402300799LL, &bad);
	r->end = number(child(dr, "end"), 0, 253402300799LL, &bad);
	if (bad)
		return fail(why, whysz, "the date range (report_metadata/date_range begin and end) "
			    "is not two times in seconds since 1970");
	char b1[40], b2[40];
	if (r->end < r->begin) {
		day(r->begin, b1, sizeof b1), day(r->end, b2, sizeof b2);
		return fail(why, whysz, "the date range ends (%s) before it begins (%s)", b2, b1);
	}
	if (r->end > now + DR_FUTURE_SLACK) {
		day(r->end, b2, sizeof b2);
		return fail(why, whysz, "the date range ends in the future (%s)", b2);
	}
	r->domain = text(child(pol, "domain"));
	if (!r->domain)
		return fail(why, whysz, "not a DMARC aggregate report: no policy_published/domain");
	for (char *p = r->domain; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	r->adkim = text(child(pol, "adkim"));
	r->aspf = text(child(pol, "aspf"));
	r->p = text(child(pol, "p"));
	r->sp = text(child(pol, "sp"));
	r->np = text(child(pol, "np"));
	r->pct = text(child(pol, "pct"));
	r->testing = text(child(pol, "testing"));
	size_t n = 0;
	for (const xmlNode *c = root->children; c; c = c->next)
		n += is_el(c, "record");
	r->recs = n ? calloc(n, sizeof *r->recs) : NULL;
	if (n && !r->recs)
		return fail(why, whysz, "out of memory");
	for (const xmlNode *c = root->children; c; c = c->next) {
		if (!is_el(c, "record"))
			continue;
		struct dr_record *x = &r->recs[r->nrecs];
		if (read_record(c, r->nrecs++, x, why, whysz) < 0)
			return -1;
	}
	return 0;
}

/* The first error libxml2 reports (the later ones follow from it). */
struct first_error {
	int set, line;
	char msg[200];
};

static void on_xml_error(void *arg, xmlErrorPtr e)
{
	struct first_error *f = arg;
	if (f->set || !e || e->level < XML_ERR_ERROR)
		return;
	f->set = 1;
	f->line = e->line;
	snprintf(f->msg, sizeof f->msg, "%s", e->message ? e->message : "?");
	f->msg[strcspn(f->msg, "\n")] = '\0';
}

int dr_parse(const char *data, size_t len, long long now, struct dr_report *out,
	     char *why, size_t whysz)
{
	memset(out, 0, sizeof *out);
	if (len > (size_t)2147483647)
		return fail(why, whysz, "too large to be a report");
	struct first_error fe = { 0 };
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return fail(why, whysz, "out of memory");
	xmlSetStructuredErrorFunc(&fe, on_xml_error);
	xmlDoc *doc = xmlCtxtReadMemory(ctxt, data, (int)len, "report.xml", NULL,
					XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlFreeParserCtxt(ctxt);
	int rc;
	if (!doc || fe.set) {
		rc = fail(why, whysz, "not well-formed XML: line %d: %s", fe.line,
			  fe.set ? fe.msg : "not well-formed XML");
	} else {
		rc = read_feedback(xmlDocGetRootElement(doc), now, out, why, whysz);
	}
	xmlFreeDoc(doc);
	if (rc < 0)
		dr_release(out);
	return rc;
}
