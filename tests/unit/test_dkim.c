/*
 * test_dkim.c - table-driven tests for src/dkim.c: key checks through
 * OpenSSL (SPKI and PKCS#1 RSA keys of several sizes, non-RSA keys, bad
 * base64, truncated DER) and the DKIM tag-list rules of RFC 6376 §3.2/§3.6.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "dkim.h"

/* Made for these tests with openssl genrsa / genpkey and
 * "openssl rsa -pubout -outform DER | base64 -w0". */
#define RSA1024_SPKI \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDKDoW1Vgr2K5sej28f4bvOdlYZjOBx" \
	"ZbAia0nhn4fUctgpNE+BfoJRzicDAOy63+o9sbmALAGLCLpajpgGj9GOKbySHew2w3XY" \
	"Mg6X5k4qFi9aPNdos6khCPl8vzxnndX2Em72CAoqyIQDDtCfJCeDDxEYrwcRzqmHExYn" \
	"iJHxVQIDAQAB"
/* 94 bytes of DER, so the base64 ends in "==". */
#define RSA512_SPKI \
	"MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAJ1TsaXWXaUsEK/+98FVg5B6gm0dJD1mgeF5" \
	"VO/GIaQ8ATESssHMW9F8zcREgpiokcBfSrZmLwj4M/ELh2luzIkCAwEAAQ=="
/* The same 1024-bit key as a bare PKCS#1 RSAPublicKey (-RSAPublicKey_out). */
#define RSA1024_PKCS1 \
	"MIGJAoGBAMoOhbVWCvYrmx6Pbx/hu852VhmM4HFlsCJrSeGfh9Ry2Ck0T4F+glHOJwMA" \
	"7Lrf6j2xuYAsAYsIulqOmAaP0Y4pvJId7DbDddgyDpfmTioWL1o812izqSEI+Xy/PGed" \
	"1fYSbvYICirIhAMO0J8kJ4MPERivBxHOqYcTFieIkfFVAgMBAAE="
/* The 512-bit key as PKCS#1: ends in one '='. */
#define RSA512_PKCS1 \
	"MEgCQQCdU7Gl1l2lLBCv/vfBVYOQeoJtHSQ9ZoHheVTvxiGkPAExErLBzFvRfM3ERIKY" \
	"qJHAX0q2Zi8I+DPxC4dpbsyJAgMBAAE="
#define ED25519_SPKI "MCowBQYDK2VwAyEAcXhM0iCqYkyg1tZhAG7NPHFmvxlPdjyAOia1qxZh7po="
#define EC_P256_SPKI \
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEIoSxXdKAxzHEV+pWocjmVK8odjTj8TdB" \
	"V0eimcQ+Ntnf01DZTgOt7CVxVOkor1XPN6tb5RsZlOEAq89/pUL62g=="
/* The first 100 bytes of the 1024-bit SPKI. */
#define RSA1024_TRUNCATED \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDKDoW1Vgr2K5sej28f4bvOdlYZjOBx" \
	"ZbAia0nhn4fUctgpNE+BfoJRzicDAOy63+o9sbmALAGLCLpajpgGj9GOKbySHew2ww=="
/* The 1024-bit SPKI followed by three zero bytes. */
#define RSA1024_TRAILING \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDKDoW1Vgr2K5sej28f4bvOdlYZjOBx" \
	"ZbAia0nhn4fUctgpNE+BfoJRzicDAOy63+o9sbmALAGLCLpajpgGj9GOKbySHew2w3XY" \
	"Mg6X5k4qFi9aPNdos6khCPl8vzxnndX2Em72CAoqyIQDDtCfJCeDDxEYrwcRzqmHExYn" \
	"iJHxVQIDAQABAAAA"

struct key_case {
	const char *name, *b64;
	int rc, bits;
	const char *msg; /* substring of the error, when rc != 0 */
};

static const struct key_case key_cases[] = {
	{ "default 2048", DEFAULT_DKIM_KEY, 0, 2048, NULL },
	{ "spki 1024", RSA1024_SPKI, 0, 1024, NULL },
	{ "spki 512 (== padding)", RSA512_SPKI, 0, 512, NULL },
	{ "pkcs1 1024", RSA1024_PKCS1, 0, 1024, NULL },
	{ "pkcs1 512 (= padding)", RSA512_PKCS1, 0, 512, NULL },
	{ "quote inside", "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDKDoW1Vgr2"
	  "K5sej28f4bvOdlYZjOBx \"\n\t ZbAia0nhn4fUctgpNE+BfoJRzicDAOy63+o9"
	  "sbmALAGLCLpajpgGj9GOKbySHew2w3XY\r\nMg6X5k4qFi9aPNdos6khCPl8vzxnnd"
	  "X2Em72CAoqyIQDDtCfJCeDDxEYrwcRzqmHExYniJHxVQIDAQAB", PROV_ERR_RULE,
	  0, "not valid base64" }, /* '"' is not base64 */
	{ "folded", " MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDKDoW1Vgr2K5sej28f"
	  "4bvOdlYZjOBx\n\t ZbAia0nhn4fUctgpNE+BfoJRzicDAOy63+o9sbmALAGLCLpaj"
	  "pgGj9GOKbySHew2w3XY\r\nMg6X5k4qFi9aPNdos6khCPl8vzxnndX2Em72CAoqyIQ"
	  "DDtCfJCeDDxEYrwcRzqmHExYniJHxVQI DAQAB ", 0, 1024, NULL },
	{ "ed25519", ED25519_SPKI, PROV_ERR_RULE, 0, "ED25519 key, not RSA" },
	{ "ec p-256", EC_P256_SPKI, PROV_ERR_RULE, 0, "EC key, not RSA" },
	{ "empty", "", PROV_ERR_RULE, 0, "dkim key is not valid base64" },
	{ "only spaces", "  \n ", PROV_ERR_RULE, 0, "not valid base64" },
	{ "garbage", "not base64!!", PROV_ERR_RULE, 0, "not valid base64" },
	{ "bad length", "MIGfMA0", PROV_ERR_RULE, 0, "not valid base64" },
	{ "pad in middle", "MI=fMA0G", PROV_ERR_RULE, 0, "not valid base64" },
	{ "three pads", "M===", PROV_ERR_RULE, 0, "not valid base64" },
	{ "url-safe alphabet", "MI-_MA0G", PROV_ERR_RULE, 0,
	  "not valid base64" },
	{ "not der", "aGVsbG8gd29ybGQ=", PROV_ERR_RULE, 0,
	  "dkim key is not an RSA public key (DER does not parse)" },
	{ "truncated der", RSA1024_TRUNCATED, PROV_ERR_RULE, 0,
	  "DER does not parse" },
	{ "trailing bytes", RSA1024_TRAILING, PROV_ERR_RULE, 0,
	  "DER does not parse" },
};

static void test_key_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof key_cases / sizeof *key_cases; i++) {
		const struct key_case *c = &key_cases[i];
		struct prov_error err = PROV_ERROR_INIT;
		int bits = -1;
		int rc = dkim_key_check(c->b64, &bits, &err);
		print_message("key case: %s -> %d %s\n", c->name, rc, err.msg);
		assert_int_equal(rc, c->rc);
		if (c->rc == 0) {
			assert_int_equal(bits, c->bits);
			assert_false(err.set);
		} else {
			assert_true(err.set);
			assert_non_null(strstr(err.msg, c->msg));
		}
	}
}

static void test_key_check_null_bits(void **state)
{
	(void)state;
	assert_int_equal(dkim_key_check(RSA1024_SPKI, NULL, NULL), 0);
	assert_int_equal(dkim_key_check(NULL, NULL, NULL), PROV_ERR_RULE);
}

static void test_record_build(void **state)
{
	(void)state;
	char *r = dkim_record_build(DEFAULT_DKIM_KEY);
	assert_non_null(r);
	assert_string_equal(r, "k=rsa; p=" DEFAULT_DKIM_KEY);
	/* What we publish parses back to the same key. */
	struct dkim_record rec;
	struct prov_error err = PROV_ERROR_INIT;
	assert_int_equal(dkim_record_parse(r, &rec, &err), 0);
	assert_string_equal(rec.k, "rsa");
	assert_string_equal(rec.p, DEFAULT_DKIM_KEY);
	assert_null(rec.v);
	dkim_record_release(&rec);
	free(r);
}

struct rec_case {
	const char *name, *text;
	int rc;
	const char *p, *v, *k, *h, *t; /* expected; NULL = absent */
	const char *msg;                /* error substring */
};

static const struct rec_case rec_cases[] = {
	{ "plain", "v=DKIM1; k=rsa; p=" RSA512_SPKI, 0, RSA512_SPKI,
	  "DKIM1", "rsa", NULL, NULL, NULL },
	{ "no v", "k=rsa; p=abcd", 0, "abcd", NULL, "rsa", NULL, NULL, NULL },
	{ "only p", "p=abcd", 0, "abcd", NULL, NULL, NULL, NULL, NULL },
	{ "revoked", "v=DKIM1; p=", 0, "", "DKIM1", NULL, NULL, NULL, NULL },
	{ "revoked trailing ;", "v=DKIM1; k=rsa; p= ;", 0, "", "DKIM1",
	  "rsa", NULL, NULL, NULL },
	{ "trailing ;", "v=DKIM1;p=abcd;", 0, "abcd", "DKIM1", NULL, NULL,
	  NULL, NULL },
	{ "whitespace", " v = DKIM1 ;\tk =rsa ;\r\n h= sha256 ; p = ab cd\n"
	  "\tef== ; t = y:s ; ", 0, "abcdef==", "DKIM1", "rsa", "sha256",
	  "y:s", NULL },
	{ "unknown tags ignored", "v=DKIM1; g=*; x_1=foo bar; p=abcd", 0,
	  "abcd", "DKIM1", NULL, NULL, NULL, NULL },
	{ "all tags", "v=DKIM1; h=sha256:sha1; k=rsa; n=hello world; "
	  "s=email; t=s; p=abcd", 0, "abcd", "DKIM1", "rsa", "sha256:sha1",
	  "s", NULL },
	{ "duplicate p", "v=DKIM1; p=abcd; p=efgh", PROV_ERR_RULE, NULL,
	  NULL, NULL, NULL, NULL, "tag p= appears twice" },
	{ "duplicate unknown", "p=abcd; x=1; x=2", PROV_ERR_RULE, NULL, NULL,
	  NULL, NULL, NULL, "tag x= appears twice" },
	{ "duplicate v", "v=DKIM1; v=DKIM1; p=abcd", PROV_ERR_RULE, NULL,
	  NULL, NULL, NULL, NULL, "tag v= appears twice" },
	{ "v not first", "k=rsa; v=DKIM1; p=abcd", PROV_ERR_RULE, NULL,
	  NULL, NULL, NULL, NULL, "tag v= must be the first tag" },
	{ "v=DKIM1.0", "v=DKIM1.0; p=abcd", PROV_ERR_RULE, NULL, NULL, NULL,
	  NULL, NULL, "tag v=DKIM1.0 is not v=DKIM1" },
	{ "v lower case", "v=dkim1; p=abcd", PROV_ERR_RULE, NULL, NULL, NULL,
	  NULL, NULL, "tag v=dkim1 is not v=DKIM1" },
	{ "missing p", "v=DKIM1; k=rsa", PROV_ERR_RULE, NULL, NULL, NULL,
	  NULL, NULL, "tag p= is missing" },
	{ "P is not p", "v=DKIM1; P=abcd", PROV_ERR_RULE, NULL, NULL, NULL,
	  NULL, NULL, "tag p= is missing" },
	{ "empty text", "", PROV_ERR_RULE, NULL, NULL, NULL, NULL, NULL,
	  "tag p= is missing" },
	{ "no =", "v=DKIM1; rsa; p=abcd", PROV_ERR_RULE, NULL, NULL, NULL,
	  NULL, NULL, "tag 'rsa' has no '='" },
	{ "empty tag-spec", "v=DKIM1;; p=abcd", PROV_ERR_RULE, NULL, NULL,
	  NULL, NULL, NULL, "empty tag-spec" },
	{ "bad tag name", "v=DKIM1; 1k=rsa; p=abcd", PROV_ERR_RULE, NULL,
	  NULL, NULL, NULL, NULL, "'1k' is not a tag name" },
	{ "control char", "v=DKIM1; n=a\001b; p=abcd", PROV_ERR_RULE, NULL,
	  NULL, NULL, NULL, NULL, "tag n= has an invalid character" },
};

static void check_opt(const char *want, const char *got)
{
	if (want)
		assert_string_equal(got, want);
	else
		assert_null(got);
}

static void test_record_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rec_cases / sizeof *rec_cases; i++) {
		const struct rec_case *c = &rec_cases[i];
		struct prov_error err = PROV_ERROR_INIT;
		struct dkim_record r;
		int rc = dkim_record_parse(c->text, &r, &err);
		print_message("record case: %s -> %d %s\n", c->name, rc,
			      err.msg);
		assert_int_equal(rc, c->rc);
		if (rc) {
			assert_true(err.set);
			assert_non_null(strstr(err.msg, c->msg));
			assert_null(r.p); /* released on error */
			continue;
		}
		assert_false(err.set);
		check_opt(c->p, r.p);
		check_opt(c->v, r.v);
		check_opt(c->k, r.k);
		check_opt(c->h, r.h);
		check_opt(c->t, r.t);
		dkim_record_release(&r);
		dkim_record_release(&r); /* safe twice */
	}
	dkim_record_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_check),
		cmocka_unit_test(test_key_check_null_bits),
		cmocka_unit_test(test_record_build),
		cmocka_unit_test(test_record_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
