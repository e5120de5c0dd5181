/*
 * fuzz_txt.c - libFuzzer target for TXT values on their way out and back
 * (src/record.c, providers/dnsrr.c).
 *
 * The input is one logical TXT value (any bytes but NUL). Asserted, with
 * abort() on a mismatch:
 *   - txt_join(txt_split(v)) == v, every piece at most 255 bytes, and only
 *     the last one shorter (one empty piece for "");
 *   - txt_unquote(txt_quote(v)) == v (the form Cloudflare is sent);
 *   - the record master-file text of dnsrr_text(), on one line and in
 *     parentheses over several (the zone file's form), read back by ldns,
 *     gives v again through dnsrr_value().
 * The input is also read as quoted text: when txt_unquote() takes it, the
 * value quoted and unquoted again is the same value. Everything is freed
 * (LeakSanitizer is on).
 *
 * Build: make fuzz (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnsrr.h"
#include "provision/buf.h"
#include "provision/record.h"
#include "provision/util.h"

#define FUZZ_MAX 4096
#define OWNER "txt.fuzz.test."

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_split(const char *v)
{
	char **parts = txt_split(v);
	if (!parts)
		return;
	size_t n = strv_len(parts);
	if (n == 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(parts[i]);
		if (k > TXT_STRING_MAX || (i + 1 < n && k != TXT_STRING_MAX))
			abort();
	}
	char *joined = txt_join(parts);
	if (joined && strcmp(joined, v) != 0)
		abort();
	free(joined);
	strv_free(parts);
}

/* unquote(quote(v)) == v; returns the quoted text (caller frees). */
static char *check_quote(const char *v)
{
	struct buf b = BUF_INIT;
	if (txt_quote(&b, v) < 0) {
		buf_release(&b);
		return NULL;
	}
	char *q = buf_detach(&b);
	char *u = q ? txt_unquote(q) : NULL;
	if (q && (!u || strcmp(u, v) != 0))
		abort();
	free(u);
	return q;
}

/* The record text read back by ldns (from a stream: parentheses span
 * lines) gives v. */
static void check_record(const char *v, int multiline)
{
	struct buf b = BUF_INIT;
	if (dnsrr_text(&b, OWNER, RR_TXT, 300, v, multiline) < 0) {
		buf_release(&b);
		return;
	}
	FILE *fp = fmemopen(b.data, b.len, "r");
	ldns_rr *rr = NULL;
	uint32_t ttl = 3600;
	int line = 1;
	if (!fp)
		goto out;
	if (ldns_rr_new_frm_fp_l(&rr, fp, &ttl, NULL, NULL, &line) != LDNS_STATUS_OK)
		abort(); /* our own text must read */
	char *got = dnsrr_value(rr);
	if (got && strcmp(got, v) != 0)
		abort();
	free(got);
	ldns_rr_free(rr);
	fclose(fp);
out:
	buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX || memchr(data, 0, size))
		return -1; /* a logical value is a C string here */
	char *v = malloc(size + 1);
	if (!v)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';

	check_split(v);
	free(check_quote(v));
	check_record(v, 0);
	check_record(v, 1);

	/* The input as quoted text, as Cloudflare and GoDaddy may send it. */
	char *u = txt_unquote(v);
	if (u) {
		free(check_quote(u));
		check_split(u);
	}
	free(u);
	free(v);
	return 0;
}
