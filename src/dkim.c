/*
 * dkim.c - DKIM key records: build the record the tool publishes, parse a
 * published one, and check that a key is a usable RSA public key.
 *
 * The record is a DKIM tag list (RFC 6376 §3.2): tag=value pairs split by
 * ';', whitespace allowed around '=' and ';', a final ';' allowed, a tag
 * twice makes the record invalid, unknown tags are ignored. v= is optional
 * but, when present, first and exactly "DKIM1"; p= is required and an empty
 * p= means the key is revoked (§3.6.1). Whitespace inside base64 is ignored
 * (§2.10). Key bytes are decoded and parsed by OpenSSL, never by hand.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim.h"
#include "provision/buf.h"

/* FWS in a tag list, once the TXT strings are joined (§2.8, §3.2). */
static int is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* A copy of s without whitespace; NULL when memory ran out. */
static char *strip_ws(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	if (!out)
		return NULL;
	for (; *s; s++)
		if (!is_fws(*s))
			*o++ = *s;
	*o = '\0';
	return out;
}

/* The number of '=' pad characters when s is canonical base64 (groups of
 * four, padding only at the very end), -1 otherwise. EVP_DecodeBlock would
 * take '=' anywhere as zero bits, so the shape is checked first. */
static int b64_padding(const char *s, size_t len)
{
	size_t pad = 0;
	if (len == 0 || len % 4 != 0)
		return -1;
	while (pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++)
		if (!is_b64_char(s[i]))
			return -1;
	return (int)pad;
}

/* Decode b64 (whitespace allowed) into *der / *len. 0, PROV_ERR_RULE or
 * PROV_ERR_NOMEM; the caller frees *der. */
static int b64_decode(const char *b64, unsigned char **der, size_t *len,
		      struct prov_error *err)
{
	int rc = PROV_ERR_NOMEM, pad, n;
	char *s = strip_ws(b64);
	*der = NULL;
	if (!s)
		goto out;
	size_t slen = strlen(s);
	pad = b64_padding(s, slen);
	if (pad >= 0 && slen <= (size_t)INT_MAX &&
	    !(*der = malloc(slen / 4 * 3 + 1)))
		goto out;
	rc = PROV_ERR_RULE;
	n = pad < 0 || !*der ? -1 :
		EVP_DecodeBlock(*der, (const unsigned char *)s, (int)slen);
	if (n < 0 || n < pad)
		goto out;
	*len = (size_t)(n - pad); /* EVP_DecodeBlock counts the pad bytes */
	rc = 0;
out:
	if (rc == PROV_ERR_NOMEM)
		prov_errorf(err, rc, "dkim key: out of memory");
	else if (rc)
		prov_errorf(err, rc, "dkim key is not valid base64");
	if (rc) {
		free(*der);
		*der = NULL;
	}
	free(s);
	return rc;
}

/* DER as SubjectPublicKeyInfo, else as PKCS#1 RSAPublicKey; the whole
 * input must be one structure. NULL when neither parses. */
static EVP_PKEY *der_to_pkey(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)len);
	if (pk && p != der + len) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	if (!pk) {
		p = der;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
		if (pk && p != der + len) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
	}
	ERR_clear_error(); /* failed attempts leave entries in the queue */
	return pk;
}

int dkim_key_check(const char *b64, int *bits, struct prov_error *err)
{
	unsigned char *der = NULL;
	size_t len = 0;
	EVP_PKEY *pk = NULL;
	int rc = b64_decode(b64 ? b64 : "", &der, &len, err);
	if (rc)
		goto out;
	rc = PROV_ERR_RULE;
	pk = der_to_pkey(der, len);
	if (!pk) {
		prov_errorf(err, rc, "dkim key is not an RSA public key "
			    "(DER does not parse)");
		goto out;
	}
	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
		const char *t = EVP_PKEY_get0_type_name(pk);
		prov_errorf(err, rc, "dkim key is a %s key, not RSA",
			    t ? t : "non-RSA");
		goto out;
	}
	if (bits)
		*bits = EVP_PKEY_get_bits(pk);
	rc = 0;
out:
	EVP_PKEY_free(pk);
	free(der);
	return rc;
}

char *dkim_record_build(const char *key)
{
	struct buf b = BUF_INIT;
	if (buf_printf(&b, "k=rsa; p=%s", key ? key : "") < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* tag-name = ALPHA *(ALPHA / DIGIT / "_") (§3.2). */
static int tag_name_ok(const char *s, size_t n)
{
	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') ||
			(s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* VALCHAR is %x21-3A / %x3C-7E, with FWS between runs (§3.2). */
static int tag_value_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!is_fws((char)c) && (c < 0x21 || c > 0x7e || c == ';'))
			return 0;
	}
	return 1;
}

/* The slot of out for a known tag, NULL for an unknown one. */
static char **dkim_slot(struct dkim_record *r, const char *name, size_t n)
{
	static const char names[] = "vkphstn";
	if (n != 1 || !strchr(names, name[0]))
		return NULL;
	switch (name[0]) {
	case 'v': return &r->v;
	case 'k': return &r->k;
	case 'p': return &r->p;
	case 'h': return &r->h;
	case 's': return &r->s;
	case 't': return &r->t;
	default: return &r->n;
	}
}

/* Trim FWS from both ends of [*s, *s + *n). */
static void trim_fws(const char **s, size_t *n)
{
	while (*n && is_fws(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_fws((*s)[*n - 1]))
		(*n)--;
}

/* One tag-spec [spec, spec + n): checked and stored in r. first is 1 for
 * the first tag of the list; names holds every tag name seen so far. */
static int dkim_tag(struct dkim_record *r, const char *spec, size_t n,
		    int first, struct buf *names, struct prov_error *err)
{
	const char *eq = memchr(spec, '=', n), *name = spec, *val;
	if (!eq)
		return prov_errorf(err, PROV_ERR_RULE, "dkim record: tag "
				   "'%.*s' has no '='", (int)n, spec);
	size_t nn = (size_t)(eq - spec), vn = n - nn - 1;
	val = eq + 1;
	trim_fws(&name, &nn);
	trim_fws(&val, &vn);
	if (!tag_name_ok(name, nn))
		return prov_errorf(err, PROV_ERR_RULE, "dkim record: '%.*s' "
				   "is not a tag name", (int)nn, name);
	if (!tag_value_ok(val, vn))
		return prov_errorf(err, PROV_ERR_RULE, "dkim record: tag "
				   "%.*s= has an invalid character",
				   (int)nn, name);
	if (buf_printf(names, ";%.*s", (int)nn, name) < 0)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	if (nn == 1 && name[0] == 'v' && !first)
		return prov_errorf(err, PROV_ERR_RULE,
				   "dkim record: tag v= must be the first tag");
	char **slot = dkim_slot(r, name, nn);
	if (!slot)
		return 0; /* unknown tags are ignored (§3.2) */
	*slot = strndup(val, vn);
	if (!*slot)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	return 0;
}

/* 1 when names (";a;b;c") already holds the tag [name, name + n). */
static int seen_tag(const char *names, const char *name, size_t n)
{
	for (const char *p = names; (p = strchr(p, ';')); p++)
		if (!strncmp(p + 1, name, n) && (p[n + 1] == ';' ||
						 p[n + 1] == '\0'))
			return 1;
	return 0;
}

/* Split text at ';' and hand each tag-spec to dkim_tag(). */
static int dkim_tags(const char *text, struct dkim_record *r,
		     struct prov_error *err)
{
	struct buf names = BUF_INIT;
	int rc = 0, first = 1;
	for (const char *s = text; !rc; first = 0) {
		const char *end = strchr(s, ';'), *t = s;
		size_t n = end ? (size_t)(end - s) : strlen(s), tn = n;
		trim_fws(&t, &tn);
		if (tn == 0 && !end)
			break; /* empty text, or after a final ';' */
		if (tn == 0) {
			rc = prov_errorf(err, PROV_ERR_RULE, "dkim record: "
					 "empty tag-spec between ';'");
			break;
		}
		const char *eq = memchr(t, '=', tn);
		size_t nn = eq ? (size_t)(eq - t) : tn;
		while (nn && is_fws(t[nn - 1]))
			nn--;
		if (seen_tag(buf_str(&names), t, nn))
			rc = prov_errorf(err, PROV_ERR_RULE, "dkim record: "
					 "tag %.*s= appears twice", (int)nn, t);
		else
			rc = dkim_tag(r, t, tn, first, &names, err);
		if (!end)
			break;
		s = end + 1;
	}
	buf_release(&names);
	return rc;
}

int dkim_record_parse(const char *text, struct dkim_record *out,
		      struct prov_error *err)
{
	memset(out, 0, sizeof *out);
	int rc = dkim_tags(text ? text : "", out, err);
	if (rc)
		goto out;
	rc = PROV_ERR_RULE;
	if (out->v && strcmp(out->v, "DKIM1") != 0) {
		prov_errorf(err, rc, "dkim record: tag v=%s is not v=DKIM1",
			    out->v);
		goto out;
	}
	if (!out->p) {
		prov_errorf(err, rc, "dkim record: tag p= is missing");
		goto out;
	}
	char *p = strip_ws(out->p); /* base64 whitespace is ignored */
	if (!p) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		goto out;
	}
	free(out->p);
	out->p = p;
	rc = 0;
out:
	if (rc)
		dkim_record_release(out);
	return rc;
}

void dkim_record_release(struct dkim_record *r)
{
	if (!r)
		return;
	free(r->v);
	free(r->k);
	free(r->p);
	free(r->h);
	free(r->s);
	free(r->t);
	free(r->n);
	memset(r, 0, sizeof *r);
}
