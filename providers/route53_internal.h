/*
 * route53_internal.h - what the files of the route53 provider share.
 *
 * route53.c           the provider ops (open, list, apply, close) and the
 *                     hosted zone look-up
 * route53_batch.c     the ChangeBatch: the plan's changes as whole record
 *                     sets, compared with what was read
 * route53_wait.c      GetChange until INSYNC
 * route53_rrsets.c    the record sets read (ListResourceRecordSets)
 * route53_request.c   one signed API call, credentials renewed before
 *                     it, Throttling retried
 * aws_credentials.h   where the keys come from (aws_credentials.c: the
 *                     chain; aws_process.c, aws_sts.c, aws_imds.c: the
 *                     sources that fetch)
 * route53_xml.h       the wire forms (route53_xml.c, route53_text.c); its
 *                     element helpers also read STS's XML
 *
 * Each file uses only those listed below it.
 */
#ifndef PROVISION_ROUTE53_INTERNAL_H
#define PROVISION_ROUTE53_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "provision/error.h"
#include "provision/http.h"
#include "provision/provider.h"
#include "aws_credentials.h"
#include "route53_xml.h"

#define R53_ENDPOINT "https://route53.amazonaws.com"
#define R53_API "/2013-04-01"
#define R53_REGION "us-east-1"
#define R53_PAGE 300        /* ListResourceRecordSets' largest page */
#define R53_ZONE_PAGE 100   /* ListHostedZonesByName's */
#define R53_TRIES 7         /* answers of Throttling / PriorRequestNotComplete */
#define R53_WRITE_TRIES 3   /* sends of one batch after unknown outcomes */
#define R53_MAX_PAGES 100000
#define R53_WAIT_DEFAULT 600 /* seconds, with wait = true */

struct r53 {
	struct http_client *http;
	char *provider;   /* the block's name, for messages */
	char *base;       /* endpoint without trailing slash */
	char *sigv4;      /* "aws:amz:REGION:route53" */
	char *profile;    /* the profile setting, or NULL */
	struct r53_chain *chain; /* where credentials come from: the block's,
				  * shared by its handles (route53_request.c) */
	struct aws_creds creds;  /* this handle's copy of those in use */
	unsigned gen;            /* the chain's fetch they came from */
	int have_creds;
	char *userpwd, *token_hdr;
	const char *hdrs[3];
	const char *redact[3];
	int verbose, wait;
	long wait_timeout;
	/* the zone of the last call and what was read of it */
	char *zone_name, *zone_bare, *zone_id;
	int zone_id_given;
	struct r53_set *sets;
	size_t nsets;
	char **covered;   /* names whose sets are all in sets */
	int confirmed;    /* sets hold what our last batch wrote */
};

/* route53_request.c */

struct r53_answer {
	long status;
	xmlDoc *doc;
	xmlNode *root;
	char code[64];  /* AWS error code, "" on success */
	char msg[600];  /* its message: one line, secrets cut out */
};

enum { CALL_OK = 0, CALL_AWS = 1 };

/* The chain of credential sources (nothing read yet): 0, or an error. */
int r53_creds_init(struct r53 *r, const struct provider_config *cfg,
		   struct prov_error *err);
/* Drop the credentials and what was made of them (wiped). */
void r53_creds_release(struct r53 *r);
/* Where the credentials in use came from, for messages. */
const char *r53_cred_source(const struct r53 *r);
/*
 * One API call, with credentials renewed before it when they expire soon
 * (and once when AWS answers ExpiredToken); Throttling (and
 * PriorRequestNotComplete) answers are retried here with back-off. Returns CALL_OK with a->root the answer's
 * root element, CALL_AWS with a->code/msg for an AWS error document (err
 * not set), or PROV_ERR_RUNTIME with err set ("route53: <what>: ...").
 * *unknown: a write whose outcome is unknown. a is released by the caller
 * with r53_answer_release() in every case.
 */
int r53_call(struct r53 *r, const char *method, const char *path, const char *body,
	     const char *what, struct r53_answer *a, int *unknown, struct prov_error *err);
void r53_answer_release(struct r53_answer *a);
/* err for an AWS error answer: "route53: <what>: HTTP n Code: message (hint)". */
int r53_aws_error(const struct r53 *r, const char *what, const struct r53_answer *a,
		  struct prov_error *err);
/* " (what to check)" for an AWS error code, or "" (a buffer of the thread's). */
const char *r53_hint(const struct r53 *r, const char *code);
void r53_sleep(double s);

/* route53_rrsets.c: the cache of record sets read (r->sets) */

/* Read every set at each of names into the cache (emptied first): 0, or an
 * error in err (the cache empty). */
int r53_read(struct r53 *r, char *const *names, struct prov_error *err);
void r53_forget(struct r53 *r);
struct r53_set *r53_set_find(struct r53 *r, const char *plain, const char *type);
/* 1 when every set at name is in the cache. */
int r53_covered(const struct r53 *r, const char *name);

/* route53_wait.c */

/* Poll GetChange until change_id is INSYNC or r->wait_timeout runs out. */
int r53_wait_insync(struct r53 *r, const char *change_id, struct prov_error *err);

/* route53_batch.c */

/* One record set the plan touches: the set as read, the set wanted. */
struct r53_group {
	char *plain;
	const char *type;
	int had;           /* the set existed when read */
	char *old_name;    /* as Route 53 wrote it */
	uint32_t old_ttl;
	char **old_raw;
	int special;
	uint32_t ttl;      /* wanted */
	char **vals;       /* wanted, as the core holds them */
	char **raw;        /* wanted, as sent (kept values exactly as read) */
	int changed;
};

/* Build the groups of the changes from the cache. A `before` that is not
 * in the set read is reported in err (the cache is stale). *out is the
 * caller's to free with r53_groups_free(), also on error. */
int r53_make_groups(struct r53 *r, const struct change *c, size_t n,
		    struct r53_group **out, size_t *nout, struct prov_error *err);
void r53_groups_free(struct r53_group *g, size_t n);
/* The ChangeResourceRecordSetsRequest of the changed groups: every DELETE
 * first, then every CREATE. NULL on no memory; *count: Change elements. */
char *r53_batch_xml(const struct r53 *r, const struct r53_group *g, size_t ng,
		    size_t *count);
/* 1 when the change is in place in the cache. */
int r53_in_place(struct r53 *r, const struct change *c);
/* 1 when the group's set in the cache is the one read before (0: moved). */
int r53_as_read(struct r53 *r, const struct r53_group *g);
/* 1 when the group's set in the cache is the one the batch writes. */
int r53_as_written(struct r53 *r, const struct r53_group *g);
/* The cache after a successful batch: the groups' sets as written. */
int r53_take_written(struct r53 *r, const struct r53_group *g, size_t ng);
/* The names of the groups and of also (to read them again), NULL-terminated. */
char **r53_group_names(const struct r53_group *g, size_t ng, char *const *also);
/* "a.example.com. TXT, b.example.com. CNAME" of the changed groups that
 * pick (when not NULL) says no to. */
void r53_group_list(const struct r53_group *g, size_t ng,
		    int (*pick)(struct r53 *, const struct r53_group *), struct r53 *r,
		    struct buf *out);
/* A copy of v (NULL for none or no memory). */
char **r53_strv_copy(char *const *v);

#endif
