/*
 * check_dmarc.c - DMARC and the tracking CNAME as one server publishes them.
 * DMARC: one v=DMARC1 record at _dmarc (RFC 7489 §6.6.3), parsed strictly,
 * a policy weaker than configured fails (stricter passes with a note); a
 * report host in another organisation (PSL, §3.2) must publish v=DMARC1 at
 * <domain>._report._dmarc.<host> (§7.1, dmarc_auth.c), else a warning. Tracking: a CNAME
 * to the configured target, alone at its name (RFC 1034 §3.6.2).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dmarc.h"
#include "dmarc_auth.h"
#include "provision/buf.h"
#include "provision/record.h"
#include "provision/util.h"

static const char *const policy_names[] = { "none", "quarantine", "reject" };

static const char *policy_name(enum dmarc_policy p)
{
	return p >= DMARC_P_NONE && p <= DMARC_P_REJECT ? policy_names[p] : "?";
}

/* A destination outside the organisation, as the check says it. */
static int dest_note(void *ctx, const struct dmarc_dest *d)
{
	struct check_verdict *v = ctx;
	char *msg = dmarc_dest_message(d);
	int rc = msg ? check_note_code(v, d->state == DMARC_DEST_AGREED ? NOTE_INFO
				       : NOTE_WARNING, dmarc_dest_code(d), "%s", msg)
		     : -1;
	free(msg);
	return rc < 0 ? PROV_ERR_NOMEM : 0;
}

static void dmarc_uris(const struct check_ctx *c, struct check_verdict *v,
		       const char *tag, const char *list)
{
	dmarc_dests_walk(c->rec, c->zone, tag, list, dest_note, v);
}

/* Policy and report addresses of the one parsed record. */
static int dmarc_judge_record(const struct check_ctx *c, struct check_verdict *v,
			      const struct dmarc_record *cur, const char *name)
{
	const struct record_policy *pol = &c->d->policy;
	enum dmarc_policy want = dmarc_policy_from_name(pol->dmarc.policy);
	int rc = 0;
	if (cur->p < want)
		rc = check_problem(v, CHECK_FAIL, "the published policy p=%s is weaker than the "
				   "configured p=%s: run provision to publish it",
				   policy_name(cur->p), pol->dmarc.policy);
	else if (cur->p > want)
		check_note_add(v, NOTE_INFO, "the published policy p=%s is stricter than the "
			       "configured p=%s; provision keeps it", policy_name(cur->p),
			       pol->dmarc.policy);
	if (pol->dmarc.rua && (!cur->rua || strcmp(cur->rua, pol->dmarc.rua) != 0))
		check_note_add(v, NOTE_INFO, "rua is %s, configured %s", cur->rua ? cur->rua :
			       "not set", pol->dmarc.rua);
	dmarc_uris(c, v, "rua", cur->rua);
	dmarc_uris(c, v, "ruf", cur->ruf);
	if (rc == 0)
		rc = check_problem(v, CHECK_PASS, "one DMARC record at %s, p=%s%s", name,
				   policy_name(cur->p), cur->rua ? ", report addresses valid" : "");
	return rc;
}

int check_judge_dmarc(const struct check_ctx *c, struct check_verdict *v)
{
	struct prov_error err = PROV_ERROR_INIT;
	struct dmarc_record cur = { 0 };
	const struct record_policy *pol = &c->d->policy;
	const struct dmarc_params params = {
		pol->dmarc.policy, pol->dmarc.sp, pol->dmarc.rua, pol->dmarc.ruf,
		pol->dmarc.fo, pol->dmarc.adkim, pol->dmarc.aspf, pol->dmarc.pct,
	};
	memset(v, 0, sizeof *v);
	char *name = check_record_owner(c->d, CHECK_DMARC, &err);
	if (!name)
		return check_problem(v, CHECK_FAIL, "dmarc: %s", err.msg);
	const struct dns_answer *a = check_txt_at(c, name, v);
	const char *have = NULL;
	size_t n = 0;
	int rc;
	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++)
		if (dmarc_is_record(a->rr[i].text) && n++ == 0)
			have = a->rr[i].text;
	if (a->status == DNS_TEMPFAIL) {
		rc = check_problem(v, CHECK_ERROR, "%s", a->why);
	} else if (n == 0) {
		char *want = dmarc_record_build(&params);
		rc = check_problem(v, CHECK_MISSING, "no DMARC record at %s: run provision to "
				   "publish \"%s\"", name, want ? want : "");
		free(want);
	} else if (!(v->value = strdup(have))) {
		rc = PROV_ERR_NOMEM;
	} else if (n > 1) {
		rc = check_problem(v, CHECK_FAIL, "%s holds %zu DMARC records, so receivers "
				   "apply none (RFC 7489 §6.6.3): remove all but one", name, n);
	} else if (dmarc_record_parse(have, &cur, &err) < 0) {
		rc = check_problem(v, CHECK_FAIL, "the DMARC record does not parse: %s; fix "
				   "it, or remove it and run provision", err.msg);
	} else {
		rc = dmarc_judge_record(c, v, &cur, name);
	}
	dmarc_record_release(&cur);
	free(name);
	return rc;
}

/* ---- tracking CNAME ----------------------------------------------------- */

/* The types of data found at name instead of a CNAME ("A, TXT"), or "". */
static char *other_data(const struct check_ctx *c, const char *name)
{
	static const uint16_t types[] = { RR_A, RR_AAAA, RR_TXT, RR_MX };
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
		const struct dns_answer *a = resolver_query(c->auth, name, types[i]);
		if (a->status == DNS_OK && a->n)
			buf_printf(&b, "%s%s", b.len ? ", " : "", rr_type_name(types[i]));
	}
	return buf_detach(&b);
}

static int tracking_absent(const struct check_ctx *c, struct check_verdict *v,
			   const char *name, const struct dns_answer *a)
{
	if (a->status == DNS_NXDOMAIN)
		return check_problem(v, CHECK_MISSING, "no CNAME at %s: run provision to create "
				     "it (open, click and unsubscribe tracking need it)", name);
	char *other = other_data(c, name);
	int rc;
	if (!other)
		rc = PROV_ERR_NOMEM;
	else if (*other)
		rc = check_problem(v, CHECK_FAIL, "%s holds %s data instead of a CNAME, and a "
				   "CNAME must be alone at its name (RFC 1034 §3.6.2): move that "
				   "data or choose another tracking name", name, other);
	else
		rc = check_problem(v, CHECK_MISSING, "no CNAME at %s (the name exists only as "
				   "the parent of other names): run provision to create it", name);
	free(other);
	return rc;
}

int check_judge_tracking(const struct check_ctx *c, struct check_verdict *v)
{
	struct prov_error err = PROV_ERROR_INIT;
	memset(v, 0, sizeof *v);
	char *name = check_record_owner(c->d, CHECK_TRACKING, &err);
	char *target = dname_fqdn(c->d->policy.tracking.target);
	int rc;
	if (!name || !target) {
		rc = check_problem(v, CHECK_FAIL, "tracking: %s", err.set ? err.msg : "out of memory");
		goto out;
	}
	if (dname_equal(name, c->zone)) {
		rc = check_problem(v, CHECK_FAIL, "tracking: a CNAME cannot sit at the zone "
				   "apex %s: configure another tracking name", name);
		goto out;
	}
	const struct dns_answer *a = resolver_query(c->auth, name, RR_CNAME);
	if (a->status == DNS_TEMPFAIL)
		rc = check_problem(v, CHECK_ERROR, "%s", a->why);
	else if (a->status == DNS_NXDOMAIN || a->n == 0)
		rc = tracking_absent(c, v, name, a);
	else if (!(v->value = strdup(a->rr[0].text)))
		rc = PROV_ERR_NOMEM;
	else if (!dname_equal(a->rr[0].text, target))
		rc = check_problem(v, CHECK_FAIL, "%s is a CNAME to %s, not to the configured "
				   "%s: run provision to change it", name, a->rr[0].text, target);
	else
		rc = check_problem(v, CHECK_PASS, "%s is a CNAME to %s", name, target);
out:
	free(name);
	free(target);
	return rc;
}
