/*
 * dmarc_auth.c - report destinations outside the organisation (RFC 7489
 * §7.1). A rua/ruf URI whose host has another organisational domain (PSL,
 * §3.2) than the policy domain is used by receivers only when
 * <policy domain>._report._dmarc.<host> holds a TXT record starting
 * v=DMARC1; a wildcard *._report._dmarc.<host> answers for every domain,
 * which the server synthesises, so one TXT query says it either way.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"
#include "dmarc_auth.h"
#include "names.h"
#include "provision/buf.h"
#include "provision/record.h"
#include "provision/util.h"

/* The organisational domain of name (lower case, no trailing dot). */
static char *org_domain(const char *name)
{
	char *lower = dname_fqdn(name);
	if (!lower)
		return NULL;
	lower[strlen(lower) - 1] = '\0';
	const psl_ctx_t *ctx = names_psl();
	const char *reg = ctx ? psl_registrable_domain(ctx, lower) : NULL;
	char *out = strdup(reg ? reg : lower);
	free(lower);
	return out;
}

/* The host of a mailto: URI ("mailto:a@b.example!10m" -> "b.example"),
 * lower case, without a trailing dot; NULL when there is none. */
static char *uri_host(const char *uri, size_t n)
{
	if (n < 7 || strncasecmp(uri, "mailto:", 7) != 0)
		return NULL;
	const char *end = memchr(uri, '!', n);
	if (!end)
		end = uri + n;
	const char *at = NULL;
	for (const char *p = uri + 7; p < end; p++)
		if (*p == '@')
			at = p;
	if (at && end > at + 1 && end[-1] == '.')
		end--;
	if (!at || at + 1 >= end)
		return NULL;
	char *host = strndup(at + 1, (size_t)(end - at - 1));
	for (char *p = host; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return host;
}

/* One external host: ask, then tell fn. */
static int dest_one(struct resolver *r, const char *domain, const char *tag,
		    const char *host, dmarc_dest_fn fn, void *ctx)
{
	struct buf q = BUF_INIT;
	if (buf_printf(&q, "%s._report._dmarc.%s", domain, host) < 0)
		return PROV_ERR_NOMEM;
	const struct dns_answer *a = resolver_query(r, buf_str(&q), RR_TXT);
	struct dmarc_dest d = { tag, domain, host, buf_str(&q), DMARC_DEST_MISSING, NULL };
	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++)
		if (dmarc_is_record(a->rr[i].text))
			d.state = DMARC_DEST_AGREED;
	if (a->status == DNS_TEMPFAIL) {
		d.state = DMARC_DEST_UNVERIFIED;
		d.why = a->why;
	}
	int rc = fn(ctx, &d);
	buf_release(&q);
	return rc;
}

static int seen_before(char **seen, const char *host)
{
	for (char **p = seen; p && *p; p++)
		if (strcmp(*p, host) == 0)
			return 1;
	return 0;
}

int dmarc_dests_walk(struct resolver *r, const char *domain, const char *tag,
		     const char *list, dmarc_dest_fn fn, void *ctx)
{
	char *dom = dname_fqdn(domain), *mine = org_domain(domain);
	char **seen = NULL;
	int rc = dom && mine ? 0 : PROV_ERR_NOMEM;
	if (dom)
		dom[strlen(dom) - 1] = '\0';
	for (const char *p = list; rc == 0 && p && *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		char *host = uri_host(p, n), *theirs = host ? org_domain(host) : NULL;
		if (host && !theirs)
			rc = PROV_ERR_NOMEM;
		else if (host && strcmp(mine, theirs) != 0 && !seen_before(seen, host)) {
			if (strv_push(&seen, host) < 0)
				rc = PROV_ERR_NOMEM;
			else
				rc = dest_one(r, dom, tag, host, fn, ctx);
		}
		free(host);
		free(theirs);
		p = comma ? comma + 1 : NULL;
	}
	strv_free(seen);
	free(mine);
	free(dom);
	return rc;
}

const char *dmarc_dest_code(const struct dmarc_dest *d)
{
	int ruf = strcmp(d->tag, "ruf") == 0;
	switch (d->state) {
	case DMARC_DEST_MISSING:
		return ruf ? "dmarc-ruf-unauthorised" : "dmarc-rua-unauthorised";
	case DMARC_DEST_UNVERIFIED:
		return ruf ? "dmarc-ruf-unverified" : "dmarc-rua-unverified";
	default:
		return NULL;
	}
}

char *dmarc_dest_message(const struct dmarc_dest *d)
{
	struct buf b = BUF_INIT;
	const char *what = strcmp(d->tag, "ruf") == 0 ? "failure" : "aggregate";
	switch (d->state) {
	case DMARC_DEST_AGREED:
		buf_printf(&b, "%s: %s accepts reports for %s (%s)", d->tag, d->host,
			   d->domain, d->name);
		break;
	case DMARC_DEST_MISSING:
		buf_printf(&b, "%s: %s is in another organisation and has not authorised "
			   "reports for %s (no \"v=DMARC1\" TXT at %s, RFC 7489 §7.1), so no "
			   "%s reports will arrive: its owner must publish %s. IN TXT "
			   "\"v=DMARC1\" (or *._report._dmarc.%s. for every domain)",
			   d->tag, d->host, d->domain, d->name, what, d->name, d->host);
		break;
	case DMARC_DEST_UNVERIFIED:
		buf_printf(&b, "%s: could not verify that %s accepts reports for %s "
			   "(TXT at %s): %s", d->tag, d->host, d->domain, d->name, d->why);
		break;
	}
	return buf_detach(&b);
}
