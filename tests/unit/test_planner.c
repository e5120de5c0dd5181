/*
 * test_planner.c - every rule of the planner, with in-memory records and an
 * in-memory DNS (tests/unit/memdns.h) behind the real resolver cache and the
 * real SPF engine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "memdns.h"
#include "test_domain.h"
#include "plan.h"

#define KEY_1024 "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDJ8kmQQDUsaAh22b/MIUjYWcYZiFp9VuXXh6mwbk8/sMRTgI1LD5nOWa3VByFGJYFbJecx1o9sRV4EFjf5CMf7WqMfiW98quujiS/Z7Ke0QX5ExcurWjb6hu+OHlR0C5k2txLrkjofnE+KzioxmxZZwpJnRuw26Raj4BOjOR/cOwIDAQAB"
#define KEY_ED25519 "MCowBQYDK2VwAyEANFffqQieC/QBU3+OiU5cIAI13BND1AkrH8F1D1fIcrw="
#define DKIM_VALUE "k=rsa; p=" DEFAULT_DKIM_KEY
#define DMARC_VALUE "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.com; " \
	"ruf=mailto:postmaster@example.com; fo=1"

/* big.example costs 4 lookups and holds 31 addresses. */
#define BIG_ROWS \
	{ "b1.big.example", RR_TXT, "v=spf1 ip4:198.51.100.1 ip4:198.51.100.2 ip4:198.51.100.3 ip4:198.51.100.4 ip4:198.51.100.5 ip4:198.51.100.6 ip4:198.51.100.7 ip4:198.51.100.8 ip4:198.51.100.9 ip4:198.51.100.10 ip4:198.51.100.11 ip4:198.51.100.12 ip4:198.51.100.13 ip4:198.51.100.14 ip4:198.51.100.15 ~all" }, \
	{ "b2.big.example", RR_TXT, "v=spf1 ip4:203.0.113.1 ip4:203.0.113.2 ip4:203.0.113.3 ip4:203.0.113.4 ip4:203.0.113.5 ip4:203.0.113.6 ip4:203.0.113.7 ip4:203.0.113.8 ip4:203.0.113.9 ip4:203.0.113.10 ip4:203.0.113.11 ip4:203.0.113.12 ip4:203.0.113.13 ip4:203.0.113.14 ip4:203.0.113.15 ~all" }, \
	{ "b3.big.example", RR_TXT, "v=spf1 ip4:203.0.113.101 ip4:203.0.113.102 ip4:203.0.113.103 ip4:203.0.113.104 ip4:203.0.113.105 ip4:203.0.113.106 ip4:203.0.113.107 ip4:203.0.113.108 ip4:203.0.113.109 ip4:203.0.113.110 ip4:203.0.113.111 ip4:203.0.113.112 ip4:203.0.113.113 ip4:203.0.113.114 ip4:203.0.113.115 ~all" }, \
	{ "h.big.example", RR_A, "192.0.2.77" }

static const struct memdns_row base_rows[] = {
	MEMDNS_MAILGUN_ROWS,
	{ "_spf.crm.example", RR_TXT, "v=spf1 a mx ip4:192.0.2.0/24 -all" },
	{ "_spf.crm.example", RR_A, "192.0.2.1" },
	{ "_spf.crm.example", RR_MX, "10 mx.crm.example." },
	{ "mx.crm.example", RR_A, "192.0.2.2" },
	{ "example.com", RR_A, "192.0.2.80" },
	{ "example.com", RR_MX, "10 mail.example.com." },
	{ "mail.example.com", RR_A, "192.0.2.25" },
	{ "broken.example", 0, "TIMEOUT" },
	BIG_ROWS,
	{ "big.example", RR_TXT, "v=spf1 include:b1.big.example include:b2.big.example a:h.big.example -all" },
	/* report destinations of other organisations (RFC 7489 §7.1) */
	{ "example.com._report._dmarc.agreed.test", RR_TXT, "v=DMARC1" },
	{ "example.com._report._dmarc.wrong.test", RR_TXT, "v=spf1 -all" },
	{ "example.com._report._dmarc.slow.test", 0, "TIMEOUT" },
	{ NULL, 0, NULL },
};

/* The same tree after big.example moved part of its addresses. */
static const struct memdns_row moved_rows[] = {
	MEMDNS_MAILGUN_ROWS,
	{ "_spf.crm.example", RR_TXT, "v=spf1 a mx ip4:192.0.2.0/24 -all" },
	{ "_spf.crm.example", RR_A, "192.0.2.1" },
	{ "_spf.crm.example", RR_MX, "10 mx.crm.example." },
	{ "mx.crm.example", RR_A, "192.0.2.2" },
	BIG_ROWS,
	{ "big.example", RR_TXT, "v=spf1 include:b1.big.example include:b3.big.example a:h.big.example -all" },
	{ NULL, 0, NULL },
};

struct fixture {
	struct memdns dns;
	struct resolver *r;
	struct domain_config d;
	struct rrset_list ex;
	struct plan p;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	f->r = memdns_resolver(&f->dns, base_rows);
	set(&f->d.provider, "local");
	test_domain_init(&f->d, "example.com");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	test_domain_release(&f->d);
	plan_release(&f->p);
	rrset_list_release(&f->ex);
	resolver_free(f->r);
	free(f);
	return 0;
}

static void add(struct fixture *f, const char *name, uint16_t type, uint32_t ttl,
		const char *value)
{
	assert_int_equal(rrset_list_add(&f->ex, name, type, ttl, value), 0);
}

static void plan(struct fixture *f, int apply_mode)
{
	plan_release(&f->p);
	assert_int_equal(plan_build(&f->d, &f->ex, f->r, apply_mode, &f->p), 0);
}

static const struct change *change_for(const struct plan *p, const char *what)
{
	for (size_t i = 0; i < p->nchanges; i++)
		if (strcmp(p->changes[i].what, what) == 0)
			return &p->changes[i];
	return NULL;
}

static const struct diag *diag_for(const struct plan *p, const char *code)
{
	for (size_t i = 0; i < p->ndiags; i++)
		if (strcmp(p->diags[i].code, code) == 0)
			return &p->diags[i];
	return NULL;
}

/* Apply the plan to the in-memory record list, as a provider would. */
static void apply_in_memory(struct fixture *f)
{
	struct rrset_list next = { 0 };
	for (size_t i = 0; i < f->ex.n; i++) {
		const struct rrset *s = &f->ex.v[i];
		for (char **v = s->values; *v; v++) {
			int replaced = 0;
			for (size_t c = 0; c < f->p.nchanges; c++) {
				const struct change *ch = &f->p.changes[c];
				if (ch->type == s->type && dname_equal(ch->name, s->name) &&
				    ch->before && strcmp(ch->before, *v) == 0)
					replaced = 1;
			}
			if (!replaced) /* a per-record store: each keeps its own TTL */
				rrset_list_add(&next, s->name, s->type, rrset_value_ttl(s, *v), *v);
		}
	}
	for (size_t c = 0; c < f->p.nchanges; c++) {
		const struct change *ch = &f->p.changes[c];
		if (ch->after)
			rrset_list_add(&next, ch->name, ch->type, ch->ttl, ch->after);
	}
	rrset_list_release(&f->ex);
	f->ex = next;
}

static void test_empty_zone(void **state)
{
	struct fixture *f = *state;
	plan(f, 0);
	assert_int_equal(f->p.status, PLAN_CHANGES);
	assert_int_equal(f->p.nchanges, 4);
	const struct change *c = change_for(&f->p, "spf");
	assert_int_equal(c->action, CHANGE_CREATE);
	assert_string_equal(c->name, "example.com.");
	assert_string_equal(c->after, "v=spf1 include:mailgun.org ~all");
	assert_null(c->before);
	assert_int_equal(c->ttl, 3600);
	c = change_for(&f->p, "dkim");
	assert_string_equal(c->name, "pic._domainkey.example.com.");
	assert_string_equal(c->after, DKIM_VALUE);
	c = change_for(&f->p, "dmarc");
	assert_string_equal(c->name, "_dmarc.example.com.");
	assert_string_equal(c->after, DMARC_VALUE);
	c = change_for(&f->p, "tracking");
	assert_string_equal(c->name, "email.mg3.example.com.");
	assert_int_equal(c->type, RR_CNAME);
	assert_string_equal(c->after, "mailgun.org.");
	assert_true(f->p.spf_counted);
	assert_int_equal(f->p.spf.lookups, 5);
	assert_int_equal(f->p.spf.void_lookups, 0);
	assert_int_equal(plan_exit_code(&f->p, 1), 2);
	assert_int_equal(plan_exit_code(&f->p, 0), 0);
}

static void test_merge_keeps_other_txt(void **state)
{
	struct fixture *f = *state;
	add(f, "example.com.", RR_TXT, 300, "google-site-verification=abc");
	add(f, "example.com.", RR_TXT, 300, "v=spf1 ip4:192.0.2.0/24 -all");
	add(f, "example.com.", RR_TXT, 300, "MS=ms123");
	add(f, "example.com.", RR_MX, 300, "10 mail.example.com.");
	plan(f, 0);
	const struct change *c = change_for(&f->p, "spf");
	assert_non_null(c);
	assert_int_equal(c->action, CHANGE_UPDATE);
	assert_string_equal(c->before, "v=spf1 ip4:192.0.2.0/24 -all");
	assert_string_equal(c->after, "v=spf1 ip4:192.0.2.0/24 include:mailgun.org -all");
	assert_int_equal(c->ttl, 300); /* the shared set keeps its TTL */
	for (size_t i = 0; i < f->p.nchanges; i++) /* unmanaged data never planned */
		assert_int_not_equal(f->p.changes[i].type, RR_MX);
}

static void test_idempotent(void **state)
{
	struct fixture *f = *state;
	add(f, "example.com.", RR_TXT, 300, "v=spf1 mx -all");
	add(f, "example.com.", RR_TXT, 300, "site-verification=1");
	plan(f, 1);
	assert_int_equal(f->p.status, PLAN_CHANGES);
	apply_in_memory(f);
	plan(f, 1);
	assert_int_equal(f->p.status, PLAN_IN_SYNC);
	assert_int_equal(f->p.nchanges, 0);
	assert_int_equal(plan_exit_code(&f->p, 1), 0);
	const struct rrset *s = rrset_list_find(&f->ex, "example.com.", RR_TXT);
	assert_int_equal(strv_len(s->values), 2);
}

static void test_two_spf_refused(void **state)
{
	struct fixture *f = *state;
	add(f, "example.com.", RR_TXT, 300, "v=spf1 mx -all");
	add(f, "example.com.", RR_TXT, 300, "v=spf1 a -all");
	plan(f, 0);
	assert_int_equal(f->p.status, PLAN_REFUSED);
	assert_non_null(diag_for(&f->p, "spf-multiple"));
	assert_null(change_for(&f->p, "spf"));
	assert_int_equal(plan_exit_code(&f->p, 0), 3);
}

static void test_lookup_limit(void **state)
{
	struct fixture *f = *state;
	/* mailgun 5 + crm (1 + a + mx = 3) + mx + a = 10: allowed. */
	add(f, "example.com.", RR_TXT, 300, "v=spf1 include:_spf.crm.example mx a -all");
	plan(f, 0);
	assert_int_equal(f->p.spf.lookups, 10);
	assert_null(diag_for(&f->p, "spf-lookup-limit"));
	assert_int_equal(f->p.status, PLAN_CHANGES);
	/* One more a: 11, refused with the cost of each term. */
	rrset_list_release(&f->ex);
	add(f, "example.com.", RR_TXT, 300, "v=spf1 include:_spf.crm.example mx a a:mail.example.com -all");
	plan(f, 0);
	assert_int_equal(f->p.spf.lookups, 11);
	const struct diag *d = diag_for(&f->p, "spf-lookup-limit");
	assert_non_null(d);
	assert_int_equal(d->severity, DIAG_ERROR);
	assert_non_null(strstr(d->message, "include:mailgun.org=5"));
	assert_non_null(strstr(d->message, "include:_spf.crm.example=3"));
	assert_int_equal(f->p.status, PLAN_REFUSED);
}

static void test_void_limit(void **state)
{
	struct fixture *f = *state;
	add(f, "example.com.", RR_TXT, 300, "v=spf1 a:gone1.example a:gone2.example a:gone3.example -all");
	plan(f, 0);
	assert_int_equal(f->p.spf.void_lookups, 3);
	assert_non_null(diag_for(&f->p, "spf-void-limit"));
	assert_int_equal(f->p.status, PLAN_REFUSED);
}

static void test_dns_failure(void **state)
{
	struct fixture *f = *state;
	add(f, "example.com.", RR_TXT, 300, "v=spf1 include:broken.example -all");
	plan(f, 0); /* dry run: a warning, cost unknown */
	assert_true(f->p.spf.dns_failed);
	const struct diag *d = diag_for(&f->p, "spf-dns-failed");
	assert_non_null(d);
	assert_int_equal(d->severity, DIAG_WARNING);
	assert_int_equal(f->p.status, PLAN_CHANGES);
	plan(f, 1); /* apply: refuse to publish an uncounted record, exit 1 */
	d = diag_for(&f->p, "spf-dns-failed");
	assert_int_equal(d->severity, DIAG_ERROR);
	assert_int_equal(plan_exit_code(&f->p, 0), 1);
}

static void test_tracking_clash(void **state)
{
	struct fixture *f = *state;
	add(f, "email.mg3.example.com.", RR_A, 300, "192.0.2.9");
	plan(f, 0);
	const struct diag *d = diag_for(&f->p, "cname-conflict");
	assert_non_null(d);
	assert_non_null(strstr(d->message, "email.mg3.example.com."));
	assert_null(change_for(&f->p, "tracking"));
	assert_int_equal(f->p.status, PLAN_REFUSED);
}

static void test_cname_at_txt_name(void **state)
{
	struct fixture *f = *state;
	add(f, "_dmarc.example.com.", RR_CNAME, 300, "dmarc.elsewhere.example.");
	plan(f, 0);
	assert_non_null(diag_for(&f->p, "cname-conflict"));
	assert_null(change_for(&f->p, "dmarc"));
	assert_int_equal(f->p.status, PLAN_REFUSED);
}

static void test_tracking_outside(void **state)
{
	struct fixture *f = *state;
	set(&f->d.policy.tracking.name, "email.mg3.clienttether.com");
	plan(f, 0);
	const struct diag *d = diag_for(&f->p, "out-of-zone");
	assert_non_null(d);
	assert_non_null(strstr(d->message, "hint"));
	assert_int_equal(f->p.status, PLAN_REFUSED);
	set(&f->d.policy.tracking.name, "email.other.org.");
	plan(f, 0);
	assert_non_null(diag_for(&f->p, "out-of-zone"));
	set(&f->d.policy.tracking.name, "email.example.com.");
	plan(f, 0);
	assert_null(diag_for(&f->p, "out-of-zone"));
	assert_string_equal(change_for(&f->p, "tracking")->name, "email.example.com.");
}

static void test_dmarc_stricter_kept(void **state)
{
	struct fixture *f = *state;
	add(f, "_dmarc.example.com.", RR_TXT, 300, "v=DMARC1; p=reject; rua=mailto:d@example.com");
	plan(f, 0);
	assert_null(change_for(&f->p, "dmarc"));
	const struct diag *d = diag_for(&f->p, "dmarc-stricter");
	assert_non_null(d);
	assert_int_equal(d->severity, DIAG_WARNING);
	assert_int_equal(plan_exit_code(&f->p, 0), 0);
	/* A weaker existing policy is raised. */
	rrset_list_release(&f->ex);
	add(f, "_dmarc.example.com.", RR_TXT, 300, "v=DMARC1; p=none");
	plan(f, 0);
	const struct change *c = change_for(&f->p, "dmarc");
	assert_non_null(c);
	assert_string_equal(c->before, "v=DMARC1; p=none");
	assert_int_equal(c->ttl, 3600);
}

static void test_dkim_keys(void **state)
{
	struct fixture *f = *state;
	set(&f->d.policy.dkim.key, "bm90IGEga2V5");
	plan(f, 0);
	assert_non_null(diag_for(&f->p, "dkim-invalid-key"));
	assert_int_equal(f->p.status, PLAN_REFUSED);
	set(&f->d.policy.dkim.key, KEY_ED25519);
	plan(f, 0);
	assert_non_null(diag_for(&f->p, "dkim-invalid-key"));
	set(&f->d.policy.dkim.key, KEY_1024);
	plan(f, 0);
	const struct diag *d = diag_for(&f->p, "dkim-short-key");
	assert_non_null(d);
	assert_non_null(strstr(d->message, "1024"));
	assert_int_equal(f->p.status, PLAN_CHANGES);
}

static void test_dkim_replaced(void **state)
{
	struct fixture *f = *state;
	add(f, "pic._domainkey.example.com.", RR_TXT, 3600, "k=rsa; p=" KEY_1024);
	plan(f, 0);
	const struct change *c = change_for(&f->p, "dkim");
	assert_int_equal(c->action, CHANGE_UPDATE);
	assert_string_equal(c->before, "k=rsa; p=" KEY_1024);
	assert_string_equal(c->after, DKIM_VALUE);
}

static void test_spf_warnings(void **state)
{
	struct fixture *f = *state;
	add(f, "example.com.", RR_TXT, 300, "v=spf1 ptr +all");
	plan(f, 0);
	assert_non_null(diag_for(&f->p, "spf-pass-all"));
	assert_non_null(diag_for(&f->p, "spf-ptr"));
	assert_string_equal(change_for(&f->p, "spf")->after, "v=spf1 ptr include:mailgun.org +all");
}

static void test_spf_invalid_existing(void **state)
{
	struct fixture *f = *state;
	add(f, "example.com.", RR_TXT, 300, "v=spf1 moo -all");
	plan(f, 0);
	assert_non_null(diag_for(&f->p, "spf-invalid"));
	assert_null(change_for(&f->p, "spf"));
	assert_int_equal(f->p.status, PLAN_REFUSED);
}

static void test_cache_shared(void **state)
{
	struct fixture *f = *state;
	plan(f, 0);
	unsigned long first = f->dns.served;
	assert_true(first >= 5);
	set(&f->d.name, "example.net");
	set(&f->d.policy.dmarc.rua, "mailto:postmaster@example.net");
	set(&f->d.policy.dmarc.ruf, "mailto:postmaster@example.net");
	plan(f, 0);
	assert_int_equal(f->dns.served, first); /* the mailgun tree asked once */
}

/* The warnings about report destinations of the record to publish. */
static size_t dest_diags(const struct plan *p, const char **code, const char **msg)
{
	size_t n = 0;
	for (size_t i = 0; i < p->ndiags; i++)
		if (strncmp(p->diags[i].code, "dmarc-ru", 8) == 0) {
			assert_int_equal(p->diags[i].severity, DIAG_WARNING);
			*code = p->diags[i].code;
			*msg = p->diags[i].message;
			n++;
		}
	return n;
}

static void test_dmarc_report_dest(void **state)
{
	struct fixture *f = *state;
	const char *code = NULL, *msg = NULL;
	plan(f, 0); /* postmaster@example.com: the same organisation, not asked */
	unsigned long base = f->dns.served;
	assert_int_equal(dest_diags(&f->p, &code, &msg), 0);
	set(&f->d.policy.dmarc.rua, "mailto:dmarc@reports.example.com");
	set(&f->d.policy.dmarc.ruf, NULL);
	plan(f, 0);
	assert_int_equal(dest_diags(&f->p, &code, &msg), 0);
	assert_int_equal(f->dns.served, base);

	/* not authorised: rua twice and ruf at one host, asked once */
	set(&f->d.policy.dmarc.rua, "mailto:a@reports.other.test,mailto:b@Reports.Other.Test");
	set(&f->d.policy.dmarc.ruf, "mailto:f@reports.other.test");
	plan(f, 0);
	assert_int_equal(f->dns.served, base + 1);
	assert_int_equal(dest_diags(&f->p, &code, &msg), 2);
	assert_non_null(diag_for(&f->p, "dmarc-rua-unauthorised"));
	assert_string_equal(code, "dmarc-ruf-unauthorised");
	assert_non_null(strstr(msg, "its owner must publish example.com._report._dmarc."
				    "reports.other.test. IN TXT \"v=DMARC1\""));
	assert_int_equal(f->p.status, PLAN_CHANGES);

	/* authorised; a TXT that is not v=DMARC1 is no authorisation */
	set(&f->d.policy.dmarc.rua, "mailto:a@agreed.test");
	set(&f->d.policy.dmarc.ruf, "mailto:a@wrong.test");
	plan(f, 0);
	assert_int_equal(dest_diags(&f->p, &code, &msg), 1);
	assert_string_equal(code, "dmarc-ruf-unauthorised");

	/* DNS failed: not known, said so */
	set(&f->d.policy.dmarc.rua, "mailto:a@slow.test!10m");
	set(&f->d.policy.dmarc.ruf, NULL);
	plan(f, 0);
	assert_int_equal(dest_diags(&f->p, &code, &msg), 1);
	assert_string_equal(code, "dmarc-rua-unverified");
	assert_non_null(strstr(msg, "timeout (memdns)"));
}

static void test_managed_names(void **state)
{
	struct fixture *f = *state;
	char **n = plan_managed_names(&f->d);
	assert_int_equal(strv_len(n), 4);
	assert_string_equal(n[0], "example.com.");
	assert_string_equal(n[1], "pic._domainkey.example.com.");
	assert_string_equal(n[2], "_dmarc.example.com.");
	assert_string_equal(n[3], "email.mg3.example.com.");
	strv_free(n);
}

/* A record left out (`tracking = false;`) is neither planned nor listed,
 * even when what stands at its name would otherwise be a conflict. */
static void test_omitted_records(void **state)
{
	struct fixture *f = *state;
	add(f, "email.mg3.example.com.", RR_CNAME, 300, "track.own-esp.example.");
	f->d.policy.omit = REC_TRACKING | REC_DKIM;
	plan(f, 0);
	assert_null(change_for(&f->p, "tracking"));
	assert_null(change_for(&f->p, "dkim"));
	assert_non_null(change_for(&f->p, "spf"));
	assert_non_null(change_for(&f->p, "dmarc"));
	assert_int_equal(f->p.status, PLAN_CHANGES);
	char **n = plan_managed_names(&f->d);
	assert_int_equal(strv_len(n), 2);
	assert_string_equal(n[0], "example.com.");
	assert_string_equal(n[1], "_dmarc.example.com.");
	strv_free(n);
	f->d.policy.omit = REC_SPF | REC_DKIM | REC_DMARC | REC_TRACKING;
	plan(f, 0);
	assert_int_equal(f->p.nchanges, 0);
	assert_int_equal(f->p.status, PLAN_IN_SYNC);
	assert_false(f->p.spf_counted);
	n = plan_managed_names(&f->d);
	assert_non_null(n);
	assert_int_equal(strv_len(n), 0);
	strv_free(n);
}

/* One TTL per set (zone file, Route 53): the merged SPF keeps the TTL of
 * the set it shares with a verification value, and the plan says so. */
static void test_shared_ttl_said(void **state)
{
	struct fixture *f = *state;
	add(f, "example.com.", RR_TXT, 300, "google-site-verification=abc");
	add(f, "example.com.", RR_TXT, 300, "v=spf1 ip4:192.0.2.0/24 -all");
	plan(f, 0);
	const struct change *c = change_for(&f->p, "spf");
	assert_non_null(c);
	assert_int_equal(c->ttl, 300);
	const struct diag *d = diag_for(&f->p, "ttl-shared-set");
	assert_non_null(d);
	assert_int_equal(d->severity, DIAG_INFO);
	assert_non_null(strstr(d->message, "keeps TTL 300"));
	assert_non_null(strstr(d->message, "configured 3600"));
	apply_in_memory(f);
	plan(f, 0);
	assert_int_equal(f->p.status, PLAN_IN_SYNC);
	/* a set we manage alone takes the configured TTL, without a note */
	f->d.policy.ttl = 300;
	plan(f, 0);
	assert_null(diag_for(&f->p, "ttl-shared-set"));
}

/* A TTL per record (Cloudflare, GoDaddy): the managed record gets the
 * configured TTL whatever its neighbours have, and keeps it on a re-run. */
static void test_per_record_ttl(void **state)
{
	struct fixture *f = *state;
	struct provider_config pc = { 0 };
	pc.ops = provider_find("cloudflare");
	assert_non_null(pc.ops);
	f->d.prov = &pc;
	for (int i = 0; i < 5; i++) {
		char v[40];
		snprintf(v, sizeof v, "verification-%d", i);
		add(f, "example.com.", RR_TXT, 300, v);
	}
	add(f, "example.com.", RR_TXT, 3600, "v=spf1 ip4:192.0.2.0/24 -all");
	plan(f, 0);
	const struct change *c = change_for(&f->p, "spf");
	assert_non_null(c);
	assert_int_equal(c->ttl, 3600);
	assert_null(diag_for(&f->p, "ttl-shared-set"));
	apply_in_memory(f);
	plan(f, 0);
	assert_int_equal(f->p.status, PLAN_IN_SYNC);
	const struct rrset *set = rrset_list_find(&f->ex, "example.com.", RR_TXT);
	assert_int_equal(rrset_value_ttl(set, "verification-3"), 300);
	assert_int_equal(rrset_value_ttl(set, "v=spf1 ip4:192.0.2.0/24 include:mailgun.org -all"), 3600);
	/* a managed record at another TTL is retimed, alone */
	f->d.policy.ttl = 1800;
	plan(f, 0);
	c = change_for(&f->p, "spf");
	assert_non_null(c);
	assert_int_equal(c->ttl, 1800);
	assert_string_equal(c->before, c->after);
	f->d.prov = NULL;
}

static void test_verdict(void **state)
{
	struct fixture *f = *state;
	plan(f, 0);
	assert_non_null(f->p.verdict_ip);
	assert_string_equal(f->p.verdict_ip, "198.61.254.0"); /* from the tree */
	assert_int_equal(f->p.verdict, SPF_PASS);
	assert_null(diag_for(&f->p, "spf-verdict"));
	set(&f->d.policy.spf.test_ip, "192.0.2.99");
	plan(f, 0);
	assert_string_equal(f->p.verdict_ip, "192.0.2.99");
	assert_int_equal(f->p.verdict, SPF_SOFTFAIL);
	const struct diag *d = diag_for(&f->p, "spf-verdict");
	assert_non_null(d);
	assert_non_null(strstr(d->message, "softfail"));
}

static const struct change *change_at(const struct plan *p, const char *name, size_t *index)
{
	for (size_t i = 0; i < p->nchanges; i++)
		if (strcmp(p->changes[i].name, name) == 0) {
			if (index)
				*index = i;
			return &p->changes[i];
		}
	return NULL;
}

static void test_flatten(void **state)
{
	struct fixture *f = *state;
	const char *before = "v=spf1 include:big.example include:_spf.crm.example -all";
	add(f, "example.com.", RR_TXT, 300, before);
	plan(f, 0); /* 4 + 3 + 5 = 12 and nothing to flatten: refused */
	assert_int_equal(f->p.spf.lookups, 12);
	assert_int_equal(f->p.status, PLAN_REFUSED);
	assert_non_null(strstr(diag_for(&f->p, "spf-lookup-limit")->message, "spf.flatten"));

	strv_push(&f->d.policy.spf.flatten, "big.example");
	plan(f, 0);
	assert_int_equal(f->p.status, PLAN_CHANGES);
	assert_null(diag_for(&f->p, "spf-lookup-limit"));
	assert_non_null(diag_for(&f->p, "spf-flattened"));
	/* crm 3 + mailgun 5 + two chained records */
	assert_int_equal(f->p.spf.lookups, 10);
	size_t i1 = 0, i2 = 0, iapex = 0;
	const struct change *c1 = change_at(&f->p, "_spf1.example.com.", &i1);
	const struct change *c2 = change_at(&f->p, "_spf2.example.com.", &i2);
	const struct change *apex = change_at(&f->p, "example.com.", &iapex);
	assert_non_null(c1);
	assert_non_null(c2);
	assert_null(change_at(&f->p, "_spf3.example.com.", NULL));
	assert_true(i1 < iapex && i2 < iapex); /* the chain exists before it is named */
	assert_string_equal(apex->after, "v=spf1 include:_spf1.example.com include:_spf.crm.example "
			    "include:mailgun.org -all");
	assert_non_null(strstr(c1->after, "v=spf1 flattened=big.example ip4:198.51.100.1 "));
	assert_non_null(strstr(c1->after, " include:_spf2.example.com"));
	assert_null(strstr(c2->after, "include:"));
	assert_true(strlen(c1->after) <= 450 && strlen(c2->after) <= 450);
	assert_non_null(strstr(c2->after, "ip4:192.0.2.77") ? c2->after : c1->after);
	assert_int_equal(f->p.verdict, SPF_PASS);

	/* Applied, the next run is in sync: the chain says what it flattened. */
	apply_in_memory(f);
	plan(f, 0);
	assert_int_equal(f->p.status, PLAN_IN_SYNC);
	assert_int_equal(f->p.nchanges, 0);

	/* big.example moves addresses: only the chain is refreshed. */
	resolver_free(f->r);
	f->r = memdns_resolver(&f->dns, moved_rows);
	plan(f, 0);
	assert_int_equal(f->p.status, PLAN_CHANGES);
	assert_null(change_at(&f->p, "example.com.", NULL));
	c1 = change_at(&f->p, "_spf1.example.com.", NULL);
	c2 = change_at(&f->p, "_spf2.example.com.", NULL);
	assert_true(c1 || c2);
	assert_non_null(strstr(c1 && strstr(c1->after, "203.0.113.101") ? c1->after : c2->after,
			       "ip4:203.0.113.101"));
}

static void test_flatten_never_service(void **state)
{
	struct fixture *f = *state;
	add(f, "example.com.", RR_TXT, 300, "v=spf1 include:big.example include:_spf.crm.example -all");
	strv_push(&f->d.policy.spf.flatten, "mailgun.org");
	plan(f, 0);
	assert_int_equal(f->p.status, PLAN_REFUSED);
	assert_null(diag_for(&f->p, "spf-flattened"));
	assert_null(change_at(&f->p, "_spf1.example.com.", NULL));
}

static void test_flatten_not_needed(void **state)
{
	struct fixture *f = *state;
	add(f, "example.com.", RR_TXT, 300, "v=spf1 include:big.example -all");
	strv_push(&f->d.policy.spf.flatten, "big.example");
	plan(f, 0); /* 4 + 5: fits, so nothing is flattened */
	assert_int_equal(f->p.spf.lookups, 9);
	assert_null(diag_for(&f->p, "spf-flattened"));
	assert_string_equal(change_for(&f->p, "spf")->after,
			    "v=spf1 include:big.example include:mailgun.org -all");
	/* A chain left by an earlier run that is no longer needed goes. */
	rrset_list_release(&f->ex);
	add(f, "example.com.", RR_TXT, 300, "v=spf1 include:_spf1.example.com include:mailgun.org -all");
	add(f, "_spf1.example.com.", RR_TXT, 300, "v=spf1 flattened=big.example ip4:198.51.100.1");
	plan(f, 0);
	const struct change *c = change_at(&f->p, "_spf1.example.com.", NULL);
	assert_non_null(c);
	assert_int_equal(c->action, CHANGE_DELETE);
	assert_string_equal(change_at(&f->p, "example.com.", NULL)->after,
			    "v=spf1 include:big.example include:mailgun.org -all");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_empty_zone), T(test_merge_keeps_other_txt), T(test_idempotent),
		T(test_two_spf_refused), T(test_lookup_limit), T(test_void_limit),
		T(test_dns_failure), T(test_tracking_clash), T(test_cname_at_txt_name),
		T(test_tracking_outside), T(test_dmarc_stricter_kept), T(test_dkim_keys),
		T(test_dkim_replaced), T(test_spf_warnings), T(test_spf_invalid_existing),
		T(test_cache_shared), T(test_dmarc_report_dest), T(test_managed_names), T(test_omitted_records), T(test_shared_ttl_said), T(test_per_record_ttl), T(test_verdict),
		T(test_flatten), T(test_flatten_never_service), T(test_flatten_not_needed),
	};
	return cmocka_run_group_tests_name("planner", tests, NULL, NULL);
}
