/*
 * apply.c - the one way a plan reaches a provider: the before-state checked
 * again right before the write where the provider cannot make its write
 * conditional, the backup, then the write (apply.h).
 *
 * Why the re-read: between the listing a plan is made from and the write,
 * the planner walks the SPF tree through DNS (seconds for a deep tree), and
 * a person may edit the zone in the provider's web page meanwhile.
 * Cloudflare's batch PATCHes a record by id and GoDaddy's PATCH appends: a
 * write made on the old listing would overwrite that edit, or add a second
 * SPF record beside one just created. Route 53 (exact DELETE of the values
 * read, CREATE that fails on an existing set), RFC 2136 (prerequisites) and
 * the zone file (its lock, held from the read to the write) refuse such a
 * write themselves, so they are not read twice.
 */
#include <stdio.h>
#include <stdlib.h>

#include "apply.h"
#include "backup.h"
#include "provision/util.h"

int domain_list(const struct domain_config *d, void *h, char *const *names,
		struct rrset_list *out, struct prov_error *err)
{
	char **managed = names ? NULL : plan_managed_names(d), *zone = dname_fqdn(d->name);
	const struct zone z = { zone, d->zone_id };
	int rc = (names || managed) && zone
			 ? d->prov->ops->list(h, &z, names ? names : managed, out, err)
			 : prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	strv_free(managed);
	free(zone);
	return rc;
}

static void drifted(struct plan *p, const struct rrset *x, const struct rrset *was,
		    const struct rrset *now)
{
	struct buf m = BUF_INIT;
	buf_printf(&m, "drifted: %s %s was [", x->name, rr_type_name(x->type));
	rrset_text(&m, was, 1);
	buf_puts(&m, "] when planned, is [");
	rrset_text(&m, now, 1);
	buf_puts(&m, "] now: none of this domain's changes is applied; plan again");
	plan_diag(p, DIAG_ERROR, 1, "drifted", "%s", buf_str(&m));
	buf_release(&m);
}

size_t plan_drift(struct plan *p, const struct rrset_list *was, const struct rrset_list *now)
{
	size_t n = 0;
	for (size_t i = 0; i < was->n; i++) {
		const struct rrset *x = &was->v[i], *y = rrset_list_find(now, x->name, x->type);
		if (!rrset_same(x, y, 1))
			drifted(p, x, x, y), n++;
	}
	for (size_t i = 0; i < now->n; i++) /* sets that appeared since */
		if (!rrset_list_find(was, now->v[i].name, now->v[i].type))
			drifted(p, &now->v[i], NULL, &now->v[i]), n++;
	return n;
}

static void fail(struct plan *p, enum plan_status st, const char *code, const char *msg)
{
	p->status = st;
	if (msg)
		plan_diag(p, DIAG_ERROR, 1, code, "%s", msg);
}

int plan_write(const char *backup_dir, struct domain_config *d, void *h, struct plan *p,
	       const struct rrset_list *read, char *const *names, int recheck, int verbose)
{
	struct prov_error err = PROV_ERROR_INIT;
	struct rrset_list now = { 0 };
	char *backup = NULL;
	size_t applied = 0;
	int rc = -1;
	if (recheck && !d->prov->ops->conditional_writes) {
		if (domain_list(d, h, names, &now, &err) < 0) {
			fail(p, PLAN_ERROR, "provider-error", err.msg);
			goto out;
		}
		if (verbose)
			fprintf(stderr, "provision: %s: read the record sets again before the "
				"write\n", p->domain);
		if (plan_drift(p, read, &now)) {
			fail(p, PLAN_DRIFTED, NULL, NULL);
			goto out;
		}
	}
	if (backup_write(backup_dir, d, p, read, &backup, &err) < 0) {
		fail(p, PLAN_ERROR, "backup-failed", err.msg);
		goto out;
	}
	if (verbose)
		fprintf(stderr, "provision: %s: backup of the record sets to change: %s\n"
			"provision: %s: applying through provider %s\n", p->domain, backup,
			p->domain, d->provider);
	const struct zone z = { p->domain, d->zone_id };
	if (d->prov->ops->apply(h, &z, p->changes, p->nchanges, &applied, &err) < 0) {
		fail(p, PLAN_ERROR, "apply-failed", err.msg);
		plan_diag(p, DIAG_INFO, 0, "applied", "%zu of %zu changes were applied", applied,
			  p->nchanges);
		goto out;
	}
	rc = 0;
out:
	free(backup);
	rrset_list_release(&now);
	return rc;
}
