/*
 * fuzz_godaddy.c - libFuzzer target for the GoDaddy answer reader
 * (providers/godaddy_read.c, the code providers/godaddy.c reads every
 * answer with).
 *
 * The input is one answer body. gd_answer() parses it; a body it takes is
 * read as a zone's listing (gd_recs_parse() without defaults), as a set's
 * GET (type TXT and name _dmarc standing in for what the records leave
 * out), as an error body (gd_error_text(), with the labels of a three-
 * record request) and as a refusal to wait out (gd_wait(), for 409, 429
 * and 500 in every round). Asserted, with abort() on a mismatch: every
 * record read has an upper-case type, a lower-case relative name without
 * a trailing dot ("@" the apex) whose gd_absolute() is in the zone, data,
 * a value and a TTL of at least 1; the error text is one line; a wait is
 * -1 or between 0 and 300.5 seconds, and -1 after the tenth round.
 * Everything is freed (LeakSanitizer is on).
 *
 * Build: make fuzz (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "godaddy_read.h"
#include "provision/util.h"

#define ZONE "fuzz.test"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_records(const struct gd_rec *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct gd_rec *r = &v[i];
		if (!r->type || !r->name || !r->data || !r->value || r->ttl < 1)
			abort();
		for (const char *p = r->type; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				abort();
		for (const char *p = r->name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				abort();
		size_t k = strlen(r->name);
		if (k == 0 || (k > 1 && r->name[k - 1] == '.'))
			abort();
		char *fq = gd_absolute(r->name, ZONE);
		if (fq && !dname_in_zone(fq, ZONE))
			abort();
		free(fq);
	}
}

static void check_read(const cJSON *j, const char *dtype, const char *dname)
{
	struct gd_rec *v = NULL;
	size_t n = 0;
	if (gd_recs_parse(j, ZONE, dtype, dname, &v, &n) == 0)
		check_records(v, n);
	else if (v || n)
		abort(); /* nothing is kept from a refused answer */
	gd_recs_free(v, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char l0[] = "TXT fuzz.test", l1[] = "TXT _dmarc", l2[] = "CNAME email";
	char *const labels[] = { l0, l1, l2, NULL };
	static const long statuses[] = { 409, 429, 500 };
	cJSON *j = gd_answer((const char *)data, size);
	struct buf b = BUF_INIT;
	if (j && cJSON_IsObject(j)) {
		gd_error_text(j, labels, &b);
		if (buf_str(&b)[0] == '\0')
			abort();
	}
	buf_release(&b);
	check_read(j, NULL, NULL);
	check_read(j, "TXT", "_dmarc");
	for (size_t s = 0; s < 3; s++)
		for (int round = 0; round < 12; round++) {
			double w = gd_wait(statuses[s], j, round);
			if (w != -1 && (w < 0 || w > 300.5 || round >= 10))
				abort();
		}
	(void)gd_code_is(j, "QUOTA_EXCEEDED");
	cJSON_Delete(j);
	return 0;
}
