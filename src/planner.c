/*
 * planner.c - policy + existing records + resolver -> plan, for one domain.
 *
 * Pure: no HTTP, no files; the only I/O is the resolver that counts the SPF
 * tree. Every rule of contract.md "Rules the planner keeps" lives here: one
 * SPF record per name with the include merged in (email-auth-rules.md §1.12)
 * and at most 10 lookups / 2 void lookups (§1.5, §1.6); CNAME exclusivity
 * (§4.3); names inside the zone; a stricter DMARC policy kept (§3); a DKIM
 * key that is a real RSA key of at least 1024 bits (§2.5). Records it does
 * not manage never appear in the plan.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"
#include "dmarc.h"
#include "dmarc_auth.h"
#include "names.h"
#include "plan.h"
#include "planner_internal.h"
#include "provision/buf.h"
#include "provision/util.h"

int plan_diag(struct plan *p, enum diag_severity sev, int exit_code,
	      const char *code, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	struct diag *v = rc == 0 ? realloc(p->diags, (p->ndiags + 1) * sizeof *v) : NULL;
	if (!v) {
		buf_release(&msg);
		return -1;
	}
	p->diags = v;
	v[p->ndiags] = (struct diag){ sev, strdup(code), buf_detach(&msg), exit_code };
	p->ndiags++;
	return 0;
}

int plan_add_change(struct plan *p, const char *what, const char *name,
		      uint16_t type, uint32_t ttl, const char *before,
		      const char *after)
{
	struct change *v = realloc(p->changes, (p->nchanges + 1) * sizeof *v);
	if (!v)
		return -1;
	p->changes = v;
	struct change *c = &v[p->nchanges++];
	c->action = !before ? CHANGE_CREATE : !after ? CHANGE_DELETE : CHANGE_UPDATE;
	c->name = strdup(name);
	c->type = type;
	c->ttl = ttl;
	c->before = xstrdup(before);
	c->after = xstrdup(after);
	c->what = what;
	return 0;
}

/* The TTL a set shares: that of its first value we do not manage, or 0
 * when we manage all of it. */
static uint32_t shared_ttl(const struct rrset *set, const char *managed, int *shared)
{
	*shared = 0;
	for (size_t i = 0; set && set->values[i]; i++)
		if (!managed || strcmp(set->values[i], managed) != 0) {
			*shared = 1;
			return rrset_value_ttl(set, set->values[i]);
		}
	return 0;
}

/*
 * Put `want` in place of `have` (NULL: nothing yet) in the set at name.
 * Where the store keeps a TTL per record, the managed value gets the
 * configured ttl and the others keep theirs. Where it keeps one per set, a
 * set shared with values we do not manage keeps its TTL (all records of a
 * set share one, RFC 2181 §5.2), and the plan says so when that is not the
 * configured one.
 */
int plan_value(struct plan *p, const char *what, const char *name,
		      uint16_t type, const struct rrset *set, const char *have,
		      const char *want, uint32_t ttl)
{
	int shared = 0;
	uint32_t t = ttl, st = p->ttl_per_record ? 0 : shared_ttl(set, have, &shared);
	if (shared)
		t = st;
	/* a shared set's TTL is not ours to change: in sync whatever it is */
	if (have && strcmp(have, want) == 0 && (shared || rrset_value_ttl(set, have) == t))
		return 0;
	if (shared && t != ttl)
		plan_diag(p, DIAG_INFO, 0, "ttl-shared-set",
			  "%s: %s %s keeps TTL %u, the TTL of the record set it shares with "
			  "records not managed here (one TTL per set, RFC 2181 section 5.2), "
			  "not the configured %u", what, name, rr_type_name(type),
			  (unsigned)t, (unsigned)ttl);
	return plan_add_change(p, what, name, type, t, have, want);
}

/* A CNAME at name blocks any other data there (RFC 1034 §3.6.2). */
int plan_cname_blocks(struct plan *p, const struct rrset_list *ex,
			const char *name, const char *what)
{
	const struct rrset *c = rrset_list_find(ex, name, RR_CNAME);
	if (!c)
		return 0;
	plan_diag(p, DIAG_ERROR, 3, "cname-conflict",
		  "%s: %s is a CNAME to %s, so it cannot also hold the %s TXT record",
		  what, name, c->values[0], what);
	return 1;
}

/* Collect the values of a TXT set for which pick() is true. */
size_t plan_txt_pick(const struct rrset *set, int (*pick)(const char *),
		       const char **first)
{
	size_t n = 0;
	*first = NULL;
	for (char **v = set ? set->values : NULL; v && *v; v++)
		if (pick(*v) && n++ == 0)
			*first = *v;
	return n;
}

/* "<selector>._domainkey", relative. Caller frees. */
static char *dkim_owner(const char *selector)
{
	struct buf b = BUF_INIT;
	if (buf_printf(&b, "%s._domainkey", selector) < 0)
		return NULL;
	return buf_detach(&b);
}

static int any_text(const char *s)
{
	(void)s;
	return 1;
}



static void plan_dkim(struct plan *p, const struct domain_config *d,
		      const struct rrset_list *ex)
{
	const struct record_policy *pol = &d->policy;
	struct prov_error err = PROV_ERROR_INIT;
	char *name = NULL, *rel = NULL;
	int bits = 0;
	if (!(rel = dkim_owner(pol->dkim.selector)))
		goto out;
	if (name_resolve(rel, p->domain, &name, &err) < 0) {
		plan_diag(p, DIAG_ERROR, 3, "out-of-zone", "dkim: %s", err.msg);
		goto out;
	}
	if (dkim_key_check(pol->dkim.key, &bits, &err) < 0) {
		plan_diag(p, DIAG_ERROR, 3, "dkim-invalid-key", "dkim: %s: %s", name, err.msg);
		goto out;
	}
	if (bits < DKIM_MIN_BITS) {
		plan_diag(p, DIAG_ERROR, 3, "dkim-weak-key",
			  "dkim: %s: the key has %d bits; at least %d are required (RFC 8301)",
			  name, bits, DKIM_MIN_BITS);
		goto out;
	}
	if (bits < DKIM_GOOD_BITS)
		plan_diag(p, DIAG_WARNING, 0, "dkim-short-key",
			  "dkim: %s: the key has %d bits; %d are recommended (RFC 8301)",
			  name, bits, DKIM_GOOD_BITS);
	if (plan_cname_blocks(p, ex, name, "dkim"))
		goto out;
	char *want = dkim_record_build(pol->dkim.key);
	const struct rrset *set = rrset_list_find(ex, name, RR_TXT);
	const char *have = NULL;
	size_t n = plan_txt_pick(set, any_text, &have);
	for (size_t i = 0; set && set->values[i]; i++)
		if (strcmp(set->values[i], want) == 0)
			have = set->values[i];
	if (n > 1 && strcmp(have, want) != 0)
		plan_diag(p, DIAG_ERROR, 3, "dkim-multiple",
			  "dkim: %s holds %zu TXT records; a selector must have exactly one key "
			  "record (RFC 6376 §3.6.2.2): remove the others or choose another selector",
			  name, n);
	else if (n > 1)
		plan_diag(p, DIAG_WARNING, 0, "dkim-multiple",
			  "dkim: %s holds %zu TXT records besides the key; verifiers may pick any",
			  name, n - 1);
	else if (want && plan_value(p, "dkim", name, RR_TXT, set, have, want, pol->ttl) < 0)
		plan_diag(p, DIAG_ERROR, 1, "internal", "out of memory");
	free(want);
out:
	free(rel);
	free(name);
}

/* A report destination of the published record that receivers will not
 * use (RFC 7489 §7.1): a warning with the record its owner must publish. */
static int plan_dest_diag(void *ctx, const struct dmarc_dest *d)
{
	struct plan *p = ctx;
	if (d->state == DMARC_DEST_AGREED)
		return 0;
	char *msg = dmarc_dest_message(d);
	plan_diag(p, DIAG_WARNING, 0, dmarc_dest_code(d), "dmarc: %s",
		  msg ? msg : "out of memory");
	free(msg);
	return 0;
}

static void plan_dmarc_dests(struct plan *p, struct resolver *r,
			     const struct dmarc_record *rec)
{
	if (!r)
		return;
	dmarc_dests_walk(r, p->domain, "rua", rec->rua, plan_dest_diag, p);
	dmarc_dests_walk(r, p->domain, "ruf", rec->ruf, plan_dest_diag, p);
}

static void plan_dmarc(struct plan *p, const struct domain_config *d,
		       const struct rrset_list *ex, struct resolver *r)
{
	const struct record_policy *pol = &d->policy;
	struct prov_error err = PROV_ERROR_INIT;
	struct dmarc_record cur = { 0 }, wanted = { 0 };
	char *name = NULL;
	const struct dmarc_params params = {
		pol->dmarc.policy, pol->dmarc.sp, pol->dmarc.rua, pol->dmarc.ruf,
		pol->dmarc.fo, pol->dmarc.adkim, pol->dmarc.aspf, pol->dmarc.pct,
	};
	char *want = dmarc_record_build(&params);
	if (name_resolve("_dmarc", p->domain, &name, &err) < 0 || !want)
		goto out;
	if (dmarc_record_parse(want, &wanted, &err) < 0) {
		plan_diag(p, DIAG_ERROR, 3, "dmarc-invalid",
			  "dmarc: the configured record \"%s\" is not valid: %s", want, err.msg);
		goto out;
	}
	if (plan_cname_blocks(p, ex, name, "dmarc"))
		goto out;
	const struct rrset *set = rrset_list_find(ex, name, RR_TXT);
	const char *have = NULL;
	size_t n = plan_txt_pick(set, dmarc_is_record, &have);
	if (n > 1) {
		plan_diag(p, DIAG_ERROR, 3, "dmarc-multiple",
			  "dmarc: %s holds %zu DMARC records, so receivers apply none "
			  "(RFC 7489 §6.6.3): remove all but one", name, n);
		goto out;
	}
	if (have && strcmp(have, want) != 0) {
		prov_error_clear(&err);
		if (dmarc_record_parse(have, &cur, &err) < 0) {
			plan_diag(p, DIAG_WARNING, 0, "dmarc-existing-invalid",
				  "dmarc: the existing record at %s does not parse (%s); it is replaced",
				  name, err.msg);
		} else if (cur.p > dmarc_policy_from_name(pol->dmarc.policy)) {
			plan_diag(p, DIAG_WARNING, 0, "dmarc-stricter",
				  "dmarc: %s already has a stricter policy than p=%s; it is kept",
				  name, pol->dmarc.policy);
			plan_dmarc_dests(p, r, &cur); /* the kept record's destinations */
			goto out;
		}
	}
	if (plan_value(p, "dmarc", name, RR_TXT, set, have, want, pol->ttl) < 0)
		plan_diag(p, DIAG_ERROR, 1, "internal", "out of memory");
	plan_dmarc_dests(p, r, &wanted);
out:
	dmarc_record_release(&wanted);
	dmarc_record_release(&cur);
	free(want);
	free(name);
}

static void plan_tracking(struct plan *p, const struct domain_config *d,
			  const struct rrset_list *ex)
{
	const struct record_policy *pol = &d->policy;
	struct prov_error err = PROV_ERROR_INIT;
	char *name = NULL, *target = dname_fqdn(pol->tracking.target);
	if (name_resolve(pol->tracking.name, p->domain, &name, &err) < 0) {
		plan_diag(p, DIAG_ERROR, 3, "out-of-zone", "tracking: %s", err.msg);
		goto out;
	}
	if (dname_equal(name, p->domain)) {
		plan_diag(p, DIAG_ERROR, 3, "cname-at-apex",
			  "tracking: a CNAME cannot sit at the zone apex %s", name);
		goto out;
	}
	for (size_t i = 0; i < ex->n; i++)
		if (ex->v[i].type != RR_CNAME && dname_equal(ex->v[i].name, name)) {
			plan_diag(p, DIAG_ERROR, 3, "cname-conflict",
				  "tracking: %s already holds %s data, so it cannot be a CNAME "
				  "(RFC 1034 §3.6.2): move that data or choose another tracking name",
				  name, rr_type_name(ex->v[i].type));
			goto out;
		}
	const struct rrset *set = rrset_list_find(ex, name, RR_CNAME);
	const char *have = set ? set->values[0] : NULL;
	if (target && plan_value(p, "tracking", name, RR_CNAME, set, have, target, pol->ttl) < 0)
		plan_diag(p, DIAG_ERROR, 1, "internal", "out of memory");
out:
	free(target);
	free(name);
}

char **plan_managed_names(const struct domain_config *d)
{
	char **v = NULL, *name = NULL, *zone = dname_fqdn(d->name);
	char *rel = NULL;
	unsigned omit = d->policy.omit;
	struct prov_error err = PROV_ERROR_INIT;
	if (!zone)
		return NULL;
	if (!(omit & REC_SPF))
		strv_push(&v, zone);
	if (!(omit & REC_DKIM) && (rel = dkim_owner(d->policy.dkim.selector))) {
		if (name_resolve(rel, zone, &name, &err) == 0)
			strv_push(&v, name);
		free(name);
		free(rel);
	}
	name = NULL;
	if (!(omit & REC_DMARC) && name_resolve("_dmarc", zone, &name, &err) == 0)
		strv_push(&v, name);
	free(name);
	name = NULL;
	prov_error_clear(&err);
	if (!(omit & REC_TRACKING) &&
	    name_resolve(d->policy.tracking.name, zone, &name, &err) == 0)
		strv_push(&v, name);
	free(name);
	if (!(omit & REC_SPF) && d->policy.spf.flatten && *d->policy.spf.flatten)
		plan_spf_chain_names(zone, &v);
	if (!v)
		v = calloc(1, sizeof *v);
	free(zone);
	return v;
}

int plan_build(const struct domain_config *d, const struct rrset_list *existing,
	       struct resolver *r, int apply_mode, struct plan *out)
{
	memset(out, 0, sizeof *out);
	out->domain = dname_fqdn(d->name);
	out->provider = d->provider;
	out->ttl_per_record = d->prov && d->prov->ops && d->prov->ops->ttl_per_record;
	if (!out->domain)
		return PROV_ERR_NOMEM;
	unsigned omit = d->policy.omit;
	if (!(omit & REC_SPF))
		plan_spf(out, d, existing, r, apply_mode);
	if (!(omit & REC_DKIM))
		plan_dkim(out, d, existing);
	if (!(omit & REC_DMARC))
		plan_dmarc(out, d, existing, r);
	if (!(omit & REC_TRACKING))
		plan_tracking(out, d, existing);
	out->status = out->nchanges ? PLAN_CHANGES : PLAN_IN_SYNC;
	for (size_t i = 0; i < out->ndiags; i++)
		if (out->diags[i].severity == DIAG_ERROR) {
			if (out->diags[i].exit_code == 1)
				out->status = PLAN_ERROR;
			else if (out->status != PLAN_ERROR)
				out->status = PLAN_REFUSED;
		}
	return 0;
}

void plan_release(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nchanges; i++) {
		free(p->changes[i].name);
		free(p->changes[i].before);
		free(p->changes[i].after);
	}
	for (size_t i = 0; i < p->ndiags; i++) {
		free(p->diags[i].code);
		free(p->diags[i].message);
	}
	free(p->changes);
	free(p->diags);
	free(p->domain);
	free(p->spf_record);
	free(p->verdict_ip);
	if (p->spf_counted)
		spf_cost_release(&p->spf);
	memset(p, 0, sizeof *p);
}

int plan_exit_code(const struct plan *p, int detailed)
{
	switch (p->status) {
	case PLAN_ERROR: return 1;
	case PLAN_DRIFTED: return 1;
	case PLAN_REFUSED: return 3;
	case PLAN_CHANGES: return detailed ? 2 : 0;
	default: return 0;
	}
}

const char *plan_status_name(enum plan_status s)
{
	static const char *const names[] = { "in_sync", "changes", "applied",
					     "refused", "error", "drifted" };
	return names[s];
}
