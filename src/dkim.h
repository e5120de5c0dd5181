/*
 * dkim.h - DKIM key records (RFC 6376 §3.6, RFC 8301): build, parse, check.
 */
#ifndef PROVISION_DKIM_H
#define PROVISION_DKIM_H

#include "provision/error.h"

#define DKIM_MIN_BITS 1024
#define DKIM_GOOD_BITS 2048

/* Check that b64 (base64, whitespace allowed) is an RSA public key, as DER
 * SubjectPublicKeyInfo or PKCS#1 RSAPublicKey, using OpenSSL. Returns 0 and
 * sets *bits; PROV_ERR_RULE with err ("dkim key is not valid base64", "dkim
 * key is not an RSA public key") otherwise. Size policy is the caller's. */
int dkim_key_check(const char *b64, int *bits, struct prov_error *err);

/* The record the tool publishes: "k=rsa; p=<key>". Caller frees. */
char *dkim_record_build(const char *key);

struct dkim_record {
	char *v, *k, *p, *h, *s, *t, *n; /* NULL when absent; p "" = revoked */
};

/* Parse a key record's tag list (§3.2, §3.6.1): duplicate tags, v= not
 * first or not DKIM1, missing p= are errors (PROV_ERR_RULE). */
int dkim_record_parse(const char *text, struct dkim_record *out,
		      struct prov_error *err);
void dkim_record_release(struct dkim_record *r);

#endif
