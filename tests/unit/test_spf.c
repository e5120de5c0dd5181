/*
 * test_spf.c - the SPF engine against an in-memory zone: spf_merge(),
 * spf_validate(), the worst-case spf_cost() tree, spf_check_host(), and
 * the same with pending (not yet published) records; spf_sample_ip().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "provision/record.h"
#include "provision/resolver.h"
#include "provision/spf.h"
#include "provision/util.h"
#include "memdns.h"

/* One record of the test zone. type 0: every query at name times out. */
struct zrec {
	const char *name;
	uint16_t type;
	const char *value;
};

static const struct zrec zone[] = {
	/* mailgun.org's tree: 5 lookups for include:mailgun.org */
	{ "mailgun.org", RR_TXT, "v=spf1 include:_spf.mailgun.org "
				 "include:_spf.eu.mailgun.org ~all" },
	{ "mailgun.org", RR_TXT, "google-site-verification=abc" },
	{ "_spf.mailgun.org", RR_TXT, "v=spf1 include:_spf1.mailgun.org "
				      "include:_spf2.mailgun.org ~all" },
	{ "_spf1.mailgun.org", RR_TXT, "v=spf1 ip4:209.61.151.0/24 ~all" },
	{ "_spf2.mailgun.org", RR_TXT, "v=spf1 ip4:166.78.68.0/22 "
				       "ip6:2001:db8:77::/48 ~all" },
	{ "_spf.eu.mailgun.org", RR_TXT, "v=spf1 ip4:141.193.32.0/23 ~all" },
	{ "a.example.com", RR_A, "198.51.100.1" },
	{ "e.example.com", RR_A, "127.0.0.2" },
	{ "mx.example.com", RR_MX, "mx1.example.com" },
	{ "mx.example.com", RR_MX, "mx2.example.com" },
	{ "mx1.example.com", RR_A, "198.51.100.25" },
	{ "mx2.example.com", RR_A, "198.51.100.26" },
	{ "loop-a.example", RR_TXT, "v=spf1 include:loop-b.example -all" },
	{ "loop-b.example", RR_TXT, "v=spf1 include:loop-a.example -all" },
	{ "broken.example", 0, NULL },
	{ "nospf.example", RR_TXT, "hello world" },
	{ "two.example", RR_TXT, "v=spf1 -all" },
	{ "two.example", RR_TXT, "v=spf1 ~all" },
	/* check_host() */
	{ "example.com", RR_TXT, "v=spf1 ip4:192.0.2.0/24 a:a.example.com "
				 "include:mailgun.org -all" },
	{ "fail.example.com", RR_TXT, "v=spf1 -all exp=why.example.com" },
	{ "why.example.com", RR_TXT, "%{i} is not allowed for %{d}" },
	{ "soft.example.com", RR_TXT, "v=spf1 ~all" },
	{ "neutral.example.com", RR_TXT, "v=spf1 mx:mx.example.com" },
	{ "bad.example.com", RR_TXT, "v=spf1 ip4:192.0.2.1 moo -all" },
	{ "redir.example.com", RR_TXT, "v=spf1 redirect=fail.example.com" },
	{ "v6.example.com", RR_TXT, "v=spf1 ip6:2001:db8::/32 -all" },
	{ "inc-none.example.com", RR_TXT, "v=spf1 include:nospf.example ~all" },
	/* macros on names with the root's dot, as the planner passes them */
	{ "percent.example", RR_TXT, "v=spf1 exists:%{d}.ok.example.com -all" },
	{ "percent.example.ok.example.com", RR_A, "127.0.0.2" },
	{ "rev.example", RR_TXT, "v=spf1 exists:%{dr}.ok.example.com -all" },
	{ "example.rev.ok.example.com", RR_A, "127.0.0.2" },
	{ "a.b.keep.example", RR_TXT, "v=spf1 exists:%{d2}.ok.example.com -all" },
	{ "keep.example.ok.example.com", RR_A, "127.0.0.2" },
	{ "helo.example", RR_TXT, "v=spf1 exists:%{h}.ok.example.com -all" },
	{ "mail.example.org.ok.example.com", RR_A, "127.0.0.2" },
	{ "o.example", RR_TXT, "v=spf1 exists:%{o}.ok.example.com -all" },
	{ "sender.example.ok.example.com", RR_A, "127.0.0.2" },
	{ "s.example", RR_TXT, "v=spf1 exists:%{s}.ok.example.com -all" },
	{ "a@s.example.ok.example.com", RR_A, "127.0.0.2" },
	{ NULL, 0, NULL },
};

struct zctx {
	unsigned queries; /* questions that reached the backend */
};

static int zone_query(void *ctx, const char *name, uint16_t type,
		      struct dns_answer *ans)
{
	struct zctx *z = ctx;
	int found = 0;
	z->queries++;
	memset(ans, 0, sizeof *ans);
	for (const struct zrec *r = zone; r->name; r++) {
		if (!dname_equal(r->name, name))
			continue;
		found = 1;
		if (r->type == 0) {
			ans->status = DNS_TEMPFAIL;
			snprintf(ans->why, sizeof ans->why, "timeout from 127.0.0.1:53");
			return 0;
		}
		if (r->type != type)
			continue;
		struct dns_rr rr = { .type = type, .ttl = 300 };
		char *fq = NULL;
		rr.text = (char *)r->value;
		if (type == RR_A)
			inet_pton(AF_INET, r->value, rr.addr);
		if (type == RR_AAAA)
			inet_pton(AF_INET6, r->value, rr.addr);
		if (type == RR_MX || type == RR_PTR)
			rr.text = fq = dname_fqdn(r->value);
		rr.text_len = strlen(rr.text);
		rr.nstrings = 1;
		int rc = dns_answer_add(ans, &rr);
		free(fq);
		if (rc < 0)
			return -1;
	}
	ans->status = found ? DNS_OK : DNS_NXDOMAIN;
	return 0;
}

static const struct resolver_backend zone_backend = {
	.name = "test", .query = zone_query, .free = NULL,
};

static struct zctx zc;

static int setup(void **state)
{
	memset(&zc, 0, sizeof zc);
	*state = resolver_new(&zone_backend, &zc);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	resolver_free(*state);
	return 0;
}

/* ---- spf_merge ---- */

static void merge_ok(const char *existing, const char *all, const char *want,
		     int want_changed)
{
	struct prov_error err = PROV_ERROR_INIT;
	char *out = NULL;
	int changed = -1;
	assert_int_equal(spf_merge(existing, "mailgun.org", all, &out,
				   &changed, &err), 0);
	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(changed, want_changed);
	free(out);
}

static void test_merge_new(void **state)
{
	(void)state;
	merge_ok(NULL, "~all", "v=spf1 include:mailgun.org ~all", 1);
	merge_ok(NULL, "-all", "v=spf1 include:mailgun.org -all", 1);
}

static void test_merge_before_all(void **state)
{
	(void)state;
	merge_ok("v=spf1 ip4:192.0.2.0/24 -all", "~all",
		 "v=spf1 ip4:192.0.2.0/24 include:mailgun.org -all", 1);
	merge_ok("v=spf1 +all", "~all", "v=spf1 include:mailgun.org +all", 1);
	merge_ok("V=SPF1 MX -ALL", "~all",
		 "V=SPF1 MX include:mailgun.org -ALL", 1);
	/* spacing and unknown modifiers kept as written */
	merge_ok("v=spf1  a   foo=bar ?all  ", "~all",
		 "v=spf1  a   foo=bar include:mailgun.org ?all  ", 1);
}

static void test_merge_present(void **state)
{
	(void)state;
	merge_ok("v=spf1 a INCLUDE:Mailgun.ORG ~all", "~all",
		 "v=spf1 a INCLUDE:Mailgun.ORG ~all", 0);
	merge_ok("v=spf1 include:mailgun.org. -all", "~all",
		 "v=spf1 include:mailgun.org. -all", 0);
	merge_ok("v=spf1 ?include:mailgun.org -all", "~all",
		 "v=spf1 ?include:mailgun.org -all", 0);
}

static void test_merge_redirect(void **state)
{
	(void)state;
	merge_ok("v=spf1 mx redirect=_spf.example.com", "~all",
		 "v=spf1 mx include:mailgun.org redirect=_spf.example.com", 1);
	merge_ok("v=spf1 a -all redirect=_spf.example.com", "~all",
		 "v=spf1 a include:mailgun.org -all redirect=_spf.example.com",
		 1);
	merge_ok("v=spf1 redirect=_spf.example.com", "~all",
		 "v=spf1 include:mailgun.org redirect=_spf.example.com", 1);
}

static void test_merge_no_all(void **state)
{
	(void)state;
	merge_ok("v=spf1 mx a:a.example.com exp=why.example.com foo=bar", "~all",
		 "v=spf1 mx a:a.example.com include:mailgun.org "
		 "exp=why.example.com foo=bar", 1);
	merge_ok("v=spf1", "~all", "v=spf1 include:mailgun.org", 1);
}

static void test_merge_long(void **state)
{
	char rec[1024] = "v=spf1", want[1100];
	(void)state;
	/* the logical text of a record published as several strings */
	for (int i = 0; i < 30; i++)
		snprintf(rec + strlen(rec), sizeof rec - strlen(rec),
			 " ip4:198.51.100.%d", i);
	assert_true(strlen(rec) > 255);
	snprintf(want, sizeof want, "%s include:mailgun.org ~all", rec);
	strcat(rec, " ~all");
	merge_ok(rec, "-all", want, 1);
}

static void test_merge_invalid(void **state)
{
	struct prov_error err = PROV_ERROR_INIT;
	char *out = (char *)"x";
	int changed = 1;
	(void)state;
	assert_int_equal(spf_merge("v=spf1 moo -all", "mailgun.org", "~all",
				   &out, &changed, &err), PROV_ERR_RULE);
	assert_null(out);
	assert_int_equal(changed, 0);
	assert_string_equal(err.msg, "unknown mechanism 'moo' at column 8");
}

/* ---- spf_validate ---- */

static void bad(const char *rec, const char *want)
{
	struct prov_error err = PROV_ERROR_INIT;
	assert_int_equal(spf_validate(rec, &err), PROV_ERR_RULE);
	if (!strstr(err.msg, want))
		fail_msg("'%s': got '%s', want '%s'", rec, err.msg, want);
}

static void test_validate(void **state)
{
	struct prov_error err = PROV_ERROR_INIT;
	(void)state;
	bad("v=spf1 ip4:1.2.3.4 moo -all", "unknown mechanism 'moo' at column 20");
	bad("v=spf1 ip4:1.2.3.4/33", "bad prefix length 'ip4:1.2.3.4/33' at column 8");
	bad("v=spf1 ip4:1.2.3.4/032", "column 8");
	bad("v=spf1 a/024", "bad prefix length 'a/024'");
	bad("v=spf1 ip6:::1/129", "bad prefix length");
	bad("v=spf1 ip4:1.2.3", "bad address");
	bad("v=spf1 all:foo", "argument to all 'all:foo'");
	bad("v=spf1 -all/8", "argument to all");
	bad("v=spf1 include:", "empty domain 'include:' at column 8");
	bad("v=spf1 a: -all", "empty domain");
	bad("v=spf1 redirect=", "empty domain");
	bad("v=spf1 include:mailgun.org/24", "bad domain");
	bad("v=spf1 a:museum", "bad domain 'a:museum'");
	bad("v=spf1 a:111.222.33.44", "bad domain");
	bad("v=spf1 1up=foo", "bad modifier name '1up=foo'");
	bad("v=spf1 =all", "empty modifier name");
	bad("v=spf1 redirect=a.example.com redirect=b.example.com",
	    "second redirect modifier 'redirect=b.example.com' at column 31");
	bad("v=spf1 exp=a.example.com exp=b.example.com", "second exp modifier");
	bad("v=spf1 exists:%{x}.example.com", "bad macro");
	bad("v=spf1 exists:%{c}.example.com", "bad macro");
	bad("v=spf1 a:%{d0}.example.com", "bad macro");
	bad("v=spf1 a:50%.example.com", "bad macro");
	bad("v=spf1 a\tmx", "byte 0x09");
	bad("v=spf10 -all", "not an spf record");
	bad("v=spf1 ptr/24", "missing domain");
	assert_int_equal(spf_validate("v=spf1", &err), 0);
	assert_int_equal(spf_validate(
		"V=SPF1 a/24//64 MX:mail.example.com/28 ip6:2001:db8::/32 "
		"exists:%{ir}.%{l1r+-}._spf.%{d} ptr:example.com. "
		"?all foo=%{d} exp=explain.%{d} redirect=x.example", &err), 0);
	assert_int_equal(err.set, 0);
}

static void test_is_record(void **state)
{
	(void)state;
	assert_true(spf_is_record("v=spf1"));
	assert_true(spf_is_record("V=Spf1 -all"));
	assert_false(spf_is_record("v=spf10"));
	assert_false(spf_is_record("v=spf1mx"));
	assert_false(spf_is_record("google-site-verification=x"));
	assert_false(spf_is_record(NULL));
	assert_string_equal(spf_result_name(SPF_SOFTFAIL), "softfail");
	assert_string_equal(spf_result_name(SPF_PERMERROR), "permerror");
}

/* ---- spf_cost ---- */

static void cost_of(struct resolver *r, const char *domain, const char *rec,
		    struct spf_cost *c)
{
	struct prov_error err = PROV_ERROR_INIT;
	assert_int_equal(spf_cost(r, domain, rec, c, &err), 0);
}

static void test_cost_mailgun(void **state)
{
	struct spf_cost c;
	cost_of(*state, "example.net", "v=spf1 ip4:192.0.2.1 include:mailgun.org ~all", &c);
	assert_int_equal(c.lookups, 5);
	assert_int_equal(c.void_lookups, 0);
	assert_int_equal(c.known, 1);
	assert_int_equal(c.loop, 0);
	assert_int_equal(c.permerror, 0);
	assert_null(c.problem);
	assert_int_equal(c.nterms, 1);
	const struct spf_term *t = &c.terms[0];
	assert_string_equal(t->term, "include:mailgun.org");
	assert_string_equal(t->domain, "example.net");
	assert_int_equal(t->lookups, 5);
	assert_int_equal(t->nchildren, 2);
	assert_string_equal(t->children[0].term, "include:_spf.mailgun.org");
	assert_string_equal(t->children[0].domain, "mailgun.org");
	assert_int_equal(t->children[0].lookups, 3);
	assert_int_equal(t->children[0].nchildren, 2);
	assert_int_equal(t->children[0].children[1].lookups, 1);
	assert_int_equal(t->children[1].lookups, 1);
	assert_int_equal(t->children[1].nchildren, 0);
	spf_cost_release(&c);
	spf_cost_release(&c); /* released twice: harmless */
	spf_cost_release(NULL);
}

static void test_cost_limit(void **state)
{
	struct spf_cost c;
	const char *ten = "v=spf1 include:mailgun.org a:a.example.com "
			  "mx:mx.example.com exists:e.example.com ptr "
			  "a:a.example.com -all";
	cost_of(*state, "example.net", ten, &c);
	assert_int_equal(c.lookups, 10);
	assert_int_equal(c.void_lookups, 0);
	assert_int_equal(c.known, 1);
	assert_int_equal(c.nterms, 6);
	spf_cost_release(&c);
	cost_of(*state, "example.net",
		"v=spf1 include:mailgun.org a:a.example.com mx:mx.example.com "
		"exists:e.example.com ptr a:a.example.com a -all", &c);
	assert_int_equal(c.lookups, 11); /* counted past the limit */
	assert_int_equal(c.nterms, 7);
	assert_int_equal(c.void_lookups, 1); /* example.net has no A */
	spf_cost_release(&c);
	/* terms after all are never evaluated */
	cost_of(*state, "example.net", "v=spf1 a:a.example.com ~all mx a", &c);
	assert_int_equal(c.lookups, 1);
	spf_cost_release(&c);
}

static void test_cost_voids(void **state)
{
	struct spf_cost c;
	cost_of(*state, "example.net",
		"v=spf1 a:gone1.example.com a:gone2.example.com "
		"mx:gone3.example.com ip4:192.0.2.1 -all", &c);
	assert_int_equal(c.lookups, 3);
	assert_int_equal(c.void_lookups, 3);
	assert_int_equal(c.terms[2].void_lookups, 1);
	spf_cost_release(&c);
	/* an MX name with no MX records, and an A name with only MX */
	cost_of(*state, "example.net",
		"v=spf1 mx:a.example.com a:mx.example.com -all", &c);
	assert_int_equal(c.void_lookups, 2);
	spf_cost_release(&c);
}

static void test_cost_loop(void **state)
{
	struct spf_cost c;
	cost_of(*state, "loop-a.example", "v=spf1 include:loop-b.example -all", &c);
	assert_int_equal(c.loop, 1);
	assert_int_equal(c.lookups, 2);
	assert_int_equal(c.nterms, 1);
	assert_int_equal(c.terms[0].nchildren, 1);
	const struct spf_term *t = &c.terms[0].children[0];
	assert_string_equal(t->term, "include:loop-a.example");
	assert_non_null(t->note);
	assert_string_equal(t->note,
			    "loop: loop-a.example. -> loop-b.example. -> loop-a.example.");
	assert_non_null(c.problem);
	assert_non_null(strstr(c.problem, "loop: "));
	spf_cost_release(&c);
	/* a record that redirects to itself, with no all */
	cost_of(*state, "loop-a.example", "v=spf1 redirect=loop-a.example", &c);
	assert_int_equal(c.loop, 1);
	assert_int_equal(c.lookups, 1);
	spf_cost_release(&c);
}

static void test_cost_redirect(void **state)
{
	struct spf_cost c;
	cost_of(*state, "example.net",
		"v=spf1 ip4:192.0.2.1 redirect=mailgun.org -all", &c);
	assert_int_equal(c.lookups, 0); /* redirect ignored: there is all */
	assert_int_equal(c.nterms, 0);
	spf_cost_release(&c);
	cost_of(*state, "example.net", "v=spf1 a:a.example.com redirect=mailgun.org", &c);
	assert_int_equal(c.lookups, 6);
	assert_int_equal(c.nterms, 2);
	assert_string_equal(c.terms[1].term, "redirect=mailgun.org");
	assert_int_equal(c.terms[1].lookups, 5);
	assert_int_equal(c.terms[1].nchildren, 2);
	spf_cost_release(&c);
}

static void test_cost_macros(void **state)
{
	struct spf_cost c;
	struct resolver_stats st;
	cost_of(*state, "example.net",
		"v=spf1 include:%{l}.example.com exists:%{i}._spf.example.com -all", &c);
	assert_int_equal(c.lookups, 2);
	assert_int_equal(c.known, 0);
	assert_int_equal(c.dns_failed, 0);
	assert_int_equal(c.terms[0].known, 0);
	assert_string_equal(c.terms[0].note, "macro: cost below is not known");
	assert_non_null(c.problem);
	resolver_get_stats(*state, &st);
	assert_int_equal(st.sent, 0); /* nothing with a macro was asked */
	assert_int_equal(zc.queries, 0);
	spf_cost_release(&c);
}

static void test_cost_tempfail(void **state)
{
	struct spf_cost c;
	cost_of(*state, "example.net",
		"v=spf1 include:mailgun.org include:broken.example -all", &c);
	assert_int_equal(c.known, 0);
	assert_int_equal(c.dns_failed, 1);
	assert_int_equal(c.lookups, 6);
	assert_int_equal(c.terms[0].known, 1);
	assert_int_equal(c.terms[1].known, 0);
	assert_non_null(c.problem);
	assert_non_null(strstr(c.problem, "broken.example"));
	assert_non_null(strstr(c.problem, "timeout from 127.0.0.1:53"));
	spf_cost_release(&c);
}

static void test_cost_permerror(void **state)
{
	struct spf_cost c;
	struct prov_error err = PROV_ERROR_INIT;
	cost_of(*state, "example.net",
		"v=spf1 include:nospf.example include:gone.example "
		"include:two.example -all", &c);
	assert_int_equal(c.permerror, 1);
	assert_int_equal(c.known, 1);
	assert_int_equal(c.lookups, 3);
	assert_int_equal(c.void_lookups, 1); /* gone.example: NXDOMAIN */
	assert_string_equal(c.terms[0].note, "nospf.example has no spf record");
	assert_string_equal(c.terms[2].note, "two.example has 2 spf records");
	assert_string_equal(c.problem, "include:nospf.example in example.net: "
				       "nospf.example has no spf record");
	spf_cost_release(&c);
	assert_int_equal(spf_cost(*state, "example.net", "v=spf1 moo", &c, &err),
			 PROV_ERR_RULE);
	assert_string_equal(err.msg, "unknown mechanism 'moo' at column 8");
	spf_cost_release(&c);
}

/* ---- spf_check_host ---- */

static enum spf_result check(struct resolver *r, const char *ip,
			     const char *sender, char **exp)
{
	struct spf_request req = {
		.ip = ip, .sender = sender, .helo = "mail.example.org",
		.default_exp = "not allowed",
	};
	return spf_check_host(r, &req, exp);
}

static void test_check_host(void **state)
{
	struct resolver *r = *state;
	char *exp = (char *)"x";
	assert_int_equal(check(r, "192.0.2.77", "a@example.com", &exp), SPF_PASS);
	assert_null(exp);
	assert_int_equal(check(r, "198.51.100.1", "a@example.com", NULL), SPF_PASS);
	assert_int_equal(check(r, "166.78.69.5", "a@EXAMPLE.com", NULL), SPF_PASS);
	assert_int_equal(check(r, "::ffff:166.78.69.5", "a@example.com", NULL),
			 SPF_PASS);
	assert_int_equal(check(r, "203.0.113.9", "a@example.com", &exp), SPF_FAIL);
	assert_string_equal(exp, "not allowed");
	free(exp);
	assert_int_equal(check(r, "203.0.113.9", "a@fail.example.com", &exp),
			 SPF_FAIL);
	assert_string_equal(exp, "203.0.113.9 is not allowed for fail.example.com");
	free(exp);
	/* after a redirect, %{d} is the target */
	assert_int_equal(check(r, "203.0.113.9", "a@redir.example.com", &exp),
			 SPF_FAIL);
	assert_string_equal(exp, "203.0.113.9 is not allowed for fail.example.com");
	free(exp);
	assert_int_equal(check(r, "203.0.113.9", "a@soft.example.com", NULL),
			 SPF_SOFTFAIL);
	assert_int_equal(check(r, "203.0.113.9", "a@neutral.example.com", NULL),
			 SPF_NEUTRAL);
	assert_int_equal(check(r, "198.51.100.26", "a@neutral.example.com", NULL),
			 SPF_PASS);
	assert_int_equal(check(r, "192.0.2.1", "a@bad.example.com", NULL),
			 SPF_PERMERROR);
	assert_int_equal(check(r, "192.0.2.1", "a@two.example", NULL), SPF_PERMERROR);
	assert_int_equal(check(r, "192.0.2.1", "a@inc-none.example.com", NULL),
			 SPF_PERMERROR);
	assert_int_equal(check(r, "192.0.2.1", "a@nospf.example", NULL), SPF_NONE);
	assert_int_equal(check(r, "192.0.2.1", "a@gone.example", NULL), SPF_NONE);
	assert_int_equal(check(r, "192.0.2.1", "a@localhost", NULL), SPF_NONE);
	assert_int_equal(check(r, "192.0.2.1", "a@broken.example", NULL),
			 SPF_TEMPERROR);
	assert_int_equal(check(r, "2001:db8::5", "a@v6.example.com", NULL), SPF_PASS);
	assert_int_equal(check(r, "2001:db9::5", "a@v6.example.com", NULL), SPF_FAIL);
	assert_int_equal(check(r, "192.0.2.1", "a@v6.example.com", NULL), SPF_FAIL);
	assert_int_equal(check(r, "not-an-ip", "a@v6.example.com", NULL),
			 SPF_PERMERROR);
}

/* check_host() for domain, helo and sender all given with the root's dot,
 * as the planner and check pass them: the macros expand as RFC 7208 writes
 * names, without it. */
static enum spf_result check_dotted(struct resolver *r, const char *domain,
				    const char *sender)
{
	struct spf_request req = {
		.ip = "192.0.2.1", .sender = sender, .helo = "mail.example.org.",
		.domain = domain, .default_exp = "not allowed",
	};
	return spf_check_host(r, &req, NULL);
}

static void test_check_host_macro_root_dot(void **state)
{
	struct resolver *r = *state;
	assert_int_equal(check_dotted(r, "percent.example.", "a@percent.example"),
			 SPF_PASS);
	assert_int_equal(check_dotted(r, "rev.example.", "a@rev.example"), SPF_PASS);
	assert_int_equal(check_dotted(r, "a.b.keep.example.", "a@a.b.keep.example"),
			 SPF_PASS);
	assert_int_equal(check_dotted(r, "helo.example.", "a@helo.example"), SPF_PASS);
	assert_int_equal(check_dotted(r, "o.example.", "a@sender.example."), SPF_PASS);
	assert_int_equal(check_dotted(r, "s.example.", "a@s.example."), SPF_PASS);
	/* not the name the record asks for: the -all */
	assert_int_equal(check_dotted(r, "o.example.", "a@other.example."), SPF_FAIL);
	assert_int_equal(check_dotted(r, "s.example.", "b@s.example"), SPF_FAIL);
}

static void test_cost_domain_macros(void **state)
{
	struct spf_cost c;
	struct resolver_stats st;
	/* %{d1} of "x.mailgun." is "mailgun": the include is mailgun.org */
	cost_of(*state, "x.mailgun.", "v=spf1 include:%{d1}.org -all", &c);
	assert_int_equal(c.known, 1);
	assert_int_equal(c.lookups, 5);
	assert_int_equal(c.nterms, 1);
	assert_string_equal(c.terms[0].term, "include:%{d1}.org");
	assert_int_equal(c.terms[0].lookups, 5);
	assert_null(c.problem);
	spf_cost_release(&c);
	/* a client's letter is still not known without a client */
	cost_of(*state, "x.mailgun.", "v=spf1 include:%{d1}.org exists:%{i}.x.test -all", &c);
	assert_int_equal(c.known, 0);
	assert_int_equal(c.lookups, 6);
	assert_int_equal(c.terms[0].known, 1);
	assert_int_equal(c.terms[1].known, 0);
	spf_cost_release(&c);
	resolver_get_stats(*state, &st);
	assert_true(st.sent > 0);
}

static void test_check_host_loop(void **state)
{
	/* the lookup limit ends an include loop with permerror */
	assert_int_equal(check(*state, "192.0.2.1", "a@loop-a.example", NULL),
			 SPF_PERMERROR);
}

/* ---- pending records, sample address (memdns) ---- */

static const struct memdns_row pend_rows[] = {
	MEMDNS_MAILGUN_ROWS,
	{ "example.org", RR_TXT, "v=spf1 -all" },
	{ "example.org", RR_TXT, "google-site-verification=abc" },
	{ "v6only.example", RR_TXT, "v=spf1 -ip4:192.0.2.1 ~include:mailgun.org "
				     "include:v6b.example ip6:2001:DB8:5::1/64 ~all" },
	{ "v6b.example", RR_TXT, "v=spf1 ?ip4:192.0.2.7 ip6:2001:db8:6::/48 ~all" },
	{ "redir6.example", RR_TXT, "v=spf1 redirect=v6b.example" },
	{ "deep.example", RR_TXT, "v=spf1 a mx include:redir6.example "
				  "ip4:192.0.2.200/30 ~all" },
	{ "none.example", RR_TXT, "v=spf1 a:mx.none.example ~all" },
	{ "slow.example", RR_TXT, "v=spf1 include:down.example ip4:192.0.2.9 ~all" },
	{ "down.example", 0, "TIMEOUT" },
	{ "loopy.example", RR_TXT, "v=spf1 include:loopy2.example ~all" },
	{ "loopy2.example", RR_TXT, "v=spf1 include:loopy.example ~all" },
	{ NULL, 0, NULL },
};

static struct memdns pend_dns;

static int pend_setup(void **state)
{
	*state = memdns_resolver(&pend_dns, pend_rows);
	return *state ? 0 : -1;
}

static void test_sample_ip(void **state)
{
	struct prov_error err = PROV_ERROR_INIT;
	char *ip = NULL;
	assert_int_equal(spf_sample_ip(*state, "mailgun.org", &ip, &err), 0);
	assert_string_equal(ip, "198.61.254.0");
	free(ip);
	/* ip4 behind a non-pass qualifier is no sending address; ip6 found
	 * second in the walk, first in order: only an ip6 is there */
	assert_int_equal(spf_sample_ip(*state, "v6only.example", &ip, &err), 0);
	assert_string_equal(ip, "2001:db8:6::");
	free(ip);
	/* an ip4 anywhere wins over an earlier ip6; redirect followed */
	assert_int_equal(spf_sample_ip(*state, "deep.example", &ip, &err), 0);
	assert_string_equal(ip, "192.0.2.200");
	free(ip);
	assert_int_equal(spf_sample_ip(*state, "redir6.example", &ip, &err), 0);
	assert_string_equal(ip, "2001:db8:6::");
	free(ip);
}

static void test_sample_ip_errors(void **state)
{
	struct prov_error err = PROV_ERROR_INIT;
	char *ip = (char *)"x";
	assert_int_equal(spf_sample_ip(*state, "none.example", &ip, &err),
			 PROV_ERR_RUNTIME);
	assert_null(ip);
	assert_string_equal(err.msg, "no ip4 or ip6 address in the spf tree "
				     "of none.example");
	prov_error_clear(&err);
	assert_int_equal(spf_sample_ip(*state, "slow.example", &ip, &err),
			 PROV_ERR_RUNTIME);
	assert_non_null(strstr(err.msg, "down.example"));
	assert_non_null(strstr(err.msg, "timeout (memdns)"));
	prov_error_clear(&err);
	assert_int_equal(spf_sample_ip(*state, "gone.example", &ip, &err),
			 PROV_ERR_RUNTIME);
	assert_string_equal(err.msg, "gone.example has no spf record");
	prov_error_clear(&err);
	assert_int_equal(spf_sample_ip(*state, "loopy.example", &ip, &err),
			 PROV_ERR_RUNTIME);
	assert_non_null(strstr(err.msg, "loop"));
	assert_null(ip);
}

static enum spf_result pend_check(struct resolver *r, const char *ip,
				  const struct spf_pending *p)
{
	struct spf_request req = {
		.ip = ip, .sender = "a@example.org", .helo = "mail.example.org",
		.domain = "example.org",
	};
	return spf_check_pending(r, &req, p, NULL);
}

static void test_check_pending(void **state)
{
	struct resolver *r = *state;
	const struct spf_pending soft[] = {
		{ "EXAMPLE.org.", "v=spf1 include:mailgun.org ~all" },
		{ NULL, NULL },
	};
	const struct spf_pending hard[] = {
		{ "other.example", "v=spf1 +all" },
		{ "example.org", "v=spf1 include:mailgun.org -all" },
		{ NULL, NULL },
	};
	/* published: -all for everyone */
	assert_int_equal(pend_check(r, "198.61.254.10", NULL), SPF_FAIL);
	assert_int_equal(pend_check(r, "198.61.254.10", soft), SPF_PASS);
	assert_int_equal(pend_check(r, "159.135.140.81", soft), SPF_PASS);
	assert_int_equal(pend_check(r, "192.0.2.99", soft), SPF_SOFTFAIL);
	assert_int_equal(pend_check(r, "198.61.254.10", hard), SPF_PASS);
	assert_int_equal(pend_check(r, "192.0.2.99", hard), SPF_FAIL);
	/* a pending name answers with exactly its text: the verification
	 * string beside the published record is gone, not a second record */
	const struct spf_pending two[] = {
		{ "example.org", "v=spf1 include:chain.example.org -all" },
		{ "chain.example.org", "v=spf1 ip4:192.0.2.99" },
		{ NULL, NULL },
	};
	assert_int_equal(pend_check(r, "192.0.2.99", two), SPF_PASS);
	assert_int_equal(pend_check(r, "192.0.2.98", two), SPF_FAIL);
	const struct spf_pending bad[] = {
		{ "example.org", "v=spf1 include:chain.example.org -all" },
		{ "chain.example.org", "v=spf1 ip4:192.0.2.99 moo" },
		{ NULL, NULL },
	};
	assert_int_equal(pend_check(r, "192.0.2.99", bad), SPF_PERMERROR);
}

static void test_cost_pending(void **state)
{
	struct spf_cost c;
	struct prov_error err = PROV_ERROR_INIT;
	const struct spf_pending chain[] = {
		{ "_spf1.d.example.", "v=spf1 ip4:192.0.2.1 include:_spf2.d.example" },
		{ "d.example", "v=spf1 include:_spf1.d.example include:mailgun.org ~all" },
		{ "_SPF2.d.example", "v=spf1 ip4:192.0.2.2 a:mailgun.org" },
		{ NULL, NULL },
	};
	assert_int_equal(spf_cost_pending(*state, "d.example", chain, &c, &err), 0);
	/* _spf1 + _spf2 + a: in _spf2 + mailgun's 5 */
	assert_int_equal(c.lookups, 8);
	assert_int_equal(c.void_lookups, 1); /* mailgun.org has no A */
	assert_int_equal(c.permerror, 0);
	assert_int_equal(c.known, 1);
	assert_int_equal(c.nterms, 2);
	assert_string_equal(c.domain, "d.example");
	assert_string_equal(c.terms[0].term, "include:_spf1.d.example");
	assert_int_equal(c.terms[0].lookups, 3);
	assert_string_equal(c.terms[0].children[0].term, "include:_spf2.d.example");
	assert_string_equal(c.terms[0].children[0].domain, "_spf1.d.example");
	spf_cost_release(&c);
	/* without the pending chain, _spf1.d.example is not there */
	assert_int_equal(spf_cost_pending(*state, "d.example", chain + 1, &c,
					  &err), 0);
	assert_int_equal(c.lookups, 6);
	assert_int_equal(c.permerror, 1);
	spf_cost_release(&c);
	/* a pending record that loops back to the domain */
	const struct spf_pending loop[] = {
		{ "d.example", "v=spf1 include:_spf1.d.example ~all" },
		{ "_spf1.d.example", "v=spf1 include:d.example" },
		{ NULL, NULL },
	};
	assert_int_equal(spf_cost_pending(*state, "d.example", loop, &c, &err), 0);
	assert_int_equal(c.loop, 1);
	spf_cost_release(&c);
	/* the domain's own record must be there and parse */
	assert_int_equal(spf_cost_pending(*state, "e.example", chain, &c, &err),
			 PROV_ERR_RULE);
	assert_string_equal(err.msg, "no pending spf record for e.example");
	prov_error_clear(&err);
	const struct spf_pending bad[] = { { "d.example", "v=spf1 moo" },
					   { NULL, NULL } };
	assert_int_equal(spf_cost_pending(*state, "d.example", bad, &c, &err),
			 PROV_ERR_RULE);
	assert_string_equal(err.msg, "unknown mechanism 'moo' at column 8");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_new),
		cmocka_unit_test(test_merge_before_all),
		cmocka_unit_test(test_merge_present),
		cmocka_unit_test(test_merge_redirect),
		cmocka_unit_test(test_merge_no_all),
		cmocka_unit_test(test_merge_long),
		cmocka_unit_test(test_merge_invalid),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_is_record),
		cmocka_unit_test_setup_teardown(test_cost_mailgun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost_voids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost_redirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost_macros, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost_tempfail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost_permerror, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_host_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_host_macro_root_dot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost_domain_macros, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sample_ip, pend_setup, teardown),
		cmocka_unit_test_setup_teardown(test_sample_ip_errors, pend_setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_pending, pend_setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost_pending, pend_setup, teardown),
	};
	return cmocka_run_group_tests_name("spf", tests, NULL, NULL);
}
