/*
 * fuzz_spf.c - libFuzzer target for the SPF engine (RFC 7208).
 *
 * The input is one SPF record text. It goes through spf_validate(),
 * spf_merge() (include:mailgun.org, ~all), then is published as the TXT of
 * fuzz.test in an in-memory DNS table, and spf_check_host() (three senders,
 * IPv4 and IPv6) and spf_cost() evaluate it: terms, macro expansion (§7),
 * the lookup and void limits (§4.6.4) and loops; then the pending-record
 * variants, spf_flatten() and spf_sample_ip(). Other names of the table
 * give a: mx: ptr: exists: include: something to find; unknown names are
 * NXDOMAIN. Everything is freed (LeakSanitizer is on).
 *
 * Build: make fuzz (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provision/record.h"
#include "provision/resolver.h"
#include "provision/spf.h"
#include "provision/util.h"

#define FUZZ_MAX 4096
#define FUZZ_DOMAIN "fuzz.test"
#define RR_TEMPFAIL 0 /* a row of this type makes the name time out */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct row {
	const char *name;
	uint16_t type;
	const char *data; /* TXT text, "PREF host" for MX, address, target;
			   * NULL for TXT of FUZZ_DOMAIN: the fuzzed record */
};

static const struct row table[] = {
	{ FUZZ_DOMAIN, RR_TXT, NULL },
	{ FUZZ_DOMAIN, RR_TXT, "google-site-verification=abc123" },
	{ FUZZ_DOMAIN, RR_A, "192.0.2.1" },
	{ FUZZ_DOMAIN, RR_AAAA, "2001:db8::1" },
	{ FUZZ_DOMAIN, RR_MX, "10 mail.fuzz.test" },
	{ FUZZ_DOMAIN, RR_MX, "20 mail2.fuzz.test" },
	{ "mail.fuzz.test", RR_A, "192.0.2.25" },
	{ "mail.fuzz.test", RR_AAAA, "2001:db8::25" },
	{ "mail2.fuzz.test", RR_A, "192.0.2.26" },
	{ "1.2.0.192.in-addr.arpa", RR_PTR, "fuzz.test" },
	{ "1.2.0.192.in-addr.arpa", RR_PTR, "mail.fuzz.test" },
	{ "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	  RR_PTR, "fuzz.test" },
	{ "mailgun.org", RR_TXT,
	  "v=spf1 include:_spf.mailgun.org include:_spf.eu.mailgun.org -all" },
	{ "_spf.mailgun.org", RR_TXT,
	  "v=spf1 include:_spf1.mailgun.org include:_spf2.mailgun.org ~all" },
	{ "_spf1.mailgun.org", RR_TXT,
	  "v=spf1 ip4:198.61.254.0/23 ip4:209.61.151.0/24 ~all" },
	{ "_spf2.mailgun.org", RR_TXT,
	  "v=spf1 ip4:69.72.32.0/20 ip4:159.135.224.0/20 ~all" },
	{ "_spf.eu.mailgun.org", RR_TXT,
	  "v=spf1 ip4:141.193.32.0/23 ip4:159.135.140.80/29 ~all" },
	{ "loop.test", RR_TXT, "v=spf1 include:fuzz.test ?all" },
	{ "redir.test", RR_TXT, "v=spf1 redirect=fuzz.test" },
	{ "two.test", RR_TXT, "v=spf1 -all" },
	{ "two.test", RR_TXT, "v=spf1 +all" },
	{ "plain.test", RR_TXT, "not an spf record" },
	{ "macro.test", RR_TXT,
	  "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} a:%{o}.%{h} -all" },
	{ "exp.test", RR_TXT,
	  "%{i} may not send for %{d} as %{s} (%{l} %{o} %{h} %{p} %{r} %{c} %{t} %{v})" },
	{ "many-mx.test", RR_MX, "0 h0.test" },
	{ "many-mx.test", RR_MX, "1 h1.test" },
	{ "many-mx.test", RR_MX, "2 h2.test" },
	{ "many-mx.test", RR_MX, "3 h3.test" },
	{ "many-mx.test", RR_MX, "4 h4.test" },
	{ "many-mx.test", RR_MX, "5 h5.test" },
	{ "many-mx.test", RR_MX, "6 h6.test" },
	{ "many-mx.test", RR_MX, "7 h7.test" },
	{ "many-mx.test", RR_MX, "8 h8.test" },
	{ "many-mx.test", RR_MX, "9 h9.test" },
	{ "many-mx.test", RR_MX, "10 h10.test" },
	{ "h1.test", RR_A, "192.0.2.1" },
	{ "nodata.test", RR_A, "192.0.2.200" },
	{ "temp.test", RR_TEMPFAIL, NULL },
	{ NULL, 0, NULL },
};

static int add_row(const struct row *w, const char *record, uint16_t type,
		   struct dns_answer *ans)
{
	struct dns_rr rr;
	const char *text = w->data ? w->data : record;
	char *fq = NULL;
	memset(&rr, 0, sizeof rr);
	rr.type = type;
	rr.ttl = 300;
	rr.nstrings = 1;
	if (type == RR_MX) {
		rr.pref = (uint16_t)strtoul(text, NULL, 10);
		text = strchr(text, ' ') + 1;
	}
	if (type == RR_A && inet_pton(AF_INET, text, rr.addr) != 1)
		return -1;
	if (type == RR_AAAA && inet_pton(AF_INET6, text, rr.addr) != 1)
		return -1;
	if (type == RR_MX || type == RR_PTR) {
		if (!(fq = dname_fqdn(text)))
			return -1;
		text = fq;
	}
	rr.text = (char *)text;
	rr.text_len = strlen(text);
	int rc = dns_answer_add(ans, &rr);
	free(fq);
	return rc;
}

/* The backend: ctx is the fuzzed record (a NUL-terminated string). */
static int table_query(void *ctx, const char *name, uint16_t type,
		       struct dns_answer *ans)
{
	int exists = 0;
	memset(ans, 0, sizeof *ans);
	for (const struct row *w = table; w->name; w++) {
		if (!dname_equal(w->name, name))
			continue;
		exists = 1;
		if (w->type == RR_TEMPFAIL) {
			dns_answer_release(ans);
			ans->status = DNS_TEMPFAIL;
			strcpy(ans->why, "timeout (fuzz table)");
			return 0;
		}
		if (w->type == type && add_row(w, ctx, type, ans) < 0)
			return -1;
	}
	ans->status = exists ? DNS_OK : DNS_NXDOMAIN;
	return 0;
}

static const struct resolver_backend table_backend = {
	.name = "fuzz", .query = table_query, .free = NULL,
};

static const struct spf_request requests[] = {
	{ .ip = "192.0.2.1", .sender = "user.name+tag@fuzz.test",
	  .helo = "mail.fuzz.test", .receiver = "mx.receiver.test",
	  .default_exp = "DEFAULT" },
	{ .ip = "2001:db8::1", .sender = "", .helo = FUZZ_DOMAIN,
	  .domain = FUZZ_DOMAIN, .default_exp = "DEFAULT" },
	{ .ip = "203.0.113.9", .sender = "x@fuzz.test", .helo = "helo.test",
	  .domain = FUZZ_DOMAIN, .default_exp = "DEFAULT" },
};

static char fn_mailgun[] = "mailgun.org", fn_macro[] = "macro.test",
	    fn_loop[] = "loop.test", fn_two[] = "two.test";
static char *const flatten_names[] = {
	fn_mailgun, fn_macro, fn_loop, fn_two, NULL,
};

/* The record as published at pend.test, before it is; and flattened. */
static void run_planner(struct resolver *r, const char *record)
{
	const struct spf_pending pending[] = {
		{ "_spf1.pend.test", "v=spf1 include:fuzz.test ip4:192.0.2.7 -all" },
		{ "PEND.test.", record },
		{ NULL, NULL },
	};
	struct spf_request req = requests[0];
	struct prov_error err = PROV_ERROR_INIT;
	struct spf_cost cost;
	struct spf_flat flat;
	char *exp = NULL, *ip = NULL;
	req.domain = "pend.test";
	(void)spf_check_pending(r, &req, pending, &exp);
	free(exp);
	if (spf_cost_pending(r, "pend.test", pending, &cost, &err) == 0)
		spf_cost_release(&cost);
	prov_error_clear(&err);
	memset(&flat, 0, sizeof flat);
	if (spf_flatten(r, FUZZ_DOMAIN, record, flatten_names, 450, &flat,
			&err) == 0)
		spf_flat_release(&flat);
	prov_error_clear(&err);
	if (spf_sample_ip(r, FUZZ_DOMAIN, &ip, &err) == 0)
		free(ip);
}

static void run_checks(const char *record)
{
	/* One resolver per input: nothing cached from an earlier record. */
	struct resolver *r = resolver_new(&table_backend, (void *)record);
	struct prov_error err = PROV_ERROR_INIT;
	struct spf_cost cost;
	if (!r)
		return;
	for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
		char *exp = NULL;
		(void)spf_check_host(r, &requests[i], &exp);
		free(exp);
	}
	if (spf_cost(r, FUZZ_DOMAIN, record, &cost, &err) == 0)
		spf_cost_release(&cost);
	run_planner(r, record);
	resolver_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prov_error err = PROV_ERROR_INIT;
	char *out = NULL;
	int changed = 0;
	if (size > FUZZ_MAX || memchr(data, 0, size))
		return -1; /* not a C string: keep it out of the corpus */
	char *record = malloc(size + 1);
	if (!record)
		return 0;
	memcpy(record, data, size);
	record[size] = '\0';

	(void)spf_is_record(record);
	(void)spf_validate(record, &err);
	prov_error_clear(&err);
	if (spf_merge(record, "mailgun.org", "~all", &out, &changed, &err) == 0 &&
	    out) {
		/* a merged record is itself a record: it must validate */
		struct prov_error err2 = PROV_ERROR_INIT;
		if (spf_validate(out, &err2) != 0 && spf_validate(record, &err) == 0)
			abort();
	}
	free(out);
	run_checks(record);
	free(record);
	return 0;
}
