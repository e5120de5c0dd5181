/*
 * dmarc_auth.h - report destinations outside the policy domain's
 * organisation (RFC 7489 §7.1): found in rua/ruf, asked once, said the
 * same way by the planner and by check.
 */
#ifndef PROVISION_DMARC_AUTH_H
#define PROVISION_DMARC_AUTH_H

#include "provision/resolver.h"

enum dmarc_dest_state {
	DMARC_DEST_AGREED,     /* a v=DMARC1 TXT at the authorisation name */
	DMARC_DEST_MISSING,    /* none: receivers send no report there */
	DMARC_DEST_UNVERIFIED, /* DNS failed: not known */
};

/* One external destination host of a rua or ruf list. */
struct dmarc_dest {
	const char *tag;    /* "rua" or "ruf" */
	const char *domain; /* the policy domain, without the trailing dot */
	const char *host;   /* the destination host, lower case */
	const char *name;   /* <domain>._report._dmarc.<host> */
	enum dmarc_dest_state state;
	const char *why;    /* DMARC_DEST_UNVERIFIED: the DNS failure */
};

/* Called for each distinct destination host of list whose organisational
 * domain (Public Suffix List) is not the policy domain's; a non-zero
 * return stops the walk and is returned. */
typedef int (*dmarc_dest_fn)(void *ctx, const struct dmarc_dest *d);

/* Walk the comma-separated DMARC URIs of tag ("rua"/"ruf") in the record
 * published at domain's _dmarc (domain may end in a dot), asking TXT at
 * each external host's authorisation name through r (its cache makes a
 * name asked once per run). 0, the callback's value, or PROV_ERR_NOMEM. */
int dmarc_dests_walk(struct resolver *r, const char *domain, const char *tag,
		     const char *list, dmarc_dest_fn fn, void *ctx);

/* The diagnostic code of a destination that is not agreed:
 * "dmarc-rua-unauthorised", "dmarc-ruf-unverified", ...; NULL when agreed. */
const char *dmarc_dest_code(const struct dmarc_dest *d);

/* One line saying what d means for the reports (caller frees): for a
 * missing authorisation, the exact record the destination must publish. */
char *dmarc_dest_message(const struct dmarc_dest *d);

#endif
