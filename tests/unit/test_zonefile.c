/*
 * test_zonefile.c - the BIND zone-file provider on real files in a temporary
 * directory: list, in-place updates compared with a golden file, appended
 * records, the SOA serial, .bak, no-op applies, errors with line numbers,
 * failed writes leaving the original intact, and named-checkzone (plus
 * kzonecheck when installed) on what was written.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "provision/provider.h"
#include "provision/util.h"

extern const struct provider_ops provider_zonefile;

#define SPF_OLD "v=spf1 mx include:_spf.google.com ~all"
#define SPF_NEW "v=spf1 mx include:_spf.google.com include:mailgun.org ~all"
#define GOOGLE "google-site-verification=Xy7-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"

struct fixture {
	char dir[64];   /* the temporary base directory */
	char zones[96]; /* its zones/ */
	struct provider_setting set;
	struct provider_config cfg;
	void *h;
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t k;
	if (!f)
		return NULL;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		assert_int_equal(buf_add(&b, chunk, k), 0);
	fclose(f);
	if (len)
		*len = b.len;
	return b.data ? buf_detach(&b) : strdup("");
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* tests/data/zones/<name>, found from this file's path. */
static char *data_path(const char *name)
{
	const char *src = __FILE__, *cut = strstr(src, "unit/test_zonefile.c");
	struct buf b = BUF_INIT;
	assert_non_null(cut);
	assert_int_equal(buf_printf(&b, "%.*sdata/zones/%s", (int)(cut - src),
				    src, name), 0);
	return buf_detach(&b);
}

static char *zpath(const struct fixture *fx, const char *name)
{
	struct buf b = BUF_INIT;
	assert_int_equal(buf_printf(&b, "%s/%s", fx->zones, name), 0);
	return buf_detach(&b);
}

/* Copy a sample zone into zones/<as>. */
static void install(struct fixture *fx, const char *sample, const char *as)
{
	char *src = data_path(sample), *dst = zpath(fx, as);
	char *text = slurp(src, NULL);
	assert_non_null(text);
	spit(dst, text);
	free(text);
	free(src);
	free(dst);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/zonefile-test.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->zones, sizeof fx->zones, "%s/zones", fx->dir);
	assert_int_equal(mkdir(fx->zones, 0755), 0);
	fx->set.key = (char *)"directory";
	fx->set.value = (char *)"zones";
	fx->cfg.name = (char *)"local";
	fx->cfg.type = (char *)"zonefile";
	fx->cfg.ops = &provider_zonefile;
	fx->cfg.settings = &fx->set;
	fx->cfg.nsettings = 1;
	fx->cfg.file = "test.cfg";
	fx->cfg.base_dir = fx->dir;
	struct prov_error err = PROV_ERROR_INIT;
	assert_int_equal(provider_zonefile.open(&fx->cfg, &fx->h, &err), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[200];
	provider_zonefile.close(fx->h);
	chmod(fx->zones, 0755);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static const struct rrset *find(const struct rrset_list *l, const char *name,
				uint16_t type)
{
	return rrset_list_find(l, name, type);
}

static int has_value(const struct rrset *s, const char *v)
{
	for (size_t i = 0; s && s->values[i]; i++)
		if (strcmp(s->values[i], v) == 0)
			return 1;
	return 0;
}

static int do_list(struct fixture *fx, const char *zone, char *const *names,
		   struct rrset_list *out, struct prov_error *err)
{
	const struct zone z = { zone, NULL };
	return provider_zonefile.list(fx->h, &z, names, out, err);
}

static int do_apply(struct fixture *fx, const char *zone,
		    const struct change *c, size_t n, size_t *applied,
		    struct prov_error *err)
{
	const struct zone z = { zone, NULL };
	return provider_zonefile.apply(fx->h, &z, c, n, applied, err);
}

/* Run a checker on a written zone; its output is shown when it fails. */
static int run_cmd(const char *cmd)
{
	char line[512];
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	struct buf out = BUF_INIT;
	while (fgets(line, sizeof line, p))
		buf_puts(&out, line);
	int st = pclose(p);
	if (st != 0)
		print_message("%s failed:\n%s", cmd, buf_str(&out));
	buf_release(&out);
	return st;
}

static int run_check(const char *tool, const char *zone, const char *path)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "%s %s '%s' 2>&1", tool, zone, path);
	return run_cmd(cmd);
}

/* Knot's offline check: kzonecheck where installed, else knotc zone-check
 * with a throw-away configuration (Knot 3.2 in Debian 12 has no kzonecheck;
 * zone-check runs without a server). */
static int knot_check(const char *zone, const char *path)
{
	if (access("/usr/bin/kzonecheck", X_OK) == 0)
		return run_check("/usr/bin/kzonecheck -o", zone, path);
	if (access("/usr/sbin/knotc", X_OK) != 0)
		return 0;
	char conf[200], cmd[400], *dir = strdup(path), *slash = strrchr(dir, '/');
	assert_non_null(slash);
	*slash = '\0';
	snprintf(conf, sizeof conf, "%s/.knot-check.conf", dir);
	FILE *f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "server:\n    rundir: %s\ntemplate:\n  - id: default\n"
		"    storage: %s\n    file: \"%s\"\nzone:\n  - domain: %s\n",
		dir, dir, slash + 1, zone);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof cmd, "/usr/sbin/knotc -c '%s' zone-check %s 2>&1",
		 conf, zone);
	int st = run_cmd(cmd);
	unlink(conf);
	free(dir);
	return st;
}

static void check_zone(const char *zone, const char *path)
{
	assert_int_equal(run_check("named-checkzone", zone, path), 0);
	assert_int_equal(knot_check(zone, path), 0);
}

static uint32_t today_serial(void)
{
	time_t now = time(NULL);
	struct tm tm;
	assert_non_null(gmtime_r(&now, &tm));
	return (uint32_t)(tm.tm_year + 1900) * 1000000u +
	       (uint32_t)(tm.tm_mon + 1) * 10000u + (uint32_t)tm.tm_mday * 100u;
}

static struct change mk(enum change_action a, const char *name, uint16_t type,
			uint32_t ttl, const char *before, const char *after)
{
	struct change c = { a, (char *)name, type, ttl, (char *)before,
			    (char *)after, "test" };
	return c;
}

/* ---- list ---- */

static void test_list_sample(void **state)
{
	struct fixture *fx = *state;
	struct rrset_list l = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	char *names[] = { (char *)"example.com.",
			  (char *)"old._domainkey.example.com.",
			  (char *)"WWW.example.com", (char *)"mail.example.com.",
			  (char *)"nothere.example.com.", NULL };
	install(fx, "example.com.zone", "example.com.zone");
	assert_int_equal(do_list(fx, "example.com.", names, &l, &err), 0);

	const struct rrset *txt = find(&l, "example.com.", RR_TXT);
	assert_non_null(txt);
	assert_int_equal(strv_len(txt->values), 3);
	assert_true(has_value(txt, SPF_OLD));
	assert_true(has_value(txt, GOOGLE));
	assert_true(has_value(txt, "MS=ms12345678"));
	assert_int_equal(txt->ttl, 3600);

	const struct rrset *dkim = find(&l, "old._domainkey.example.com.", RR_TXT);
	assert_non_null(dkim);
	assert_string_equal(dkim->values[0], "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3"
			    "DQEBAQUAA4GNADCBiQKBgQC1");
	assert_null(dkim->values[1]);

	const struct rrset *ns = find(&l, "example.com.", RR_NS);
	assert_non_null(ns);
	assert_true(has_value(ns, "ns1.example.com."));
	assert_true(has_value(ns, "ns2.example.net."));
	const struct rrset *mx = find(&l, "example.com.", RR_MX);
	assert_non_null(mx);
	assert_string_equal(mx->values[0], "mail.example.com.");
	const struct rrset *soa = find(&l, "example.com.", RR_SOA);
	assert_non_null(soa);
	assert_non_null(strstr(soa->values[0], " 2024010101 "));

	const struct rrset *www = find(&l, "www.example.com.", RR_CNAME);
	assert_non_null(www);
	assert_string_equal(www->values[0], "web.example.com.");
	const struct rrset *mail = find(&l, "mail.example.com.", RR_A);
	assert_non_null(mail);
	assert_int_equal(mail->ttl, 300);
	assert_string_equal(mail->values[0], "192.0.2.25");
	assert_false(rrset_list_has_other(&l, "nothere.example.com.", 0));
	assert_null(find(&l, "web.example.com.", RR_A)); /* not asked for */
	rrset_list_release(&l);
}

static void test_missing_file(void **state)
{
	struct fixture *fx = *state;
	struct rrset_list l = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	char *names[] = { (char *)"example.com.", NULL };
	size_t applied = 7;
	struct change c = mk(CHANGE_CREATE, "_dmarc.example.com.", RR_TXT, 300,
			     NULL, "v=DMARC1; p=none");
	assert_int_equal(do_list(fx, "example.com.", names, &l, &err),
			 PROV_ERR_RUNTIME);
	assert_string_equal(err.msg, "zonefile: zone file "
			    "'zones/example.com.zone' not found");
	prov_error_clear(&err);
	assert_int_equal(do_apply(fx, "example.com.", &c, 1, &applied, &err),
			 PROV_ERR_RUNTIME);
	assert_int_equal(applied, 0);
	assert_string_equal(err.msg, "zonefile: zone file "
			    "'zones/example.com.zone' not found");
	rrset_list_release(&l);
}

static void test_malformed(void **state)
{
	struct fixture *fx = *state;
	struct rrset_list l = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	char *names[] = { (char *)"bad.example.", NULL };
	size_t applied = 7;
	struct change c = mk(CHANGE_CREATE, "_dmarc.bad.example.", RR_TXT, 300,
			     NULL, "v=DMARC1; p=none");
	install(fx, "bad.example.zone", "bad.example.zone");
	char *path = zpath(fx, "bad.example.zone"), *before = slurp(path, NULL);
	assert_int_equal(do_list(fx, "bad.example.", names, &l, &err),
			 PROV_ERR_RUNTIME);
	const char *want = "zonefile: zones/bad.example.zone:9: ";
	assert_memory_equal(err.msg, want, strlen(want));
	assert_true(strlen(err.msg) > strlen(want) + 3);
	prov_error_clear(&err);
	assert_int_equal(do_apply(fx, "bad.example.", &c, 1, &applied, &err),
			 PROV_ERR_RUNTIME);
	assert_memory_equal(err.msg, want, strlen(want));
	char *after = slurp(path, NULL);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(path);
	rrset_list_release(&l);
}

static void test_include_refused(void **state)
{
	struct fixture *fx = *state;
	struct rrset_list l = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	install(fx, "inc.example.zone", "inc.example.zone");
	assert_int_equal(do_list(fx, "inc.example.", NULL, &l, &err),
			 PROV_ERR_RUNTIME);
	assert_string_equal(err.msg, "zonefile: zones/inc.example.zone:4: "
			    "$INCLUDE is not supported");
	rrset_list_release(&l);
}

/* ---- apply ---- */

/* The golden file with @SERIAL@ replaced by serial. */
static char *golden(const char *name, uint32_t serial)
{
	char *path = data_path(name), *text = slurp(path, NULL), num[16];
	assert_non_null(text);
	char *at = strstr(text, "@SERIAL@");
	assert_non_null(at);
	snprintf(num, sizeof num, "%u", (unsigned)serial);
	struct buf b = BUF_INIT;
	assert_int_equal(buf_printf(&b, "%.*s%s%s", (int)(at - text), text, num,
				    at + strlen("@SERIAL@")), 0);
	free(text);
	free(path);
	return buf_detach(&b);
}

static void test_apply_spf_update(void **state)
{
	struct fixture *fx = *state;
	struct prov_error err = PROV_ERROR_INIT;
	struct rrset_list l = { 0 };
	char *names[] = { (char *)"example.com.", NULL };
	size_t applied = 0;
	struct change c = mk(CHANGE_UPDATE, "example.com.", RR_TXT, 3600,
			     SPF_OLD, SPF_NEW);
	install(fx, "example.com.zone", "example.com.zone");
	char *path = zpath(fx, "example.com.zone"), *bak = zpath(fx, "example.com.zone.bak");
	assert_int_equal(chmod(path, 0640), 0);
	char *orig = slurp(path, NULL);

	assert_int_equal(do_apply(fx, "example.com.", &c, 1, &applied, &err), 0);
	assert_int_equal(applied, 1);
	uint32_t serial = today_serial(); /* 2024010101 is in the past */
	char *want = golden("example.com.zone.spf-golden", serial);
	char *got = slurp(path, NULL), *old = slurp(bak, NULL);
	assert_string_equal(got, want);
	assert_non_null(old);
	assert_string_equal(old, orig);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);

	assert_int_equal(do_list(fx, "example.com.", names, &l, &err), 0);
	const struct rrset *txt = find(&l, "example.com.", RR_TXT);
	assert_non_null(txt);
	assert_int_equal(strv_len(txt->values), 3);
	assert_true(has_value(txt, SPF_NEW));
	assert_true(has_value(txt, GOOGLE));
	assert_true(has_value(txt, "MS=ms12345678"));
	assert_false(has_value(txt, SPF_OLD));
	char num[16];
	snprintf(num, sizeof num, " %u ", (unsigned)serial);
	assert_non_null(strstr(find(&l, "example.com.", RR_SOA)->values[0], num));
	check_zone("example.com", path);

	/* a second apply of the same change finds nothing to do */
	c = mk(CHANGE_UPDATE, "example.com.", RR_TXT, 3600, SPF_NEW, SPF_NEW);
	assert_int_equal(do_apply(fx, "example.com.", &c, 1, &applied, &err), 0);
	char *again = slurp(path, NULL);
	assert_string_equal(again, want);
	free(again);
	rrset_list_release(&l);
	free(want);
	free(got);
	free(old);
	free(orig);
	free(path);
	free(bak);
}

/* A 2048-bit DKIM record: 401 characters with its tags. */
static char *dkim_value(void)
{
	struct buf b = BUF_INIT;
	assert_int_equal(buf_puts(&b, "v=DKIM1; k=rsa; p="), 0);
	for (int i = 0; b.len < 401; i++)
		assert_int_equal(buf_putc(&b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
					  "ghijklmnopqrstuvwxyz0123456789+/"[i % 64]), 0);
	assert_int_equal(b.len, 401);
	return buf_detach(&b);
}

/* The record ldns reads at name/type in a zone file (first of them). */
static size_t rdata_strings(const char *path, const char *zone,
			    const char *name)
{
	FILE *f = fopen(path, "r");
	ldns_zone *z = NULL;
	ldns_rdf *origin = ldns_dname_new_frm_str(zone);
	ldns_rdf *want = ldns_dname_new_frm_str(name);
	size_t n = 0;
	assert_non_null(f);
	assert_int_equal(ldns_zone_new_frm_fp(&z, f, origin, 3600,
					      LDNS_RR_CLASS_IN), LDNS_STATUS_OK);
	ldns_rr_list *rrs = ldns_zone_rrs(z);
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT &&
		    ldns_dname_compare(ldns_rr_owner(rr), want) == 0)
			n = ldns_rr_rd_count(rr);
	}
	ldns_zone_deep_free(z);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(want);
	fclose(f);
	return n;
}

static void test_apply_creates(void **state)
{
	struct fixture *fx = *state;
	struct prov_error err = PROV_ERROR_INIT;
	struct rrset_list l = { 0 };
	char *dkim = dkim_value();
	char *names[] = { (char *)"s1._domainkey.example.com.",
			  (char *)"_dmarc.example.com.",
			  (char *)"email.example.com.", NULL };
	struct change c[] = {
		mk(CHANGE_CREATE, "s1._domainkey.example.com.", RR_TXT, 3600,
		   NULL, dkim),
		mk(CHANGE_CREATE, "_dmarc.example.com.", RR_TXT, 3600, NULL,
		   "v=DMARC1; p=none; rua=mailto:dmarc@example.com"),
		mk(CHANGE_CREATE, "email.example.com.", RR_CNAME, 300, NULL,
		   "Mailgun.ORG."),
	};
	size_t applied = 0;
	install(fx, "example.com.zone", "example.com.zone");
	char *path = zpath(fx, "example.com.zone");
	char *orig = slurp(path, NULL);
	assert_int_equal(do_apply(fx, "example.com.", c, 3, &applied, &err), 0);
	assert_int_equal(applied, 3);
	char *got = slurp(path, NULL);
	/* the old text is untouched up to the serial, and all of it is kept */
	assert_memory_equal(got, orig, strstr(orig, "2024010101") - orig);
	char *tail = strstr(orig, "\t\t\t7200");
	assert_non_null(strstr(got, tail));
	assert_non_null(strstr(got, "\n_dmarc.example.com.\t3600\tIN\tTXT\t"
			       "\"v=DMARC1; p=none; rua=mailto:dmarc@example.com\"\n"));
	assert_non_null(strstr(got, "\nemail.example.com.\t300\tIN\tCNAME\t"
			       "mailgun.org.\n"));
	assert_int_equal(rdata_strings(path, "example.com.",
				       "s1._domainkey.example.com."), 2);

	assert_int_equal(do_list(fx, "example.com.", names, &l, &err), 0);
	const struct rrset *s = find(&l, "s1._domainkey.example.com.", RR_TXT);
	assert_non_null(s);
	assert_string_equal(s->values[0], dkim);
	assert_null(s->values[1]);
	s = find(&l, "_dmarc.example.com.", RR_TXT);
	assert_non_null(s);
	assert_string_equal(s->values[0],
			    "v=DMARC1; p=none; rua=mailto:dmarc@example.com");
	s = find(&l, "email.example.com.", RR_CNAME);
	assert_non_null(s);
	assert_int_equal(s->ttl, 300);
	assert_string_equal(s->values[0], "mailgun.org.");
	check_zone("example.com", path);

	/* creating what is there already changes nothing at all */
	struct stat st1, st2;
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(do_apply(fx, "example.com.", c, 3, &applied, &err), 0);
	assert_int_equal(applied, 3);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
	assert_int_equal(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
	rrset_list_release(&l);
	free(got);
	free(orig);
	free(path);
	free(dkim);
}

static void test_apply_nothing(void **state)
{
	struct fixture *fx = *state;
	struct prov_error err = PROV_ERROR_INIT;
	size_t applied = 9;
	install(fx, "example.com.zone", "example.com.zone");
	char *path = zpath(fx, "example.com.zone"), *bak = zpath(fx, "example.com.zone.bak");
	struct stat st1, st2;
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(do_apply(fx, "example.com.", NULL, 0, &applied, &err), 0);
	assert_int_equal(applied, 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
	assert_int_equal(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
	assert_int_equal(access(bak, F_OK), -1); /* nothing written at all */
	free(path);
	free(bak);
}

/* Names of the files in dir, sorted, one per line. */
static char *listing(const char *dir)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "ls -A '%s'", dir);
	FILE *p = popen(cmd, "r");
	struct buf b = BUF_INIT;
	char line[256];
	assert_non_null(p);
	while (fgets(line, sizeof line, p))
		buf_puts(&b, line);
	assert_int_equal(pclose(p), 0);
	return buf_detach(&b);
}

static void test_unwritable_bak(void **state)
{
	struct fixture *fx = *state;
	struct prov_error err = PROV_ERROR_INIT;
	size_t applied = 9;
	struct change c = mk(CHANGE_UPDATE, "example.com.", RR_TXT, 3600,
			     SPF_OLD, SPF_NEW);
	install(fx, "example.com.zone", "example.com.zone");
	char *path = zpath(fx, "example.com.zone"), *bak = zpath(fx, "example.com.zone.bak");
	assert_int_equal(mkdir(bak, 0755), 0); /* fails even for root */
	char *lock = zpath(fx, "example.com.zone.lock"); /* stays: it is no temporary */
	int lfd = open(lock, O_CREAT | O_WRONLY, 0644);
	assert_true(lfd >= 0);
	close(lfd);
	free(lock);
	char *orig = slurp(path, NULL), *files = listing(fx->zones);
	assert_int_equal(do_apply(fx, "example.com.", &c, 1, &applied, &err),
			 PROV_ERR_RUNTIME);
	assert_int_equal(applied, 0);
	assert_string_equal(err.msg, "zonefile: cannot write "
			    "zones/example.com.zone.bak: Is a directory");
	char *now = slurp(path, NULL), *files2 = listing(fx->zones);
	assert_string_equal(now, orig);
	assert_string_equal(files2, files); /* no temporary file left */
	free(now);
	free(files);
	free(files2);
	free(orig);
	free(path);
	free(bak);
}

/* A read-only directory, as an unprivileged user (root ignores modes). */
static void test_unwritable_dir(void **state)
{
	struct fixture *fx = *state;
	int fds[2];
	install(fx, "example.com.zone", "example.com.zone");
	char *path = zpath(fx, "example.com.zone"), *orig = slurp(path, NULL);
	assert_int_equal(chmod(fx->dir, 0755), 0);
	assert_int_equal(chmod(fx->zones, 0555), 0);
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct prov_error err = PROV_ERROR_INIT;
		struct change c = mk(CHANGE_UPDATE, "example.com.", RR_TXT,
				     3600, SPF_OLD, SPF_NEW);
		size_t applied = 9;
		close(fds[0]);
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(77);
		int rc = do_apply(fx, "example.com.", &c, 1, &applied, &err);
		char line[1200];
		int k = snprintf(line, sizeof line, "%d %zu %s", rc, applied,
				 err.msg);
		_exit(write(fds[1], line, (size_t)k) == k ? 0 : 1);
	}
	close(fds[1]);
	char msg[1200] = { 0 };
	ssize_t k = read(fds[0], msg, sizeof msg - 1);
	close(fds[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77) {
		free(path);
		free(orig);
		skip();
	}
	assert_true(k > 0);
	assert_string_equal(msg, "-1 0 zonefile: cannot write "
			    "zones/example.com.zone: Permission denied");
	char *now = slurp(path, NULL);
	assert_string_equal(now, orig);
	free(now);
	free(orig);
	free(path);
}

/* Serial arithmetic, and a deleted record whose owner the next inherits. */
static void test_delete_and_plain_serial(void **state)
{
	struct fixture *fx = *state;
	struct prov_error err = PROV_ERROR_INIT;
	struct rrset_list l = { 0 };
	char *names[] = { (char *)"serial.example.", NULL };
	size_t applied = 0;
	struct change c = mk(CHANGE_DELETE, "serial.example.", RR_TXT, 300,
			     "v=spf1 -all", NULL);
	install(fx, "serial.example.zone", "serial.example.zone");
	char *path = zpath(fx, "serial.example.zone");
	assert_int_equal(do_apply(fx, "serial.example.", &c, 1, &applied, &err), 0);
	char *got = slurp(path, NULL);
	assert_string_equal(got,
		"$TTL 300\n"
		"@ IN SOA ns1 hostmaster ( 8 7200 3600 1209600 300 )\n"
		"@ IN NS ns1\n"
		"ns1 IN A 192.0.2.53\n"
		"; the SPF has an explicit owner; the record after it inherits it\n"
		"serial.example.  IN TXT \"keep=me\"\n");
	assert_int_equal(do_list(fx, "serial.example.", names, &l, &err), 0);
	const struct rrset *txt = find(&l, "serial.example.", RR_TXT);
	assert_non_null(txt);
	assert_string_equal(txt->values[0], "keep=me");
	assert_null(txt->values[1]);
	check_zone("serial.example", path);
	rrset_list_release(&l);
	free(got);
	free(path);
}

static void serial_case(struct fixture *fx, const char *from, const char *to)
{
	struct prov_error err = PROV_ERROR_INIT;
	struct buf b = BUF_INIT;
	size_t applied = 0;
	struct change c = mk(CHANGE_CREATE, "_dmarc.s.example.", RR_TXT, 300,
			     NULL, "v=DMARC1; p=none");
	char *path = zpath(fx, "s.example.zone");
	buf_printf(&b, "s.example. 300 IN SOA ns1.s.example. h.s.example. "
		   "%s 7200 3600 1209600 300\ns.example. 300 IN NS ns1.s.example.\n"
		   "ns1.s.example. 300 IN A 192.0.2.1", from);
	spit(path, buf_str(&b)); /* no final newline: one is added */
	assert_int_equal(do_apply(fx, "s.example.", &c, 1, &applied, &err), 0);
	buf_release(&b);
	buf_printf(&b, "s.example. 300 IN SOA ns1.s.example. h.s.example. "
		   "%s 7200 3600 1209600 300\ns.example. 300 IN NS ns1.s.example.\n"
		   "ns1.s.example. 300 IN A 192.0.2.1\n"
		   "_dmarc.s.example.\t300\tIN\tTXT\t\"v=DMARC1; p=none\"\n", to);
	char *got = slurp(path, NULL);
	assert_string_equal(got, buf_str(&b));
	free(got);
	buf_release(&b);
	free(path);
}

static void test_serials(void **state)
{
	struct fixture *fx = *state;
	serial_case(fx, "2099123199", "2099123200"); /* a date ahead of today */
	serial_case(fx, "4294967295", "0");          /* RFC 1982 wraps */
	serial_case(fx, "41", "42");
}

static void test_before_missing(void **state)
{
	struct fixture *fx = *state;
	struct prov_error err = PROV_ERROR_INIT;
	size_t applied = 9;
	struct change c[] = {
		mk(CHANGE_CREATE, "_dmarc.example.com.", RR_TXT, 3600, NULL,
		   "v=DMARC1; p=none"),
		mk(CHANGE_UPDATE, "example.com.", RR_TXT, 3600,
		   "v=spf1 -all", SPF_NEW),
	};
	install(fx, "example.com.zone", "example.com.zone");
	char *path = zpath(fx, "example.com.zone"), *orig = slurp(path, NULL);
	assert_int_equal(do_apply(fx, "example.com.", c, 2, &applied, &err),
			 PROV_ERR_RUNTIME);
	assert_int_equal(applied, 0);
	assert_non_null(strstr(err.msg, "'v=spf1 -all' at example.com. not found"));
	char *now = slurp(path, NULL);
	assert_string_equal(now, orig); /* all or nothing */
	free(now);
	free(orig);
	free(path);
}

/* TTL change of a managed value rewrites it in place; other types keep. */
static void test_ttl_update_and_cwd(void **state)
{
	struct fixture *fx = *state;
	struct prov_error err = PROV_ERROR_INIT;
	struct provider_setting set = { (char *)"directory", (char *)"zones", 1 };
	struct provider_config cfg = fx->cfg;
	void *h = NULL;
	size_t applied = 0;
	struct change c = mk(CHANGE_UPDATE, "mail.example.com.", RR_A, 600,
			     "192.0.2.25", "192.0.2.25");
	int here = open(".", O_RDONLY | O_DIRECTORY);
	install(fx, "example.com.zone", "example.com.zone");
	cfg.settings = &set;
	cfg.base_dir = NULL; /* relative to the current directory */
	assert_true(here >= 0);
	assert_int_equal(chdir(fx->dir), 0);
	assert_int_equal(provider_zonefile.open(&cfg, &h, &err), 0);
	const struct zone z = { "example.com.", NULL };
	int rc = provider_zonefile.apply(h, &z, &c, 1, &applied, &err);
	provider_zonefile.close(h);
	assert_int_equal(fchdir(here), 0);
	close(here);
	assert_int_equal(rc, 0);
	char *path = zpath(fx, "example.com.zone"), *got = slurp(path, NULL);
	assert_non_null(strstr(got, "\nmail.example.com.\t600\tIN\tA\t192.0.2.25\n"
			       "www\tIN\tCNAME"));
	assert_null(strstr(got, "mail\t300"));
	check_zone("example.com", path);
	free(got);
	free(path);
}

/* A zone file that is a symbolic link stays one; its target is updated. */
static void test_symlink_kept(void **state)
{
	struct fixture *fx = *state;
	struct prov_error err = PROV_ERROR_INIT;
	size_t applied = 0;
	struct change c = mk(CHANGE_UPDATE, "example.com.", RR_TXT, 3600,
			     SPF_OLD, SPF_NEW);
	install(fx, "example.com.zone", "real.zone");
	char *path = zpath(fx, "example.com.zone"), *real = zpath(fx, "real.zone");
	assert_int_equal(symlink("real.zone", path), 0);
	assert_int_equal(do_apply(fx, "example.com.", &c, 1, &applied, &err), 0);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	char *got = slurp(real, NULL);
	assert_non_null(strstr(got, SPF_NEW));
	free(got);
	free(path);
	free(real);
}

static void test_open_settings(void **state)
{
	(void)state;
	struct prov_error err = PROV_ERROR_INIT;
	struct provider_setting set = { (char *)"directory", (char *)"", 3 };
	struct provider_config cfg = { 0 };
	void *h = (void *)1;
	cfg.settings = &set;
	cfg.nsettings = 1;
	cfg.file = "p.cfg";
	cfg.line = 3;
	assert_int_equal(provider_zonefile.open(&cfg, &h, &err), PROV_ERR_CONFIG);
	assert_null(h);
	assert_non_null(strstr(err.msg, "directory"));
	assert_ptr_equal(provider_find("zonefile"), &provider_zonefile);
	assert_string_equal(provider_zonefile.keys[0], "directory");
	assert_string_equal(provider_zonefile.keys[1], "concurrency");
	assert_null(provider_zonefile.keys[2]);
	provider_zonefile.close(NULL);
}

/* An owner with a '"' in it (ldns prints it bare) was written bare: ldns
 * then read the rest of the line with its quotes turned inside out, and
 * the value came back cut at its ';'. The check after the write read it
 * the same way, so the apply said it had written what it was asked.
 * (fuzz_zonefile found it.) */
static void test_quote_in_owner(void **state)
{
	struct fixture *fx = *state;
	struct rrset_list l = { 0 };
	struct prov_error err = PROV_ERROR_INIT;
	size_t applied = 0;
	char *path = zpath(fx, "example.com.zone");
	spit(path, "$ORIGIN example.com.\n$TTL 300\n"
	     "@ SOA ns hostmaster 1 3600 600 86400 300\n"
	     "a\"b TXT \"old\"\n");
	assert_int_equal(do_list(fx, "example.com.", NULL, &l, &err), 0);
	const struct rrset *s = rrset_list_find(&l, "a\"b.example.com.", RR_TXT);
	assert_non_null(s);
	const struct change c = { CHANGE_UPDATE, s->name, RR_TXT, 300, s->values[0],
				  (char *)"new; (value)", "spf" };
	assert_int_equal(do_apply(fx, "example.com.", &c, 1, &applied, &err), 0);
	rrset_list_release(&l);
	assert_int_equal(do_list(fx, "example.com.", NULL, &l, &err), 0);
	s = rrset_list_find(&l, "a\"b.example.com.", RR_TXT);
	assert_non_null(s);
	assert_string_equal(s->values[0], "new; (value)");
	assert_null(s->values[1]);
	rrset_list_release(&l);
	do_apply(fx, "example.com.", NULL, 0, &applied, &err);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_spf_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_creates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_bak, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_plain_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_before_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_update_and_cwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quote_in_owner, setup, teardown),
		cmocka_unit_test(test_open_settings),
	};
	return cmocka_run_group_tests_name("zonefile", tests, NULL, NULL);
}
