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

#endif
