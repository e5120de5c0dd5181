/*
 * aws_credentials.h - AWS credentials found as the AWS SDKs find them
 * (internal to the AWS providers; see aws_credentials.c for the order).
 *
 * Nothing here knows about Route 53: a provider asks for a key pair (and a
 * session token) before each request and gets, with it, where it came from
 * as text it may print. Credentials that expire are fetched again from the
 * same source when less than AWS_REFRESH_S seconds remain. No secret is
 * ever written to the error buffer, a trace or a child's argv/environment.
 */
#ifndef PROVISION_AWS_CREDENTIALS_H
#define PROVISION_AWS_CREDENTIALS_H

#include <stddef.h>
#include <time.h>

#include "provision/error.h"
#include "provision/http.h"
#include "provision/provider.h"

#define AWS_REFRESH_S 300   /* refresh when fewer seconds than this remain */

struct aws_creds {
	char *akid;        /* access key id */
	char *secret;      /* secret access key */
	char *token;       /* session token, or NULL */
	time_t expires;    /* 0: does not expire */
	char source[300];  /* "credentials from ...": never a secret */
};

struct aws_chain;

/*
 * A chain for the provider whose messages start with who ("route53:
 * provider 'aws'"); profile: the provider's profile setting, or NULL. cfg
 * gives ca_file (also used for STS). Nothing is read yet. NULL with err
 * set when libcurl cannot be set up or memory runs out.
 */
struct aws_chain *aws_chain_new(const char *who, const char *profile,
				const struct provider_config *cfg, struct prov_error *err);
void aws_chain_free(struct aws_chain *ch);

/*
 * The credentials to sign the next request with: found the first time,
 * fetched again when they expire within AWS_REFRESH_S (or when force is
 * set: AWS said they have expired). *changed is 1 when they are other than
 * at the last call. Returns 0 with *out valid until the next call, or
 * PROV_ERR_RUNTIME / PROV_ERR_NOMEM with err set ("<who>: ...").
 */
int aws_chain_get(struct aws_chain *ch, int force, const struct aws_creds **out,
		  int *changed, struct prov_error *err);
/* 1 when the credentials in use can be fetched again (they expire). */
int aws_chain_refreshable(const struct aws_chain *ch);

/* Wipe and free what c holds (c itself is the caller's). */
void aws_creds_release(struct aws_creds *c);
/* aws_keys.c: OPENSSL_cleanse, then free; NULL does nothing. */
void aws_wipe(char *s);

/* For the sources: the string member key of o, or NULL; every string of
 * the document wiped (before cJSON_Delete). */
struct cJSON;
const char *aws_json_string(const struct cJSON *o, const char *key);
void aws_json_wipe(struct cJSON *o);

/* The key pair in JSON text: AccessKeyId, SecretAccessKey, the member
 * token_key (and Expiration; with temporary both are required). check may
 * refuse the document first ("Version 2": "<what> gave <that>"). The text
 * is the caller's to wipe; the document is wiped here. */
int aws_json_creds(const char *what, const char *text, const char *token_key, int temporary,
		   const char *(*check)(const struct cJSON *doc), struct aws_creds *c,
		   struct prov_error *err);

/* The sources that fetch, for aws_credentials.c. Each fills *out but its
 * source text, or sets err ("<who>: ..."). */

/* aws_process.c: run command (credential_process of profile in file) and
 * read its JSON. */
int aws_from_process(const char *who, const char *profile, const char *file,
		     const char *command, struct aws_creds *out, struct prov_error *err);
/* aws_sts.c: AssumeRoleWithWebIdentity at STS (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL
 * or https://sts.amazonaws.com) with the token in token_file. */
int aws_from_web_identity(struct http_client *sts, const char *who, const char *token_file,
			  const char *role_arn, const char *session_name,
			  struct aws_creds *out, struct prov_error *err);
/* aws_imds.c: IMDSv2 at AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254;
 * role (size role_size) gets the instance profile's role name, endpoint
 * (size ep_size) the endpoint asked. */
int aws_from_imds(struct http_client *imds, const char *who, struct aws_creds *out,
		  char *role, size_t role_size, char *endpoint, size_t ep_size,
		  struct prov_error *err);
/* "2024-05-01T12:00:00Z" (fraction and offset allowed) as a time; -1 when
 * it is not such a time. */
time_t aws_time_parse(const char *s);

#endif
