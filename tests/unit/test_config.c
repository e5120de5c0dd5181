/*
 * test_config.c - config_load(): merged values, overrides, {domain}, and
 * one test per kind of configuration error, each checking PROV_ERR_CONFIG,
 * the exact "FILE:LINE: " prefix and the key named. Config texts are
 * written to a private temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char tmpdir[64];
static char cfgpath[128];
static char last_msg[1024]; /* the message expect_error() saw */

static int setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_config.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(cfgpath, sizeof cfgpath, "%s/provision.cfg", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(cfgpath);
	return rmdir(tmpdir);
}

static void write_cfg(const char *text)
{
	FILE *f = fopen(cfgpath, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int load(const char *text, struct config *cfg, struct prov_error *err)
{
	write_cfg(text);
	return config_load(cfgpath, cfg, err);
}

/* Loading text fails with PROV_ERR_CONFIG, the message starts with
 * "CFGPATH:line: " and contains want. */
static void expect_error(const char *text, int line, const char *want)
{
	struct config cfg = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	char prefix[200];
	int rc = load(text, &cfg, &err);
	memcpy(last_msg, err.msg, sizeof last_msg);
	assert_int_equal(rc, PROV_ERR_CONFIG);
	assert_int_equal(err.set, 1);
	snprintf(prefix, sizeof prefix, "%s:%d: ", cfgpath, line);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || !strstr(err.msg, want))
		fail_msg("got \"%s\", want prefix \"%s\" and \"%s\"", err.msg,
			 prefix, want);
	assert_null(cfg.domains); /* filled only on success */
	assert_null(cfg.file);
}

#define PROVIDERS "providers: { local = { type = \"zonefile\"; " \
		  "directory = \"zones\"; }; };\n"

static const char contract_cfg[] =
	"defaults: {\n"
	"  ttl = 3600;\n"
	"  spf      = { include = \"mailgun.org\"; all = \"~all\"; };\n"
	"  dkim     = { selector = \"pic\"; key = \"MIIBIjANBg\"; };\n"
	"  dmarc    = { policy = \"quarantine\"; rua = \"mailto:postmaster@{domain}\";\n"
	"               ruf = \"mailto:postmaster@{domain}\"; fo = \"1\"; };\n"
	"  tracking = { name = \"email.mg3\"; target = \"mailgun.org\"; };\n"
	"};\n"
	"\n"
	"providers: {\n"
	"  local = { type = \"zonefile\";   directory = \"zones\"; };\n"
	"};\n"
	"\n"
	"domains = (\n"
	"  { name = \"example.com\"; provider = \"local\"; },\n"
	"  { name = \"Example.ORG.\"; provider = \"local\"; dmarc = { policy = \"none\"; }; }\n"
	");\n";

static void test_contract_example(void **state)
{
	(void)state;
	struct config cfg = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	assert_int_equal(load(contract_cfg, &cfg, &err), 0);
	assert_int_equal(err.set, 0);
	assert_string_equal(cfg.file, cfgpath);

	assert_int_equal(cfg.nproviders, 1);
	struct provider_config *pc = &cfg.providers[0];
	assert_string_equal(pc->name, "local");
	assert_string_equal(pc->type, "zonefile");
	assert_non_null(pc->ops);
	assert_string_equal(pc->ops->name, "zonefile");
	assert_int_equal(pc->line, 11);
	assert_string_equal(pc->base_dir, tmpdir);
	assert_string_equal(pc->file, cfgpath);
	assert_int_equal(pc->nsettings, 1);
	assert_string_equal(pc->settings[0].key, "directory");
	assert_string_equal(pc->settings[0].value, "zones");
	assert_int_equal(pc->settings[0].line, 11);
	assert_string_equal(provider_setting(pc, "directory"), "zones");

	assert_int_equal(cfg.ndomains, 2);
	struct domain_config *d = &cfg.domains[0];
	assert_string_equal(d->name, "example.com");
	assert_string_equal(d->provider, "local");
	assert_ptr_equal(d->prov, pc);
	assert_null(d->zone_id);
	assert_non_null(d->nameservers);
	assert_null(d->nameservers[0]);
	assert_int_equal(d->line, 15);
	assert_int_equal(d->policy.ttl, 3600);
	assert_string_equal(d->policy.spf.include, "mailgun.org");
	assert_string_equal(d->policy.spf.all, "~all");
	assert_null(d->policy.spf.test_ip);
	assert_non_null(d->policy.spf.flatten);
	assert_null(d->policy.spf.flatten[0]);
	assert_string_equal(d->policy.dkim.selector, "pic");
	assert_string_equal(d->policy.dkim.key, "MIIBIjANBg");
	assert_string_equal(d->policy.dmarc.policy, "quarantine");
	assert_string_equal(d->policy.dmarc.rua, "mailto:postmaster@example.com");
	assert_string_equal(d->policy.dmarc.ruf, "mailto:postmaster@example.com");
	assert_string_equal(d->policy.dmarc.fo, "1");
	assert_null(d->policy.dmarc.sp);
	assert_null(d->policy.dmarc.adkim);
	assert_null(d->policy.dmarc.aspf);
	assert_int_equal(d->policy.dmarc.pct, -1);
	assert_string_equal(d->policy.tracking.name, "email.mg3");
	assert_string_equal(d->policy.tracking.target, "mailgun.org");

	d = &cfg.domains[1];
	assert_string_equal(d->name, "example.org"); /* lower case, no dot */
	assert_string_equal(d->policy.dmarc.policy, "none");
	assert_string_equal(d->policy.dmarc.rua, "mailto:postmaster@example.org");
	assert_string_equal(d->policy.dmarc.fo, "1");

	assert_ptr_equal(config_find_domain(&cfg, "EXAMPLE.org."), d);
	assert_ptr_equal(config_find_domain(&cfg, "example.com"), &cfg.domains[0]);
	assert_null(config_find_domain(&cfg, "example.net"));
	config_release(&cfg);
	assert_null(cfg.domains);
	config_release(&cfg); /* twice is harmless */
}

/* Nothing but domains: every value is the built-in default. */
static void test_builtin_defaults(void **state)
{
	(void)state;
	struct config cfg = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	assert_int_equal(load(PROVIDERS "domains = ({ name = \"a.example\"; "
			      "provider = \"local\"; });\n", &cfg, &err), 0);
	struct record_policy *p = &cfg.domains[0].policy;
	assert_int_equal(p->ttl, DEFAULT_TTL);
	assert_string_equal(p->spf.include, DEFAULT_SPF_INCLUDE);
	assert_string_equal(p->spf.all, DEFAULT_SPF_ALL);
	assert_string_equal(p->dkim.selector, DEFAULT_DKIM_SELECTOR);
	assert_string_equal(p->dkim.key, DEFAULT_DKIM_KEY);
	assert_string_equal(p->dmarc.policy, DEFAULT_DMARC_POLICY);
	assert_string_equal(p->dmarc.rua, "mailto:postmaster@a.example");
	assert_string_equal(p->dmarc.ruf, "mailto:postmaster@a.example");
	assert_string_equal(p->dmarc.fo, DEFAULT_DMARC_FO);
	assert_int_equal(p->dmarc.pct, -1);
	assert_string_equal(p->tracking.name, DEFAULT_TRACKING_NAME);
	assert_string_equal(p->tracking.target, DEFAULT_TRACKING_TARGET);
	config_release(&cfg);
}

/* Defaults override the built-ins, a domain overrides defaults key by
 * key, and lists are replaced as a whole. */
static void test_override(void **state)
{
	(void)state;
	struct config cfg = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	int rc = load(PROVIDERS
		"defaults: { ttl = 300; dmarc = { policy = \"reject\"; pct = 50;\n"
		"  adkim = \"s\"; }; spf = { flatten = [\"a.example\"]; }; };\n"
		"domains = (\n"
		"  { name = \"one.example\"; provider = \"local\"; },\n"
		"  { name = \"two.example\"; provider = \"local\"; ttl = 60;\n"
		"    zone_id = \"Z123\"; nameservers = (\"127.0.0.1:5353\", \"[::1]:53\", \"ns1.example\");\n"
		"    dmarc = { policy = \"none\"; };\n"
		"    spf = { test_ip = \"2001:db8::1\"; flatten = (\"b.example\", \"c.example\"); }; }\n"
		");\n", &cfg, &err);
	assert_int_equal(rc, 0);
	struct record_policy *one = &cfg.domains[0].policy;
	struct record_policy *two = &cfg.domains[1].policy;
	assert_int_equal(one->ttl, 300);
	assert_string_equal(one->dmarc.policy, "reject");
	assert_int_equal(one->dmarc.pct, 50);
	assert_string_equal(one->dmarc.adkim, "s");
	assert_string_equal(one->spf.flatten[0], "a.example");
	assert_null(one->spf.flatten[1]);
	assert_null(one->spf.test_ip);

	assert_int_equal(two->ttl, 60);
	assert_string_equal(two->dmarc.policy, "none"); /* only policy changed */
	assert_int_equal(two->dmarc.pct, 50);
	assert_string_equal(two->dmarc.adkim, "s");
	assert_string_equal(two->dmarc.rua, "mailto:postmaster@two.example");
	assert_string_equal(two->spf.include, "mailgun.org");
	assert_string_equal(two->spf.test_ip, "2001:db8::1");
	assert_string_equal(two->spf.flatten[0], "b.example");
	assert_string_equal(two->spf.flatten[1], "c.example");
	assert_null(two->spf.flatten[2]);
	assert_string_equal(cfg.domains[1].zone_id, "Z123");
	assert_string_equal(cfg.domains[1].nameservers[0], "127.0.0.1:5353");
	assert_string_equal(cfg.domains[1].nameservers[1], "[::1]:53");
	assert_string_equal(cfg.domains[1].nameservers[2], "ns1.example");
	assert_null(cfg.domains[1].nameservers[3]);
	config_release(&cfg);
}

static void test_domain_substitution(void **state)
{
	(void)state;
	struct config cfg = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	int rc = load(PROVIDERS
		"defaults: { tracking = { name = \"track.{domain}.\"; };\n"
		"  dmarc = { rua = \"mailto:dmarc@{domain},https://r.example/{domain}\"; }; };\n"
		"domains = ({ name = \"Mail.Example.NET\"; provider = \"local\";\n"
		"  dkim = { selector = \"s1\"; }; spf = { flatten = (\"_spf.{domain}\"); }; });\n",
		&cfg, &err);
	assert_int_equal(rc, 0);
	struct record_policy *p = &cfg.domains[0].policy;
	assert_string_equal(p->tracking.name, "track.mail.example.net.");
	assert_string_equal(p->dmarc.rua, "mailto:dmarc@mail.example.net,"
			    "https://r.example/mail.example.net");
	assert_string_equal(p->dmarc.ruf, "mailto:postmaster@mail.example.net");
	assert_string_equal(p->spf.flatten[0], "_spf.mail.example.net");
	assert_string_equal(p->dkim.selector, "s1");
	config_release(&cfg);
}

static void test_provider_settings_text(void **state)
{
	(void)state;
	struct config cfg = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	/* zonefile only knows `directory`; an integer is printed as text */
	int rc = load("providers: {\n  z = { type = \"zonefile\";\n"
		      "    directory = 42; };\n};\n"
		      "domains = ({ name = \"x.example\"; provider = \"z\"; });\n",
		      &cfg, &err);
	assert_int_equal(rc, 0);
	assert_string_equal(cfg.providers[0].settings[0].value, "42");
	assert_int_equal(cfg.providers[0].settings[0].line, 3);
	config_release(&cfg);
}

static void test_smtp_accepted(void **state)
{
	(void)state;
	struct config cfg = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	int rc = load(PROVIDERS
		"defaults: { smtp = { preset = \"custom\"; host = \"127.0.0.1\";\n"
		"  port = 587; security = \"starttls\"; user = \"me\";\n"
		"  password_env = \"SMTP_PASSWORD\"; from = \"me@{domain}\";\n"
		"  ca_file = \"ca.pem\"; imap = { host = \"127.0.0.1\"; port = 993; }; }; };\n"
		"domains = ({ name = \"x.example\"; provider = \"local\";\n"
		"  smtp = { preset = \"gmail\"; }; });\n", &cfg, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(cfg.ndomains, 1);
	config_release(&cfg);
}

static void test_smtp_unknown_key(void **state)
{
	(void)state;
	expect_error(PROVIDERS
		"domains = ({ name = \"x.example\"; provider = \"local\";\n"
		"  smtp = { host = \"127.0.0.1\";\n"
		"    imap = { host = \"127.0.0.1\"; tls = true; }; }; });\n",
		4, "unknown key 'tls' in smtp.imap of domain 'x.example'");
	expect_error(PROVIDERS
		"defaults: { smtp = {\n port = 0; }; };\n"
		"domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		3, "'smtp.port' must be between 1 and 65535");
	expect_error(PROVIDERS
		"defaults: { smtp = { security = \"ssl\"; }; };\n"
		"domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		2, "'smtp.security' must be starttls or tls, not 'ssl'");
}

/* Load text (one domain, x.example) and return its smtp settings in
 * cfg; the caller releases cfg. */
static const struct smtp_config *smtp_of(const char *text, struct config *cfg)
{
	struct prov_error err = PROV_ERROR_INIT;
	int rc = load(text, cfg, &err);
	if (rc != 0)
		fail_msg("%s", err.msg);
	return &cfg->domains[0].policy.smtp;
}

#define ONE_DOMAIN(smtp) PROVIDERS \
	"domains = ({ name = \"x.example\"; provider = \"local\";\n" \
	"  smtp = { " smtp " }; });\n"

/* Each preset expands to the provider's published settings. */
static void test_smtp_presets(void **state)
{
	(void)state;
	static const struct {
		const char *preset, *host, *imap;
	} want[] = {
		{ "gmail", "smtp.gmail.com", "imap.gmail.com" },
		{ "icloud", "smtp.mail.me.com", "imap.mail.me.com" },
		{ "outlook", "smtp-mail.outlook.com", "outlook.office365.com" },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		char text[600];
		struct config cfg = { 0 };
		snprintf(text, sizeof text, ONE_DOMAIN("preset = \"%s\";"),
			 want[i].preset);
		const struct smtp_config *s = smtp_of(text, &cfg);
		assert_string_equal(s->preset, want[i].preset);
		assert_string_equal(s->host, want[i].host);
		assert_int_equal(s->port, 587);
		assert_string_equal(s->security, "starttls");
		assert_string_equal(s->imap.host, want[i].imap);
		assert_int_equal(s->imap.port, 993);
		assert_string_equal(s->password_env, "SMTP_PASSWORD");
		assert_null(s->user);
		assert_null(s->from);
		assert_null(s->ca_file);
		const struct smtp_preset *p = smtp_preset_find(want[i].preset);
		assert_non_null(p);
		assert_string_equal(p->host, want[i].host);
		config_release(&cfg);
	}
	assert_null(smtp_preset_find("custom"));
	assert_null(smtp_preset_find("yahoo"));
	assert_null(smtp_preset_find(NULL));
}

/* Explicit keys override the preset; what is absent is derived. */
static void test_smtp_overrides(void **state)
{
	(void)state;
	struct config cfg = { 0 };
	const struct smtp_config *s = smtp_of(ONE_DOMAIN(
		"preset = \"gmail\"; port = 465; user = \"me@{domain}\";"
		" imap = { port = 1993; };"), &cfg);
	assert_string_equal(s->host, "smtp.gmail.com");
	assert_int_equal(s->port, 465);
	assert_string_equal(s->security, "tls"); /* from the port */
	assert_string_equal(s->user, "me@x.example");
	assert_string_equal(s->imap.host, "imap.gmail.com");
	assert_int_equal(s->imap.port, 1993);
	config_release(&cfg);

	s = smtp_of(ONE_DOMAIN("preset = \"outlook\"; security = \"tls\";"
			       " host = \"mail.example.net\";"), &cfg);
	assert_string_equal(s->host, "mail.example.net");
	assert_int_equal(s->port, 465); /* from the security */
	assert_string_equal(s->security, "tls");
	assert_string_equal(s->imap.host, "outlook.office365.com");
	config_release(&cfg);

	s = smtp_of(ONE_DOMAIN("preset = \"custom\"; host = \"::1\";"
			       " port = 2525; password_env = \"MY_PW\";"
			       " from = \"me@{domain}\"; ca_file = \"ca.pem\";"),
		    &cfg);
	assert_string_equal(s->host, "::1");
	assert_int_equal(s->port, 2525);
	assert_string_equal(s->security, "starttls");
	assert_null(s->imap.host); /* custom fills nothing */
	assert_int_equal(s->imap.port, 0);
	assert_string_equal(s->password_env, "MY_PW");
	assert_string_equal(s->from, "me@x.example");
	assert_string_equal(s->ca_file, "ca.pem");
	config_release(&cfg);

	s = smtp_of(ONE_DOMAIN("host = \"smtp.example.net\";"
			       " imap = { host = \"imap.example.net\"; };"), &cfg);
	assert_int_equal(s->port, 587);
	assert_string_equal(s->security, "starttls");
	assert_int_equal(s->imap.port, 993);
	config_release(&cfg);
}

/* defaults -> domain, key by key; no smtp group: host NULL. */
static void test_smtp_merge(void **state)
{
	(void)state;
	struct config cfg = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	int rc = load(PROVIDERS
		"defaults: { smtp = { preset = \"icloud\"; user = \"u@{domain}\"; }; };\n"
		"domains = ({ name = \"a.example\"; provider = \"local\"; },\n"
		"  { name = \"b.example\"; provider = \"local\";\n"
		"    smtp = { preset = \"gmail\"; from = \"f@{domain}\"; }; });\n",
		&cfg, &err);
	assert_int_equal(rc, 0);
	const struct smtp_config *a = &cfg.domains[0].policy.smtp;
	const struct smtp_config *b = &cfg.domains[1].policy.smtp;
	assert_string_equal(a->host, "smtp.mail.me.com");
	assert_string_equal(a->user, "u@a.example");
	assert_null(a->from);
	assert_string_equal(b->host, "smtp.gmail.com");
	assert_string_equal(b->imap.host, "imap.gmail.com");
	assert_string_equal(b->user, "u@b.example");
	assert_string_equal(b->from, "f@b.example");
	config_release(&cfg);

	const struct smtp_config *s = smtp_of(PROVIDERS
		"domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		&cfg);
	assert_null(s->host);
	assert_null(s->security);
	assert_int_equal(s->port, 0);
	assert_null(s->password_env);
	config_release(&cfg);
}

static void test_smtp_bad_values(void **state)
{
	(void)state;
	expect_error(ONE_DOMAIN("preset = \"yahoo\";"), 3,
		     "'smtp.preset' must be gmail, icloud, outlook or custom, "
		     "not 'yahoo'");
	expect_error(ONE_DOMAIN("host = \"smtp example.com\";"), 3,
		     "'smtp.host' is not a host name or an IP address");
	expect_error(ONE_DOMAIN("host = \"smtp.example.com/x\";"), 3,
		     "'smtp.host' is not a host name");
	expect_error(ONE_DOMAIN("port = 65536;"), 3,
		     "'smtp.port' must be between 1 and 65535, not 65536");
	expect_error(ONE_DOMAIN("port = \"587\";"), 3,
		     "'smtp.port' must be an integer");
	expect_error(ONE_DOMAIN("from = \"Me <me@x.example>\";"), 3,
		     "'smtp.from' is not an e-mail address");
	expect_error(ONE_DOMAIN("from = \"me@\";"), 3,
		     "'smtp.from' is not an e-mail address");
	expect_error(ONE_DOMAIN("password_env = \"MY-PW\";"), 3,
		     "'smtp.password_env' is not an environment variable name");
	expect_error(ONE_DOMAIN("user = \"\";"), 3,
		     "'smtp.user' must be non-empty");
	expect_error(ONE_DOMAIN("ca_file = 42;"), 3,
		     "'smtp.ca_file' must be a string");
	expect_error(ONE_DOMAIN("imap = { host = \"imap.example.net\"; "
				"port = 0; };"), 3,
		     "'smtp.imap.port' must be between 1 and 65535");
	expect_error(ONE_DOMAIN("imap = \"imap.example.net\";"), 3,
		     "'smtp.imap' must be a group");
	expect_error(PROVIDERS "defaults: { smtp = { host = \"a b\"; }; };\n"
		     "domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		     2, "'smtp.host' is not a host name");
}

static void test_syntax_error(void **state)
{
	(void)state;
	expect_error(PROVIDERS "domains = (\n  { name = \"x.example\"; provider = ; }\n);\n",
		     3, "syntax error");
	expect_error("a = 1;\n\na = 2;\n", 3, "syntax error: duplicate setting name");
}

static void test_unknown_top_level(void **state)
{
	(void)state;
	expect_error(PROVIDERS "\ncolour = true;\n"
		     "domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		     3, "unknown key 'colour' at the top level");
}

static void test_unknown_key_in_group(void **state)
{
	(void)state;
	expect_error(PROVIDERS "defaults: {\n  dmarc = {\n    polcy = \"none\"; };\n};\n"
		     "domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		     4, "unknown key 'polcy' in dmarc of defaults");
	expect_error(PROVIDERS "domains = ({ name = \"x.example\"; provider = \"local\";\n"
		     "  tll = 5; });\n",
		     3, "unknown key 'tll' in domain 'x.example'");
	expect_error(PROVIDERS "defaults: { spf = { include = \"a.example\"; };\n"
		     "  dns = {}; };\n"
		     "domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		     3, "unknown key 'dns' in defaults");
	expect_error("providers: { local = { type = \"zonefile\";\n"
		     "  dir = \"zones\"; }; };\n"
		     "domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		     2, "unknown key 'dir' in provider 'local'");
}

/* `tracking = false;` leaves a record out; defaults' choice is inherited,
 * a domain's `true` or own group brings it back; a number is an error. */
static void test_omit_records(void **state)
{
	(void)state;
	struct config cfg = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	int rc = load(PROVIDERS
		"defaults: { tracking = false; dkim = false; };\n"
		"domains = (\n"
		"  { name = \"one.example\"; provider = \"local\"; },\n"
		"  { name = \"two.example\"; provider = \"local\"; tracking = true;\n"
		"    dkim = { selector = \"s1\"; }; spf = false; dmarc = false; },\n"
		"  { name = \"three.example\"; provider = \"local\"; dmarc = { policy = \"none\"; }; }\n"
		");\n", &cfg, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(cfg.domains[0].policy.omit, REC_TRACKING | REC_DKIM);
	assert_int_equal(cfg.domains[1].policy.omit, REC_SPF | REC_DMARC);
	assert_string_equal(cfg.domains[1].policy.dkim.selector, "s1");
	assert_string_equal(cfg.domains[1].policy.tracking.name, "email.mg3");
	assert_int_equal(cfg.domains[2].policy.omit, REC_TRACKING | REC_DKIM);
	config_release(&cfg);
	expect_error(PROVIDERS "domains = ({ name = \"x.example\"; provider = \"local\";\n"
		     " tracking = 0; });\n",
		     3, "'tracking' must be a group, or false to leave the record out");
	expect_error(PROVIDERS "defaults: {\n  smtp = false; };\n"
		     "domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		     3, "'smtp' must be a group");
}

static void test_wrong_type(void **state)
{
	(void)state;
	expect_error(PROVIDERS "defaults: {\n  ttl = \"x\"; };\n"
		     "domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		     3, "'ttl' must be an integer");
	expect_error(PROVIDERS "defaults: {\n  dkim = \"pic\"; };\n"
		     "domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		     3, "'dkim' must be a group, or false");
	expect_error(PROVIDERS "domains = ({ name = \"x.example\"; provider = \"local\";\n"
		     " dmarc = { pct = \"50\"; }; });\n",
		     3, "'dmarc.pct' must be an integer");
	expect_error(PROVIDERS "domains = ({ name = \"x.example\"; provider = \"local\";\n"
		     " spf = { flatten = \"a.example\"; }; });\n",
		     3, "'spf.flatten' must be a list");
}

static void test_negative_ttl(void **state)
{
	(void)state;
	expect_error(PROVIDERS "domains = ({ name = \"x.example\"; provider = \"local\";\n"
		     "\n  ttl = -1; });\n",
		     4, "'ttl' must be between 0 and 2147483647");
}

static void test_bad_policy(void **state)
{
	(void)state;
	expect_error(PROVIDERS "domains = (\n { name = \"x.example\"; provider = \"local\";\n"
		     "   dmarc = { policy = \"strict\"; }; });\n",
		     4, "'dmarc.policy' must be none, quarantine or reject, not 'strict'");
}

static void test_bad_all(void **state)
{
	(void)state;
	expect_error(PROVIDERS "defaults: { spf = {\n all = \"+all\"; }; };\n"
		     "domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		     3, "'spf.all' must be ~all, -all or ?all, not '+all'");
}

static void test_bad_pct(void **state)
{
	(void)state;
	expect_error(PROVIDERS "defaults: { dmarc = {\n pct = 101; }; };\n"
		     "domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		     3, "'dmarc.pct' must be between 0 and 100");
}

static void test_bad_test_ip(void **state)
{
	(void)state;
	expect_error(PROVIDERS "defaults: { spf = {\n test_ip = \"300.1.2.3\"; }; };\n"
		     "domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
		     3, "'spf.test_ip' is not an IPv4 or IPv6 address: '300.1.2.3'");
}

/* The other value checks, one line each. */
static void test_bad_values(void **state)
{
	(void)state;
	static const struct {
		const char *group, *want;
	} cases[] = {
		{ "dmarc = { rua = \"postmaster@x.example\"; }", "'dmarc.rua'" },
		{ "dmarc = { ruf = \"mailto:postmaster\"; }", "'dmarc.ruf'" },
		{ "dmarc = { fo = \"1:x\"; }", "'dmarc.fo'" },
		{ "dmarc = { sp = \"strict\"; }", "'dmarc.sp'" },
		{ "dmarc = { aspf = \"x\"; }", "'dmarc.aspf'" },
		{ "dkim = { key = \"not base64!\"; }", "'dkim.key'" },
		{ "dkim = { key = \"\"; }", "'dkim.key'" },
		{ "dkim = { selector = \"a..b\"; }", "'dkim.selector'" },
		{ "spf = { include = \"mail gun.org\"; }", "'spf.include'" },
		{ "tracking = { target = \"\"; }", "'tracking.target'" },
		{ "tracking = { name = \"a/b\"; }", "'tracking.name'" },
	};
	char text[512];
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		snprintf(text, sizeof text, PROVIDERS "defaults: {\n %s; };\n"
			 "domains = ({ name = \"x.example\"; provider = \"local\"; });\n",
			 cases[i].group);
		expect_error(text, 3, cases[i].want);
	}
}

static void test_unknown_provider_type(void **state)
{
	(void)state;
	expect_error("providers: {\n  cf = {\n    type = \"nosuchdns\"; };\n};\n"
		     "domains = ({ name = \"x.example\"; provider = \"cf\"; });\n",
		     3, "provider 'cf' has unknown type 'nosuchdns' (known types: ");
	assert_non_null(strstr(last_msg, "zonefile")); /* the list */
	expect_error("providers: {\n  cf = { directory = \"z\"; };\n};\n"
		     "domains = ({ name = \"x.example\"; provider = \"cf\"; });\n",
		     2, "provider 'cf' has no 'type'");
}

static void test_missing_provider(void **state)
{
	(void)state;
	expect_error(PROVIDERS "domains = (\n  { name = \"example.org\";\n"
		     "    provider = \"cf2\"; }\n);\n",
		     4, "domain 'example.org' names provider 'cf2', which is not "
			"defined in providers");
	expect_error(PROVIDERS "domains = (\n  { name = \"example.org\"; }\n);\n",
		     3, "domain 'example.org' has no 'provider'");
}

static void test_missing_name(void **state)
{
	(void)state;
	expect_error(PROVIDERS "domains = (\n  { name = \"a.example\"; provider = \"local\"; },\n"
		     "  { provider = \"local\"; }\n);\n",
		     4, "domain entry has no 'name'");
	expect_error(PROVIDERS "domains = (\n  { name = \"bad_name!\"; provider = \"local\"; });\n",
		     3, "'name' is not a valid DNS name");
}

static void test_domains_required(void **state)
{
	(void)state;
	expect_error(PROVIDERS, 1, "'domains' is missing");
	expect_error(PROVIDERS "\ndomains = ();\n", 3, "'domains' must not be empty");
	expect_error(PROVIDERS "domains = \"x.example\";\n", 2, "'domains' must be a list");
}

static void test_duplicate_domain(void **state)
{
	(void)state;
	expect_error(PROVIDERS "domains = (\n  { name = \"a.example\"; provider = \"local\"; },\n"
		     "  { name = \"A.Example.\"; provider = \"local\"; }\n);\n",
		     4, "domain 'a.example' is listed twice (first on line 3)");
}

static void test_missing_file(void **state)
{
	(void)state;
	struct config cfg = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	char path[160];
	snprintf(path, sizeof path, "%s/absent.cfg", tmpdir);
	assert_int_equal(config_load(path, &cfg, &err), PROV_ERR_CONFIG);
	char want[300];
	snprintf(want, sizeof want, "%s: cannot read configuration: No such "
		 "file or directory", path);
	assert_string_equal(err.msg, want);
	assert_null(cfg.file);

	prov_error_clear(&err);
	assert_int_equal(config_load(tmpdir, &cfg, &err), PROV_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "cannot read configuration: Is a directory"));
}

static void test_release_zeroed(void **state)
{
	(void)state;
	struct config cfg = { 0 };
	config_release(&cfg);
	config_release(NULL);
	assert_null(config_find_domain(&cfg, "x.example"));
	assert_null(config_find_domain(NULL, "x.example"));
}

/* The README's example stays loadable (found from this file's path when
 * the test runs from the source tree). */
static void test_example_cfg(void **state)
{
	(void)state;
	char path[512];
	const char *me = __FILE__, *tail = strstr(me, "tests/unit/test_config.c");
	if (!tail)
		skip();
	snprintf(path, sizeof path, "%.*sconfig/example.cfg", (int)(tail - me), me);
	if (access(path, R_OK) != 0)
		skip();
	struct config cfg = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	int rc = config_load(path, &cfg, &err);
	if (rc != 0)
		fail_msg("%s", err.msg);
	struct domain_config *d = config_find_domain(&cfg, "example.com");
	assert_non_null(d);
	assert_string_equal(d->provider, "local");
	assert_string_equal(d->prov->type, "zonefile");
	assert_string_equal(provider_setting(d->prov, "directory"), "zones");
	config_release(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contract_example),
		cmocka_unit_test(test_builtin_defaults),
		cmocka_unit_test(test_override),
		cmocka_unit_test(test_domain_substitution),
		cmocka_unit_test(test_provider_settings_text),
		cmocka_unit_test(test_smtp_accepted),
		cmocka_unit_test(test_smtp_unknown_key),
		cmocka_unit_test(test_smtp_presets),
		cmocka_unit_test(test_smtp_overrides),
		cmocka_unit_test(test_smtp_merge),
		cmocka_unit_test(test_smtp_bad_values),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_unknown_top_level),
		cmocka_unit_test(test_unknown_key_in_group),
		cmocka_unit_test(test_omit_records),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_negative_ttl),
		cmocka_unit_test(test_bad_policy),
		cmocka_unit_test(test_bad_all),
		cmocka_unit_test(test_bad_pct),
		cmocka_unit_test(test_bad_test_ip),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_unknown_provider_type),
		cmocka_unit_test(test_missing_provider),
		cmocka_unit_test(test_missing_name),
		cmocka_unit_test(test_domains_required),
		cmocka_unit_test(test_duplicate_domain),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_release_zeroed),
		cmocka_unit_test(test_example_cfg),
	};
	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
