/*
 * check_verdict.c - what every judge of check shares: the names of statuses
 * and records, the owner a record is read at, the notes and problems of a
 * verdict, and a TXT set read through a CNAME. check_judge.c (SPF, DKIM)
 * and check_dmarc.c (DMARC, tracking) build on it; neither calls the other
 * for these.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "names.h"
#include "provision/buf.h"
#include "provision/record.h"
#include "provision/util.h"

const char *check_status_name(enum check_status s)
{
	static const char *const names[] = { "pass", "fail", "missing", "error" };
	return names[s];
}

const char *check_record_name(enum check_record r)
{
	static const char *const names[] = { "spf", "dkim", "dmarc", "tracking" };
	return names[r];
}

char *check_record_owner(const struct domain_config *d, enum check_record r,
			 struct prov_error *err)
{
	struct buf rel = BUF_INIT;
	char *zone = dname_fqdn(d->name), *out = NULL;
	int rc = zone ? 0 : -1;
	if (rc == 0 && r == CHECK_SPF)
		rc = buf_puts(&rel, "@");
	else if (rc == 0 && r == CHECK_DKIM)
		rc = buf_printf(&rel, "%s._domainkey", d->policy.dkim.selector);
	else if (rc == 0 && r == CHECK_DMARC)
		rc = buf_puts(&rel, "_dmarc");
	else if (rc == 0)
		rc = buf_puts(&rel, d->policy.tracking.name);
	if (rc < 0)
		prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	else
		name_resolve(buf_str(&rel), zone, &out, err);
	buf_release(&rel);
	free(zone);
	return out;
}

static int note_vadd(struct check_verdict *v, enum check_note_sev sev,
		     const char *code, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	int rc = buf_vprintf(&b, fmt, ap);
	struct check_note *n = rc == 0 ? realloc(v->notes, (v->nnotes + 1) * sizeof *n) : NULL;
	if (!n) {
		buf_release(&b);
		return -1;
	}
	v->notes = n;
	n[v->nnotes++] = (struct check_note){ sev, buf_detach(&b), code };
	return 0;
}

int check_note_add(struct check_verdict *v, enum check_note_sev sev,
		   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = note_vadd(v, sev, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int check_note_code(struct check_verdict *v, enum check_note_sev sev,
		    const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = note_vadd(v, sev, code, fmt, ap);
	va_end(ap);
	return rc;
}

int check_problem(struct check_verdict *v, enum check_status st,
		   const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return PROV_ERR_NOMEM;
	if (v->status == CHECK_PASS && !v->message) {
		v->status = st;
		v->message = buf_detach(&b);
		return v->message ? 0 : PROV_ERR_NOMEM;
	}
	rc = check_note_add(v, NOTE_WARNING, "%s", buf_str(&b));
	buf_release(&b);
	return rc < 0 ? PROV_ERR_NOMEM : 0;
}

void check_verdict_release(struct check_verdict *v)
{
	if (!v)
		return;
	free(v->value);
	free(v->message);
	for (size_t i = 0; i < v->nnotes; i++)
		free(v->notes[i].message);
	free(v->notes);
	free(v->verdict_ip);
	memset(v, 0, sizeof *v);
}

/* A CNAME at a DKIM selector is allowed (RFC 1034 §3.6.2): an authoritative
 * server gives only the alias when the target is in another zone, and the
 * resolver backend then asks the same server for the target, which fails. */
const struct dns_answer *check_txt_at(const struct check_ctx *c, const char *name,
				      struct check_verdict *v)
{
	const struct dns_answer *a = resolver_query(c->auth, name, RR_TXT);
	if (a->status != DNS_TEMPFAIL)
		return a;
	const struct dns_answer *cn = resolver_query(c->auth, name, RR_CNAME);
	if (cn->status != DNS_OK || cn->n == 0)
		return a;
	check_note_add(v, NOTE_INFO, "%s is a CNAME to %s, read through the resolver",
		       name, cn->rr[0].text);
	return resolver_query(c->rec, cn->rr[0].text, RR_TXT);
}
