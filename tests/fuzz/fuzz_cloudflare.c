/*
 * fuzz_cloudflare.c - libFuzzer target for the Cloudflare answer reader
 * (providers/cloudflare_read.c, the code providers/cloudflare.c reads
 * every answer with).
 *
 * The input is one answer body. cf_envelope() reads it; a body it takes
 * goes through cf_error_text(), cf_zone_id(), cf_take_page() (as page 1 of
 * a listing) and cf_take_result() (as a batch's result, over that
 * listing). Asserted, with abort() on a mismatch: the error text is "code
 * N: ..." or "no error details"; every record kept has an id, a type, a
 * value and a fully qualified name (trailing dot) and a TTL of at least 1;
 * a batch result taken leaves no record with an id it deleted unless it
 * also wrote that id. Everything is freed (LeakSanitizer is on).
 *
 * Build: make fuzz (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloudflare_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_records(const struct cf_records *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct cf_record *r = &l->v[i];
		if (!r->id || !r->type || !r->value || !r->name || r->ttl < 1)
			abort();
		size_t n = strlen(r->name);
		if (n == 0 || r->name[n - 1] != '.')
			abort();
	}
}

/* 1 when the batch result lists id under one of its writes. */
static int written(const cJSON *root, const char *id)
{
	static const char *const lists[] = { "patches", "puts", "posts" };
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
	for (size_t k = 0; k < 3; k++) {
		const cJSON *r, *arr = cJSON_GetObjectItemCaseSensitive(res, lists[k]);
		cJSON_ArrayForEach(r, arr) {
			const cJSON *x = cJSON_GetObjectItemCaseSensitive(r, "id");
			if (cJSON_IsString(x) && strcmp(x->valuestring, id) == 0)
				return 1;
		}
	}
	return 0;
}

static void check_deleted(const struct cf_records *l, const cJSON *root)
{
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
	const cJSON *r, *arr = cJSON_GetObjectItemCaseSensitive(res, "deletes");
	cJSON_ArrayForEach(r, arr) {
		const char *id = cJSON_GetObjectItemCaseSensitive(r, "id")->valuestring;
		if (written(root, id))
			continue;
		for (size_t i = 0; i < l->n; i++)
			if (strcmp(l->v[i].id, id) == 0)
				abort(); /* deleted, yet still listed */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int ok = 0, more = 0;
	char detail[512];
	struct cf_records l = { NULL, 0 };
	cJSON *root = cf_envelope((const char *)data, size, &ok);
	if (!root)
		return 0;
	cf_error_text(root, detail, sizeof detail);
	if (strncmp(detail, "code ", 5) != 0 && strcmp(detail, "no error details") != 0)
		abort();
	(void)cf_zone_id(root);
	(void)cf_take_page(&l, root, 1, &more);
	check_records(&l);
	if (cf_take_result(&l, root) == 0)
		check_deleted(&l, root);
	check_records(&l);
	cf_records_release(&l);
	cJSON_Delete(root);
	return 0;
}
