/*
 * http.h - the one libcurl wrapper every HTTP provider goes through.
 *
 * It owns what no provider should write twice: TLS always verified (with an
 * optional CA file), connect and total timeouts, retries with exponential
 * back-off and jitter on 429 and 5xx honouring Retry-After, a token-bucket
 * rate limiter per provider, and --verbose traces in which secret headers
 * are redacted. A write that may already have taken effect (a POST that
 * timed out or lost its connection) is never sent again here: the caller is
 * told the outcome is unknown and re-reads the state before deciding.
 *
 * A client is for one thread at a time; clients in several threads may
 * share an account's bucket (http_config.account).
 */
#ifndef PROVISION_HTTP_H
#define PROVISION_HTTP_H

#include <stddef.h>

#include "provision/buf.h"
#include "provision/error.h"

struct http_config {
	const char *provider;    /* "cloudflare": the first word of messages */
	const char *ca_file;     /* PEM bundle, or NULL for the system's */
	long connect_timeout_ms; /* 0: 10 s */
	long timeout_ms;         /* whole request; 0: 60 s */
	int max_retries;         /* retryable answers; 0: 5 */
	double rate;             /* requests per second; 0: no limit */
	int burst;               /* bucket size for rate; 0: 1 */
	double max_backoff_s;    /* cap of one wait; 0: 30 s */
	int verbose;             /* trace requests on stderr */
	/* Clients of one provider whose account is the same non-secret text
	 * (provider_account()) share one token bucket, at the lowest rate
	 * and burst any of them asks for, and a 429 to one holds them all.
	 * NULL: the client's own bucket. */
	const char *account;
};

struct http_client;

/* A client for one provider; copies what it needs from cfg. NULL when
 * libcurl cannot be set up (err filled). */
struct http_client *http_client_new(const struct http_config *cfg,
				    struct prov_error *err);
void http_client_free(struct http_client *c);

struct http_request {
	const char *method;   /* "GET", "POST", ... */
	const char *url;
	const char *body;     /* NULL: no body */
	const char *const *headers; /* "Name: value", NULL-terminated */
	int write;            /* 1: not idempotent; never resent once it may
			       * have reached the server */
	const char *aws_sigv4;  /* CURLOPT_AWS_SIGV4 parameter, or NULL */
	const char *userpwd;    /* "key:secret" for aws_sigv4 (never traced) */
	const char *const *redact; /* values never shown in a trace, not even
				    * inside a body (an AWS error may quote
				    * the signed session token); NULL-terminated */
};

struct http_response {
	long status;          /* 0 when no answer arrived */
	struct buf body;
	int outcome_unknown;  /* a write whose effect is unknown */
	unsigned attempts;    /* requests sent for this call */
};

/*
 * Send rq, retrying what may be retried. Returns 0 when an answer arrived
 * (any status: the caller reads status and body), or PROV_ERR_RUNTIME with
 * err "<provider>: <METHOD> <path>: <what happened>" when none did (then
 * rs->outcome_unknown says whether a write may have been applied). rs must
 * be released with http_response_release().
 */
int http_send(struct http_client *c, const struct http_request *rq,
	      struct http_response *rs, struct prov_error *err);
void http_response_release(struct http_response *rs);

/* No request of c's account (its bucket) before seconds from now: the API
 * said it is busy (Route 53's Throttling, a 429's Retry-After). */
void http_client_hold(struct http_client *c, double seconds);

/* Requests sent by this client (every attempt counts). */
unsigned long http_client_requests(const struct http_client *c);
/* Requests sent by every client of the process (for the progress line). */
unsigned long http_requests_total(void);

/* Percent-encode s for a query string or path segment (caller frees). */
char *http_escape(const char *s);

#endif
