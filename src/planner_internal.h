/*
 * planner_internal.h - what the parts of the planner share. Not public.
 */
#ifndef PROVISION_PLANNER_INTERNAL_H
#define PROVISION_PLANNER_INTERNAL_H

#include "plan.h"

/* Add a change for one managed value; 0 or -1 (no memory). */
int plan_add_change(struct plan *p, const char *what, const char *name,
		    uint16_t type, uint32_t ttl, const char *before,
		    const char *after);
/* Put want in place of have (NULL: nothing yet) in the set at name, unless
 * it is there already with the right TTL; 0 or -1. */
int plan_value(struct plan *p, const char *what, const char *name,
	       uint16_t type, const struct rrset *set, const char *have,
	       const char *want, uint32_t ttl);
/* How many values of set pick() accepts; *first is the first of them. */
size_t plan_txt_pick(const struct rrset *set, int (*pick)(const char *),
		     const char **first);
/* 1 (with a diagnostic) when a CNAME at name blocks the what TXT record. */
int plan_cname_blocks(struct plan *p, const struct rrset_list *ex,
		      const char *name, const char *what);

/* planner_spf.c */
void plan_spf(struct plan *p, const struct domain_config *d,
	      const struct rrset_list *ex, struct resolver *r, int apply_mode);
/* The names of the chained records flattening may own: _spf1.<zone> ... */
#define PLAN_SPF_CHAIN_MAX 5
int plan_spf_chain_names(const char *zone, char ***names);

#endif
