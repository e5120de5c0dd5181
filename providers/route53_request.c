/*
 * route53_request.c - one Route 53 API call: the credentials turned into
 * what libcurl signs with (CURLOPT_AWS_SIGV4 through http.c, the session
 * token as X-Amz-Security-Token), the answer parsed, and Throttling /
 * PriorRequestNotComplete answers, which http.c does not retry (HTTP 400),
 * retried here with back-off: neither applied anything. Error messages
 * never carry a secret, even when AWS quotes one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "route53_internal.h"

/*
 * The credential chain of a provider block, shared by its handles (one per
 * worker thread): the chain runs once, and credentials fetched again by one
 * worker are taken by the others at their next request. Each handle signs
 * with its own copy; gen counts the chain's fetches.
 */
struct r53_chain {
	const struct provider_config *cfg;
	struct aws_chain *chain;
	pthread_mutex_t lock;
	unsigned gen;
	int refs;
	struct r53_chain *next;
};

static struct r53_chain *chains;
static pthread_mutex_t chains_lock = PTHREAD_MUTEX_INITIALIZER;

static char *dup_secret(const char *s, int *fail)
{
	char *d = s ? strdup(s) : NULL;
	*fail |= s && !d;
	return d;
}

/* The credentials for the next request; what is signed with them made
 * again when they are new. force: AWS said the ones in use expired (unless
 * another worker has fetched new ones since this handle took its own). */
static int creds_for_request(struct r53 *r, int force, struct prov_error *err)
{
	const struct aws_creds *c;
	int changed, fail = 0;
	struct r53_chain *sc = r->chain;
	pthread_mutex_lock(&sc->lock);
	if (force && r->have_creds && r->gen != sc->gen)
		force = 0;
	int rc = aws_chain_get(sc->chain, force, &c, &changed, err);
	if (rc == 0 && changed)
		sc->gen++;
	if (rc < 0 || (r->have_creds && r->gen == sc->gen)) {
		pthread_mutex_unlock(&sc->lock);
		return rc;
	}
	aws_creds_release(&r->creds);
	aws_wipe(r->userpwd);
	aws_wipe(r->token_hdr);
	r->userpwd = r->token_hdr = NULL;
	r->creds.akid = dup_secret(c->akid, &fail);
	r->creds.secret = dup_secret(c->secret, &fail);
	r->creds.token = dup_secret(c->token, &fail);
	r->creds.expires = c->expires;
	memcpy(r->creds.source, c->source, sizeof r->creds.source);
	r->gen = sc->gen;
	r->have_creds = 1;
	pthread_mutex_unlock(&sc->lock);
	c = &r->creds;
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s:%s", c->akid ? c->akid : "", c->secret ? c->secret : "");
	r->userpwd = buf_detach(&b);
	if (c->token) {
		buf_printf(&b, "X-Amz-Security-Token: %s", c->token);
		r->token_hdr = buf_detach(&b);
	}
	r->redact[0] = c->secret;
	r->redact[1] = c->token;
	if (fail || !r->userpwd || (c->token && !r->token_hdr)) {
		r->have_creds = 0;
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	}
	return 0;
}

int r53_creds_init(struct r53 *r, const struct provider_config *cfg, struct prov_error *err)
{
	pthread_mutex_lock(&chains_lock);
	struct r53_chain *sc = chains;
	while (sc && sc->cfg != cfg)
		sc = sc->next;
	if (!sc && (sc = calloc(1, sizeof *sc)) != NULL) {
		struct buf who = BUF_INIT;
		buf_printf(&who, "route53: provider '%s'", r->provider);
		sc->chain = aws_chain_new(buf_str(&who), r->profile, cfg, err);
		buf_release(&who);
		if (!sc->chain) {
			free(sc);
			pthread_mutex_unlock(&chains_lock);
			return PROV_ERR_RUNTIME;
		}
		sc->cfg = cfg;
		pthread_mutex_init(&sc->lock, NULL);
		sc->next = chains;
		chains = sc;
	}
	if (sc)
		sc->refs++;
	pthread_mutex_unlock(&chains_lock);
	r->chain = sc;
	if (!sc)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	return 0;
}

void r53_creds_release(struct r53 *r)
{
	aws_wipe(r->userpwd);
	aws_wipe(r->token_hdr);
	r->userpwd = r->token_hdr = NULL;
	r->redact[0] = r->redact[1] = NULL;
	aws_creds_release(&r->creds);
	r->have_creds = 0;
	struct r53_chain *sc = r->chain;
	r->chain = NULL;
	if (!sc)
		return;
	pthread_mutex_lock(&chains_lock);
	int last = --sc->refs == 0;
	if (last)
		for (struct r53_chain **p = &chains; *p; p = &(*p)->next)
			if (*p == sc) {
				*p = sc->next;
				break;
			}
	pthread_mutex_unlock(&chains_lock);
	if (last) {
		aws_chain_free(sc->chain);
		pthread_mutex_destroy(&sc->lock);
		free(sc);
	}
}

const char *r53_cred_source(const struct r53 *r)
{
	return r->have_creds ? r->creds.source : "no credentials yet";
}

void r53_sleep(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Wait before try n+1 after a Throttling answer: 0.25 s doubling, with
 * jitter, at most 20 s. */
static double backoff(int n)
{
	unsigned char rb[2] = { 0, 0 };
	RAND_bytes(rb, sizeof rb);
	double base = 0.25 * (double)(1 << (n < 7 ? n : 7));
	double w = base + base * (double)((rb[0] << 8) | rb[1]) / 65535.0;
	return w < 20 ? w : 20;
}

void r53_answer_release(struct r53_answer *a)
{
	if (a->doc)
		xmlFreeDoc(a->doc);
	memset(a, 0, sizeof *a);
}

/* One line, and never a credential (an AWS SignatureDoesNotMatch message
 * may quote the canonical request, session token included). */
static void clean_message(const struct r53 *r, char *s, size_t size)
{
	const char *secrets[] = { r->have_creds ? r->creds.secret : NULL,
				  r->have_creds ? r->creds.token : NULL, NULL };
	s[strcspn(s, "\r\n")] = '\0';
	for (size_t i = 0; i < 2; i++) {
		char *p = secrets[i] && *secrets[i] ? strstr(s, secrets[i]) : NULL;
		if (p) {
			*p = '\0';
			if (size - (size_t)(p - s) > sizeof "[redacted]")
				strcpy(p, "[redacted]");
		}
	}
}

/* The error document's code and message, the message made safe to show. */
static void error_of(const struct r53 *r, struct r53_answer *a)
{
	r53_xml_error(a->root, a->code, sizeof a->code, a->msg, sizeof a->msg);
	clean_message(r, a->msg, sizeof a->msg);
}

static int r53_refreshable(struct r53 *r)
{
	pthread_mutex_lock(&r->chain->lock);
	int yes = aws_chain_refreshable(r->chain->chain);
	pthread_mutex_unlock(&r->chain->lock);
	return yes;
}

const char *r53_hint(const struct r53 *r, const char *code)
{
	static _Thread_local char h[400];
	if (strcmp(code, "SignatureDoesNotMatch") == 0 || strcmp(code, "IncompleteSignature") == 0)
		snprintf(h, sizeof h, " (check the secret access key: %s)", r53_cred_source(r));
	else if (strcmp(code, "InvalidClientTokenId") == 0 ||
		 strcmp(code, "UnrecognizedClientException") == 0)
		snprintf(h, sizeof h, " (AWS does not know this access key id or session token: %s)",
			 r53_cred_source(r));
	else if (strcmp(code, "ExpiredToken") == 0)
		snprintf(h, sizeof h, " (the session token has expired: get new temporary "
			 "credentials; %s)", r53_cred_source(r));
	else if (strcmp(code, "AccessDenied") == 0)
		snprintf(h, sizeof h, " (the IAM policy must allow route53:ListHostedZonesByName, "
			 "ListResourceRecordSets, ChangeResourceRecordSets and GetChange)");
	else if (strcmp(code, "NoSuchHostedZone") == 0)
		snprintf(h, sizeof h, " (check the domain's zone_id)");
	else
		h[0] = '\0';
	return h;
}

int r53_call(struct r53 *r, const char *method, const char *path, const char *body,
	     const char *what, struct r53_answer *a, int *unknown, struct prov_error *err)
{
	struct buf url = BUF_INIT;
	int write = strcmp(method, "GET") != 0, rc = 0;
	buf_printf(&url, "%s%s", r->base, path);
	memset(a, 0, sizeof *a);
	if (unknown)
		*unknown = 0;
	for (int n = 0, force = 0, renewed = 0;; n++) {
		struct http_response rs;
		r53_answer_release(a);
		/* before each request: credentials that expire soon are renewed */
		if ((rc = creds_for_request(r, force, err)) < 0)
			break;
		force = 0;
		size_t nh = 0;
		if (r->token_hdr)
			r->hdrs[nh++] = r->token_hdr;
		if (body)
			r->hdrs[nh++] = "Content-Type: text/xml";
		r->hdrs[nh] = NULL;
		const struct http_request rq = { method, buf_str(&url), body, r->hdrs, write,
						 r->sigv4, r->userpwd, r->redact };
		rc = http_send(r->http, &rq, &rs, err);
		if (rc < 0) {
			if (unknown)
				*unknown = rs.outcome_unknown;
			http_response_release(&rs);
			break;
		}
		a->status = rs.status;
		a->doc = r53_xml_parse(rs.body.data, rs.body.len);
		a->root = a->doc ? xmlDocGetRootElement(a->doc) : NULL;
		http_response_release(&rs);
		if (!a->root) { /* a write may have been applied all the same */
			if (unknown)
				*unknown = write;
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: %s: the answer is not Route 53's XML (HTTP %ld)%s",
					 what, a->status, write ? " (the change may have been applied)" : "");
			break;
		}
		if (a->status >= 200 && a->status < 300 && !r53_xml_is(a->root, "ErrorResponse")) {
			rc = CALL_OK;
			break;
		}
		error_of(r, a);
		if (strcmp(a->code, "ExpiredToken") == 0 && !renewed &&
		    r53_refreshable(r)) { /* expired before they said: once more */
			renewed = force = 1;
			if (r->verbose)
				fprintf(stderr, "provision: route53: %s %s: ExpiredToken, fetching "
					"the credentials again\n", method, path);
			continue;
		}
		int again = strcmp(a->code, "Throttling") == 0 ||
			    strcmp(a->code, "PriorRequestNotComplete") == 0;
		if (!again || n + 1 >= R53_TRIES) {
			if (unknown)
				*unknown = write && a->status >= 500;
			rc = CALL_AWS;
			break;
		}
		double w = backoff(n);
		if (strcmp(a->code, "Throttling") == 0) /* the account is busy */
			http_client_hold(r->http, w);
		if (r->verbose)
			fprintf(stderr, "provision: route53: %s %s: %s, retrying in %.1f s\n",
				method, path, a->code, w);
		r53_sleep(w);
	}
	buf_release(&url);
	return rc;
}

int r53_aws_error(const struct r53 *r, const char *what, const struct r53_answer *a,
		  struct prov_error *err)
{
	return prov_errorf(err, PROV_ERR_RUNTIME, "route53: %s: HTTP %ld %s: %s%s", what,
			   a->status, a->code, a->msg, r53_hint(r, a->code));
}
