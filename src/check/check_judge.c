/*
 * check_judge.c - SPF and DKIM as one authoritative server publishes them.
 * SPF: exactly one record (RFC 7208 §4.5), the service's include reachable,
 * at most 10 lookups and 2 void lookups counted through the resolver
 * (§4.6.4), check_host() passing a sending address of the service. DKIM:
 * one key record per selector (RFC 6376 §3.6.2.2), the configured RSA key,
 * not revoked (empty p=). Also each server's SOA serial.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "dkim.h"
#include "names.h"
#include "provision/buf.h"
#include "provision/record.h"
#include "provision/util.h"

int check_soa_serial(struct resolver *auth, const char *zone, long long *serial,
		     struct prov_error *err)
{
	const struct dns_answer *a = resolver_query(auth, zone, RR_SOA);
	*serial = -1;
	if (a->status == DNS_TEMPFAIL)
		return prov_errorf(err, PROV_ERR_RUNTIME, "%s", a->why);
	if (a->status == DNS_NXDOMAIN || a->n == 0)
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "it has no SOA record for %s, so it does not serve the zone",
				   zone);
	if (sscanf(a->rr[0].text, "%*s %*s %lld", serial) != 1)
		*serial = -1;
	return 0;
}

/* ---- SPF ---------------------------------------------------------------- */

/* The target of an include: or redirect= term (any qualifier), or NULL. */
static const char *spf_term_target(const char *term)
{
	if (*term == '+' || *term == '-' || *term == '~' || *term == '?')
		term++;
	if (strncasecmp(term, "include:", 8) == 0)
		return term + 8;
	if (strncasecmp(term, "redirect=", 9) == 0)
		return term + 9;
	return NULL;
}

/* 1 when include is reached anywhere in the tree (email-auth-rules.md §1.12
 * step 3: an include deeper in the tree also counts). */
static int spf_tree_has(const struct spf_term *t, size_t n, const char *include)
{
	for (size_t i = 0; i < n; i++) {
		const char *target = spf_term_target(t[i].term);
		if (target && dname_equal(target, include))
			return 1;
		if (spf_tree_has(t[i].children, t[i].nchildren, include))
			return 1;
	}
	return 0;
}

/* "include:a=5, mx=1" for the top-level terms that cost lookups. */
static char *spf_costs_text(const struct spf_cost *c)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < c->nterms; i++)
		if (c->terms[i].lookups > 0)
			buf_printf(&b, "%s%s=%d", b.len ? ", " : "", c->terms[i].term,
				   c->terms[i].lookups);
	return buf_detach(&b);
}

/* Terms RFC 7208 advises against: +all / all, ?all, ptr (§5.1, §5.5). */
static void spf_warn_terms(struct check_verdict *v, const char *record)
{
	char *copy = strdup(record), *save = NULL;
	for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t;
	     t = strtok_r(NULL, " ", &save)) {
		const char *m = (*t == '+' || *t == '-' || *t == '~' || *t == '?') ? t + 1 : t;
		if (strcasecmp(t, "+all") == 0 || strcasecmp(t, "all") == 0)
			check_note_add(v, NOTE_WARNING, "'%s' lets anyone send as the domain: "
				       "end the record with ~all or -all", t);
		else if (strcasecmp(t, "?all") == 0)
			check_note_add(v, NOTE_WARNING, "'?all' is neutral: mail from anywhere "
				       "is treated as if there were no SPF; prefer ~all or -all");
		if (strncasecmp(m, "ptr", 3) == 0 && (m[3] == '\0' || m[3] == ':' || m[3] == '/'))
			check_note_add(v, NOTE_WARNING, "'%s' should not be published (RFC 7208 "
				       "§5.5: slow and unreliable); use ip4/ip6 or a", t);
	}
	free(copy);
}

/* What merging the include would cost: the check before provisioning. */
static int spf_missing_include(const struct check_ctx *c, struct check_verdict *v,
			       const char *record)
{
	const struct record_policy *pol = &c->d->policy;
	struct prov_error err = PROV_ERROR_INIT;
	struct spf_cost mc;
	char *merged = NULL;
	int changed = 0, rc;
	if (spf_merge(record, pol->spf.include, pol->spf.all, &merged, &changed, &err) < 0 ||
	    spf_cost(c->rec, c->zone, merged, &mc, &err) < 0) {
		rc = check_problem(v, CHECK_FAIL, "the record does not include %s: run provision "
			     "to merge it in", pol->spf.include);
		free(merged);
		return rc;
	}
	char *costs = spf_costs_text(&mc);
	if (mc.dns_failed)
		rc = check_problem(v, CHECK_FAIL, "the record does not include %s: run provision to "
			     "merge it in (the merged cost could not be counted: %s)",
			     pol->spf.include, mc.problem ? mc.problem : "DNS failure");
	else if (mc.lookups > SPF_LOOKUP_LIMIT || mc.void_lookups > SPF_VOID_LIMIT)
		rc = check_problem(v, CHECK_FAIL, "the record does not include %s, and merging it "
			     "would need %d DNS lookups and %d void lookups, over the limits of "
			     "%d and %d (RFC 7208 §4.6.4), so provision will refuse it; cost of "
			     "each term once merged: %s; remove terms or use spf.flatten",
			     pol->spf.include, mc.lookups, mc.void_lookups, SPF_LOOKUP_LIMIT,
			     SPF_VOID_LIMIT, costs ? costs : "?");
	else
		rc = check_problem(v, CHECK_FAIL, "the record does not include %s: run provision to "
			     "merge it in; merged, it costs %d of %d DNS lookups (%s)",
			     pol->spf.include, mc.lookups, SPF_LOOKUP_LIMIT, costs ? costs : "");
	free(costs);
	free(merged);
	spf_cost_release(&mc);
	return rc;
}

/* Limits of the published record's tree (§4.6.4, email-auth-rules.md §1.5). */
static int spf_judge_cost(struct check_verdict *v, const struct spf_cost *cost)
{
	int rc = 0;
	if (cost->loop)
		rc = check_problem(v, CHECK_FAIL, "%s, a permerror for every message: break the loop",
			     cost->problem ? cost->problem : "an include loop");
	else if (cost->permerror)
		rc = check_problem(v, CHECK_FAIL, "%s: a permerror for every message",
			     cost->problem ? cost->problem : "the tree does not evaluate");
	if (!rc && cost->lookups > SPF_LOOKUP_LIMIT) {
		char *costs = spf_costs_text(cost);
		rc = check_problem(v, CHECK_FAIL, "the record needs %d DNS lookups, over the limit of "
			     "%d (RFC 7208 §4.6.4); cost of each term: %s", cost->lookups,
			     SPF_LOOKUP_LIMIT, costs ? costs : "?");
		free(costs);
	}
	if (!rc && cost->void_lookups > SPF_VOID_LIMIT)
		rc = check_problem(v, CHECK_FAIL, "the record causes %d void lookups, over the limit "
			     "of %d (RFC 7208 §4.6.4): remove terms naming hosts without data",
			     cost->void_lookups, SPF_VOID_LIMIT);
	else if (!rc && cost->void_lookups > 0)
		check_note_add(v, NOTE_WARNING, "%d void lookup(s) (names with no data); at %d "
			       "the record breaks", cost->void_lookups, SPF_VOID_LIMIT + 1);
	if (!rc && !cost->known)
		check_note_add(v, NOTE_INFO, "costs at least %d lookups, not fully known: %s",
			       cost->lookups, cost->problem ? cost->problem : "macros");
	return rc;
}

/* check_host() for a sending address of the service (spf.test_ip, else the
 * first address of the service's tree). */
static int spf_judge_verdict(const struct check_ctx *c, struct check_verdict *v,
			     const char *record)
{
	const struct record_policy *pol = &c->d->policy;
	struct prov_error err = PROV_ERROR_INIT;
	struct buf sender = BUF_INIT;
	char *ip = xstrdup(pol->spf.test_ip);
	if (!ip && spf_sample_ip(c->rec, pol->spf.include, &ip, &err) < 0)
		return check_note_add(v, NOTE_INFO, "no sending address of %s to test: %s",
				      pol->spf.include, err.msg) < 0 ? PROV_ERR_NOMEM : 0;
	const struct spf_pending pend[2] = { { c->zone, record }, { NULL, NULL } };
	buf_printf(&sender, "postmaster@%.*s", (int)strlen(c->zone) - 1, c->zone);
	const struct spf_request req = { ip, buf_str(&sender), c->zone, c->zone, NULL, NULL };
	v->verdict = spf_check_pending(c->rec, &req, pend, NULL);
	v->verdict_ip = ip;
	buf_release(&sender);
	if (v->verdict == SPF_PASS)
		return 0;
	return check_problem(v, CHECK_FAIL, "mail from %s (%s) gets '%s', not 'pass'", ip,
		       pol->spf.test_ip ? "spf.test_ip" : pol->spf.include,
		       spf_result_name(v->verdict));
}

/* The one SPF record of the answer, or a verdict when there is not one. */
static int spf_pick(const struct check_ctx *c, struct check_verdict *v,
		    const struct dns_answer *a, const char **record)
{
	const struct record_policy *pol = &c->d->policy;
	size_t n = 0;
	*record = NULL;
	if (a->status == DNS_TEMPFAIL)
		return check_problem(v, CHECK_ERROR, "%s", a->why);
	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++)
		if (spf_is_record(a->rr[i].text) && n++ == 0)
			*record = a->rr[i].text;
	if (n == 0)
		return check_problem(v, CHECK_MISSING, "no SPF record at %s: run provision to "
			       "publish \"v=spf1 include:%s %s\"", c->zone,
			       pol->spf.include, pol->spf.all);
	if (!(v->value = strdup(*record)))
		return PROV_ERR_NOMEM;
	if (n > 1) {
		*record = NULL;
		return check_problem(v, CHECK_FAIL, "%s has %zu SPF records, a permerror for every "
			       "message (RFC 7208 §4.5): merge them into one by hand", c->zone, n);
	}
	return 0;
}

int check_judge_spf(const struct check_ctx *c, struct check_verdict *v)
{
	struct prov_error err = PROV_ERROR_INIT;
	const char *record;
	struct spf_cost cost;
	memset(v, 0, sizeof *v);
	int rc = spf_pick(c, v, resolver_query(c->auth, c->zone, RR_TXT), &record);
	if (rc < 0 || !record)
		return rc;
	if (spf_validate(record, &err) < 0)
		return check_problem(v, CHECK_FAIL, "the SPF record does not parse: %s; fix it by "
			       "hand, then run provision", err.msg);
	spf_warn_terms(v, record);
	if (spf_cost(c->rec, c->zone, record, &cost, &err) < 0)
		return check_problem(v, CHECK_FAIL, "the SPF record does not parse: %s", err.msg);
	v->spf_counted = !cost.dns_failed;
	v->lookups = cost.lookups;
	v->void_lookups = cost.void_lookups;
	v->known = cost.known;
	if (cost.dns_failed)
		rc = check_problem(v, CHECK_ERROR, "the lookups could not be counted through the "
			     "resolver: %s", cost.problem ? cost.problem : "DNS failure");
	else if (!spf_tree_has(cost.terms, cost.nterms, c->d->policy.spf.include))
		rc = spf_missing_include(c, v, record);
	if (rc == 0 && !cost.dns_failed)
		rc = spf_judge_cost(v, &cost);
	if (rc == 0 && !cost.dns_failed)
		rc = spf_judge_verdict(c, v, record);
	if (rc == 0 && v->status == CHECK_PASS && !v->message)
		rc = check_problem(v, CHECK_PASS, "one SPF record, includes %s, %d of %d DNS lookups, "
			     "%d void", c->d->policy.spf.include, cost.lookups,
			     SPF_LOOKUP_LIMIT, cost.void_lookups);
	spf_cost_release(&cost);
	return rc;
}

/* ---- DKIM --------------------------------------------------------------- */

static char *strip_space(const char *s)
{
	struct buf b = BUF_INIT;
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			buf_putc(&b, *s);
	return buf_detach(&b);
}

/* 1 when the colon-separated list holds one of the words. */
static int list_has(const char *list, const char *w1, const char *w2)
{
	char *copy = strip_space(list), *save = NULL;
	int found = 0;
	for (char *t = copy ? strtok_r(copy, ":", &save) : NULL; t && !found;
	     t = strtok_r(NULL, ":", &save))
		found = strcasecmp(t, w1) == 0 || (w2 && strcasecmp(t, w2) == 0);
	free(copy);
	return found;
}

/* The tags of a parsed key record (email-auth-rules.md §2.7). */
static int dkim_judge_tags(const struct check_ctx *c, struct check_verdict *v,
			   const struct dkim_record *k, const char *name)
{
	struct prov_error err = PROV_ERROR_INIT;
	int bits = 0;
	if (!*k->p)
		return check_problem(v, CHECK_FAIL, "the key at %s is revoked (empty p=): run "
			       "provision to publish the configured key", name);
	if (k->k && strcmp(k->k, "rsa") != 0)
		return check_problem(v, CHECK_FAIL, "the key at %s has type k=%s, not rsa: run "
			       "provision to publish the configured RSA key", name, k->k);
	if (dkim_key_check(k->p, &bits, &err) < 0)
		return check_problem(v, CHECK_FAIL, "the key at %s does not parse: %s; run "
			       "provision to publish the configured key", name, err.msg);
	if (bits < DKIM_MIN_BITS)
		return check_problem(v, CHECK_FAIL, "the key at %s has %d bits; verifiers refuse "
			       "keys under %d (RFC 8301)", name, bits, DKIM_MIN_BITS);
	char *want = strip_space(c->d->policy.dkim.key);
	int same = want && strcmp(want, k->p) == 0;
	free(want);
	if (!same)
		return check_problem(v, CHECK_FAIL, "the key at %s (RSA, %d bits, p=%.12s...) is not "
			       "the configured key: run provision to publish it, and make sure "
			       "the service signs with that key", name, bits, k->p);
	if (k->h && !list_has(k->h, "sha256", NULL))
		return check_problem(v, CHECK_FAIL, "h=%s leaves out sha256, so the key verifies "
			       "nothing (RFC 8301): remove h=", k->h);
	if (k->s && !list_has(k->s, "*", "email"))
		return check_problem(v, CHECK_FAIL, "s=%s does not cover email: remove s=", k->s);
	if (k->t && list_has(k->t, "y", NULL))
		check_note_add(v, NOTE_INFO, "t=y: the domain is testing DKIM; verifiers "
			       "treat its mail as unsigned");
	if (bits < DKIM_GOOD_BITS)
		check_note_add(v, NOTE_WARNING, "the key has %d bits; %d are recommended "
			       "(RFC 8301)", bits, DKIM_GOOD_BITS);
	return check_problem(v, CHECK_PASS, "the configured key, RSA %d bits", bits);
}

int check_judge_dkim(const struct check_ctx *c, struct check_verdict *v)
{
	struct prov_error err = PROV_ERROR_INIT;
	struct dkim_record k = { 0 };
	memset(v, 0, sizeof *v);
	char *name = check_record_owner(c->d, CHECK_DKIM, &err);
	if (!name)
		return check_problem(v, CHECK_FAIL, "dkim: %s", err.msg);
	const struct dns_answer *a = check_txt_at(c, name, v);
	int rc;
	if (a->status == DNS_TEMPFAIL)
		rc = check_problem(v, CHECK_ERROR, "%s", a->why);
	else if (a->status == DNS_NXDOMAIN || a->n == 0)
		rc = check_problem(v, CHECK_MISSING, "no DKIM key at %s: run provision to publish "
			     "the configured key", name);
	else if (!(v->value = strdup(a->rr[0].text)))
		rc = PROV_ERR_NOMEM;
	else if (a->n > 1)
		rc = check_problem(v, CHECK_FAIL, "%s holds %zu TXT records; a selector must have "
			     "exactly one key record (RFC 6376 §3.6.2.2): remove the others",
			     name, a->n);
	else if (dkim_record_parse(a->rr[0].text, &k, &err) < 0)
		rc = check_problem(v, CHECK_FAIL, "the record at %s does not parse (%s): run "
			     "provision to publish the configured key", name, err.msg);
	else
		rc = dkim_judge_tags(c, v, &k, name);
	dkim_record_release(&k);
	free(name);
	return rc;
}

int check_judge(const struct check_ctx *c, enum check_record r,
		struct check_verdict *v)
{
	switch (r) {
	case CHECK_SPF: return check_judge_spf(c, v);
	case CHECK_DKIM: return check_judge_dkim(c, v);
	case CHECK_DMARC: return check_judge_dmarc(c, v);
	default: return check_judge_tracking(c, v);
	}
}
