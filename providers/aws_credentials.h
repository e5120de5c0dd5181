/*
 * aws_credentials.h - AWS credentials as the AWS CLI finds them (internal
 * to the AWS providers; see aws_credentials.c).
 *
 * Nothing here knows about Route 53: a provider asks for a key pair (and
 * a session token) and gets where it came from as text it may print.
 * No secret is ever written to the error buffer.
 */
#ifndef PROVISION_AWS_CREDENTIALS_H
#define PROVISION_AWS_CREDENTIALS_H

#include "provision/error.h"

struct aws_creds {
	char *akid;        /* access key id */
	char *secret;      /* secret access key */
	char *token;       /* session token, or NULL */
	char source[300];  /* "credentials from ...": never a secret */
};

/*
 * Fill c for the provider whose messages start with who ("route53:
 * provider 'aws'"). profile: the provider's profile setting, or NULL (then
 * the environment's keys, else AWS_PROFILE or "default"). Returns 0, or
 * PROV_ERR_RUNTIME / PROV_ERR_NOMEM with err set ("<who>: ..."); c may be
 * half filled then and must be released either way.
 */
int aws_creds_load(struct aws_creds *c, const char *who, const char *profile,
		   struct prov_error *err);
/* Wipe and free what c holds (c itself is the caller's). */
void aws_creds_release(struct aws_creds *c);
/* OPENSSL_cleanse, then free; NULL does nothing. */
void aws_wipe(char *s);

#endif
