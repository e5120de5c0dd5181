/*
 * planner_spf.c - the SPF part of the plan (email-auth-rules.md §1).
 *
 * One SPF record at the apex with the service's include merged in (§1.12);
 * its worst-case cost counted through DNS by the SPF engine and refused over
 * 10 lookups or 2 void lookups (§1.5, §1.6); named includes flattened into
 * ip4/ip6 terms only when that is what it takes to fit (chained records
 * _spfN.<domain> owned by the tool when one record cannot hold them); and
 * the verdict of check_host() for a sending address of the service.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plan.h"
#include "planner_internal.h"
#include "provision/buf.h"
#include "provision/util.h"

static int is_spf(const char *s)
{
	return spf_is_record(s);
}

/* Warn about terms in an existing record that RFC 7208 advises against. */
static void spf_warn_terms(struct plan *p, const char *record)
{
	char *copy = strdup(record), *save = NULL;
	for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t;
	     t = strtok_r(NULL, " ", &save)) {
		if (strcasecmp(t, "+all") == 0 || strcasecmp(t, "all") == 0)
			plan_diag(p, DIAG_WARNING, 0, "spf-pass-all",
				  "spf: the record at %s ends in '%s', which lets anyone send as "
				  "the domain; use ~all or -all", p->domain, t);
		const char *m = (*t == '+' || *t == '-' || *t == '~' || *t == '?') ? t + 1 : t;
		if (strncasecmp(m, "ptr", 3) == 0 && (m[3] == '\0' || m[3] == ':' || m[3] == '/'))
			plan_diag(p, DIAG_WARNING, 0, "spf-ptr",
				  "spf: the record at %s uses '%s', which RFC 7208 §5.5 says not to "
				  "publish (slow, unreliable)", p->domain, t);
	}
	free(copy);
}

static int term_cmp(const void *a, const void *b)
{
	const struct spf_term *x = a, *y = b;
	return y->lookups - x->lookups;
}

/* "include:a=5, mx=1, ..." most costly first. */
static char *spf_term_costs(const struct spf_cost *c)
{
	struct buf b = BUF_INIT;
	struct spf_term *sorted = malloc((c->nterms + 1) * sizeof *sorted);
	if (!sorted)
		return NULL;
	if (c->nterms)
		memcpy(sorted, c->terms, c->nterms * sizeof *sorted);
	qsort(sorted, c->nterms, sizeof *sorted, term_cmp);
	for (size_t i = 0; i < c->nterms; i++)
		if (sorted[i].lookups > 0)
			buf_printf(&b, "%s%s=%d", b.len ? ", " : "", sorted[i].term,
				   sorted[i].lookups);
	free(sorted);
	return buf_detach(&b);
}

static void spf_judge_cost(struct plan *p, int changed, int apply_mode)
{
	const struct spf_cost *c = &p->spf;
	enum diag_severity sev = changed ? DIAG_ERROR : DIAG_WARNING;
	int rule = changed ? 3 : 0;
	if (c->dns_failed) {
		if (apply_mode && changed)
			plan_diag(p, DIAG_ERROR, 1, "spf-dns-failed",
				  "spf: cannot count the lookups of the new record for %s (%s); "
				  "refusing to publish an SPF record that was not counted",
				  p->domain, c->problem ? c->problem : "DNS failure");
		else
			plan_diag(p, DIAG_WARNING, 0, "spf-dns-failed",
				  "spf: lookups of %s not counted: %s", p->domain,
				  c->problem ? c->problem : "DNS failure");
		return;
	}
	if (c->loop)
		plan_diag(p, sev, rule, "spf-loop", "spf: %s: %s, a guaranteed permerror",
			  p->domain, c->problem ? c->problem : "include loop");
	else if (c->permerror)
		plan_diag(p, sev, rule, "spf-permerror", "spf: %s: %s", p->domain,
			  c->problem ? c->problem : "the record gives permerror");
	else if (!c->known)
		plan_diag(p, DIAG_WARNING, 0, "spf-cost-unknown",
			  "spf: %s costs at least %d lookups, not fully known: %s", p->domain,
			  c->lookups, c->problem ? c->problem : "macros");
	if (c->lookups > SPF_LOOKUP_LIMIT) {
		char *costs = spf_term_costs(c);
		plan_diag(p, sev, rule, "spf-lookup-limit",
			  "spf: the record for %s needs %d DNS lookups, over the limit of %d "
			  "(RFC 7208 §4.6.4); cost of each term: %s (spf.flatten can replace "
			  "a named include by its addresses)", p->domain, c->lookups,
			  SPF_LOOKUP_LIMIT, costs ? costs : "?");
		free(costs);
	}
	if (c->void_lookups > SPF_VOID_LIMIT)
		plan_diag(p, sev, rule, "spf-void-limit",
			  "spf: the record for %s causes %d void lookups, over the limit of %d "
			  "(RFC 7208 §4.6.4)", p->domain, c->void_lookups, SPF_VOID_LIMIT);
	else if (c->void_lookups > 0)
		plan_diag(p, DIAG_WARNING, 0, "spf-void-lookups",
			  "spf: the record for %s causes %d void lookup(s) (names with no data); "
			  "at %d more it breaks", p->domain, c->void_lookups,
			  SPF_VOID_LIMIT + 1 - c->void_lookups);
}

/* The candidates to flatten: includes of the record named in the policy's
 * flatten list, never the service's own include, most costly first. */
static size_t flatten_candidates(const struct plan *p, const struct record_policy *pol,
				 char ***out)
{
	struct spf_term *t = p->spf.terms;
	size_t n = 0;
	*out = NULL;
	int *used = calloc(p->spf.nterms + 1, sizeof *used);
	for (;;) { /* selection by cost: few terms, so quadratic is fine */
		size_t best = (size_t)-1;
		for (size_t i = 0; used && i < p->spf.nterms; i++) {
			if (used[i] || strncasecmp(t[i].term, "include:", 8) != 0)
				continue;
			const char *target = t[i].term + 8;
			int named = 0;
			for (char **f = pol->spf.flatten; f && *f; f++)
				named |= dname_equal(*f, target);
			if (!named || dname_equal(target, pol->spf.include))
				continue;
			if (best == (size_t)-1 || t[i].lookups > t[best].lookups)
				best = i;
		}
		if (best == (size_t)-1)
			break;
		used[best] = 1;
		if (strv_push(out, t[best].term + 8) < 0)
			break;
		n++;
	}
	free(used);
	return n;
}

static int within_limits(const struct spf_cost *c)
{
	return !c->dns_failed && !c->loop && !c->permerror &&
	       c->lookups <= SPF_LOOKUP_LIMIT && c->void_lookups <= SPF_VOID_LIMIT;
}

/*
 * Flattening keeps what it flattened in the first chained record it owns,
 * as an unknown modifier (RFC 7208 §6: ignored by every evaluator):
 *   _spf1.example.com TXT "v=spf1 flattened=crm.example ip4:... include:_spf2..."
 * and the apex record names include:_spf1.example.com where the include was.
 * So a later run can put the original includes back, resolve them again and
 * refresh addresses that went stale; the customer's own terms are never
 * mixed with the flattened ones.
 */
#define FLAT_MODIFIER "flattened="

struct flat_plan {
	char *record;               /* the apex record */
	struct spf_pending chain[PLAN_SPF_CHAIN_MAX + 1];
	size_t nchain;
	char **names;               /* the includes flattened */
};

static void flat_plan_release(struct flat_plan *f)
{
	free(f->record);
	for (size_t i = 0; i < f->nchain; i++) {
		free((char *)f->chain[i].name);
		free((char *)f->chain[i].text);
	}
	strv_free(f->names);
	memset(f, 0, sizeof *f);
}

/* The terms of a record, split at spaces (NULL-terminated; "v=spf1" first). */
static char **terms_of(const char *record)
{
	char **v = NULL, *copy = strdup(record), *save = NULL;
	for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save))
		if (strv_push(&v, t) < 0)
			break;
	free(copy);
	return v;
}

static char *join_terms(char *const *terms)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; terms && terms[i]; i++)
		buf_printf(&b, "%s%s", i ? " " : "", terms[i]);
	return buf_detach(&b);
}

static int is_include_of(const char *term, const char *name)
{
	if (*term == '+')
		term++;
	return strncasecmp(term, "include:", 8) == 0 && dname_equal(term + 8, name);
}

/* "_spf<i+1>.<domain>." with the dot (an owner name), or without it (a
 * domain-spec to publish: RFC 7208 §7.3 says not to publish the dot). */
static char *chain_name_dot(const char *domain, size_t i, int dot)
{
	struct buf b = BUF_INIT;
	size_t n = strlen(domain);
	if (n && domain[n - 1] == '.')
		n--;
	buf_printf(&b, "_spf%zu.%.*s%s", i + 1, (int)n, domain, dot ? "." : "");
	return buf_detach(&b);
}

static char *chain_name(const char *domain, size_t i)
{
	return chain_name_dot(domain, i, 1);
}

/*
 * The record as it was before the tool flattened it: include:_spf1.<domain>
 * replaced by the includes that the chain's flattened= modifier names. NULL
 * when the record holds no chain of ours.
 */
static char *unflatten(const char *record, const char *domain,
		       const struct rrset_list *ex)
{
	char *first = chain_name(domain, 0), *out = NULL, **terms = terms_of(record);
	const struct rrset *set = rrset_list_find(ex, first, RR_TXT);
	const char *names = NULL;
	size_t len = 0;
	for (char **v = set ? set->values : NULL; v && *v && !names; v++) {
		const char *m = spf_is_record(*v) ? strstr(*v, " " FLAT_MODIFIER) : NULL;
		if (m) {
			names = m + 1 + strlen(FLAT_MODIFIER);
			len = strcspn(names, " ");
		}
	}
	for (size_t i = 0; names && terms && terms[i] && !out; i++) {
		if (!is_include_of(terms[i], first))
			continue;
		struct buf b = BUF_INIT;
		for (const char *n = names, *end = names + len; n < end;) {
			size_t k = strcspn(n, ",");
			if (k > (size_t)(end - n))
				k = (size_t)(end - n);
			buf_printf(&b, "%sinclude:%.*s", b.len ? " " : "", (int)k, n);
			n += k + 1;
		}
		free(terms[i]);
		terms[i] = buf_detach(&b);
		out = join_terms(terms);
	}
	strv_free(terms);
	free(first);
	return out;
}

/* Pack the ip terms into chained records of at most max bytes each. */
static int pack_chain(struct flat_plan *f, const char *domain, char **ips,
		      size_t max)
{
	size_t i = 0;
	while (ips[i]) {
		if (f->nchain == PLAN_SPF_CHAIN_MAX)
			return -1;
		struct buf b = BUF_INIT;
		char *next = chain_name_dot(domain, f->nchain + 1, 0);
		buf_puts(&b, "v=spf1");
		if (f->nchain == 0) {
			buf_puts(&b, " " FLAT_MODIFIER);
			for (size_t k = 0; f->names[k]; k++)
				buf_printf(&b, "%s%s", k ? "," : "", f->names[k]);
		}
		size_t reserve = strlen(" include:") + strlen(next);
		size_t placed = 0;
		while (ips[i] && (!placed || b.len + 1 + strlen(ips[i]) +
					     (ips[i + 1] ? reserve : 0) <= max)) {
			buf_printf(&b, " %s", ips[i++]);
			placed++;
		}
		if (ips[i])
			buf_printf(&b, " include:%s", next);
		free(next);
		f->chain[f->nchain].name = chain_name(domain, f->nchain);
		f->chain[f->nchain].text = buf_detach(&b);
		f->nchain++;
	}
	return 0;
}

/* Flatten the named includes of merged (in that order) into a chain. */
static int build_flat(struct flat_plan *f, struct resolver *r, const char *domain,
		      const char *merged, char *const *names, struct prov_error *err)
{
	struct spf_flat flat = { 0 };
	struct buf only = BUF_INIT;
	char **terms = terms_of(merged), **ips = NULL;
	int rc = 0, placed = 0;
	buf_puts(&only, "v=spf1");
	for (size_t i = 0; names[i]; i++) {
		buf_printf(&only, " include:%s", names[i]);
		strv_push(&f->names, names[i]);
	}
	rc = spf_flatten(r, domain, buf_str(&only), names, (size_t)-1, &flat, err);
	if (rc < 0)
		goto out;
	ips = terms_of(flat.record);
	if (!ips || !ips[0] || !ips[1]) {
		rc = prov_errorf(err, PROV_ERR_RULE, "the flattened includes hold no addresses");
		goto out;
	}
	if (pack_chain(f, domain, ips + 1, 450 - strlen(domain) - 8) < 0) {
		rc = prov_errorf(err, PROV_ERR_RULE,
				 "%zu addresses need more than %d chained records",
				 strv_len(ips) - 1, PLAN_SPF_CHAIN_MAX);
		goto out;
	}
	/* The apex: the first flattened include becomes the chain's, the others go. */
	struct buf top = BUF_INIT;
	for (size_t i = 0; terms && terms[i]; i++) {
		int named = 0;
		for (size_t k = 0; names[k]; k++)
			named |= is_include_of(terms[i], names[k]);
		if (named && placed++)
			continue;
		char *ref = named ? chain_name_dot(domain, 0, 0) : NULL;
		buf_printf(&top, "%s%s%s", i ? " " : "", named ? "include:" : "",
			   named ? ref : terms[i]);
		free(ref);
	}
	f->record = buf_detach(&top);
out:
	spf_flat_release(&flat);
	buf_release(&only);
	strv_free(terms);
	strv_free(ips);
	return rc;
}

/* The records the domain will publish: its own, then the chain. */
static struct spf_pending *pending_of(const char *domain, const char *record,
				      const struct flat_plan *flat)
{
	size_t n = flat ? flat->nchain : 0;
	struct spf_pending *v = calloc(n + 2, sizeof *v);
	if (!v)
		return NULL;
	v[0] = (struct spf_pending){ domain, record };
	for (size_t i = 0; i < n; i++)
		v[i + 1] = flat->chain[i];
	return v;
}

/*
 * Over a limit: flatten the named includes, most costly first, one more at a
 * time, until the record fits. 1 when it fits (flat and p->spf replaced),
 * 0 when flattening cannot help (a diagnostic says why).
 */
static int try_flatten(struct plan *p, const struct record_policy *pol,
		       struct resolver *r, struct flat_plan *flat)
{
	char **cand = NULL;
	size_t n = flatten_candidates(p, pol, &cand);
	int fitted = 0;
	for (size_t k = 1; k <= n && !fitted; k++) {
		struct prov_error err = PROV_ERROR_INIT;
		struct spf_cost cost = { 0 };
		char *saved = cand[k];
		cand[k] = NULL; /* the k most costly */
		int rc = build_flat(flat, r, p->domain, p->spf_record, cand, &err);
		cand[k] = saved;
		if (rc < 0) {
			plan_diag(p, DIAG_ERROR, rc == PROV_ERR_RUNTIME ? 1 : 3, "spf-flatten",
				  "spf: cannot flatten for %s: %s", p->domain, err.msg);
			flat_plan_release(flat);
			break;
		}
		struct spf_pending *pend = pending_of(p->domain, flat->record, flat);
		if (pend && spf_cost_pending(r, p->domain, pend, &cost, &err) == 0) {
			fitted = within_limits(&cost);
			if (fitted) {
				spf_cost_release(&p->spf);
				p->spf = cost;
			} else {
				spf_cost_release(&cost);
			}
		}
		free(pend);
		if (!fitted)
			flat_plan_release(flat);
	}
	strv_free(cand);
	return fitted;
}

/* check_host() for a sending address of the service against what the
 * domain will publish. */
static void spf_verdict(struct plan *p, const struct record_policy *pol,
			struct resolver *r, const struct spf_pending *pending)
{
	struct prov_error err = PROV_ERROR_INIT;
	struct buf sender = BUF_INIT;
	char *ip = xstrdup(pol->spf.test_ip);
	if (!ip && spf_sample_ip(r, pol->spf.include, &ip, &err) < 0) {
		plan_diag(p, DIAG_INFO, 0, "spf-verdict",
			  "spf: no sending address of %s to test: %s", pol->spf.include, err.msg);
		return;
	}
	buf_printf(&sender, "postmaster@%.*s", (int)strlen(p->domain) - 1, p->domain);
	const struct spf_request req = { ip, buf_str(&sender), p->domain, p->domain,
					 NULL, NULL };
	p->verdict = spf_check_pending(r, &req, pending, NULL);
	p->verdict_ip = ip;
	if (p->verdict != SPF_PASS)
		plan_diag(p, DIAG_WARNING, 0, "spf-verdict",
			  "spf: mail from %s (%s) would get '%s' from the record of %s, not 'pass'",
			  ip, pol->spf.test_ip ? "spf.test_ip" : pol->spf.include,
			  spf_result_name(p->verdict), p->domain);
	buf_release(&sender);
}

int plan_spf_chain_names(const char *zone, char ***names)
{
	for (int i = 1; i <= PLAN_SPF_CHAIN_MAX; i++) {
		struct buf b = BUF_INIT;
		int rc = buf_printf(&b, "_spf%d.%s", i, zone);
		rc = rc < 0 ? rc : strv_push(names, buf_str(&b));
		buf_release(&b);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Chained records: create or update those of flat, delete the tool's
 * records that are no longer needed. Creations go before the apex record's
 * change (so its include never points at nothing), deletions after. */
static void plan_chain(struct plan *p, const struct record_policy *pol,
		       const struct rrset_list *ex, const struct flat_plan *flat,
		       int deletions)
{
	char **names = NULL;
	if (plan_spf_chain_names(p->domain, &names) < 0)
		return;
	for (size_t i = 0; names[i]; i++) {
		const struct rrset *set = rrset_list_find(ex, names[i], RR_TXT);
		const char *have = NULL;
		plan_txt_pick(set, is_spf, &have);
		const char *want = flat && i < flat->nchain ? flat->chain[i].text : NULL;
		if (want && !deletions)
			plan_value(p, "spf", names[i], RR_TXT, set, have, want, pol->ttl);
		else if (!want && have && deletions)
			plan_add_change(p, "spf", names[i], RR_TXT, set->ttl, have, NULL);
	}
	strv_free(names);
}

void plan_spf(struct plan *p, const struct domain_config *d,
	      const struct rrset_list *ex, struct resolver *r, int apply_mode)
{
	const struct record_policy *pol = &d->policy;
	struct prov_error err = PROV_ERROR_INIT;
	struct flat_plan flat = { 0 };
	const struct rrset *set = rrset_list_find(ex, p->domain, RR_TXT);
	const char *have = NULL;
	int changed = 0, flattened = 0;
	size_t n = plan_txt_pick(set, is_spf, &have);
	if (n > 1) {
		plan_diag(p, DIAG_ERROR, 3, "spf-multiple",
			  "spf: %s has %zu SPF records, which is a permerror for every "
			  "message (RFC 7208 §4.5); merge them into one by hand first",
			  p->domain, n);
		return;
	}
	if (have)
		spf_warn_terms(p, have);
	/* A record this tool flattened before: start again from its includes. */
	char *orig = have && pol->spf.flatten && *pol->spf.flatten ?
		     unflatten(have, p->domain, ex) : NULL;
	int rc = spf_merge(orig ? orig : have, pol->spf.include, pol->spf.all,
			   &p->spf_record, &changed, &err);
	free(orig);
	changed = !have || (p->spf_record && strcmp(have, p->spf_record) != 0);
	if (rc < 0) {
		plan_diag(p, DIAG_ERROR, 3, "spf-invalid",
			  "spf: the existing SPF record at %s does not parse: %s; fix it first",
			  p->domain, err.msg);
		return;
	}
	if (!r)
		goto write;
	if (spf_cost(r, p->domain, p->spf_record, &p->spf, &err) < 0) {
		plan_diag(p, DIAG_ERROR, 3, "spf-invalid", "spf: %s: %s", p->domain, err.msg);
		goto write;
	}
	p->spf_counted = 1;
	if (!within_limits(&p->spf) && !p->spf.dns_failed && pol->spf.flatten &&
	    *pol->spf.flatten && (flattened = try_flatten(p, pol, r, &flat))) {
		free(p->spf_record);
		p->spf_record = xstrdup(flat.record);
		changed = !have || strcmp(have, p->spf_record) != 0;
		for (char **f = flat.names; f && *f; f++)
			plan_diag(p, DIAG_WARNING, 0, "spf-flattened",
				  "spf: include:%s was flattened into ip4/ip6 terms to stay within "
				  "%d lookups; they go stale when %s changes its addresses: run "
				  "provision again regularly", *f, SPF_LOOKUP_LIMIT, *f);
	}
	spf_judge_cost(p, changed, apply_mode);
	if (!p->spf.dns_failed) {
		struct spf_pending *pend = pending_of(p->domain, p->spf_record,
						      flattened ? &flat : NULL);
		if (pend)
			spf_verdict(p, pol, r, pend);
		free(pend);
	}
write:
	if (pol->spf.flatten && *pol->spf.flatten)
		plan_chain(p, pol, ex, flattened ? &flat : NULL, 0);
	if (plan_value(p, "spf", p->domain, RR_TXT, set, have, p->spf_record,
		       pol->ttl) < 0)
		plan_diag(p, DIAG_ERROR, 1, "internal", "out of memory");
	if (pol->spf.flatten && *pol->spf.flatten)
		plan_chain(p, pol, ex, flattened ? &flat : NULL, 1);
	flat_plan_release(&flat);
}
