/*
 * fuzz_dkim_dmarc.c - libFuzzer target for the DKIM key record and DMARC
 * policy record parsers (src/dkim.c, src/dmarc.c).
 *
 * The input is one TXT value, read both as a DKIM key record
 * (dkim_record_parse(), then dkim_key_check() on its p=) and as a DMARC
 * record (dmarc_is_record(), dmarc_record_parse(), dmarc_uri_list_check()
 * on the text itself). Asserted, with abort() on a mismatch:
 *   - a parsed DKIM record has p=; its key, when it is an RSA key, is
 *     published by dkim_record_build() as a record that parses back to the
 *     same p= (and k=rsa);
 *   - a parsed DMARC record starts with v=DMARC1 (dmarc_is_record()); built
 *     again from what was parsed (dmarc_record_build()) it parses, to the
 *     same policy, subdomain policy, rua, ruf, fo, adkim, aspf and pct; a
 *     parse that fails says why.
 * Everything is freed (LeakSanitizer is on).
 *
 * Build: make fuzz (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "dmarc.h"

#define FUZZ_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_dkim(const char *text)
{
	struct prov_error err = PROV_ERROR_INIT;
	struct dkim_record r;
	int bits = 0;
	if (dkim_record_parse(text, &r, &err) != 0) {
		if (!err.msg[0])
			abort(); /* a refusal says why */
		return;
	}
	if (!r.p)
		abort();
	if (r.p[0] && dkim_key_check(r.p, &bits, &err) == 0) {
		char *rec = dkim_record_build(r.p);
		struct dkim_record r2;
		struct prov_error e2 = PROV_ERROR_INIT;
		if (rec) {
			if (dkim_record_parse(rec, &r2, &e2) != 0)
				abort(); /* what we publish must parse */
			if (!same(r2.p, r.p) || !same(r2.k, "rsa"))
				abort();
			dkim_record_release(&r2);
		}
		free(rec);
	}
	prov_error_clear(&err);
	dkim_record_release(&r);
}

static const char *policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_P_NONE: return "none";
	case DMARC_P_QUARANTINE: return "quarantine";
	case DMARC_P_REJECT: return "reject";
	default: return NULL;
	}
}

static void check_dmarc(const char *text)
{
	struct prov_error err = PROV_ERROR_INIT;
	struct dmarc_record r;
	(void)dmarc_uri_list_check(text, &err);
	prov_error_clear(&err);
	int is = dmarc_is_record(text);
	if (dmarc_record_parse(text, &r, &err) != 0) {
		if (!err.msg[0])
			abort();
		return;
	}
	if (!is || !policy_name(r.p) || !policy_name(r.sp))
		abort();
	const struct dmarc_params p = {
		.policy = policy_name(r.p), .sp = policy_name(r.sp),
		.rua = r.rua, .ruf = r.ruf, .fo = r.fo, .adkim = r.adkim,
		.aspf = r.aspf, .pct = r.pct ? atoi(r.pct) : -1,
	};
	char *rec = dmarc_record_build(&p);
	if (rec) {
		struct dmarc_record r2;
		struct prov_error e2 = PROV_ERROR_INIT;
		if (dmarc_record_parse(rec, &r2, &e2) != 0)
			abort(); /* what we would publish must parse */
		if (r2.p != r.p || r2.sp != r.sp || !same(r2.rua, r.rua) ||
		    !same(r2.ruf, r.ruf) || !same(r2.fo, r.fo) ||
		    !same(r2.adkim, r.adkim) || !same(r2.aspf, r.aspf) ||
		    (!r.pct) != (!r2.pct) || (r.pct && atoi(r.pct) != atoi(r2.pct)))
			abort();
		dmarc_record_release(&r2);
	}
	free(rec);
	dmarc_record_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX || memchr(data, 0, size))
		return -1; /* a TXT value is a C string here */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_dkim(text);
	check_dmarc(text);
	free(text);
	return 0;
}
