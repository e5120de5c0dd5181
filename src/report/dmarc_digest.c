/*
 * dmarc_digest.c - the digest of aggregate reports, and the next policy
 * stage.
 *
 * Alignment is the receivers' own verdict (policy_evaluated dkim/spf: pass
 * means an aligned pass, RFC 7489 §6.6.2). A message fails DMARC when
 * neither passed; its source is then "yours, not aligned" when SPF or DKIM
 * still passed for some other domain (the service sending with its own
 * envelope domain, or signing with its own d=: fixable by configuration),
 * else "not you" (spoofing, or a forwarder).
 *
 * The next stage (none -> quarantine pct 10 -> 50 -> 100 -> reject) is
 * advised only when: reports cover at least min_days distinct days; at
 * least min_aligned percent of the volume passed DMARC; no source of the
 * service itself is failing alignment; and there is volume at all.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dmarc_digest.h"
#include "provision/buf.h"
#include "provision/record.h"
#include "provision/util.h"

static int eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcasecmp(a, b) == 0);
}

static int passed(const char *s)
{
	return s && strcasecmp(s, "pass") == 0;
}

/* "d=example.com s=pic pass, ..." of the record's DKIM results. */
static char *auth_text(const struct dr_auth *a, size_t n, int dkim)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_puts(&b, ", ");
		if (dkim)
			buf_printf(&b, "d=%s%s%s %s", a[i].domain ? a[i].domain : "?",
				   a[i].selector ? " s=" : "", a[i].selector ? a[i].selector : "",
				   a[i].result ? a[i].result : "?");
		else
			buf_printf(&b, "%s %s", a[i].domain ? a[i].domain : "?",
				   a[i].result ? a[i].result : "?");
	}
	return buf_detach(&b);
}

static struct dd_domain *domain_slot(struct dd_digest *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].domain, name) == 0)
			return &d->v[i];
	struct dd_domain *v = realloc(d->v, (d->n + 1) * sizeof *v);
	if (!v)
		return NULL;
	d->v = v;
	memset(&v[d->n], 0, sizeof v[0]);
	v[d->n].domain = strdup(name);
	v[d->n].begin = -1;
	return v[d->n].domain ? &v[d->n++] : NULL;
}

static int has(char **v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static int add_record(struct dd_domain *dd, const struct dr_report *r,
		      const struct dr_record *x)
{
	int dk = passed(x->dkim), sp = passed(x->spf);
	dd->total += x->count;
	dd->dkim_aligned += dk ? x->count : 0;
	dd->spf_aligned += sp ? x->count : 0;
	enum dd_kind kind = DD_PASS;
	if (dk || sp) {
		dd->pass += x->count;
	} else {
		dd->fail += x->count;
		int other = 0;
		for (size_t i = 0; i < x->ndkims; i++)
			other |= passed(x->dkims[i].result);
		for (size_t i = 0; i < x->nspfs; i++)
			other |= passed(x->spfs[i].result);
		kind = other ? DD_YOURS_UNALIGNED : DD_NOT_YOU;
		if (other)
			dd->yours_unaligned += x->count;
	}
	const char *disp = x->disposition ? x->disposition : "";
	if (strcasecmp(disp, "none") == 0 || strcasecmp(disp, "pass") == 0)
		dd->disp_none += x->count;
	else if (strcasecmp(disp, "quarantine") == 0)
		dd->disp_quarantine += x->count;
	else if (strcasecmp(disp, "reject") == 0)
		dd->disp_reject += x->count;
	else
		dd->disp_other += x->count;
	char *dkim = auth_text(x->dkims, x->ndkims, 1), *spf = auth_text(x->spfs, x->nspfs, 0);
	struct dd_source *s = NULL;
	for (size_t i = 0; i < dd->nsrc && !s; i++)
		if (strcmp(dd->src[i].ip, x->source_ip) == 0 &&
		    eq(dd->src[i].header_from, x->header_from) &&
		    eq(dd->src[i].envelope_from, x->envelope_from) &&
		    eq(dd->src[i].dkim, dkim) && eq(dd->src[i].spf, spf) && dd->src[i].kind == kind)
			s = &dd->src[i];
	if (!s) {
		struct dd_source *v = realloc(dd->src, (dd->nsrc + 1) * sizeof *v);
		if (!v) {
			free(dkim);
			free(spf);
			return -1;
		}
		dd->src = v;
		s = &v[dd->nsrc++];
		*s = (struct dd_source){ xstrdup(x->source_ip), NULL, xstrdup(x->header_from),
					 xstrdup(x->envelope_from), dkim, spf, NULL, 0, kind };
		dkim = spf = NULL;
	}
	free(dkim);
	free(spf);
	s->count += x->count;
	const char *org = r->org ? r->org : "(unnamed)";
	if (!has(s->orgs, org))
		strv_push(&s->orgs, org);
	return 0;
}

static int by_volume(const void *a, const void *b)
{
	const struct dd_source *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->ip, y->ip);
}

static int by_domain(const void *a, const void *b)
{
	return strcmp(((const struct dd_domain *)a)->domain, ((const struct dd_domain *)b)->domain);
}

/* Distinct UTC days covered by the reports of domain. */
static size_t days_covered(const struct dr_set *set, const char *domain)
{
	long long *days = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < set->n; i++) {
		if (strcmp(set->v[i].domain, domain) != 0)
			continue;
		long long d0 = set->v[i].begin / 86400, d1 = set->v[i].end / 86400;
		for (long long d = d0; d <= d1 && d - d0 < 400; d++) {
			int seen = 0;
			for (size_t j = 0; j < n && !seen; j++)
				seen = days[j] == d;
			if (seen)
				continue;
			if (n == cap) {
				long long *v = realloc(days, (cap = cap ? cap * 2 : 32) * sizeof *v);
				if (!v)
					break;
				days = v;
			}
			days[n++] = d;
		}
	}
	free(days);
	return n;
}

static void reverse_names(struct dd_domain *dd, struct resolver *r)
{
	for (size_t i = 0; i < dd->nsrc; i++) {
		unsigned char a[16];
		struct buf q = BUF_INIT;
		const char *ip = dd->src[i].ip;
		if (inet_pton(AF_INET, ip, a) == 1) {
			buf_printf(&q, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
		} else if (inet_pton(AF_INET6, ip, a) == 1) {
			for (int k = 15; k >= 0; k--)
				buf_printf(&q, "%x.%x.", a[k] & 15, a[k] >> 4);
			buf_puts(&q, "ip6.arpa");
		}
		const struct dns_answer *ans = q.len ? resolver_query(r, buf_str(&q), RR_PTR) : NULL;
		if (ans && ans->status == DNS_OK && ans->n)
			dd->src[i].rdns = xstrdup(ans->rr[0].text);
		buf_release(&q);
	}
}

int dd_build(const struct dr_set *set, struct resolver *r, struct dd_digest *out)
{
	memset(out, 0, sizeof *out);
	out->reports = set->n;
	out->duplicates = set->duplicates;
	out->errors = set->errors;
	for (size_t i = 0; i < set->n; i++) {
		const struct dr_report *rep = &set->v[i];
		struct dd_domain *dd = domain_slot(out, rep->domain);
		if (!dd)
			return -1;
		dd->reports++;
		dd->bis |= rep->bis;
		if (dd->begin < 0 || rep->begin < dd->begin)
			dd->begin = rep->begin;
		if (rep->end > dd->end)
			dd->end = rep->end;
		for (size_t j = 0; j < rep->nrecs; j++)
			if (add_record(dd, rep, &rep->recs[j]) < 0)
				return -1;
	}
	for (size_t i = 0; i < out->n; i++) {
		struct dd_domain *dd = &out->v[i];
		dd->days = days_covered(set, dd->domain);
		if (dd->nsrc)
			qsort(dd->src, dd->nsrc, sizeof *dd->src, by_volume);
		if (r)
			reverse_names(dd, r);
	}
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, by_domain);
	return 0;
}

void dd_release(struct dd_digest *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct dd_domain *dd = &d->v[i];
		for (size_t j = 0; j < dd->nsrc; j++) {
			struct dd_source *s = &dd->src[j];
			free(s->ip);
			free(s->rdns);
			free(s->header_from);
			free(s->envelope_from);
			free(s->dkim);
			free(s->spf);
			strv_free(s->orgs);
		}
		free(dd->src);
		free(dd->domain);
	}
	free(d->v);
	memset(d, 0, sizeof *d);
}

static const char *kind_name(enum dd_kind k)
{
	return k == DD_PASS ? "pass" : k == DD_YOURS_UNALIGNED ? "yours-not-aligned" : "not-you";
}

static void utc_day(long long t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t < 0 || !gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%d", &tm))
		snprintf(buf, n, "?");
}

static double percent(long long part, long long whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

void dd_print_text(FILE *out, const struct dd_digest *d)
{
	fprintf(out, "%zu report(s) read", d->reports);
	if (d->duplicates)
		fprintf(out, ", %zu duplicate(s) counted once", d->duplicates);
	if (d->errors)
		fprintf(out, ", %zu input(s) refused (see stderr)", d->errors);
	fputs("\n", out);
	for (size_t i = 0; i < d->n; i++) {
		const struct dd_domain *dd = &d->v[i];
		char b[16], e[16];
		utc_day(dd->begin, b, sizeof b);
		utc_day(dd->end, e, sizeof e);
		fprintf(out, "\n%s: %s to %s, %zu report(s), %zu day(s)%s\n", dd->domain, b, e,
			dd->reports, dd->days, dd->bis ? ", DMARCbis" : "");
		fprintf(out, "  messages        %lld\n", dd->total);
		fprintf(out, "  DMARC pass      %lld (%.1f %%): aligned DKIM %lld, aligned SPF %lld\n",
			dd->pass, percent(dd->pass, dd->total), dd->dkim_aligned, dd->spf_aligned);
		fprintf(out, "  DMARC fail      %lld (%.1f %%): yours but not aligned %lld, not you %lld\n",
			dd->fail, percent(dd->fail, dd->total), dd->yours_unaligned,
			dd->fail - dd->yours_unaligned);
		fprintf(out, "  disposition     none %lld, quarantine %lld, reject %lld",
			dd->disp_none, dd->disp_quarantine, dd->disp_reject);
		if (dd->disp_other)
			fprintf(out, ", other %lld", dd->disp_other);
		fputs("\n  sources, by volume:\n", out);
		for (size_t j = 0; j < dd->nsrc; j++) {
			const struct dd_source *s = &dd->src[j];
			fprintf(out, "    %8lld  %-17s %s%s%s\n", s->count, kind_name(s->kind), s->ip,
				s->rdns ? " " : "", s->rdns ? s->rdns : "");
			fprintf(out, "              header_from %s, envelope_from %s\n",
				s->header_from ? s->header_from : "-",
				s->envelope_from ? s->envelope_from : "-");
			fprintf(out, "              dkim %s; spf %s; reported by",
				*s->dkim ? s->dkim : "none", *s->spf ? s->spf : "none");
			for (size_t k = 0; s->orgs && s->orgs[k]; k++)
				fprintf(out, "%s %s", k ? "," : "", s->orgs[k]);
			fputs("\n", out);
		}
	}
}

cJSON *dd_json(const struct dd_digest *d)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddNumberToObject(root, "reports", (double)d->reports);
	cJSON_AddNumberToObject(root, "duplicates", (double)d->duplicates);
	cJSON_AddNumberToObject(root, "errors", (double)d->errors);
	cJSON *doms = cJSON_AddArrayToObject(root, "domains");
	for (size_t i = 0; doms && i < d->n; i++) {
		const struct dd_domain *dd = &d->v[i];
		cJSON *o = cJSON_CreateObject();
		char b[16], e[16];
		cJSON_AddItemToArray(doms, o);
		utc_day(dd->begin, b, sizeof b);
		utc_day(dd->end, e, sizeof e);
		cJSON_AddStringToObject(o, "domain", dd->domain);
		cJSON_AddStringToObject(o, "begin", b);
		cJSON_AddStringToObject(o, "end", e);
		cJSON_AddNumberToObject(o, "reports", (double)dd->reports);
		cJSON_AddNumberToObject(o, "days", (double)dd->days);
		cJSON_AddBoolToObject(o, "dmarcbis", dd->bis);
		cJSON_AddNumberToObject(o, "messages", (double)dd->total);
		cJSON_AddNumberToObject(o, "dmarc_pass", (double)dd->pass);
		cJSON_AddNumberToObject(o, "dmarc_fail", (double)dd->fail);
		cJSON_AddNumberToObject(o, "dkim_aligned", (double)dd->dkim_aligned);
		cJSON_AddNumberToObject(o, "spf_aligned", (double)dd->spf_aligned);
		cJSON_AddNumberToObject(o, "yours_not_aligned", (double)dd->yours_unaligned);
		cJSON *disp = cJSON_AddObjectToObject(o, "disposition");
		cJSON_AddNumberToObject(disp, "none", (double)dd->disp_none);
		cJSON_AddNumberToObject(disp, "quarantine", (double)dd->disp_quarantine);
		cJSON_AddNumberToObject(disp, "reject", (double)dd->disp_reject);
		cJSON_AddNumberToObject(disp, "other", (double)dd->disp_other);
		cJSON *srcs = cJSON_AddArrayToObject(o, "sources");
		for (size_t j = 0; srcs && j < dd->nsrc; j++) {
			const struct dd_source *s = &dd->src[j];
			cJSON *x = cJSON_CreateObject();
			cJSON_AddItemToArray(srcs, x);
			cJSON_AddStringToObject(x, "ip", s->ip);
			if (s->rdns)
				cJSON_AddStringToObject(x, "reverse", s->rdns);
			else
				cJSON_AddNullToObject(x, "reverse");
			cJSON_AddNumberToObject(x, "count", (double)s->count);
			cJSON_AddStringToObject(x, "status", kind_name(s->kind));
			if (s->header_from)
				cJSON_AddStringToObject(x, "header_from", s->header_from);
			else
				cJSON_AddNullToObject(x, "header_from");
			if (s->envelope_from)
				cJSON_AddStringToObject(x, "envelope_from", s->envelope_from);
			else
				cJSON_AddNullToObject(x, "envelope_from");
			cJSON_AddStringToObject(x, "dkim", s->dkim);
			cJSON_AddStringToObject(x, "spf", s->spf);
			cJSON *orgs = cJSON_AddArrayToObject(x, "reported_by");
			for (size_t k = 0; orgs && s->orgs && s->orgs[k]; k++)
				cJSON_AddItemToArray(orgs, cJSON_CreateString(s->orgs[k]));
		}
	}
	return root;
}

/* ---- the next stage ----------------------------------------------------- */

static void next_stage(struct dd_stage now, struct dd_stage *next, int *last)
{
	*last = 0;
	if (strcmp(now.policy, "none") == 0)
		*next = (struct dd_stage){ "quarantine", 10 };
	else if (strcmp(now.policy, "quarantine") == 0 && now.pct < 50)
		*next = (struct dd_stage){ "quarantine", 50 };
	else if (strcmp(now.policy, "quarantine") == 0 && now.pct < 100)
		*next = (struct dd_stage){ "quarantine", 100 };
	else if (strcmp(now.policy, "quarantine") == 0)
		*next = (struct dd_stage){ "reject", 100 };
	else
		*next = now, *last = 1;
}

void dd_advise(const struct dd_domain *dd, struct dd_stage now, int min_days,
	       int min_aligned, struct dd_advice *a)
{
	memset(a, 0, sizeof *a);
	a->now = now;
	next_stage(now, &a->next, &a->last);
	long long total = dd ? dd->total : 0, pass = dd ? dd->pass : 0;
	long long yours = dd ? dd->yours_unaligned : 0;
	size_t days = dd ? dd->days : 0;
	double pct = percent(pass, total);
	a->met[0] = (int)days >= min_days;
	snprintf(a->rule[0], sizeof a->rule[0], "at least %d days of reports: %zu", min_days, days);
	a->met[1] = total > 0 && pct >= (double)min_aligned;
	snprintf(a->rule[1], sizeof a->rule[1], "at least %d %% of the volume passes DMARC "
		 "(aligned DKIM or SPF): %.1f %% of %lld", min_aligned, pct, total);
	a->met[2] = yours == 0;
	snprintf(a->rule[2], sizeof a->rule[2], "no source of yours failing alignment: %lld "
		 "message(s)", yours);
	a->nrule = 3;
	a->ready = !a->last && a->met[0] && a->met[1] && a->met[2];
	if (a->next.pct < 100)
		snprintf(a->change, sizeof a->change, "dmarc = { policy = \"%s\"; pct = %d; };",
			 a->next.policy, a->next.pct);
	else
		snprintf(a->change, sizeof a->change, "dmarc = { policy = \"%s\"; };", a->next.policy);
	if (dd && dd->bis && a->next.pct < 100)
		snprintf(a->note, sizeof a->note, "DMARCbis receivers ignore pct: they test with "
			 "t=y until the policy applies in full; provision publishes pct only");
}

static const char *stage_text(struct dd_stage s, char *buf, size_t n)
{
	if (s.pct < 100)
		snprintf(buf, n, "p=%s pct=%d", s.policy, s.pct);
	else
		snprintf(buf, n, "p=%s", s.policy);
	return buf;
}

void dd_print_advice(FILE *out, const char *domain, const struct dd_advice *a)
{
	char s1[48], s2[48];
	if (a->last) {
		fprintf(out, "\n%s: at %s, the last stage: nothing further to do\n", domain,
			stage_text(a->now, s1, sizeof s1));
		return;
	}
	fprintf(out, "\n%s: %s for %s (now %s)\n", domain, a->ready ? "ready" : "not ready",
		stage_text(a->next, s2, sizeof s2), stage_text(a->now, s1, sizeof s1));
	for (size_t i = 0; i < a->nrule; i++)
		fprintf(out, "  [%s] %s\n", a->met[i] ? "x" : " ", a->rule[i]);
	if (a->ready)
		fprintf(out, "  change the domain's configuration to: %s\n", a->change);
	if (*a->note)
		fprintf(out, "  note: %s\n", a->note);
}

cJSON *dd_advice_json(const char *domain, const struct dd_advice *a)
{
	cJSON *o = cJSON_CreateObject();
	char s1[48], s2[48];
	cJSON_AddStringToObject(o, "domain", domain);
	cJSON_AddStringToObject(o, "now", stage_text(a->now, s1, sizeof s1));
	if (a->last)
		cJSON_AddNullToObject(o, "next");
	else
		cJSON_AddStringToObject(o, "next", stage_text(a->next, s2, sizeof s2));
	cJSON_AddBoolToObject(o, "ready", a->ready);
	cJSON *rules = cJSON_AddArrayToObject(o, "rules");
	for (size_t i = 0; rules && i < a->nrule; i++) {
		cJSON *r = cJSON_CreateObject();
		cJSON_AddItemToArray(rules, r);
		cJSON_AddStringToObject(r, "rule", a->rule[i]);
		cJSON_AddBoolToObject(r, "met", a->met[i]);
	}
	if (a->ready)
		cJSON_AddStringToObject(o, "change", a->change);
	else
		cJSON_AddNullToObject(o, "change");
	if (*a->note)
		cJSON_AddStringToObject(o, "note", a->note);
	return o;
}
