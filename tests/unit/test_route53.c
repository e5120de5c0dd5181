/*
 * test_route53.c - the Route 53 provider's pure helpers: TXT values as
 * quoted character-strings with Route 53's octal \DDD escapes, names with
 * octal escapes, and the order of ListResourceRecordSets (labels reversed,
 * with the trailing dot, compared as ASCII); a record set read from XML.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provision/provider.h"
#include "config.h"

#include "../../providers/route53_xml.h"

static void check_quote(const char *value, const char *want)
{
	char *q = r53_txt_quote(value);
	assert_non_null(q);
	assert_string_equal(q, want);
	char *back = r53_txt_unquote(q);
	assert_non_null(back);
	assert_string_equal(back, value);
	free(q);
	free(back);
}

static void test_quote(void **state)
{
	(void)state;
	check_quote("v=spf1 include:mailgun.org ~all", "\"v=spf1 include:mailgun.org ~all\"");
	check_quote("", "\"\"");
	check_quote("a\"b\\c", "\"a\\\"b\\\\c\"");
	check_quote("tab\there\n", "\"tab\\011here\\012\"");
	check_quote("\xc3\xa4", "\"\\303\\244\""); /* ä in UTF-8, octal escapes */
	check_quote("semi; colon", "\"semi; colon\"");
}

static void test_quote_long(void **state)
{
	(void)state;
	const char *key = "k=rsa; p=" DEFAULT_DKIM_KEY;
	char *q = r53_txt_quote(key);
	assert_non_null(q);
	/* two strings: 255 bytes, one space, the remaining 146 */
	assert_int_equal(strlen(q), 1 + 255 + 1 + 1 + 1 + 146 + 1);
	assert_int_equal(q[256], '"');
	assert_int_equal(q[257], ' ');
	assert_int_equal(q[258], '"');
	char *back = r53_txt_unquote(q);
	assert_string_equal(back, key);
	free(back);
	free(q);
	/* the cut is made on the raw bytes, before escaping */
	char raw[300];
	memset(raw, '"', 299);
	raw[299] = '\0';
	q = r53_txt_quote(raw);
	assert_int_equal(strlen(q), 2 + 255 * 2 + 1 + 2 + 44 * 2);
	back = r53_txt_unquote(q);
	assert_string_equal(back, raw);
	free(back);
	free(q);
}

static void test_every_byte(void **state)
{
	(void)state;
	char all[256];
	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	char *q = r53_txt_quote(all);
	for (const char *p = q; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f); /* printable ASCII only */
	char *back = r53_txt_unquote(q);
	assert_non_null(back);
	assert_memory_equal(back, all, 256);
	free(back);
	free(q);
}

static void test_unquote(void **state)
{
	(void)state;
	struct {
		const char *in, *out;
	} ok[] = {
		{ "\"a\" \"b\"", "ab" },
		{ "\"v=DKIM1; k=rsa; \"  \"p=MIIB\"", "v=DKIM1; k=rsa; p=MIIB" },
		{ "\"\\065\"", "5" },   /* octal 065 is '5' (decimal 065 would be 'A') */
		{ "\"\\101\"", "A" },
		{ "\"\\344\"", "\xe4" },
		{ "\"a\\\"b\"", "a\"b" },
		{ "\"x\\9\"", "x9" },   /* a backslash before a non-digit: the character */
		{ "\"\"", "" },
		{ "plain text", "plain text" }, /* not quoted: as it is */
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char *s = r53_txt_unquote(ok[i].in);
		assert_non_null(s);
		assert_string_equal(s, ok[i].out);
		free(s);
	}
	const char *bad[] = { "\"abc", "\"a\"b", "\"a\\", " ", "\"\\400\"" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_null(r53_txt_unquote(bad[i]));
}

static void test_names(void **state)
{
	(void)state;
	char *e = r53_name_escape("*.Dev.Example.com");
	assert_string_equal(e, "\\052.dev.example.com.");
	char *u = r53_name_unescape(e);
	assert_string_equal(u, "*.dev.example.com.");
	free(e);
	free(u);
	e = r53_name_escape("pic._domainkey.example.com.");
	assert_string_equal(e, "pic._domainkey.example.com.");
	free(e);
	u = r53_name_unescape("A\\100B.Example.COM");
	assert_string_equal(u, "a@b.example.com.");
	free(u);
}

static void test_order(void **state)
{
	(void)state;
	char *k = r53_order_key("_dmarc.example.com.");
	assert_string_equal(k, "com.example._dmarc.");
	free(k);
	k = r53_order_key("example.com.");
	assert_string_equal(k, "com.example.");
	free(k);
	k = r53_order_key(".");
	assert_string_equal(k, ".");
	free(k);
	/* "-" sorts before ".": "www-1" before "www" (the API reference's note) */
	const char *sorted[] = {
		"example.com.", "-edge.example.com.", "0.example.com.", "_dmarc.example.com.",
		"pic._domainkey.example.com.", "host1.example.com.", "email.mg3.example.com.",
		"x.email.mg3.example.com.", "www-1.example.com.", "www.example.com.",
		"a.www.example.com.",
	};
	for (size_t i = 0; i + 1 < sizeof sorted / sizeof sorted[0]; i++) {
		char *a = r53_order_key(sorted[i]), *b = r53_order_key(sorted[i + 1]);
		if (strcmp(a, b) >= 0)
			fail_msg("%s (%s) should sort before %s (%s)", sorted[i], a, sorted[i + 1], b);
		free(a);
		free(b);
	}
}

/* One <ResourceRecordSet> read through r53_xml_set(); rc as it returned. */
static int read_set(const char *inner, struct r53_set *s)
{
	char doc[1024];
	snprintf(doc, sizeof doc, "<ResourceRecordSet xmlns=\"%s\">%s</ResourceRecordSet>",
		 R53_NS, inner);
	xmlDoc *d = r53_xml_parse(doc, strlen(doc));
	assert_non_null(d);
	int rc = r53_xml_set(xmlDocGetRootElement(d), s);
	xmlFreeDoc(d);
	return rc;
}

/* Found by fuzz_route53: an empty Name was taken as the root's set, and
 * a TTL beyond 32 bits wrapped to a small one. */
static void test_xml_set(void **state)
{
	(void)state;
	struct r53_set s;
	assert_int_equal(read_set("<Name></Name><Type>A</Type><TTL>300</TTL>", &s), -1);
	assert_int_equal(read_set("<Name>a.example.</Name><Type></Type>", &s), -1);
	assert_int_equal(read_set("<Name>A.Example.</Name><Type>TXT</Type><TTL>4294967596</TTL>"
				  "<ResourceRecords><ResourceRecord><Value>\"x\"</Value>"
				  "</ResourceRecord></ResourceRecords>", &s), 0);
	assert_string_equal(s.plain, "a.example.");
	assert_int_equal(s.ttl, 2147483647);
	assert_string_equal(s.vals[0], "x");
	r53_set_free(&s);
	assert_int_equal(read_set("<Name>a.example.</Name><Type>TXT</Type><TTL>-5</TTL>", &s), 0);
	assert_int_equal(s.ttl, 0);
	r53_set_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_quote_long),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_unquote),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_xml_set),
	};
	return cmocka_run_group_tests_name("route53", tests, NULL, NULL);
}
