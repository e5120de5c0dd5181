/*
 * test_spf_flatten.c - spf_flatten() against an in-memory zone (memdns):
 * named includes replaced in place by the addresses of their trees, what
 * is refused, and the split into chained _spfN records, each result judged
 * again with spf_cost_pending() and spf_check_pending().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provision/buf.h"
#include "provision/spf.h"
#include "memdns.h"

/* 60 ip4 terms: 10.0.0.0/24 ... 10.0.59.0/24 */
#define IPS10(x) "ip4:10.0." #x "0.0/24 ip4:10.0." #x "1.0/24 " \
	"ip4:10.0." #x "2.0/24 ip4:10.0." #x "3.0/24 ip4:10.0." #x "4.0/24 " \
	"ip4:10.0." #x "5.0/24 ip4:10.0." #x "6.0/24 ip4:10.0." #x "7.0/24 " \
	"ip4:10.0." #x "8.0/24 ip4:10.0." #x "9.0/24 "

static const struct memdns_row rows[] = {
	MEMDNS_MAILGUN_ROWS,
	/* a service of 4 lookups: include, a, mx, include */
	{ "svc.example", RR_TXT, "v=spf1 a:web.svc.example/24 mx "
				 "include:inner.svc.example ip4:192.0.2.1 ~all" },
	{ "svc.example", RR_MX, "10 mx1.svc.example" },
	{ "svc.example", RR_MX, "20 mx2.svc.example" },
	{ "web.svc.example", RR_A, "203.0.113.77" },
	{ "web.svc.example", RR_AAAA, "2001:db8:1::77" },
	{ "mx1.svc.example", RR_A, "198.51.100.10" },
	{ "mx2.svc.example", RR_A, "198.51.100.10" },
	{ "mx2.svc.example", RR_AAAA, "2001:db8:1::25" },
	{ "inner.svc.example", RR_TXT, "v=spf1 ip4:192.0.2.0/25 "
				       "ip6:2001:DB8:2::/48 ip4:192.0.2.1 -all" },
	{ "redir.example", RR_TXT, "v=spf1 ip4:192.0.2.50 "
				   "redirect=inner.svc.example" },
	{ "dead.example", RR_TXT, "v=spf1 ip4:192.0.2.51 ?all ptr "
				  "redirect=ptr.example" },
	{ "cidr.example", RR_TXT, "v=spf1 a:web.svc.example/16//40 ip4:10.9.8.7/8" },
	/* what cannot be flattened */
	{ "neg.example", RR_TXT, "v=spf1 ip4:192.0.2.1 -ip4:192.0.2.2 ~all" },
	{ "ptr.example", RR_TXT, "v=spf1 ptr ~all" },
	{ "exists.example", RR_TXT, "v=spf1 exists:e.svc.example ~all" },
	{ "macro.example", RR_TXT, "v=spf1 a:%{d}.svc.example ~all" },
	{ "plusall.example", RR_TXT, "v=spf1 ip4:192.0.2.1 +all" },
	{ "all.example", RR_TXT, "v=spf1 include:ok.example all" },
	{ "ok.example", RR_TXT, "v=spf1 ip4:192.0.2.3 ~all" },
	{ "nested-neg.example", RR_TXT, "v=spf1 include:ok.example "
					"include:neg.example ~all" },
	{ "tf.example", RR_TXT, "v=spf1 ip4:192.0.2.1 a:down.example ~all" },
	{ "tfmx.example", RR_TXT, "v=spf1 mx:svc2.example ~all" },
	{ "svc2.example", RR_MX, "10 down.example" },
	{ "down.example", 0, "TIMEOUT" },
	{ "hole.example", RR_TXT, "v=spf1 include:gone.example ~all" },
	{ "loop1.example", RR_TXT, "v=spf1 include:loop2.example ~all" },
	{ "loop2.example", RR_TXT, "v=spf1 ip4:192.0.2.4 include:loop1.example" },
	{ "back.example", RR_TXT, "v=spf1 include:example.com ~all" },
	/* 60 addresses */
	{ "big.example", RR_TXT, "v=spf1 " IPS10() IPS10(1) IPS10(2)
				 IPS10(3) IPS10(4) IPS10(5) "~all" },
	{ "example.com", RR_TXT, "v=spf1 include:big.example "
				 "include:mailgun.org -all" },
	{ NULL, 0, NULL },
};

static struct memdns dns;

static int setup(void **state)
{
	*state = memdns_resolver(&dns, rows);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	resolver_free(*state);
	return 0;
}

static int flatten(struct resolver *r, const char *record, const char *name,
		   size_t max, struct spf_flat *f, struct prov_error *err)
{
	char *names[] = { (char *)name, NULL };
	prov_error_clear(err);
	return spf_flatten(r, "example.com", record, names, max, f, err);
}

static int lookups(struct resolver *r, const char *record,
		   const struct spf_flat *f)
{
	struct spf_pending p[8] = { { "example.com", record } };
	struct prov_error err = PROV_ERROR_INIT;
	struct spf_cost c;
	for (size_t i = 0; f && i < f->nchain && i < 6; i++)
		p[i + 1] = f->chain[i];
	assert_int_equal(spf_cost_pending(r, "example.com", p, &c, &err), 0);
	int n = c.lookups;
	assert_int_equal(c.known, 1);
	assert_int_equal(c.permerror, 0);
	spf_cost_release(&c);
	return n;
}

static enum spf_result verdict(struct resolver *r, const char *ip,
			       const char *record, const struct spf_flat *f)
{
	struct spf_pending p[8] = { { "example.com", record } };
	struct spf_request req = { .ip = ip, .sender = "a@example.com",
				   .helo = "mail.example.com",
				   .domain = "example.com" };
	for (size_t i = 0; f && i < f->nchain && i < 6; i++)
		p[i + 1] = f->chain[i];
	return spf_check_pending(r, &req, p, NULL);
}

static void test_flatten_tree(void **state)
{
	struct resolver *r = *state;
	struct prov_error err = PROV_ERROR_INIT;
	struct spf_flat f;
	const char *rec = "v=spf1 ip4:192.0.2.0/25 include:svc.example "
			  "include:mailgun.org ~all";
	assert_int_equal(flatten(r, rec, "SVC.example.", 450, &f, &err), 0);
	assert_string_equal(f.record,
			    "v=spf1 ip4:192.0.2.0/25 ip4:203.0.113.0/24 "
			    "ip6:2001:db8:1::77 ip4:198.51.100.10 "
			    "ip6:2001:db8:1::25 ip6:2001:db8:2::/48 "
			    "ip4:192.0.2.1 include:mailgun.org ~all");
	assert_int_equal(f.nchain, 0);
	assert_non_null(f.chain);
	assert_null(f.chain[0].name);
	assert_string_equal(f.flattened[0], "svc.example");
	assert_null(f.flattened[1]);
	assert_int_equal(f.ip_terms, 7);
	assert_int_equal(lookups(r, rec, NULL), 9);
	assert_int_equal(lookups(r, f.record, &f), 5);
	static const char *const ips[] = {
		"203.0.113.200", "2001:db8:1::77", "198.51.100.10",
		"2001:db8:1::25", "2001:db8:2:ffff::1", "192.0.2.1",
		"192.0.2.127", "198.61.254.1", "192.0.2.200", "203.0.114.1",
		"2001:db8:1::78", "10.1.1.1",
	};
	for (size_t i = 0; i < sizeof ips / sizeof *ips; i++)
		assert_int_equal(verdict(r, ips[i], f.record, &f),
				 verdict(r, ips[i], rec, NULL));
	assert_int_equal(verdict(r, "203.0.113.200", f.record, &f), SPF_PASS);
	assert_int_equal(verdict(r, "192.0.2.200", f.record, &f), SPF_SOFTFAIL);
	spf_flat_release(&f);
	spf_flat_release(&f); /* twice: harmless */
	spf_flat_release(NULL);
}

static void test_flatten_terms(void **state)
{
	struct resolver *r = *state;
	struct prov_error err = PROV_ERROR_INIT;
	struct spf_flat f;
	/* redirect= followed when there is no all; dual cidr kept */
	assert_int_equal(flatten(r, "v=spf1 include:redir.example "
				 "include:cidr.example -all", "redir.example",
				 0, &f, &err), 0);
	assert_string_equal(f.record, "v=spf1 ip4:192.0.2.50 ip4:192.0.2.0/25 "
			    "ip6:2001:db8:2::/48 ip4:192.0.2.1 "
			    "include:cidr.example -all");
	spf_flat_release(&f);
	char *two[] = { (char *)"cidr.example", (char *)"dead.example", NULL };
	assert_int_equal(spf_flatten(r, "example.com", "v=spf1 a "
				     "include:cidr.example ip4:10.0.0.0/8 "
				     "include:dead.example -all", two, 450, &f,
				     &err), 0);
	/* ip4:10.9.8.7/8 is 10.0.0.0/8: the record's own later copy goes;
	 * after ?all nothing counts */
	assert_string_equal(f.record, "v=spf1 a ip4:203.0.0.0/16 "
			    "ip6:2001:db8::/40 ip4:10.0.0.0/8 ip4:192.0.2.51 "
			    "-all");
	assert_string_equal(f.flattened[0], "cidr.example");
	assert_string_equal(f.flattened[1], "dead.example");
	assert_int_equal(f.ip_terms, 4);
	spf_flat_release(&f);
}

static void test_flatten_not_named(void **state)
{
	struct resolver *r = *state;
	struct prov_error err = PROV_ERROR_INIT;
	struct spf_flat f;
	const char *rec = "v=spf1  include:svc.example include:mailgun.org ~all";
	unsigned long before = dns.served;
	assert_int_equal(flatten(r, rec, "other.example", 20, &f, &err), 0);
	assert_string_equal(f.record, rec);
	assert_int_equal(f.nchain, 0);
	assert_null(f.flattened[0]);
	assert_int_equal(dns.served, before); /* nothing was asked */
	spf_flat_release(&f);
	/* only the named one */
	assert_int_equal(flatten(r, rec, "mailgun.org", 450, &f, &err), 0);
	assert_string_equal(f.record, "v=spf1 include:svc.example "
			    "ip4:198.61.254.0/23 ip4:209.61.151.0/24 "
			    "ip4:69.72.32.0/20 ip4:159.135.224.0/20 "
			    "ip4:141.193.32.0/23 ip4:159.135.140.80/29 ~all");
	assert_int_equal(f.ip_terms, 6);
	spf_flat_release(&f);
	assert_int_equal(flatten(r, "v=spf1 moo", "mailgun.org", 450, &f, &err),
			 PROV_ERR_RULE);
	assert_null(f.record);
}

static void refused(struct resolver *r, const char *name, int code,
		    const char *want)
{
	struct prov_error err = PROV_ERROR_INIT;
	struct spf_flat f;
	struct buf b = BUF_INIT;
	assert_int_equal(buf_printf(&b, "v=spf1 include:%s ~all", name), 0);
	assert_int_equal(flatten(r, b.data, name, 450, &f, &err), code);
	assert_null(f.record);
	assert_null(f.chain);
	assert_null(f.flattened);
	if (!strstr(err.msg, want))
		fail_msg("'%s' not in '%s'", want, err.msg);
	buf_release(&b);
}

static void test_flatten_refused(void **state)
{
	struct resolver *r = *state;
	refused(r, "neg.example", PROV_ERR_RULE,
		"include:neg.example cannot be flattened: '-ip4:192.0.2.2' in "
		"neg.example has a qualifier other than '+'");
	refused(r, "nested-neg.example", PROV_ERR_RULE,
		"'-ip4:192.0.2.2' in neg.example");
	refused(r, "ptr.example", PROV_ERR_RULE, "'ptr' in ptr.example");
	refused(r, "exists.example", PROV_ERR_RULE, "'exists:e.svc.example'");
	refused(r, "macro.example", PROV_ERR_RULE,
		"'a:%{d}.svc.example' in macro.example holds a macro");
	refused(r, "plusall.example", PROV_ERR_RULE, "'+all' in plusall.example");
	refused(r, "all.example", PROV_ERR_RULE,
		"'all' in all.example passes everyone");
	refused(r, "hole.example", PROV_ERR_RULE, "gone.example has no spf record");
	refused(r, "loop1.example", PROV_ERR_RULE,
		"loop at loop1.example: loop1.example. -> loop2.example. -> "
		"loop1.example.");
	refused(r, "back.example", PROV_ERR_RULE,
		"loop at example.com: example.com. -> back.example. -> "
		"example.com.");
	refused(r, "tf.example", PROV_ERR_RUNTIME,
		"dns: A lookup of down.example failed: timeout (memdns)");
	refused(r, "tfmx.example", PROV_ERR_RUNTIME, "A lookup of down.example");
	refused(r, "down.example", PROV_ERR_RUNTIME,
		"dns: TXT lookup of down.example failed");
	/* a qualified include is not flattened */
	struct prov_error err = PROV_ERROR_INIT;
	struct spf_flat f;
	assert_int_equal(flatten(r, "v=spf1 ~include:ok.example -all",
				 "ok.example", 450, &f, &err), PROV_ERR_RULE);
	assert_string_equal(err.msg, "'~include:ok.example' cannot be "
				     "flattened: it has the qualifier '~'");
}

static void test_flatten_chain(void **state)
{
	struct resolver *r = *state;
	struct prov_error err = PROV_ERROR_INIT;
	struct spf_flat f;
	const char *rec = "v=spf1 include:big.example include:mailgun.org -all";
	assert_int_equal(flatten(r, rec, "big.example", 450, &f, &err), 0);
	assert_int_equal(f.ip_terms, 60);
	assert_true(strlen(f.record) <= 450);
	assert_true(strlen(f.record) > 400); /* the top keeps what fits */
	/* the moved terms were the last ones, before mailgun's include */
	assert_non_null(strstr(f.record, " include:_spf1.example.com "
				"include:mailgun.org -all"));
	assert_non_null(strstr(f.record, "v=spf1 ip4:10.0.0.0/24 "));
	assert_int_equal(f.nchain, 2); /* 60 terms: one chained will not do */
	assert_null(f.chain[2].name);
	assert_string_equal(f.chain[0].name, "_spf1.example.com.");
	assert_string_equal(f.chain[1].name, "_spf2.example.com.");
	for (size_t i = 0; i < f.nchain; i++) {
		assert_true(strlen(f.chain[i].text) <= 450);
		assert_int_equal(strncmp(f.chain[i].text, "v=spf1 ip4:", 11), 0);
		assert_null(strstr(f.chain[i].text, "all"));
	}
	assert_non_null(strstr(f.chain[0].text, " include:_spf2.example.com"));
	assert_null(strstr(f.chain[1].text, "include"));
	/* the last address is in the last record, each one once */
	assert_non_null(strstr(f.chain[1].text, " ip4:10.0.59.0/24"));
	size_t terms = 0;
	for (const char *p = f.record; (p = strstr(p, "ip4:")); p++)
		terms++;
	for (size_t i = 0; i < f.nchain; i++)
		for (const char *p = f.chain[i].text; (p = strstr(p, "ip4:")); p++)
			terms++;
	assert_int_equal(terms, 60);
	/* the same verdicts as the record that includes big.example */
	assert_int_equal(verdict(r, "10.0.59.9", f.record, &f), SPF_PASS);
	assert_int_equal(verdict(r, "10.0.0.1", f.record, &f), SPF_PASS);
	assert_int_equal(verdict(r, "10.0.40.1", f.record, &f), SPF_PASS);
	assert_int_equal(verdict(r, "192.0.2.99", f.record, &f),
			 verdict(r, "192.0.2.99", rec, NULL));
	assert_int_equal(verdict(r, "192.0.2.99", f.record, &f), SPF_FAIL);
	assert_int_equal(verdict(r, "10.0.60.1", f.record, &f), SPF_FAIL);
	/* without its chain the record is broken: the include has no record */
	assert_int_equal(verdict(r, "10.0.59.9", f.record, NULL), SPF_PERMERROR);
	/* include:big (1) becomes _spf1 + _spf2 (2), mailgun stays 5 */
	assert_int_equal(lookups(r, rec, NULL), 6);
	assert_int_equal(lookups(r, f.record, &f), 7);
	spf_flat_release(&f);
	/* no limit: one record */
	assert_int_equal(flatten(r, rec, "big.example", (size_t)-1, &f, &err), 0);
	assert_int_equal(f.nchain, 0);
	assert_true(strlen(f.record) > 900);
	spf_flat_release(&f);
}

static void test_flatten_chain_limits(void **state)
{
	struct resolver *r = *state;
	struct prov_error err = PROV_ERROR_INIT;
	struct spf_flat f;
	/* ip terms are not moved across a mechanism with a qualifier */
	assert_int_equal(flatten(r, "v=spf1 include:big.example "
				 "-a:a.example.com ~all", "big.example", 450,
				 &f, &err), PROV_ERR_RULE);
	assert_non_null(strstr(err.msg, "more than 450 even with its ip terms"));
	assert_null(f.record);
	/* the tool's own chain name already in the record */
	assert_int_equal(flatten(r, "v=spf1 include:big.example "
				 "include:_SPF1.example.com ~all",
				 "big.example", 450, &f, &err), PROV_ERR_RULE);
	assert_string_equal(err.msg, "'include:_SPF1.example.com' names a "
				     "record that flattening would replace");
	/* a term too long for any record */
	assert_int_equal(flatten(r, "v=spf1 include:big.example",
				 "big.example", 40, &f, &err), PROV_ERR_RULE);
	assert_string_equal(err.msg, "'ip4:10.0.0.0/24' does not fit in a "
				     "record of 40 bytes");
	/* the smallest limit that works still gives records within it */
	assert_int_equal(flatten(r, "v=spf1 include:big.example ~all",
				 "big.example", 60, &f, &err), 0);
	assert_true(f.nchain > 20);
	assert_true(strlen(f.record) <= 60);
	for (size_t i = 0; i < f.nchain; i++)
		assert_true(strlen(f.chain[i].text) <= 60);
	spf_flat_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flatten_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flatten_terms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flatten_not_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flatten_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flatten_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flatten_chain_limits, setup, teardown),
	};
	return cmocka_run_group_tests_name("spf_flatten", tests, NULL, NULL);
}
