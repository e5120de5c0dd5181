/*
 * test_record.c - names, TXT split/join and zone-file quoting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provision/record.h"
#include "provision/util.h"
#include "config.h"

static void test_fqdn(void **state)
{
	(void)state;
	char *s = dname_fqdn("Example.COM");
	assert_string_equal(s, "example.com.");
	free(s);
	s = dname_fqdn("pic._domainkey.example.com.");
	assert_string_equal(s, "pic._domainkey.example.com.");
	free(s);
	assert_true(dname_equal("Example.com", "example.COM."));
	assert_false(dname_equal("example.com", "xexample.com"));
	assert_true(dname_in_zone("a.b.example.com.", "example.com"));
	assert_true(dname_in_zone("example.com", "example.com."));
	assert_false(dname_in_zone("badexample.com", "example.com"));
	assert_false(dname_in_zone("example.org", "example.com"));
}

static void test_split_join_dkim(void **state)
{
	(void)state;
	const char *key = "k=rsa; p=" DEFAULT_DKIM_KEY;
	assert_int_equal(strlen(key), 401);
	char **parts = txt_split(key);
	assert_non_null(parts);
	assert_int_equal(strv_len(parts), 2);
	assert_int_equal(strlen(parts[0]), 255);
	assert_int_equal(strlen(parts[1]), 146);
	char *joined = txt_join(parts);
	assert_string_equal(joined, key);
	free(joined);
	strv_free(parts);
}

static void test_split_edges(void **state)
{
	(void)state;
	char v[511];
	memset(v, 'a', 510);
	v[510] = '\0';
	char **parts = txt_split(v);
	assert_int_equal(strv_len(parts), 2); /* exactly 2 x 255 */
	strv_free(parts);
	parts = txt_split("");
	assert_int_equal(strv_len(parts), 1);
	assert_string_equal(parts[0], "");
	strv_free(parts);
}

static void test_quote(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	assert_int_equal(txt_quote(&b, "say \"hi\" \\ ok\x01"), 0);
	assert_string_equal(buf_str(&b), "\"say \\\"hi\\\" \\\\ ok\\001\"");
	char *back = txt_unquote(buf_str(&b));
	assert_string_equal(back, "say \"hi\" \\ ok\x01");
	free(back);
	buf_release(&b);

	const char *key = "k=rsa; p=" DEFAULT_DKIM_KEY;
	assert_int_equal(txt_quote(&b, key), 0);
	/* Two quoted strings separated by one space. */
	assert_int_equal(b.len, 401 + 4 + 1);
	back = txt_unquote(buf_str(&b));
	assert_string_equal(back, key);
	free(back);
	buf_release(&b);
}

static void test_unquote_bad(void **state)
{
	(void)state;
	assert_null(txt_unquote("\"unterminated"));
	assert_null(txt_unquote("\"bad \\12 escape\""));
	assert_null(txt_unquote(""));
	char *s = txt_unquote("plain \"two words\"");
	assert_string_equal(s, "plaintwo words");
	free(s);
	char big[300];
	memset(big, 'x', 299);
	big[0] = big[298] = '"';
	big[299] = '\0'; /* 297 bytes in one string: over 255 */
	assert_null(txt_unquote(big));
}

static void test_rrset_list(void **state)
{
	(void)state;
	struct rrset_list l = { 0 };
	assert_int_equal(rrset_list_add(&l, "Example.com", RR_TXT, 300, "a"), 0);
	assert_int_equal(rrset_list_add(&l, "example.com.", RR_TXT, 600, "b"), 0);
	assert_int_equal(rrset_list_add(&l, "email.example.com", RR_CNAME, 300, "x."), 0);
	const struct rrset *s = rrset_list_find(&l, "EXAMPLE.COM", RR_TXT);
	assert_non_null(s);
	assert_int_equal(s->ttl, 300);
	assert_int_equal(strv_len(s->values), 2);
	assert_true(rrset_list_has_other(&l, "email.example.com.", RR_TXT));
	assert_false(rrset_list_has_other(&l, "email.example.com.", RR_CNAME));
	assert_string_equal(rr_type_name(RR_CNAME), "CNAME");
	assert_int_equal(rr_type_from_name("txt"), RR_TXT);
	rrset_list_release(&l);
}

static void test_rrset_same_text(void **state)
{
	(void)state;
	struct rrset_list a = { 0 }, b = { 0 };
	struct buf t = BUF_INIT;
	assert_int_equal(rrset_list_add(&a, "x.test", RR_TXT, 300, "one"), 0);
	assert_int_equal(rrset_list_add(&a, "x.test", RR_TXT, 600, "two"), 0);
	assert_int_equal(rrset_list_add(&b, "x.test", RR_TXT, 600, "two"), 0);
	assert_int_equal(rrset_list_add(&b, "x.test", RR_TXT, 3600, "one"), 0);
	const struct rrset *x = &a.v[0], *y = &b.v[0];
	assert_true(rrset_same(x, y, 0));  /* any order */
	assert_false(rrset_same(x, y, 1)); /* "one" at 300 against 3600 */
	assert_true(rrset_same(x, x, 1));
	assert_true(rrset_same(NULL, NULL, 1));
	assert_false(rrset_same(x, NULL, 0));
	assert_int_equal(rrset_list_add(&b, "x.test", RR_TXT, 600, "three"), 0);
	assert_false(rrset_same(x, &b.v[0], 0));
	assert_int_equal(rrset_text(&t, x, 1), 0);
	assert_string_equal(buf_str(&t), "\"one\" (ttl 300), \"two\" (ttl 600)");
	buf_release(&t);
	assert_int_equal(rrset_text(&t, NULL, 0), 0);
	assert_string_equal(buf_str(&t), "(nothing)");
	buf_release(&t);
	rrset_list_release(&a);
	rrset_list_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fqdn),
		cmocka_unit_test(test_split_join_dkim),
		cmocka_unit_test(test_split_edges),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_unquote_bad),
		cmocka_unit_test(test_rrset_list),
		cmocka_unit_test(test_rrset_same_text),
	};
	return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
