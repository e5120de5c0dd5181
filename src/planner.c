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
