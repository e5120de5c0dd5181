/*
 * test_provider_read.c - the Cloudflare and GoDaddy answer readers
 * (providers/cloudflare_read.c, providers/godaddy_read.c) on bodies the
 * fuzz targets found (tests/fuzz/fuzz_cloudflare.c, fuzz_godaddy.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../providers/cloudflare_read.h"
#include "../../providers/godaddy_read.h"
#include "provision/util.h"

/* A TTL beyond 32 bits was cast to uint32_t: undefined, 0 on x86-64. It
 * is taken as RFC 2181's largest TTL. (fuzz_godaddy found it.) */
static void test_gd_huge_ttl(void **state)
{
	(void)state;
	static const char body[] =
		"[{\"type\": \"A\", \"name\": \"@\", \"data\": \"Parked\", "
		"\"ttl\": 3333333333333333333333333333333333333333333333333600},"
		" {\"type\": \"TXT\", \"name\": \"x\", \"data\": \"y\", \"ttl\": 1e300},"
		" {\"type\": \"TXT\", \"name\": \"z\", \"data\": \"y\", \"ttl\": 4294967296}]";
	cJSON *j = gd_answer(body, sizeof body - 1);
	struct gd_rec *v = NULL;
	size_t n = 0;
	assert_non_null(j);
	assert_int_equal(gd_recs_parse(j, "example.com", NULL, NULL, &v, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i].ttl, 2147483647u);
	gd_recs_free(v, n);
	cJSON_Delete(j);
}

static void test_cf_huge_ttl(void **state)
{
	(void)state;
	static const char body[] =
		"{\"success\": true, \"result\": [{\"id\": \"a\", \"name\": "
		"\"example.com\", \"type\": \"TXT\", \"content\": \"x\", "
		"\"ttl\": 1e40}]}";
	int ok = 0, more = 1;
	struct cf_records l = { NULL, 0 };
	cJSON *j = cf_envelope(body, sizeof body - 1, &ok);
	assert_non_null(j);
	assert_true(ok);
	assert_int_equal(cf_take_page(&l, j, 1, &more), 0);
	assert_false(more);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].ttl, 2147483647u);
	cf_records_release(&l);
	cJSON_Delete(j);
}

static void test_json_ttl(void **state)
{
	(void)state;
	cJSON *j = cJSON_Parse("[300, 0, -5, 0.5, 2147483647, 2147483648, 1e300, \"300\"]");
	assert_non_null(j);
	static const uint32_t want[] = { 300, 7, 7, 7, 2147483647u, 2147483647u,
					 2147483647u, 7 };
	for (int i = 0; i < 8; i++)
		assert_int_equal(json_ttl(cJSON_GetArrayItem(j, i), 7), want[i]);
	assert_int_equal(json_ttl(NULL, 9), 9);
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gd_huge_ttl),
		cmocka_unit_test(test_cf_huge_ttl),
		cmocka_unit_test(test_json_ttl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
