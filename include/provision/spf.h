/*
 * spf.h - one SPF engine (RFC 7208) for everything the tool does with SPF.
 *
 * spf_check_host() is check_host() of RFC 7208 §4. The planner's worst-case
 * lookup count (spf_cost()) walks the same code path with a client that
 * matches nothing, so there are not two interpreters of SPF in the project.
 * spf_merge() adds an include to an existing record as email-auth-rules.md
 * §1.12 describes.
 */
#ifndef PROVISION_SPF_H
#define PROVISION_SPF_H

#include <stddef.h>

#include "provision/error.h"
#include "provision/resolver.h"

#define SPF_LOOKUP_LIMIT 10
#define SPF_VOID_LIMIT 2

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

const char *spf_result_name(enum spf_result r); /* "pass", ... */

/* 1 when text is an SPF record: starts with "v=spf1" (any case) followed by
 * a space or the end (RFC 7208 §4.5). */
int spf_is_record(const char *text);

/* Check the syntax of a whole record. 0 when valid; otherwise
 * PROV_ERR_RULE and err says what and where ("unknown mechanism 'moo' at
 * column 12"). */
int spf_validate(const char *text, struct prov_error *err);

/*
 * Merge "include:<include>" into an existing record (NULL when there is
 * none). Rules (email-auth-rules.md §1.12): before the first `all`; else
 * before `redirect=` and other modifiers; else after the last mechanism; an
 * include already present (any case, trailing dot, any qualifier) is not
 * added again; every other term kept as written, in order. With no existing
 * record the result is "v=spf1 include:<include> <all>".
 * *out is the merged record (caller frees); *changed is 1 when it differs
 * from existing. Returns 0, or PROV_ERR_RULE with err filled when existing
 * does not parse.
 */
int spf_merge(const char *existing, const char *include, const char *all,
	      char **out, int *changed, struct prov_error *err);

/* Sender data for check_host(). */
struct spf_request {
	const char *ip;       /* client IP, IPv4 or IPv6 presentation form */
	const char *sender;   /* MAIL FROM ("" or NULL: postmaster@helo) */
	const char *helo;     /* HELO/EHLO name */
	const char *domain;   /* the domain to check (NULL: from sender) */
	const char *receiver; /* %{r}; NULL: "unknown" */
	const char *default_exp; /* explanation when none is published */
};

/* check_host(). *explanation (may be NULL) receives the explanation of a
 * fail, or NULL; caller frees. */
enum spf_result spf_check_host(struct resolver *r,
			       const struct spf_request *req,
			       char **explanation);

/* One term of the lookup tree. */
struct spf_term {
	char *term;      /* as written: "include:mailgun.org" */
	char *domain;    /* the record this term sits in */
	int lookups;     /* this term plus everything below it */
	int void_lookups;
	int known;       /* 0 when the cost below could not be found (macro,
			  * DNS failure); lookups is then a lower bound */
	char *note;      /* NULL or why: "loop: a.example -> b.example" */
	struct spf_term *children; /* terms of an included/redirected record */
	size_t nchildren;
};

struct spf_cost {
	char *domain;
	int lookups;      /* worst case: every term evaluated */
	int void_lookups;
	int known;        /* 0: a part could not be resolved (see terms) */
	int dns_failed;   /* 1: a DNS error (not a macro) left it unknown */
	int loop;         /* 1: an include/redirect loop was found */
	int permerror;    /* 1: an include target has no SPF record etc. */
	char *problem;    /* first problem as one line, or NULL */
	struct spf_term *terms; /* the top record's terms */
	size_t nterms;
};

/*
 * Worst-case cost of record (the text that domain would publish), found by
 * really resolving its tree through r: every counted term (include, a, mx,
 * ptr, exists, and redirect= unless the record has `all`) with the cost of
 * what it includes, as for a sender that matches nothing. Does not stop at
 * the limit: the whole tree is counted so the user sees where the cost is.
 * Loops are detected and reported. Returns 0 (cost filled; check known,
 * loop, permerror), or PROV_ERR_RULE when record does not parse.
 */
int spf_cost(struct resolver *r, const char *domain, const char *record,
	     struct spf_cost *cost, struct prov_error *err);
void spf_cost_release(struct spf_cost *cost);

/*
 * Records as they will be published, before they are: an evaluation that
 * asks TXT at one of these names gets the text given here instead of DNS.
 * Lets the planner count and judge a merged record (and the chained records
 * of a flattened one) before anything is written. NULL-terminated by name.
 */
struct spf_pending {
	const char *name; /* FQDN, any case, with or without the dot */
	const char *text; /* the SPF record that name will publish */
};

/* spf_cost() for the tree that domain will publish: its record and any
 * other records are taken from pending (pending[0] need not be domain's;
 * domain's record must be among them). */
int spf_cost_pending(struct resolver *r, const char *domain,
		     const struct spf_pending *pending, struct spf_cost *cost,
		     struct prov_error *err);

/* check_host() for req (req->domain required) as if the pending records
 * were published. The verdict of the planner. */
enum spf_result spf_check_pending(struct resolver *r,
				  const struct spf_request *req,
				  const struct spf_pending *pending,
				  char **explanation);

/* A sending address of a service: the first ip4 address (else ip6) met in a
 * depth-first walk of domain's published SPF tree (include and redirect
 * followed), as text without its prefix length. 0 and *ip (caller frees);
 * PROV_ERR_RUNTIME with err when the tree cannot be read or has none. */
int spf_sample_ip(struct resolver *r, const char *domain, char **ip,
		  struct prov_error *err);

/* The result of flattening. */
struct spf_flat {
	char *record;       /* the new record for the domain itself */
	struct spf_pending *chain; /* extra records owned by the tool, in
			     * order: _spf1.<domain>, _spf2.<domain>, ...;
			     * NULL-terminated; names and texts are owned */
	size_t nchain;
	char **flattened;   /* the include targets replaced (NULL-term.) */
	size_t ip_terms;    /* ip4/ip6 terms written in all */
};

/*
 * Flatten: replace each include:<name> of record whose target is in names
 * (case and trailing dot ignored) by the ip4/ip6 terms its published tree
 * resolves to (includes and redirects followed; a:/mx: resolved to their
 * addresses with their prefix lengths; duplicates dropped; order kept), at
 * the place of the include. Refused (PROV_ERR_RULE, err says which term)
 * when a tree holds what cannot be flattened without changing the result:
 * a qualifier other than + on a mechanism, ptr, exists, macros, +all; or
 * when a DNS lookup fails (PROV_ERR_RUNTIME).
 * The result is split so that each published record is at most max_bytes
 * long (about 450 with the owner name: RFC 7208 §3.4): when it does not fit,
 * the ip terms overflow into chained records "_spf1.<domain>", ... each
 * "v=spf1 <terms> [include:_spfN+1.<domain>]" (no all), included from the
 * record where the overflow begins. Never flattens an include not named.
 */
int spf_flatten(struct resolver *r, const char *domain, const char *record,
		char *const *names, size_t max_bytes, struct spf_flat *out,
		struct prov_error *err);
void spf_flat_release(struct spf_flat *f);

#endif
