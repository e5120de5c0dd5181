/*
 * test_check.c - the judges of `provision check` with in-memory DNS
 * (tests/unit/memdns.h): one table stands for an authoritative server, one
 * for the recursive resolver, behind the real resolver cache and the real
 * SPF engine. Also the folding of per-server verdicts (serials named when
 * servers disagree), durations and the --wait back-off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "commands.h"

#include "check/check.h"
#include "memdns.h"
#include "test_domain.h"

#define KEY_1024 "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDJ8kmQQDUsaAh22b/MIUjYWcYZiFp9VuXXh6mwbk8/sMRTgI1LD5nOWa3VByFGJYFbJecx1o9sRV4EFjf5CMf7WqMfiW98quujiS/Z7Ke0QX5ExcurWjb6hu+OHlR0C5k2txLrkjofnE+KzioxmxZZwpJnRuw26Raj4BOjOR/cOwIDAQAB"
#define KEY_ED25519 "MCowBQYDK2VwAyEANFffqQieC/QBU3+OiU5cIAI13BND1AkrH8F1D1fIcrw="
#define DKIM_OK "k=rsa; p=" DEFAULT_DKIM_KEY
#define DMARC_OK "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.com; " \
	"ruf=mailto:postmaster@example.com; fo=1"
#define SOA_ROW(serial) { "example.com", RR_SOA, "ns1.example.com. h.example.com. " serial " 3600 600 86400 300" }

/* What the recursive resolver sees: the service's tree and others. */
static const struct memdns_row rec_rows[] = {
	MEMDNS_MAILGUN_ROWS,
	{ "_spf.crm.example", RR_TXT, "v=spf1 ip4:192.0.2.0/24 include:mailgun.org -all" },
	{ "big.example", RR_TXT, "v=spf1 include:b1.big.example include:b2.big.example a:h.big.example -all" },
	{ "b1.big.example", RR_TXT, "v=spf1 ip4:198.51.100.0/24 ~all" },
	{ "b2.big.example", RR_TXT, "v=spf1 ip4:203.0.113.0/24 ~all" },
	{ "h.big.example", RR_A, "192.0.2.77" },
	{ "example.com", RR_A, "192.0.2.80" },
	{ "example.com", RR_MX, "10 mail.example.com." },
	{ "mail.example.com", RR_A, "192.0.2.25" },
	{ "example.com._report._dmarc.ok.example.net", RR_TXT, "v=DMARC1" },
	{ "example.com._report._dmarc.no.example.org", RR_TXT, "v=spf1 -all" },
	{ NULL, 0, NULL },
};

struct fixture {
	struct memdns adns, rdns;
	struct resolver *auth, *rec;
	struct domain_config d;
	struct check_ctx c;
	struct check_verdict v;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	test_domain_init(&f->d, "example.com");
	f->rec = memdns_resolver(&f->rdns, rec_rows);
	f->c = (struct check_ctx){ &f->d, "example.com.", NULL, f->rec };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	test_domain_release(&f->d);
	check_verdict_release(&f->v);
	resolver_free(f->auth);
	resolver_free(f->rec);
	free(f);
	return 0;
}

/* Judge record r on a server holding rows. */
static struct check_verdict *judge(struct fixture *f, enum check_record r,
				   const struct memdns_row *rows)
{
	check_verdict_release(&f->v);
	resolver_free(f->auth);
	f->auth = memdns_resolver(&f->adns, rows);
	f->c.auth = f->auth;
	assert_int_equal(check_judge(&f->c, r, &f->v), 0);
	assert_non_null(f->v.message);
	return &f->v;
}

static void assert_has(const char *text, const char *part)
{
	if (!text || !strstr(text, part))
		fail_msg("'%s' not in '%s'", part, text ? text : "(null)");
}

/* The note containing part, or failure. */
static const struct check_note *note_with(const struct check_verdict *v, const char *part)
{
	for (size_t i = 0; i < v->nnotes; i++)
		if (strstr(v->notes[i].message, part))
			return &v->notes[i];
	fail_msg("no note with '%s' (%zu notes)", part, v->nnotes);
	return NULL;
}

/* ---- SPF ---- */

static void test_spf_pass(void **state)
{
	struct fixture *f = *state;
	const struct memdns_row rows[] = {
		{ "example.com", RR_TXT, "v=spf1 include:mailgun.org ~all" },
		{ "example.com", RR_TXT, "google-site-verification=x" },
		{ NULL, 0, NULL },
	};
	struct check_verdict *v = judge(f, CHECK_SPF, rows);
	assert_int_equal(v->status, CHECK_PASS);
	assert_string_equal(v->value, "v=spf1 include:mailgun.org ~all");
	assert_int_equal(v->lookups, 5);
	assert_int_equal(v->void_lookups, 0);
	assert_string_equal(v->verdict_ip, "198.61.254.0");
	assert_int_equal(v->verdict, SPF_PASS);
	assert_has(v->message, "5 of 10 DNS lookups");
	assert_int_equal(v->nnotes, 0);
	assert_int_equal(f->adns.served, 1); /* one TXT question to the server */
}

static void test_spf_missing_and_two(void **state)
{
	struct fixture *f = *state;
	const struct memdns_row none[] = { { "example.com", RR_TXT, "just text" }, { NULL, 0, NULL } };
	const struct memdns_row two[] = {
		{ "example.com", RR_TXT, "v=spf1 include:mailgun.org ~all" },
		{ "example.com", RR_TXT, "v=spf1 -all" },
		{ NULL, 0, NULL },
	};
	const struct memdns_row down[] = { { "example.com", 0, "TIMEOUT" }, { NULL, 0, NULL } };
	struct check_verdict *v = judge(f, CHECK_SPF, none);
	assert_int_equal(v->status, CHECK_MISSING);
	assert_has(v->message, "run provision to publish \"v=spf1 include:mailgun.org ~all\"");
	v = judge(f, CHECK_SPF, two);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_has(v->message, "2 SPF records");
	v = judge(f, CHECK_SPF, down);
	assert_int_equal(v->status, CHECK_ERROR);
	assert_has(v->message, "timeout");
}

static void test_spf_deep_include(void **state)
{
	struct fixture *f = *state;
	const struct memdns_row rows[] = {
		{ "example.com", RR_TXT, "v=spf1 include:_spf.crm.example -all" },
		{ NULL, 0, NULL },
	};
	struct check_verdict *v = judge(f, CHECK_SPF, rows);
	assert_int_equal(v->status, CHECK_PASS);
	assert_int_equal(v->lookups, 6);
	assert_int_equal(v->verdict, SPF_PASS);
}

static void test_spf_include_missing(void **state)
{
	struct fixture *f = *state;
	const struct memdns_row fits[] = {
		{ "example.com", RR_TXT, "v=spf1 include:big.example -all" },
		{ NULL, 0, NULL },
	};
	const struct memdns_row over[] = {
		{ "example.com", RR_TXT, "v=spf1 a mx include:big.example a:h.big.example -all" },
		{ NULL, 0, NULL },
	};
	struct check_verdict *v = judge(f, CHECK_SPF, fits);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_int_equal(v->lookups, 4);
	assert_has(v->message, "does not include mailgun.org: run provision to merge it in; "
		   "merged, it costs 9 of 10 DNS lookups");
	v = judge(f, CHECK_SPF, over);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_int_equal(v->lookups, 7);
	assert_has(v->message, "merging it would need 12 DNS lookups");
	assert_has(v->message, "include:big.example=4");
}

static void test_spf_limits_and_warnings(void **state)
{
	struct fixture *f = *state;
	const struct memdns_row over[] = {
		{ "example.com", RR_TXT, "v=spf1 include:mailgun.org include:big.example a mx a:h.big.example ~all" },
		{ NULL, 0, NULL },
	};
	const struct memdns_row warn[] = {
		{ "example.com", RR_TXT, "v=spf1 include:mailgun.org ptr ?all" },
		{ NULL, 0, NULL },
	};
	const struct memdns_row pass_all[] = {
		{ "example.com", RR_TXT, "v=spf1 include:mailgun.org +all" },
		{ NULL, 0, NULL },
	};
	struct check_verdict *v = judge(f, CHECK_SPF, over);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_has(v->message, "needs 12 DNS lookups, over the limit of 10");
	v = judge(f, CHECK_SPF, warn);
	assert_int_equal(v->status, CHECK_PASS);
	assert_int_equal(note_with(v, "'ptr'")->sev, NOTE_WARNING);
	assert_int_equal(note_with(v, "'?all' is neutral")->sev, NOTE_WARNING);
	v = judge(f, CHECK_SPF, pass_all);
	assert_int_equal(v->status, CHECK_PASS);
	note_with(v, "'+all' lets anyone send");
}

static void test_spf_verdict_test_ip(void **state)
{
	struct fixture *f = *state;
	const struct memdns_row rows[] = {
		{ "example.com", RR_TXT, "v=spf1 include:mailgun.org ~all" },
		{ NULL, 0, NULL },
	};
	set(&f->d.policy.spf.test_ip, "192.0.2.99");
	struct check_verdict *v = judge(f, CHECK_SPF, rows);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_int_equal(v->verdict, SPF_SOFTFAIL);
	assert_has(v->message, "mail from 192.0.2.99 (spf.test_ip) gets 'softfail'");
}

/* ---- DKIM ---- */

static void test_dkim(void **state)
{
	struct fixture *f = *state;
	const struct memdns_row ok[] = { { "pic._domainkey.example.com", RR_TXT, DKIM_OK }, { NULL, 0, NULL } };
	const struct memdns_row other[] = { { "pic._domainkey.example.com", RR_TXT, "v=DKIM1; k=rsa; p=" KEY_1024 }, { NULL, 0, NULL } };
	const struct memdns_row revoked[] = { { "pic._domainkey.example.com", RR_TXT, "v=DKIM1; p=" }, { NULL, 0, NULL } };
	const struct memdns_row ed[] = { { "pic._domainkey.example.com", RR_TXT, "k=ed25519; p=" KEY_ED25519 }, { NULL, 0, NULL } };
	const struct memdns_row two[] = {
		{ "pic._domainkey.example.com", RR_TXT, DKIM_OK },
		{ "pic._domainkey.example.com", RR_TXT, "k=rsa; p=" KEY_1024 },
		{ NULL, 0, NULL },
	};
	const struct memdns_row bad[] = { { "pic._domainkey.example.com", RR_TXT, "k=rsa; k=rsa; p=x" }, { NULL, 0, NULL } };
	const struct memdns_row none[] = { { "example.com", RR_TXT, "v=spf1 -all" }, { NULL, 0, NULL } };
	struct check_verdict *v = judge(f, CHECK_DKIM, ok);
	assert_int_equal(v->status, CHECK_PASS);
	assert_has(v->message, "RSA 2048 bits");
	v = judge(f, CHECK_DKIM, other);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_has(v->message, "(RSA, 1024 bits, p=MIGfMA0GCSqG...) is not the configured key");
	v = judge(f, CHECK_DKIM, revoked);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_has(v->message, "revoked (empty p=)");
	v = judge(f, CHECK_DKIM, ed);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_has(v->message, "k=ed25519, not rsa");
	v = judge(f, CHECK_DKIM, two);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_has(v->message, "holds 2 TXT records");
	v = judge(f, CHECK_DKIM, bad);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_has(v->message, "does not parse");
	v = judge(f, CHECK_DKIM, none);
	assert_int_equal(v->status, CHECK_MISSING);
	assert_has(v->message, "no DKIM key at pic._domainkey.example.com.");
	/* a 1024-bit configured key passes with a warning */
	set(&f->d.policy.dkim.key, KEY_1024);
	v = judge(f, CHECK_DKIM, other);
	assert_int_equal(v->status, CHECK_PASS);
	assert_int_equal(note_with(v, "1024 bits; 2048 are recommended")->sev, NOTE_WARNING);
}

/* ---- DMARC ---- */

static void test_dmarc(void **state)
{
	struct fixture *f = *state;
	const struct memdns_row ok[] = { { "_dmarc.example.com", RR_TXT, DMARC_OK }, { NULL, 0, NULL } };
	const struct memdns_row weak[] = { { "_dmarc.example.com", RR_TXT, "v=DMARC1; p=none; rua=mailto:postmaster@example.com" }, { NULL, 0, NULL } };
	const struct memdns_row strict[] = { { "_dmarc.example.com", RR_TXT, "v=DMARC1; p=reject; rua=mailto:postmaster@example.com" }, { NULL, 0, NULL } };
	const struct memdns_row two[] = {
		{ "_dmarc.example.com", RR_TXT, DMARC_OK },
		{ "_dmarc.example.com", RR_TXT, "v=DMARC1; p=none" },
		{ "_dmarc.example.com", RR_TXT, "unrelated" },
		{ NULL, 0, NULL },
	};
	const struct memdns_row bad[] = { { "_dmarc.example.com", RR_TXT, "v=DMARC1; p=strict" }, { NULL, 0, NULL } };
	const struct memdns_row none[] = { { "example.com", RR_TXT, "v=spf1 -all" }, { NULL, 0, NULL } };
	struct check_verdict *v = judge(f, CHECK_DMARC, ok);
	assert_int_equal(v->status, CHECK_PASS);
	assert_int_equal(v->nnotes, 0);
	assert_int_equal(f->rdns.served, 0); /* rua in the same organisation: nothing asked */
	v = judge(f, CHECK_DMARC, weak);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_has(v->message, "p=none is weaker than the configured p=quarantine: run provision");
	v = judge(f, CHECK_DMARC, strict);
	assert_int_equal(v->status, CHECK_PASS);
	assert_int_equal(note_with(v, "p=reject is stricter")->sev, NOTE_INFO);
	v = judge(f, CHECK_DMARC, two);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_has(v->message, "holds 2 DMARC records");
	v = judge(f, CHECK_DMARC, bad);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_has(v->message, "does not parse");
	v = judge(f, CHECK_DMARC, none);
	assert_int_equal(v->status, CHECK_MISSING);
	assert_has(v->message, "publish \"" DMARC_OK "\"");
}

static void test_dmarc_external(void **state)
{
	struct fixture *f = *state;
	const struct memdns_row rows[] = {
		{ "_dmarc.example.com", RR_TXT, "v=DMARC1; p=quarantine; "
		  "rua=mailto:a@ok.example.net,mailto:b@No.Example.org!10m, mailto:c@sub.example.com; "
		  "ruf=mailto:d@gone.example.org" },
		{ NULL, 0, NULL },
	};
	struct check_verdict *v = judge(f, CHECK_DMARC, rows);
	assert_int_equal(v->status, CHECK_PASS);
	assert_int_equal(note_with(v, "rua: ok.example.net accepts reports for example.com")->sev,
			 NOTE_INFO);
	const struct check_note *n = note_with(v, "rua: no.example.org is in another organisation");
	assert_int_equal(n->sev, NOTE_WARNING);
	assert_has(n->message, "example.com._report._dmarc.no.example.org");
	assert_int_equal(note_with(v, "ruf: gone.example.org")->sev, NOTE_WARNING);
	for (size_t i = 0; i < v->nnotes; i++)
		assert_null(strstr(v->notes[i].message, "rua: sub.example.com"));
	note_with(v, "rua is mailto:a@ok.example.net,"); /* differs from the configuration */
	assert_int_equal(f->rdns.served, 3); /* one TXT per external host */
}

/* ---- tracking ---- */

static void test_tracking(void **state)
{
	struct fixture *f = *state;
	const struct memdns_row ok[] = { { "email.mg3.example.com", RR_CNAME, "MailGun.org" }, { NULL, 0, NULL } };
	const struct memdns_row wrong[] = { { "email.mg3.example.com", RR_CNAME, "eu.mailgun.org" }, { NULL, 0, NULL } };
	const struct memdns_row other[] = {
		{ "email.mg3.example.com", RR_A, "192.0.2.1" },
		{ "email.mg3.example.com", RR_MX, "10 mx.example.com." },
		{ NULL, 0, NULL },
	};
	const struct memdns_row ent[] = { { "email.mg3.example.com", RR_PTR, "x.example." }, { NULL, 0, NULL } };
	const struct memdns_row none[] = { SOA_ROW("1"), { NULL, 0, NULL } };
	struct check_verdict *v = judge(f, CHECK_TRACKING, ok);
	assert_int_equal(v->status, CHECK_PASS);
	assert_string_equal(v->value, "mailgun.org.");
	assert_int_equal(f->adns.served, 1);
	v = judge(f, CHECK_TRACKING, wrong);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_has(v->message, "is a CNAME to eu.mailgun.org., not to the configured mailgun.org.");
	v = judge(f, CHECK_TRACKING, other);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_has(v->message, "holds A, MX data instead of a CNAME");
	v = judge(f, CHECK_TRACKING, ent);
	assert_int_equal(v->status, CHECK_MISSING);
	assert_has(v->message, "exists only as the parent");
	v = judge(f, CHECK_TRACKING, none);
	assert_int_equal(v->status, CHECK_MISSING);
	assert_has(v->message, "no CNAME at email.mg3.example.com.: run provision");
	set(&f->d.policy.tracking.name, "email.mg3.other.example.");
	v = judge(f, CHECK_TRACKING, ok);
	assert_int_equal(v->status, CHECK_FAIL);
	assert_has(v->message, "outside zone");
}

static void test_soa_serial(void **state)
{
	struct fixture *f = *state;
	const struct memdns_row rows[] = { SOA_ROW("2024010102"), { NULL, 0, NULL } };
	struct prov_error err = PROV_ERROR_INIT;
	long long serial = 0;
	f->auth = memdns_resolver(&f->adns, rows);
	assert_int_equal(check_soa_serial(f->auth, "example.com.", &serial, &err), 0);
	assert_true(serial == 2024010102LL);
	assert_int_equal(check_soa_serial(f->auth, "other.example.", &serial, &err), PROV_ERR_RUNTIME);
	assert_true(serial == -1);
	assert_has(err.msg, "does not serve the zone");
}

/* ---- folding per-server verdicts ---- */

static void verdict(struct check_verdict *v, enum check_status st, const char *value,
		    const char *msg)
{
	memset(v, 0, sizeof *v);
	v->status = st;
	v->value = value ? strdup(value) : NULL;
	v->message = strdup(msg);
}

static void combine(struct check_item *it, const struct check_server *sv,
		    enum check_status a, const char *va, enum check_status b, const char *vb)
{
	memset(it, 0, sizeof *it);
	it->per = calloc(2, sizeof *it->per);
	it->nper = 2;
	verdict(&it->per[0], a, va, "first says");
	verdict(&it->per[1], b, vb, "second says");
	assert_int_equal(check_item_combine(it, sv, 2), 0);
}

static void item_release(struct check_item *it)
{
	struct check_domain cd = { 0 };
	cd.items[0] = *it;
	check_domain_release(&cd);
}

static void test_combine(void **state)
{
	(void)state;
	struct check_server lag[] = { { (char *)"ns1:53", 2024010102, NULL },
				      { (char *)"ns2:53", 2024010101, NULL } };
	struct check_server same[] = { { (char *)"ns1:53", 7, NULL }, { (char *)"ns2:53", 7, NULL } };
	struct check_item it;
	combine(&it, lag, CHECK_PASS, "k", CHECK_MISSING, NULL);
	assert_int_equal(it.status, CHECK_FAIL);
	assert_has(it.message, "ns1:53 (serial 2024010102) pass, ns2:53 (serial 2024010101) missing; "
		   "propagation is incomplete");
	assert_int_equal(it.nnotes, 1);
	assert_string_equal(it.notes[0].message, "ns2:53: second says");
	item_release(&it);
	combine(&it, same, CHECK_PASS, "k", CHECK_FAIL, "j");
	assert_int_equal(it.status, CHECK_FAIL);
	assert_has(it.message, "different data under the same serial 7");
	item_release(&it);
	combine(&it, lag, CHECK_MISSING, NULL, CHECK_MISSING, NULL);
	assert_int_equal(it.status, CHECK_MISSING);
	assert_string_equal(it.message, "first says");
	item_release(&it);
	combine(&it, lag, CHECK_PASS, "a", CHECK_PASS, "b");
	assert_int_equal(it.status, CHECK_PASS);
	assert_has(it.notes[0].message, "different values: ns1:53 (serial 2024010102) \"a\"");
	item_release(&it);
	combine(&it, lag, CHECK_PASS, "a", CHECK_ERROR, NULL);
	assert_int_equal(it.status, CHECK_FAIL);
	assert_string_equal(it.message, "could not ask ns2:53: second says");
	struct check_domain cd = { 0 };
	cd.items[1] = it;
	for (int r = 0; r < CHECK_NRECORDS; r++)
		if (r != 1)
			cd.items[r].status = CHECK_PASS;
	check_domain_finish(&cd);
	assert_int_equal(cd.status, CHECK_D_ERROR);
	assert_int_equal(check_domain_exit(&cd), 1);
	cd.items[1].per[1].status = CHECK_MISSING;
	check_domain_finish(&cd);
	assert_int_equal(check_domain_exit(&cd), 3);
	check_domain_release(&cd);
}

static void test_wait_arithmetic(void **state)
{
	(void)state;
	assert_int_equal(duration_seconds("90s"), 90);
	assert_int_equal(duration_seconds("30m"), 1800);
	assert_int_equal(duration_seconds("1h30m"), 5400);
	assert_int_equal(duration_seconds("2h"), 7200);
	assert_int_equal(duration_seconds("5"), -1);
	assert_int_equal(duration_seconds("x"), -1);
	assert_int_equal(duration_seconds(""), -1);
	assert_int_equal(check_backoff(0, 100), 2);
	assert_int_equal(check_backoff(1, 100), 4);
	assert_int_equal(check_backoff(3, 100), 16);
	assert_int_equal(check_backoff(4, 100), 30);
	assert_int_equal(check_backoff(40, 100), 30);
	assert_int_equal(check_backoff(3, 5), 5);
	assert_int_equal(check_backoff(0, 0), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_spf_pass), T(test_spf_missing_and_two), T(test_spf_deep_include),
		T(test_spf_include_missing), T(test_spf_limits_and_warnings),
		T(test_spf_verdict_test_ip), T(test_dkim), T(test_dmarc),
		T(test_dmarc_external), T(test_tracking), T(test_soa_serial),
		cmocka_unit_test(test_combine), cmocka_unit_test(test_wait_arithmetic),
	};
	return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}
