/*
 * apply.h - the one way a plan reaches a provider, for every command that
 * writes (provision, provision apply PLAN.json, provision restore).
 */
#ifndef PROVISION_APPLY_H
#define PROVISION_APPLY_H

#include "config.h"
#include "plan.h"
#include "provision/record.h"

/* Every record set at names (FQDNs; NULL: the domain's managed names) in
 * d's zone, through d's provider. 0 or a PROV_ERR_* with err. */
int domain_list(const struct domain_config *d, void *h, char *const *names,
		struct rrset_list *out, struct prov_error *err);

/* Each set that differs (values or TTLs) between was, read when the plan
 * was made, and now, as an error diagnostic "drifted" in p naming the set
 * and both sides; the number of such sets. */
size_t plan_drift(struct plan *p, const struct rrset_list *was, const struct rrset_list *now);

/*
 * Write p's changes through d's provider (handle h). read is what the plan
 * was made from (the sets at names; NULL names: the managed names).
 *
 * With recheck, on a provider whose writes do not carry their own
 * before-state (provider_ops.conditional_writes is 0: Cloudflare, GoDaddy)
 * the sets are read again right before the write, and on any difference the
 * domain is drifted: nothing is written. Then the sets the plan changes are
 * kept in backup_dir (no backup, no write), then the changes are applied.
 *
 * 0 when the provider applied every change; -1 with p's status set (error
 * or drifted) and its reason as a diagnostic.
 */
int plan_write(const char *backup_dir, struct domain_config *d, void *h, struct plan *p,
	       const struct rrset_list *read, char *const *names, int recheck, int verbose);

#endif
