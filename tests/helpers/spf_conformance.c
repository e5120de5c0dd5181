/*
 * spf_conformance.c - runs the openspf RFC 7208 suite through spf_check_host().
 *
 * Reads the suite as JSON (tests/conformance/yaml2json.py), serves each
 * scenario's zonedata from memory with the suite's driver conventions
 * (shared/conformance/spf/README.md): SPF entries are served as TXT unless
 * the name has TXT entries of its own ("TXT: NONE" included); TIMEOUT makes
 * a query fail unless a record of that type came before it; a CNAME is
 * followed one level; a missing name is NXDOMAIN. Prints each failure and
 * ends with "N passed, M failed"; exits 1 when a test failed.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "provision/record.h"
#include "provision/resolver.h"
#include "provision/spf.h"
#include "provision/util.h"

/* Tests this project deliberately does not pass, with the reason. */
static const struct {
	const char *name, *reason;
} skips[] = {
	{ NULL, NULL },
};

#include "suite_zone.h"


static const char *skip_reason(const char *name)
{
	for (size_t i = 0; skips[i].name; i++)
		if (strcmp(skips[i].name, name) == 0)
			return skips[i].reason;
	return NULL;
}


/* 0 when the test passes; 1 and a FAIL line otherwise. */
static int run_test(struct resolver *r, const char *scenario, const cJSON *t)
{
	size_t len;
	char *sender = to_bytes(str(t, "mailfrom") ? str(t, "mailfrom") : "", &len);
	struct spf_request req = {
		.ip = str(t, "host"), .sender = sender, .helo = str(t, "helo"),
		.default_exp = "DEFAULT",
	};
	char *exp = NULL, want[128] = "";
	enum spf_result got = spf_check_host(r, &req, &exp);
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(t, "result"), *v;
	const cJSON *list = cJSON_IsArray(res) ? res : NULL;
	int ok = 0;
	if (cJSON_IsString(res)) {
		ok = strcmp(res->valuestring, spf_result_name(got)) == 0;
		snprintf(want, sizeof want, "%s", res->valuestring);
	}
	cJSON_ArrayForEach(v, list) {
		ok |= cJSON_IsString(v) && strcmp(v->valuestring, spf_result_name(got)) == 0;
		size_t w = strlen(want);
		snprintf(want + w, sizeof want - w, "%s%s", w ? " or " : "",
			 cJSON_IsString(v) ? v->valuestring : "?");
	}
	const char *wexp = str(t, "explanation");
	if (!ok)
		printf("FAIL %s / %s: got %s, want %s\n", scenario, t->string,
		       spf_result_name(got), want);
	else if (wexp && (!exp || strcmp(exp, wexp) != 0)) {
		printf("FAIL %s / %s: got explanation '%s', want '%s'\n",
		       scenario, t->string, exp ? exp : "(none)", wexp);
		ok = 0;
	}
	free(exp);
	free(sender);
	return !ok;
}


int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: spf_conformance SUITE.json\n");
		return 64;
	}
	char *text = slurp(argv[1]);
	cJSON *suite = text ? cJSON_Parse(text) : NULL;
	free(text);
	if (!cJSON_IsArray(suite)) {
		fprintf(stderr, "spf_conformance: cannot read %s\n", argv[1]);
		cJSON_Delete(suite);
		return 2;
	}
	int passed = 0, failed = 0, skipped = 0;
	const cJSON *sc, *t;
	cJSON_ArrayForEach(sc, suite) {
		const char *desc = str(sc, "description");
		struct suite_zone *z = zone_load(cJSON_GetObjectItemCaseSensitive(sc, "zonedata"));
		struct resolver *r = z ? resolver_new(&zone_backend, z) : NULL;
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(sc, "tests")) {
			const char *why = skip_reason(t->string);
			if (why) {
				printf("SKIP %s: %s\n", t->string, why);
				skipped++;
			} else if (!r) {
				printf("FAIL %s / %s: no zone data\n", desc, t->string);
				failed++;
			} else if (run_test(r, desc ? desc : "?", t)) {
				failed++;
			} else {
				passed++;
			}
		}
		resolver_free(r);
	}
	cJSON_Delete(suite);
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	else
		printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
