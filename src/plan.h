/*
 * plan.h - what the planner decides for one domain.
 *
 * plan_build() is pure: from the domain's policy, the record sets the
 * provider listed and a resolver (the only I/O, for SPF counting) it computes
 * the changes, the SPF cost and the diagnostics. It never touches a record
 * the tool does not manage.
 */
#ifndef PROVISION_PLAN_H
#define PROVISION_PLAN_H

#include <stddef.h>

#include "config.h"
#include "provision/provider.h"
#include "provision/resolver.h"
#include "provision/spf.h"

enum diag_severity { DIAG_ERROR, DIAG_WARNING, DIAG_INFO };

struct diag {
	enum diag_severity severity;
	char *code;    /* "spf-lookup-limit", "cname-conflict", ... */
	char *message; /* one line naming the record */
	int exit_code; /* for errors: 3 (a rule) or 1 (runtime) */
};

enum plan_status {
	PLAN_IN_SYNC,
	PLAN_CHANGES,
	PLAN_APPLIED,
	PLAN_REFUSED,
	PLAN_ERROR,
	PLAN_DRIFTED, /* apply PLAN.json: the record sets changed since the plan */
};

struct plan {
	char *domain;         /* FQDN with trailing dot */
	const char *provider; /* the provider block's name (borrowed) */
	int ttl_per_record;   /* the provider keeps a TTL per record */
	enum plan_status status;
	struct change *changes;
	size_t nchanges;
	char *spf_record;     /* the merged SPF record, NULL if none planned */
	int spf_counted;      /* spf below is filled */
	struct spf_cost spf;
	char *verdict_ip;     /* NULL when no verdict was computed */
	enum spf_result verdict;
	struct diag *diags;
	size_t ndiags;
};

/* The names whose records the plan manages, FQDNs, NULL-terminated (apex,
 * DKIM, DMARC, tracking; names outside the zone are left out). Caller frees
 * with strv_free(). */
char **plan_managed_names(const struct domain_config *d);

/* Build the plan. Returns 0 (see status and diags: refused plans are not an
 * error of the function) or PROV_ERR_NOMEM. With apply_mode set, an SPF
 * record whose cost could not be counted is an error (exit 1); otherwise a
 * warning. */
int plan_build(const struct domain_config *d, const struct rrset_list *existing,
	       struct resolver *r, int apply_mode, struct plan *out);
void plan_release(struct plan *p);

/* Add a diagnostic; 0 or -1. */
int plan_diag(struct plan *p, enum diag_severity sev, int exit_code,
	      const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The exit code the plan stands for: 0, 1, 2 (changes pending, when
 * detailed) or 3. */
int plan_exit_code(const struct plan *p, int detailed);
const char *plan_status_name(enum plan_status s);

#endif
