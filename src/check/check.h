/*
 * check.h - `provision check`: live DNS read back from every authoritative
 * server and judged record by record. Not a public interface: the parts of
 * the command (check.c, check_judge.c, check_render.c) and its unit tests
 * share it.
 */
#ifndef PROVISION_CHECK_H
#define PROVISION_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include <cJSON.h>

#include "config.h"
#include "provision/resolver.h"
#include "provision/spf.h"

enum check_status {
	CHECK_PASS,
	CHECK_FAIL,
	CHECK_MISSING,
	CHECK_ERROR, /* per server only: the server could not be asked */
};

enum check_record { CHECK_SPF, CHECK_DKIM, CHECK_DMARC, CHECK_TRACKING, CHECK_NRECORDS };

enum check_note_sev { NOTE_WARNING, NOTE_INFO };

struct check_note {
	enum check_note_sev sev;
	char *message;
	const char *code; /* a diagnostic code ("dmarc-rua-unauthorised"), or NULL */
};

/* One record as one server publishes it, judged. */
struct check_verdict {
	enum check_status status;
	char *value;   /* what the server publishes (SPF/DKIM/DMARC text, the
			* CNAME target) or NULL */
	char *message; /* one line: what is wrong and what to do, or why it
			* passes */
	struct check_note *notes;
	size_t nnotes;
	/* SPF only, when counted */
	int spf_counted, lookups, void_lookups, known;
	char *verdict_ip;
	enum spf_result verdict;
};

/* What a judge needs: the zone's policy, the server (non-recursive) and the
 * recursive resolver for everything outside the zone (SPF trees, report
 * authorisation, CNAME targets). */
struct check_ctx {
	const struct domain_config *d;
	const char *zone;        /* FQDN with trailing dot */
	struct resolver *auth;   /* one authoritative server */
	struct resolver *rec;    /* the --resolver */
};

const char *check_status_name(enum check_status s);   /* "pass", ... */
const char *check_record_name(enum check_record r);   /* "spf", ... */
/* The owner name a record is checked at (FQDN, caller frees), or NULL with
 * err filled (name outside the zone, no memory). */
char *check_record_owner(const struct domain_config *d, enum check_record r,
			 struct prov_error *err);

/* Judge one record on one server: 0 (v filled, also for fail/missing), or
 * PROV_ERR_NOMEM. Release v with check_verdict_release(). */
int check_judge(const struct check_ctx *c, enum check_record r,
		struct check_verdict *v);
int check_judge_spf(const struct check_ctx *c, struct check_verdict *v);
int check_judge_dkim(const struct check_ctx *c, struct check_verdict *v);
int check_judge_dmarc(const struct check_ctx *c, struct check_verdict *v);
int check_judge_tracking(const struct check_ctx *c, struct check_verdict *v);
void check_verdict_release(struct check_verdict *v);
/* TXT at name on c->auth; when the server only has a CNAME into another
 * zone there (allowed for DKIM), the target's TXT through c->rec, with an
 * info note on v. */
const struct dns_answer *check_txt_at(const struct check_ctx *c, const char *name,
				      struct check_verdict *v);
/* Add a note (printf-style); 0 or -1. */
int check_note_add(struct check_verdict *v, enum check_note_sev sev,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same with a diagnostic code (a static string) shown in JSON. */
int check_note_code(struct check_verdict *v, enum check_note_sev sev,
		    const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Record what was found: the first call sets status and message (a pass
 * message too), later ones become warnings so that none is lost. 0 or
 * PROV_ERR_NOMEM. */
int check_problem(struct check_verdict *v, enum check_status st,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The SOA serial on one server: 0 and *serial; PROV_ERR_RUNTIME with err
 * (the server did not answer, or does not serve the zone). */
int check_soa_serial(struct resolver *auth, const char *zone, long long *serial,
		     struct prov_error *err);

/* One server as asked for one domain. */
struct check_server {
	char *label;       /* "127.0.0.1:5301" */
	long long serial;  /* -1 when unknown */
	char *error;       /* NULL, or why it could not be asked */
};

/* One record over all servers. */
struct check_item {
	enum check_record record;
	int omitted;                    /* left out by the configuration
					 * (`tracking = false;`): not checked,
					 * status pass, not in the JSON */
	char *name;                     /* owner FQDN, or NULL */
	enum check_status status;       /* pass | fail | missing */
	char *message;
	struct check_note *notes;       /* distinct notes of all servers */
	size_t nnotes;
	struct check_verdict *per;      /* one per server, in server order */
	size_t nper;
};

enum check_dstatus { CHECK_D_PASS, CHECK_D_FAIL, CHECK_D_ERROR };

struct check_domain {
	char *domain;                   /* FQDN */
	const char *provider;           /* borrowed */
	enum check_dstatus status;
	char *error;                    /* domain-wide problem, or NULL */
	struct check_server *servers;
	size_t nservers;
	struct check_item items[CHECK_NRECORDS];
	unsigned long questions, sent;  /* DNS traffic of this domain */
};

/* Fold the per-server verdicts of item into its status and message: it
 * passes only when it passes on every server; servers that disagree are
 * named with their SOA serials. 0 or PROV_ERR_NOMEM. */
int check_item_combine(struct check_item *item, const struct check_server *servers,
		       size_t nservers);
/* The domain's status from its items and servers. */
void check_domain_finish(struct check_domain *cd);
void check_domain_release(struct check_domain *cd);
/* Exit status of a domain: 0 pass, 3 fail, 1 error. */
int check_domain_exit(const struct check_domain *cd);

/* The pause before the next round: 2 s doubling up to 30 s, never past
 * the time left (seconds). round counts from 0. */
long check_backoff(int round, long left);

/* check_render.c */
void check_render_text(FILE *out, const struct check_domain *cd, int color);
int check_render_json(cJSON *envelope, const struct check_domain *cd);
/* For a domain that ended "error" or "fail": one line on out (stderr),
 * "provision: DOMAIN: reason", for pipelines that keep only stdout. */
void check_render_failure(FILE *out, const struct check_domain *cd);

#endif
