/*
 * route53.c - the Amazon Route 53 provider (provider-apis.md §3).
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4, region us-east-1,
 * service route53) through http.c; XML is read and written with libxml2.
 * Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN or from a profile of the shared credentials file, as
 * the AWS CLI takes them.
 *
 * The zone is found with ListHostedZonesByName (a public zone wins over a
 * private one of the same name; two public ones are an error), unless the
 * domain's zone_id names it. Record sets are read with
 * ListResourceRecordSets from the smallest managed name in Route 53's order
 * (labels reversed); a page that ends before the next managed name is not
 * followed: the next request starts at that name. A small zone is one call.
 *
 * The whole plan goes out as one ChangeBatch, which Route 53 applies all or
 * nothing. A set that changes is replaced by a DELETE of exactly the values
 * and TTL that were read plus a CREATE of the new set (never UPSERT), so an
 * edit made by someone else since the listing makes the batch fail instead
 * of being overwritten; the zone is then read again and the report names
 * the set that moved. Values not managed here (verification strings beside
 * the SPF record) are sent back byte for byte as they were read.
 *
 * Route 53 throttles with HTTP 400 and <Code>Throttling</Code>, which
 * http.c does not retry: it is retried here with back-off, and so is
 * PriorRequestNotComplete; neither applied anything. A batch whose outcome
 * is unknown (connection lost, 5xx) is never resent blindly: the sets are
 * read again, and the batch is sent again only if they are still exactly as
 * before.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "provision/http.h"
#include "provision/provider.h"
#include "provision/util.h"

#define R53_ENDPOINT "https://route53.amazonaws.com"
#define R53_API "/2013-04-01"
#define R53_NS "https://route53.amazonaws.com/doc/2013-04-01/"
#define R53_REGION "us-east-1"
#define R53_PAGE 300        /* ListResourceRecordSets' largest page */
#define R53_ZONE_PAGE 100   /* ListHostedZonesByName's */
#define R53_TRIES 7         /* answers of Throttling / PriorRequestNotComplete */
#define R53_WRITE_TRIES 3   /* sends of one batch after unknown outcomes */
#define R53_MAX_PAGES 100000
#define R53_WAIT_DEFAULT 600 /* seconds, with wait = true */

/* Pure helpers, exported for tests/unit/test_route53.c. */
char *r53_txt_quote(const char *value);
char *r53_txt_unquote(const char *text);
char *r53_name_escape(const char *name);
char *r53_name_unescape(const char *name);
char *r53_order_key(const char *escaped);

struct r53_set {
	char *name;   /* as Route 53 wrote it (escaped, trailing dot) */
	char *plain;  /* unescaped FQDN, lower case */
	char *type;
	uint32_t ttl;
	char **raw;   /* values as read (TXT quoted), NULL-terminated */
	char **vals;  /* values as the core holds them */
	int special;  /* alias or routing-policy set: not edited here */
};

struct r53 {
	struct http_client *http;
	char *provider;   /* the block's name, for messages */
	char *base;       /* endpoint without trailing slash */
	char *sigv4;      /* "aws:amz:REGION:route53" */
	char *profile;    /* the profile setting, or NULL */
	int creds_loaded;
	char *akid, *secret, *token;
	char *userpwd, *token_hdr;
	const char *hdrs[3];
	const char *redact[3];
	char cred_source[300];
	int verbose, wait;
	long wait_timeout;
	/* the zone of the last call and what was read of it */
	char *zone_name, *zone_bare, *zone_id;
	int zone_id_given;
	struct r53_set *sets;
	size_t nsets;
	char **covered;   /* names whose sets are all in sets */
	int confirmed;    /* sets hold what our last batch wrote */
};

static const char *const r53_keys[] = {
	"profile", "endpoint", "ca_file", "region", "wait", "wait_timeout", NULL,
};

/* ------------------------------------------------------------ helpers -- */

char *r53_txt_quote(const char *value)
{
	struct buf b = BUF_INIT;
	size_t len = strlen(value), off = 0;
	int bad = 0;
	do {
		size_t k = len - off < TXT_STRING_MAX ? len - off : TXT_STRING_MAX;
		if (off)
			bad |= buf_putc(&b, ' ');
		bad |= buf_putc(&b, '"');
		for (size_t i = off; i < off + k; i++) {
			unsigned char c = (unsigned char)value[i];
			if (c == '"' || c == '\\')
				bad |= buf_printf(&b, "\\%c", c);
			else if (c < 0x20 || c > 0x7e)
				bad |= buf_printf(&b, "\\%03o", c); /* octal, as Route 53 */
			else
				bad |= buf_putc(&b, (char)c);
		}
		bad |= buf_putc(&b, '"');
		off += k;
	} while (off < len);
	if (bad) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static int is_octal(char c)
{
	return c >= '0' && c <= '7';
}

char *r53_txt_unquote(const char *text)
{
	struct buf b = BUF_INIT;
	const char *p = text;
	int any = 0;
	if (*p != '"' && *p != ' ' && *p != '\t')
		return strdup(text); /* not quoted: taken as it is */
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (*p++ != '"')
			goto bad;
		while (*p != '"') {
			unsigned char c = (unsigned char)*p++;
			if (!c)
				goto bad;
			if (c == '\\') {
				if (is_octal(p[0]) && is_octal(p[1]) && is_octal(p[2])) {
					int v = (p[0] - '0') * 64 + (p[1] - '0') * 8 + (p[2] - '0');
					if (v > 255)
						goto bad;
					c = (unsigned char)v;
					p += 3;
				} else if (*p) {
					c = (unsigned char)*p++;
				} else {
					goto bad;
				}
			}
			if (buf_putc(&b, (char)c) < 0)
				goto bad;
		}
		p++;
		if (*p && *p != ' ' && *p != '\t')
			goto bad;
		any = 1;
	}
	if (!any)
		goto bad;
	return buf_detach(&b);
bad:
	buf_release(&b);
	return NULL;
}

char *r53_name_escape(const char *name)
{
	struct buf b = BUF_INIT;
	int bad = 0;
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)tolower((unsigned char)*p);
		if (isalnum(c) || c == '-' || c == '_' || c == '.')
			bad |= buf_putc(&b, (char)c);
		else
			bad |= buf_printf(&b, "\\%03o", c);
	}
	if (!b.len || b.data[b.len - 1] != '.')
		bad |= buf_putc(&b, '.');
	if (bad) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

char *r53_name_unescape(const char *name)
{
	struct buf b = BUF_INIT;
	int bad = 0;
	for (const char *p = name; *p; p++) {
		if (p[0] == '\\' && is_octal(p[1]) && is_octal(p[2]) && is_octal(p[3])) {
			int v = (p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0');
			bad |= buf_putc(&b, (char)(v & 0xff));
			p += 3;
		} else {
			bad |= buf_putc(&b, *p);
		}
	}
	char *s = bad ? NULL : dname_fqdn(buf_str(&b));
	buf_release(&b);
	return s;
}

/* "_dmarc.example.com." -> "com.example._dmarc.": ListResourceRecordSets'
 * order is this text compared as ASCII (API_ListResourceRecordSets). */
char *r53_order_key(const char *escaped)
{
	struct buf b = BUF_INIT;
	size_t len = strlen(escaped);
	while (len && escaped[len - 1] == '.')
		len--;
	int bad = 0;
	size_t end = len;
	while (end > 0) {
		size_t start = end;
		while (start > 0 && escaped[start - 1] != '.')
			start--;
		bad |= buf_add(&b, escaped + start, end - start);
		bad |= buf_putc(&b, '.');
		end = start ? start - 1 : 0;
	}
	if (!b.len)
		bad |= buf_putc(&b, '.');
	if (bad) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait before try n+1 after a Throttling answer: 0.25 s doubling, with
 * jitter, at most 20 s. */
static double backoff(int n)
{
	unsigned char rb[2] = { 0, 0 };
	RAND_bytes(rb, sizeof rb);
	double base = 0.25 * (double)(1 << (n < 7 ? n : 7));
	double w = base + base * (double)((rb[0] << 8) | rb[1]) / 65535.0;
	return w < 20 ? w : 20;
}

static uint16_t type_num(const char *type)
{
	static const struct {
		const char *name;
		uint16_t num;
	} more[] = { { "NAPTR", 35 }, { "DS", 43 }, { "SSHFP", 44 }, { "TLSA", 52 },
		     { "SVCB", 64 }, { "HTTPS", 65 } };
	uint16_t t = rr_type_from_name(type);
	for (size_t i = 0; !t && i < sizeof more / sizeof more[0]; i++)
		if (strcasecmp(more[i].name, type) == 0)
			t = more[i].num;
	return t;
}

/* ------------------------------------------------------------ state ---- */

static void set_free(struct r53_set *s)
{
	free(s->name);
	free(s->plain);
	free(s->type);
	strv_free(s->raw);
	strv_free(s->vals);
	memset(s, 0, sizeof *s);
}

static void r53_forget(struct r53 *r)
{
	for (size_t i = 0; i < r->nsets; i++)
		set_free(&r->sets[i]);
	free(r->sets);
	r->sets = NULL;
	r->nsets = 0;
	strv_free(r->covered);
	r->covered = NULL;
	r->confirmed = 0;
}

static void wipe(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static void r53_close(void *handle)
{
	struct r53 *r = handle;
	if (!r)
		return;
	r53_forget(r);
	http_client_free(r->http);
	free(r->provider);
	free(r->base);
	free(r->sigv4);
	free(r->profile);
	free(r->akid);
	wipe(r->secret);
	wipe(r->token);
	wipe(r->userpwd);
	wipe(r->token_hdr);
	free(r->zone_name);
	free(r->zone_bare);
	free(r->zone_id);
	free(r);
}

static struct r53_set *set_find(struct r53 *r, const char *plain, const char *type)
{
	for (size_t i = 0; i < r->nsets; i++)
		if (strcmp(r->sets[i].type, type) == 0 && dname_equal(r->sets[i].plain, plain))
			return &r->sets[i];
	return NULL;
}

static int covered(const struct r53 *r, const char *name)
{
	for (size_t i = 0; r->covered && r->covered[i]; i++)
		if (dname_equal(r->covered[i], name))
			return 1;
	return 0;
}

/* A value as the core holds it. */
static char *value_in(const char *type, const char *raw)
{
	if (strcmp(type, "TXT") == 0 || strcmp(type, "SPF") == 0) {
		char *v = r53_txt_unquote(raw);
		return v ? v : strdup(raw);
	}
	if (strcmp(type, "CNAME") == 0 || strcmp(type, "NS") == 0 || strcmp(type, "PTR") == 0)
		return dname_fqdn(raw);
	return strdup(raw);
}

/* A value as Route 53 is sent it. */
static char *value_out(const char *type, const char *value)
{
	if (strcmp(type, "TXT") == 0 || strcmp(type, "SPF") == 0)
		return r53_txt_quote(value);
	return strdup(value);
}

/* ------------------------------------------------------------ open ----- */

static int r53_open(const struct provider_config *cfg, void **handle,
		    struct prov_error *err)
{
	struct r53 *r = calloc(1, sizeof *r);
	const char *region = provider_setting(cfg, "region");
	const char *wait = provider_setting(cfg, "wait");
	const char *wt = provider_setting(cfg, "wait_timeout");
	const char *profile = provider_setting(cfg, "profile");
	char *end = NULL;
	int rc = PROV_ERR_NOMEM;
	*handle = NULL;
	if (!r)
		return prov_errorf(err, rc, "out of memory");
	r->verbose = cfg->verbose;
	if ((rc = provider_endpoint(cfg, R53_ENDPOINT, &r->base, err)) < 0)
		goto fail;
	rc = PROV_ERR_NOMEM;
	if (region && (!*region || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
			strlen(region))) {
		rc = provider_config_error(cfg, "region", err,
					   "region must be an AWS region name such as us-east-1");
		goto fail;
	}
	if (wait && strcmp(wait, "true") != 0 && strcmp(wait, "false") != 0) {
		rc = provider_config_error(cfg, "wait", err, "wait must be true or false");
		goto fail;
	}
	r->wait = wait && strcmp(wait, "true") == 0;
	r->wait_timeout = wt ? strtol(wt, &end, 10) : R53_WAIT_DEFAULT;
	if (wt && (*end || r->wait_timeout < 1 || r->wait_timeout > 86400)) {
		rc = provider_config_error(cfg, "wait_timeout", err,
					   "wait_timeout must be 1 to 86400 seconds");
		goto fail;
	}
	if (cfg->wait_s > 0) { /* --wait DURATION on the command line */
		r->wait = 1;
		r->wait_timeout = cfg->wait_s;
	}
	if (profile && !*profile) {
		rc = provider_config_error(cfg, "profile", err, "profile must not be empty");
		goto fail;
	}
	struct buf sv = BUF_INIT;
	buf_printf(&sv, "aws:amz:%s:route53", region ? region : R53_REGION);
	r->sigv4 = buf_detach(&sv);
	r->provider = strdup(cfg->name ? cfg->name : "route53");
	r->profile = profile ? strdup(profile) : NULL;
	if (!r->sigv4 || !r->provider || (profile && !r->profile))
		goto fail;
	/* five requests per second per account, the documented floor */
	const struct http_config hc = {
		.provider = "route53", .connect_timeout_ms = 10000, .timeout_ms = 60000,
		.max_retries = 5, .rate = 5.0, .burst = 5, .max_backoff_s = 20,
	};
	r->http = provider_http(cfg, &hc, err);
	if (!r->http) {
		rc = PROV_ERR_RUNTIME;
		goto fail;
	}
	*handle = r;
	return 0;
fail:
	r53_close(r);
	return rc;
}

/* ------------------------------------------------------------ credentials */

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* The keys of [profile] in the shared credentials file. 0, 1 when the
 * file or the profile is missing, -1 on no memory. */
static int read_profile(const char *file, const char *profile, char **akid,
			char **secret, char **token)
{
	FILE *f = fopen(file, "r");
	char line[4096];
	int in = 0, found = 0;
	if (!f)
		return 1;
	while (fgets(line, sizeof line, f)) {
		char *s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			if (e)
				*e = '\0';
			in = strcmp(trim(s + 1), profile) == 0;
			found |= in;
			continue;
		}
		char *eq = strchr(s, '=');
		if (!in || !eq)
			continue;
		*eq = '\0';
		char *k = trim(s), *v = trim(eq + 1), **slot = NULL;
		if (strcmp(k, "aws_access_key_id") == 0)
			slot = akid;
		else if (strcmp(k, "aws_secret_access_key") == 0)
			slot = secret;
		else if (strcmp(k, "aws_session_token") == 0 ||
			 (strcmp(k, "aws_security_token") == 0 && !*token))
			slot = token;
		if (slot) {
			wipe(*slot);
			if (!(*slot = strdup(v))) {
				fclose(f);
				OPENSSL_cleanse(line, sizeof line);
				return -1;
			}
		}
	}
	OPENSSL_cleanse(line, sizeof line);
	fclose(f);
	return found ? 0 : 1;
}

static int bad_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int r53_creds(struct r53 *r, struct prov_error *err)
{
	if (r->creds_loaded)
		return 0;
	const char *ak = getenv("AWS_ACCESS_KEY_ID");
	const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tk = getenv("AWS_SESSION_TOKEN");
	if (!r->profile && ak && *ak && sk && *sk) {
		r->akid = strdup(ak);
		r->secret = strdup(sk);
		r->token = tk && *tk ? strdup(tk) : NULL;
		snprintf(r->cred_source, sizeof r->cred_source,
			 "credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY%s",
			 r->token ? "/AWS_SESSION_TOKEN" : "");
	} else if (!r->profile && ((ak && *ak) || (sk && *sk))) {
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "route53: provider '%s': %s is set but %s is not", r->provider,
				   ak && *ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
				   ak && *ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	} else {
		const char *env_profile = getenv("AWS_PROFILE");
		const char *profile = r->profile ? r->profile :
				      env_profile && *env_profile ? env_profile : "default";
		const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
		const char *home = getenv("HOME");
		struct buf path = BUF_INIT;
		if (file && *file)
			buf_puts(&path, file);
		else
			buf_printf(&path, "%s/.aws/credentials", home && *home ? home : ".");
		int frc = read_profile(buf_str(&path), profile, &r->akid, &r->secret, &r->token);
		int rc = 0;
		if (frc < 0)
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		else if (frc > 0 && access(buf_str(&path), R_OK) != 0)
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: provider '%s': no credentials: set AWS_ACCESS_KEY_ID "
					 "and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary "
					 "ones), or add profile '%s' to %s", r->provider, profile,
					 buf_str(&path));
		else if (frc > 0)
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: provider '%s': profile '%s' is not in %s",
					 r->provider, profile, buf_str(&path));
		else if (!r->akid || !*r->akid || !r->secret || !*r->secret)
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: provider '%s': profile '%s' in %s has no "
					 "aws_access_key_id and aws_secret_access_key (SSO, role and "
					 "process credentials are not read: export them, e.g. with "
					 "'aws configure export-credentials --format env')",
					 r->provider, profile, buf_str(&path));
		snprintf(r->cred_source, sizeof r->cred_source, "credentials of profile '%s' in %s",
			 profile, buf_str(&path));
		buf_release(&path);
		if (rc < 0)
			return rc;
		if (r->token && !*r->token) {
			wipe(r->token);
			r->token = NULL;
		}
	}
	if (!r->akid || !r->secret)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	if (strchr(r->akid, ':') || bad_chars(r->akid) || bad_chars(r->secret) ||
	    (r->token && bad_chars(r->token)))
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "route53: provider '%s': the access key id, secret key or session "
				   "token holds characters AWS keys never have (%s)", r->provider,
				   r->cred_source);
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s:%s", r->akid, r->secret);
	r->userpwd = buf_detach(&b);
	if (r->token) {
		buf_printf(&b, "X-Amz-Security-Token: %s", r->token);
		r->token_hdr = buf_detach(&b);
	}
	r->redact[0] = r->secret;
	r->redact[1] = r->token;
	if (!r->userpwd || (r->token && !r->token_hdr))
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	r->creds_loaded = 1;
	return 0;
}

/* ------------------------------------------------------------ XML ------ */

static int x_is(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNode *x_child(const xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (x_is(c, name))
			return c;
	return NULL;
}

/* The text of n's child element name (caller frees), or NULL. */
static char *x_text(const xmlNode *n, const char *name)
{
	xmlNode *c = x_child(n, name);
	if (!c)
		return NULL;
	xmlChar *t = xmlNodeGetContent(c);
	char *s = strdup(t ? (const char *)t : "");
	xmlFree(t);
	return s;
}

static int x_true(const xmlNode *n, const char *name)
{
	char *t = x_text(n, name);
	int yes = t && strcmp(t, "true") == 0;
	free(t);
	return yes;
}

static xmlDoc *x_parse(const struct buf *body)
{
	static int init;
	if (!init) {
		xmlInitParser();
		init = 1;
	}
	if (!body->len || body->len > (size_t)0x7fffffff)
		return NULL;
	return xmlReadMemory(body->data, (int)body->len, "route53.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
			     XML_PARSE_NOBLANKS);
}

/* ------------------------------------------------------------ calls ---- */

struct answer {
	long status;
	xmlDoc *doc;
	xmlNode *root;
	char code[64];  /* AWS error code, "" on success */
	char msg[600];  /* its message: one line, secrets cut out */
};

static void answer_release(struct answer *a)
{
	if (a->doc)
		xmlFreeDoc(a->doc);
	memset(a, 0, sizeof *a);
}

/* One line, and never a credential (an AWS SignatureDoesNotMatch message
 * may quote the canonical request, session token included). */
static void clean_message(const struct r53 *r, char *s, size_t size)
{
	const char *secrets[] = { r->secret, r->token, NULL };
	s[strcspn(s, "\r\n")] = '\0';
	for (size_t i = 0; secrets[i]; i++) {
		char *p = *secrets[i] ? strstr(s, secrets[i]) : NULL;
		if (p) {
			*p = '\0';
			if (size - (size_t)(p - s) > sizeof "[redacted]")
				strcpy(p, "[redacted]");
		}
	}
}

/* The error document's code and message(s), either shape (3.7). */
static void error_of(const struct r53 *r, struct answer *a)
{
	xmlNode *root = a->root;
	char *code = NULL, *msg = NULL;
	if (x_is(root, "ErrorResponse")) {
		xmlNode *e = x_child(root, "Error");
		code = x_text(e, "Code");
		msg = x_text(e, "Message");
	} else if (x_is(root, "InvalidChangeBatch")) {
		struct buf b = BUF_INIT;
		code = strdup("InvalidChangeBatch");
		for (xmlNode *m = x_child(x_child(root, "Messages"), "Message"); m; m = m->next) {
			if (!x_is(m, "Message"))
				continue;
			xmlChar *t = xmlNodeGetContent(m);
			buf_printf(&b, "%s%s", b.len ? ", " : "[", t ? (const char *)t : "");
			xmlFree(t);
		}
		if (b.len)
			buf_putc(&b, ']');
		msg = buf_detach(&b);
	}
	snprintf(a->code, sizeof a->code, "%s", code && *code ? code : "unknown");
	snprintf(a->msg, sizeof a->msg, "%s", msg && *msg ? msg : "no message");
	clean_message(r, a->msg, sizeof a->msg);
	free(code);
	free(msg);
}

static const char *hint(const struct r53 *r, const char *code)
{
	static char h[400];
	if (strcmp(code, "SignatureDoesNotMatch") == 0 || strcmp(code, "IncompleteSignature") == 0)
		snprintf(h, sizeof h, " (check the secret access key: %s)", r->cred_source);
	else if (strcmp(code, "InvalidClientTokenId") == 0 ||
		 strcmp(code, "UnrecognizedClientException") == 0)
		snprintf(h, sizeof h, " (AWS does not know this access key id or session token: %s)",
			 r->cred_source);
	else if (strcmp(code, "ExpiredToken") == 0)
		snprintf(h, sizeof h, " (the session token has expired: get new temporary "
			 "credentials; %s)", r->cred_source);
	else if (strcmp(code, "AccessDenied") == 0)
		snprintf(h, sizeof h, " (the IAM policy must allow route53:ListHostedZonesByName, "
			 "ListResourceRecordSets, ChangeResourceRecordSets and GetChange)");
	else if (strcmp(code, "NoSuchHostedZone") == 0)
		snprintf(h, sizeof h, " (check the domain's zone_id)");
	else
		h[0] = '\0';
	return h;
}

enum { CALL_OK = 0, CALL_AWS = 1 };

/*
 * One API call; Throttling (and PriorRequestNotComplete) answers are
 * retried here with back-off. Returns CALL_OK with a->root the answer's
 * root element, CALL_AWS with a->code/msg for an AWS error document (err
 * not set), or PROV_ERR_RUNTIME with err set ("route53: <what>: ...").
 * *unknown: a write whose outcome is unknown.
 */
static int r53_call(struct r53 *r, const char *method, const char *path,
		    const char *body, const char *what, struct answer *a, int *unknown,
		    struct prov_error *err)
{
	struct buf url = BUF_INIT;
	int write = strcmp(method, "GET") != 0, rc = 0;
	buf_printf(&url, "%s%s", r->base, path);
	memset(a, 0, sizeof *a);
	if (unknown)
		*unknown = 0;
	size_t nh = 0;
	if (r->token_hdr)
		r->hdrs[nh++] = r->token_hdr;
	if (body)
		r->hdrs[nh++] = "Content-Type: text/xml";
	r->hdrs[nh] = NULL;
	const struct http_request rq = { method, buf_str(&url), body, r->hdrs, write, r->sigv4,
					 r->userpwd, r->redact };
	for (int n = 0;; n++) {
		struct http_response rs;
		answer_release(a);
		rc = http_send(r->http, &rq, &rs, err);
		if (rc < 0) {
			if (unknown)
				*unknown = rs.outcome_unknown;
			http_response_release(&rs);
			break;
		}
		a->status = rs.status;
		a->doc = x_parse(&rs.body);
		a->root = a->doc ? xmlDocGetRootElement(a->doc) : NULL;
		http_response_release(&rs);
		if (!a->root) { /* a write may have been applied all the same */
			if (unknown)
				*unknown = write;
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: %s: the answer is not Route 53's XML (HTTP %ld)%s",
					 what, a->status, write ? " (the change may have been applied)" : "");
			break;
		}
		if (a->status >= 200 && a->status < 300 && !x_is(a->root, "ErrorResponse")) {
			rc = CALL_OK;
			break;
		}
		error_of(r, a);
		int again = strcmp(a->code, "Throttling") == 0 ||
			    strcmp(a->code, "PriorRequestNotComplete") == 0;
		if (!again || n + 1 >= R53_TRIES) {
			if (unknown)
				*unknown = write && a->status >= 500;
			rc = CALL_AWS;
			break;
		}
		double w = backoff(n);
		if (r->verbose)
			fprintf(stderr, "provision: route53: %s %s: %s, retrying in %.1f s\n",
				method, path, a->code, w);
		sleep_s(w);
	}
	buf_release(&url);
	return rc;
}

/* err for an AWS error answer. */
static int aws_error(const struct r53 *r, const char *what, const struct answer *a,
		     struct prov_error *err)
{
	return prov_errorf(err, PROV_ERR_RUNTIME, "route53: %s: HTTP %ld %s: %s%s", what,
			   a->status, a->code, a->msg, hint(r, a->code));
}

/* ------------------------------------------------------------ zone ----- */

struct candidate {
	char id[40];
	int private_zone;
};

static char *bare_id(const char *id)
{
	const char *s = strrchr(id, '/');
	return strdup(s ? s + 1 : id);
}

static int id_ok(const char *id)
{
	size_t n = strlen(id);
	return n >= 1 && n <= 32 && strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

static int r53_lookup(struct r53 *r, struct prov_error *err)
{
	struct candidate c[16];
	size_t nc = 0, more = 0;
	char *next_name = NULL, *next_id = NULL;
	struct buf what = BUF_INIT;
	int rc = 0;
	buf_printf(&what, "zone %s: finding the hosted zone (ListHostedZonesByName)", r->zone_bare);
	for (int page = 0; rc == 0 && page < R53_MAX_PAGES; page++) {
		struct buf path = BUF_INIT;
		struct answer a;
		char *dn = http_escape(next_name ? next_name : r->zone_bare);
		char *zi = next_id ? http_escape(next_id) : NULL;
		buf_printf(&path, R53_API "/hostedzonesbyname?dnsname=%s", dn ? dn : "");
		if (zi)
			buf_printf(&path, "&hostedzoneid=%s", zi);
		buf_printf(&path, "&maxitems=%d", R53_ZONE_PAGE);
		free(dn);
		free(zi);
		rc = r53_call(r, "GET", buf_str(&path), NULL, buf_str(&what), &a, NULL, err);
		buf_release(&path);
		if (rc == CALL_AWS)
			rc = aws_error(r, buf_str(&what), &a, err);
		if (rc == 0 && !x_is(a.root, "ListHostedZonesByNameResponse"))
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: %s: unexpected answer <%s>", buf_str(&what),
					 (const char *)a.root->name);
		int past = 0;
		xmlNode *zs = rc == 0 ? x_child(a.root, "HostedZones") : NULL;
		for (xmlNode *z = zs ? zs->children : NULL; z && !past; z = z->next) {
			if (!x_is(z, "HostedZone"))
				continue;
			char *name = x_text(z, "Name"), *id = x_text(z, "Id");
			char *plain = name ? r53_name_unescape(name) : NULL;
			if (!plain || !id) {
				rc = prov_errorf(err, PROV_ERR_RUNTIME,
						 "route53: %s: a hosted zone without Name or Id",
						 buf_str(&what));
			} else if (!dname_equal(plain, r->zone_name)) {
				past = 1;
			} else if (nc < sizeof c / sizeof c[0]) {
				char *b = bare_id(id);
				snprintf(c[nc].id, sizeof c[nc].id, "%s", b ? b : "");
				free(b);
				c[nc++].private_zone = x_true(x_child(z, "Config"), "PrivateZone");
			} else {
				more++;
			}
			free(name);
			free(id);
			free(plain);
		}
		free(next_name);
		free(next_id);
		next_name = next_id = NULL;
		if (rc == 0 && !past && x_true(a.root, "IsTruncated")) {
			next_name = x_text(a.root, "NextDNSName");
			next_id = x_text(a.root, "NextHostedZoneId");
		}
		answer_release(&a);
		if (!next_name || !next_id)
			break;
	}
	free(next_name);
	free(next_id);
	size_t npublic = 0, pick = 0;
	for (size_t i = 0; i < nc; i++)
		if (!c[i].private_zone) {
			if (!npublic)
				pick = i;
			npublic++;
		}
	if (rc == 0 && npublic == 1) {
		r->zone_id = strdup(c[pick].id);
		if (!r->zone_id)
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	} else if (rc == 0) {
		struct buf ids = BUF_INIT;
		for (size_t i = 0; i < nc; i++)
			buf_printf(&ids, "%s%s (%s)", i ? ", " : "", c[i].id,
				   c[i].private_zone ? "private" : "public");
		if (more)
			buf_printf(&ids, " and %zu more", more);
		if (nc == 0)
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: zone %s: no hosted zone of this name in the account "
					 "(%s)", r->zone_bare, r->cred_source);
		else if (npublic == 0)
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: zone %s: only private hosted zones have this name: %s; "
					 "set zone_id in the domain's entry to use one", r->zone_bare,
					 buf_str(&ids));
		else
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: zone %s: %zu public hosted zones have this name: %s; "
					 "set zone_id in the domain's entry to choose one", r->zone_bare,
					 npublic, buf_str(&ids));
		buf_release(&ids);
	}
	buf_release(&what);
	return rc;
}

/* Make r's zone z: the same as last time, or a new one (cache dropped). */
static int r53_zone(struct r53 *r, const struct zone *z, struct prov_error *err)
{
	int rc = r53_creds(r, err);
	if (rc < 0)
		return rc;
	if (r->zone_name && dname_equal(r->zone_name, z->name) && r->zone_id)
		return 0;
	r53_forget(r);
	free(r->zone_name);
	free(r->zone_bare);
	free(r->zone_id);
	r->zone_id = NULL;
	r->zone_name = dname_fqdn(z->name);
	r->zone_bare = dname_fqdn(z->name);
	if (!r->zone_name || !r->zone_bare)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	size_t n = strlen(r->zone_bare);
	if (n > 1)
		r->zone_bare[n - 1] = '\0';
	r->zone_id_given = z->id != NULL;
	if (z->id) {
		r->zone_id = bare_id(z->id);
		if (!r->zone_id)
			return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		if (!id_ok(r->zone_id))
			return prov_errorf(err, PROV_ERR_RUNTIME,
					   "route53: zone %s: zone_id '%s' is not a hosted zone id "
					   "(up to 32 of A-Z and 0-9, such as Z1D633PJN98FT9)",
					   r->zone_bare, z->id);
		return 0;
	}
	return r53_lookup(r, err);
}

/* ------------------------------------------------------------ listing -- */

/* Add one <ResourceRecordSet> to the cache when its name is in names. */
static int keep_set(struct r53 *r, xmlNode *s, char *const *names, int *saw_soa)
{
	char *name = x_text(s, "Name"), *type = x_text(s, "Type");
	char *plain = name ? r53_name_unescape(name) : NULL;
	int rc = 0, wanted = 0;
	if (!name || !type || !plain) {
		rc = -1;
		goto out;
	}
	if (strcmp(type, "SOA") == 0 && dname_equal(plain, r->zone_name))
		*saw_soa = 1;
	for (size_t i = 0; names[i] && !wanted; i++)
		wanted = dname_equal(names[i], plain);
	if (!wanted)
		goto out;
	struct r53_set *set = set_find(r, plain, type);
	if (!set) {
		struct r53_set *v = realloc(r->sets, (r->nsets + 1) * sizeof *v);
		if (!v) {
			rc = -1;
			goto out;
		}
		r->sets = v;
		set = &v[r->nsets++];
		memset(set, 0, sizeof *set);
		set->name = name;
		set->plain = plain;
		set->type = type;
		name = plain = type = NULL;
	} else {
		set->special = 1; /* a second set of one name and type: routing policy */
	}
	char *ttl = x_text(s, "TTL"), *setid = x_text(s, "SetIdentifier");
	xmlNode *alias = x_child(s, "AliasTarget");
	set->ttl = ttl ? (uint32_t)strtoul(ttl, NULL, 10) : 0;
	if (setid || alias)
		set->special = 1;
	free(ttl);
	free(setid);
	if (alias) {
		char *dns = x_text(alias, "DNSName");
		char *v = dns ? r53_name_unescape(dns) : NULL;
		if (!v || strv_push(&set->vals, v) < 0)
			rc = -1;
		free(dns);
		free(v);
	}
	for (xmlNode *rr = x_child(x_child(s, "ResourceRecords"), "ResourceRecord"); rr && rc == 0;
	     rr = rr->next) {
		if (!x_is(rr, "ResourceRecord"))
			continue;
		char *raw = x_text(rr, "Value");
		char *v = raw ? value_in(set->type, raw) : NULL;
		if (!raw || !v || strv_push(&set->raw, raw) < 0 || strv_push(&set->vals, v) < 0)
			rc = -1;
		free(raw);
		free(v);
	}
	if (rc == 0 && !set->vals)
		rc = -1;
out:
	free(name);
	free(type);
	free(plain);
	return rc;
}

struct mname {
	char *plain, *escaped, *key;
};

static int mname_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mname *)a)->key, ((const struct mname *)b)->key);
}

static void mnames_free(struct mname *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].plain);
		free(m[i].escaped);
		free(m[i].key);
	}
	free(m);
}

/*
 * Read every set at each of names into the cache. One request starts at the
 * smallest name; when a page is truncated, the next request continues where
 * Route 53 says if that is still at or before the next name not yet seen,
 * and otherwise starts at that name.
 */
static int r53_read(struct r53 *r, char *const *names, struct prov_error *err)
{
	size_t n = strv_len(names), k = 0;
	struct mname *m = calloc(n + 1, sizeof *m);
	struct buf what = BUF_INIT;
	int rc = 0, saw_soa = 0, apex = 0;
	char *start = NULL, *stype = NULL, *sident = NULL;
	r53_forget(r);
	if (!m)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		int dup = 0;
		for (size_t j = 0; j < k; j++)
			dup |= dname_equal(m[j].plain, names[i]);
		if (dup)
			continue;
		m[k].plain = dname_fqdn(names[i]);
		m[k].escaped = m[k].plain ? r53_name_escape(m[k].plain) : NULL;
		m[k].key = m[k].escaped ? r53_order_key(m[k].escaped) : NULL;
		if (!m[k].key || strv_push(&r->covered, m[k].plain) < 0) {
			k++;
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			goto out;
		}
		apex |= dname_equal(m[k].plain, r->zone_name);
		k++;
	}
	if (!k)
		goto out;
	qsort(m, k, sizeof *m, mname_cmp);
	start = strdup(m[0].escaped);
	for (size_t i = 0, pages = 0; rc == 0; pages++) {
		struct buf path = BUF_INIT;
		struct answer a;
		char *q_ident = sident ? http_escape(sident) : NULL;
		char *q_name = http_escape(start ? start : "");
		char *q_type = stype ? http_escape(stype) : NULL;
		buf_release(&what);
		buf_printf(&what, "zone %s: listing record sets from %s", r->zone_bare, start);
		/* parameters in canonical order: curl 7.x signs the query as given */
		buf_printf(&path, R53_API "/hostedzone/%s/rrset?", r->zone_id);
		if (q_ident)
			buf_printf(&path, "identifier=%s&", q_ident);
		buf_printf(&path, "maxitems=%d&name=%s", R53_PAGE, q_name ? q_name : "");
		if (q_type)
			buf_printf(&path, "&type=%s", q_type);
		free(q_ident);
		free(q_name);
		free(q_type);
		rc = r53_call(r, "GET", buf_str(&path), NULL, buf_str(&what), &a, NULL, err);
		buf_release(&path);
		if (rc == CALL_AWS) {
			rc = aws_error(r, buf_str(&what), &a, err);
		} else if (rc == 0 && !x_is(a.root, "ListResourceRecordSetsResponse")) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: %s: unexpected answer <%s>", buf_str(&what),
					 (const char *)a.root->name);
		}
		xmlNode *sets = rc == 0 ? x_child(a.root, "ResourceRecordSets") : NULL;
		if (rc == 0 && !sets && x_child(a.root, "IsTruncated") == NULL)
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: %s: the answer has no ResourceRecordSets",
					 buf_str(&what));
		for (xmlNode *s = sets ? sets->children : NULL; s && rc == 0; s = s->next)
			if (x_is(s, "ResourceRecordSet") && keep_set(r, s, names, &saw_soa) < 0)
				rc = prov_errorf(err, PROV_ERR_RUNTIME,
						 "route53: %s: a record set in the answer is malformed",
						 buf_str(&what));
		char *nn = NULL, *nt = NULL, *ni = NULL, *nkey = NULL;
		if (rc == 0 && x_true(a.root, "IsTruncated")) {
			nn = x_text(a.root, "NextRecordName");
			nt = x_text(a.root, "NextRecordType");
			ni = x_text(a.root, "NextRecordIdentifier");
			nkey = nn ? r53_order_key(nn) : NULL;
			if (!nkey)
				rc = prov_errorf(err, PROV_ERR_RUNTIME,
						 "route53: %s: truncated answer without NextRecordName",
						 buf_str(&what));
		}
		answer_release(&a);
		if (rc == 0 && nkey) {
			/* every name ordered before the next record is complete */
			while (i < k && strcmp(m[i].key, nkey) < 0)
				i++;
			if (i < k) {
				int same = strcmp(m[i].key, nkey) == 0;
				char *ns = strdup(same ? nn : m[i].escaped);
				char *nts = same && nt ? strdup(nt) : NULL;
				char *nis = same && ni ? strdup(ni) : NULL;
				int stuck = start && ns && strcmp(ns, start) == 0 &&
					    !strcmp(stype ? stype : "", nts ? nts : "") &&
					    !strcmp(sident ? sident : "", nis ? nis : "");
				free(start);
				free(stype);
				free(sident);
				start = ns;
				stype = nts;
				sident = nis;
				if (!start)
					rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
				else if (stuck || pages + 1 >= R53_MAX_PAGES)
					rc = prov_errorf(err, PROV_ERR_RUNTIME,
							 "route53: %s: the listing does not advance",
							 buf_str(&what));
			} else {
				free(nkey);
				nkey = NULL;
			}
		}
		int more = nkey != NULL;
		free(nn);
		free(nt);
		free(ni);
		free(nkey);
		if (!more)
			break;
	}
	if (rc == 0 && apex && !saw_soa)
		rc = prov_errorf(err, PROV_ERR_RUNTIME,
				 "route53: zone %s: hosted zone %s has no SOA record at %s: %s",
				 r->zone_bare, r->zone_id, r->zone_name,
				 r->zone_id_given ? "the domain's zone_id names another zone" :
				 "it is not this domain's zone");
out:
	free(start);
	free(stype);
	free(sident);
	mnames_free(m, k);
	buf_release(&what);
	if (rc < 0)
		r53_forget(r);
	return rc;
}

static int r53_list(void *handle, const struct zone *z, char *const *names,
		    struct rrset_list *out, struct prov_error *err)
{
	struct r53 *r = handle;
	int rc = r53_zone(r, z, err);
	int fresh = r->confirmed;
	for (size_t i = 0; fresh && names[i]; i++)
		fresh = covered(r, names[i]);
	/* right after our batch the cache holds exactly what it wrote */
	if (rc == 0 && !fresh)
		rc = r53_read(r, names, err);
	r->confirmed = 0;
	for (size_t i = 0; rc == 0 && i < r->nsets; i++) {
		const struct r53_set *s = &r->sets[i];
		int wanted = 0;
		for (size_t k = 0; names[k] && !wanted; k++)
			wanted = dname_equal(names[k], s->plain);
		for (size_t v = 0; wanted && s->vals && s->vals[v] && rc == 0; v++)
			if (rrset_list_add(out, s->plain, type_num(s->type), s->ttl, s->vals[v]) < 0)
				rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	}
	return rc;
}

/* ------------------------------------------------------------ apply ---- */

/* One record set the plan touches: the set as read, the set wanted. */
struct group {
	char *plain;
	const char *type;
	int had;           /* the set existed when read */
	char *old_name;    /* as Route 53 wrote it */
	uint32_t old_ttl;
	char **old_raw;
	int special;
	uint32_t ttl;      /* wanted */
	char **vals;       /* wanted, as the core holds them */
	char **raw;        /* wanted, as sent (kept values exactly as read) */
	int changed;
};

static void groups_free(struct group *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(g[i].plain);
		free(g[i].old_name);
		strv_free(g[i].old_raw);
		strv_free(g[i].vals);
		strv_free(g[i].raw);
	}
	free(g);
}

static char **strv_copy(char *const *v)
{
	char **out = NULL;
	for (size_t i = 0; v && v[i]; i++)
		if (strv_push(&out, v[i]) < 0) {
			strv_free(out);
			return NULL;
		}
	return out;
}

static void strv_remove(char **v, size_t i)
{
	free(v[i]);
	for (; v[i]; i++)
		v[i] = v[i + 1];
}

static int same_values(char *const *a, char *const *b)
{
	size_t na = strv_len(a), nb = strv_len(b);
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		int found = 0;
		for (size_t j = 0; j < nb && !found; j++)
			found = strcmp(a[i], b[j]) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

static ssize_t find_value(char *const *v, const char *value)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], value) == 0)
			return (ssize_t)i;
	return -1;
}

/* Build the groups of the changes from the cache. A `before` that is not
 * in the set read is reported in err (the cache is stale). */
static int make_groups(struct r53 *r, const struct change *c, size_t n,
		       struct group **out, size_t *nout, struct prov_error *err)
{
	struct group *g = calloc(n ? n : 1, sizeof *g);
	size_t ng = 0;
	int rc = 0;
	if (!g)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *type = rr_type_name(c[i].type);
		struct group *x = NULL;
		for (size_t j = 0; j < ng && !x; j++)
			if (strcmp(g[j].type, type) == 0 && dname_equal(g[j].plain, c[i].name))
				x = &g[j];
		if (!x) {
			const struct r53_set *s = set_find(r, c[i].name, type);
			x = &g[ng++];
			x->plain = dname_fqdn(c[i].name);
			x->type = type;
			if (s) {
				x->had = 1;
				x->special = s->special;
				x->old_name = strdup(s->name);
				x->old_ttl = s->ttl;
				x->old_raw = strv_copy(s->raw);
				x->vals = strv_copy(s->vals);
				x->raw = strv_copy(s->raw);
				if (!x->old_name || (s->raw && (!x->old_raw || !x->raw)) ||
				    (s->vals && !x->vals))
					rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			}
			if (!x->plain)
				rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			/* rr_type_name's buffer is per call for unknown types */
			if (rc == 0 && type_num(type) == 0)
				rc = prov_errorf(err, PROV_ERR_RUNTIME, "route53: zone %s: %s: "
						 "type %s is not supported", r->zone_bare, c[i].name, type);
		}
		if (rc < 0)
			break;
		if (x->special) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: zone %s: %s %s is an alias or routing-policy record "
					 "set; provision does not change those", r->zone_bare, x->plain,
					 type);
			break;
		}
		x->ttl = c[i].ttl;
		ssize_t at = c[i].before ? find_value(x->vals, c[i].before) : -1;
		if (c[i].before && at < 0) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: zone %s: %s %s: the %s value to replace is not there "
					 "any more; run provision again", r->zone_bare, x->plain, type,
					 c[i].what ? c[i].what : "managed");
			break;
		}
		if (c[i].after && find_value(x->vals, c[i].after) >= 0 &&
		    !(at >= 0 && strcmp(c[i].before, c[i].after) == 0)) {
			if (at >= 0) { /* the new value is already there: drop the old */
				strv_remove(x->vals, (size_t)at);
				strv_remove(x->raw, (size_t)at);
			}
			continue;
		}
		char *nv = c[i].after ? strdup(c[i].after) : NULL;
		char *nr = c[i].after ? value_out(type, c[i].after) : NULL;
		if (c[i].after && (!nv || !nr)) {
			free(nv);
			free(nr);
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			break;
		}
		if (at >= 0 && nv) { /* replaced in place: the set keeps its order */
			free(x->vals[at]);
			free(x->raw[at]);
			x->vals[at] = nv;
			x->raw[at] = nr;
		} else {
			if (at >= 0) {
				strv_remove(x->vals, (size_t)at);
				strv_remove(x->raw, (size_t)at);
			}
			if (nv && (strv_push(&x->vals, nv) < 0 || strv_push(&x->raw, nr) < 0))
				rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			free(nv);
			free(nr);
		}
	}
	for (size_t j = 0; j < ng; j++)
		g[j].changed = !g[j].had ? strv_len(g[j].raw) > 0 :
			       g[j].ttl != g[j].old_ttl || !same_values(g[j].raw, g[j].old_raw);
	*out = g;
	*nout = ng;
	return rc;
}

static void add_set_xml(xmlNode *changes, xmlNs *ns, const char *action, const char *name,
			const char *type, uint32_t ttl, char *const *raw)
{
	char num[16];
	xmlNode *ch = xmlNewChild(changes, ns, BAD_CAST "Change", NULL);
	xmlNewTextChild(ch, ns, BAD_CAST "Action", BAD_CAST action);
	xmlNode *rs = xmlNewChild(ch, ns, BAD_CAST "ResourceRecordSet", NULL);
	xmlNewTextChild(rs, ns, BAD_CAST "Name", BAD_CAST name);
	xmlNewTextChild(rs, ns, BAD_CAST "Type", BAD_CAST type);
	snprintf(num, sizeof num, "%u", (unsigned)ttl);
	xmlNewTextChild(rs, ns, BAD_CAST "TTL", BAD_CAST num);
	xmlNode *rrs = xmlNewChild(rs, ns, BAD_CAST "ResourceRecords", NULL);
	for (size_t i = 0; raw && raw[i]; i++) {
		xmlNode *rr = xmlNewChild(rrs, ns, BAD_CAST "ResourceRecord", NULL);
		xmlNewTextChild(rr, ns, BAD_CAST "Value", BAD_CAST raw[i]);
	}
}

/* The ChangeResourceRecordSetsRequest of the changed groups: every DELETE
 * first, then every CREATE. NULL on no memory; *count: Change elements. */
static char *batch_xml(const struct r53 *r, const struct group *g, size_t ng, size_t *count)
{
	xmlDoc *doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNode *root = doc ? xmlNewNode(NULL, BAD_CAST "ChangeResourceRecordSetsRequest") : NULL;
	char *out = NULL;
	*count = 0;
	if (!root) {
		xmlFreeDoc(doc);
		return NULL;
	}
	xmlDocSetRootElement(doc, root);
	xmlNs *ns = xmlNewNs(root, BAD_CAST R53_NS, NULL);
	xmlSetNs(root, ns);
	/* members in the API model's order, as the SDKs send them */
	xmlNode *cb = xmlNewChild(root, ns, BAD_CAST "ChangeBatch", NULL);
	xmlNode *changes = xmlNewChild(cb, ns, BAD_CAST "Changes", NULL);
	for (size_t i = 0; i < ng; i++)
		if (g[i].changed && g[i].had) {
			add_set_xml(changes, ns, "DELETE", g[i].old_name, g[i].type, g[i].old_ttl,
				    g[i].old_raw);
			(*count)++;
		}
	for (size_t i = 0; i < ng; i++)
		if (g[i].changed && strv_len(g[i].raw) > 0) {
			add_set_xml(changes, ns, "CREATE", g[i].had ? g[i].old_name : g[i].plain,
				    g[i].type, g[i].ttl, g[i].raw);
			(*count)++;
		}
	struct buf comment = BUF_INIT;
	buf_printf(&comment, "provision: %s", r->zone_bare);
	xmlNewTextChild(cb, ns, BAD_CAST "Comment", BAD_CAST buf_str(&comment));
	buf_release(&comment);
	xmlChar *mem = NULL;
	int len = 0;
	xmlDocDumpMemoryEnc(doc, &mem, &len, "UTF-8");
	if (mem)
		out = strndup((const char *)mem, (size_t)len);
	xmlFree(mem);
	xmlFreeDoc(doc);
	return out;
}

/* 1 when the change is in place in the cache. */
static int in_place(struct r53 *r, const struct change *c)
{
	const struct r53_set *s = set_find(r, c->name, rr_type_name(c->type));
	int before_gone = !c->before || (c->after && strcmp(c->before, c->after) == 0) ||
			  !s || find_value(s->vals, c->before) < 0;
	int after_there = !c->after || (s && find_value(s->vals, c->after) >= 0 &&
					s->ttl == c->ttl);
	return before_gone && after_there;
}

/* 1 when group i's set in the cache is the one read before (0: moved). */
static int as_read(struct r53 *r, const struct group *g)
{
	const struct r53_set *s = set_find(r, g->plain, g->type);
	if (!g->had)
		return s == NULL;
	return s && !s->special && s->ttl == g->old_ttl && same_values(s->raw, g->old_raw);
}

/* 1 when group i's set in the cache is the one the batch writes. */
static int as_written(struct r53 *r, const struct group *g)
{
	const struct r53_set *s = set_find(r, g->plain, g->type);
	if (!strv_len(g->raw))
		return s == NULL;
	return s && s->ttl == g->ttl && same_values(s->vals, g->vals);
}

/* The cache after a successful batch: the groups' sets as written. */
static int take_written(struct r53 *r, const struct group *g, size_t ng)
{
	for (size_t i = 0; i < ng; i++) {
		struct r53_set *s = set_find(r, g[i].plain, g[i].type);
		if (!g[i].changed)
			continue;
		if (s) {
			set_free(s);
			*s = r->sets[--r->nsets];
		}
		if (!strv_len(g[i].raw))
			continue;
		struct r53_set *v = realloc(r->sets, (r->nsets + 1) * sizeof *v);
		if (!v)
			return -1;
		r->sets = v;
		s = &v[r->nsets++];
		memset(s, 0, sizeof *s);
		s->name = strdup(g[i].had ? g[i].old_name : g[i].plain);
		s->plain = strdup(g[i].plain);
		s->type = strdup(g[i].type);
		s->ttl = g[i].ttl;
		s->raw = strv_copy(g[i].raw);
		s->vals = strv_copy(g[i].vals);
		if (!s->name || !s->plain || !s->type || !s->raw || !s->vals)
			return -1;
	}
	return 0;
}

/* The names of the groups (to read them again), NULL-terminated. */
static char **group_names(const struct group *g, size_t ng, char *const *also)
{
	char **v = strv_copy(also);
	for (size_t i = 0; i < ng; i++) {
		int dup = 0;
		for (size_t j = 0; v && v[j] && !dup; j++)
			dup = dname_equal(v[j], g[i].plain);
		if (!dup && strv_push(&v, g[i].plain) < 0) {
			strv_free(v);
			return NULL;
		}
	}
	return v;
}

/* "a.example.com. TXT, b.example.com. CNAME" of the changed groups. */
static void group_list(const struct group *g, size_t ng, int (*pick)(struct r53 *,
		       const struct group *), struct r53 *r, struct buf *out)
{
	size_t shown = 0;
	for (size_t i = 0; i < ng; i++) {
		if (!g[i].changed || (pick && pick(r, &g[i])))
			continue;
		if (shown++ < 4)
			buf_printf(out, "%s%s %s", shown > 1 ? ", " : "", g[i].plain, g[i].type);
	}
	if (shown > 4)
		buf_printf(out, " and %zu more", shown - 4);
}

static int r53_wait_insync(struct r53 *r, const char *change_id, struct prov_error *err)
{
	double start = now_s(), delay = 1;
	int tty = isatty(STDERR_FILENO), rc = 0, shown = 0;
	struct buf path = BUF_INIT, what = BUF_INIT;
	buf_printf(&path, R53_API "/change/%s", change_id);
	buf_printf(&what, "zone %s: waiting for change %s (GetChange)", r->zone_bare, change_id);
	for (;;) {
		double elapsed = now_s() - start;
		if (elapsed + delay > (double)r->wait_timeout) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: zone %s: the changes were applied, but change %s "
					 "was not INSYNC after %ld s (wait_timeout)", r->zone_bare,
					 change_id, r->wait_timeout);
			break;
		}
		sleep_s(delay);
		struct answer a;
		rc = r53_call(r, "GET", buf_str(&path), NULL, buf_str(&what), &a, NULL, err);
		if (rc == CALL_AWS)
			rc = aws_error(r, buf_str(&what), &a, err);
		char *status = rc == 0 ? x_text(x_child(a.root, "ChangeInfo"), "Status") : NULL;
		if (rc == 0 && !status)
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: %s: the answer has no ChangeInfo/Status",
					 buf_str(&what));
		answer_release(&a);
		int done = status && strcmp(status, "INSYNC") == 0;
		if (rc == 0 && (tty || r->verbose))
			fprintf(stderr, "%sprovision: route53: zone %s: change %s %s (%.0f s)%s",
				tty ? "\r" : "", r->zone_bare, change_id, status,
				now_s() - start, tty && !done ? "" : "\n");
		shown |= tty && !done;
		free(status);
		if (rc < 0 || done)
			break;
		delay = delay * 2 < 10 ? delay * 2 : 10;
	}
	if (rc < 0 && shown)
		fputc('\n', stderr);
	buf_release(&path);
	buf_release(&what);
	return rc;
}

static int r53_apply(void *handle, const struct zone *z, const struct change *changes,
		     size_t n, size_t *applied, struct prov_error *err)
{
	struct r53 *r = handle;
	struct group *g = NULL;
	size_t ng = 0, count = 0;
	char *body = NULL, *change_id = NULL, **names = NULL;
	struct buf path = BUF_INIT, what = BUF_INIT;
	int rc = r53_zone(r, z, err);
	*applied = 0;
	if (rc < 0 || n == 0)
		return rc;
	/* the sets read by list(); read them when they are not there */
	int known = r->covered != NULL;
	for (size_t i = 0; i < n && known; i++)
		known = covered(r, changes[i].name);
	if (!known) {
		for (size_t i = 0; i < n; i++)
			if (strv_push(&names, changes[i].name) < 0) {
				rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
				goto out;
			}
		if ((rc = r53_read(r, names, err)) < 0)
			goto out;
	}
	r->confirmed = 0;
	if ((rc = make_groups(r, changes, n, &g, &ng, err)) < 0)
		goto out;
	body = batch_xml(r, g, ng, &count);
	if (!body) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (count == 0) { /* everything is in place already */
		*applied = n;
		goto out;
	}
	buf_printf(&path, R53_API "/hostedzone/%s/rrset/", r->zone_id);
	buf_printf(&what, "zone %s: ChangeResourceRecordSets (", r->zone_bare);
	group_list(g, ng, NULL, r, &what);
	buf_putc(&what, ')');
	strv_free(names);
	names = strv_copy(r->covered);
	for (int attempt = 0;; attempt++) {
		struct answer a;
		int unknown = 0;
		struct prov_error e2 = PROV_ERROR_INIT;
		rc = r53_call(r, "POST", buf_str(&path), body, buf_str(&what), &a, &unknown, &e2);
		if (rc == CALL_OK) {
			char *id = x_text(x_child(a.root, "ChangeInfo"), "Id");
			change_id = id ? bare_id(id) : NULL;
			free(id);
			answer_release(&a);
			if (take_written(r, g, ng) < 0) {
				rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
				*applied = n; /* Route 53 took the batch */
				goto out;
			}
			*applied = n;
			r->confirmed = 1;
			break;
		}
		if (rc == CALL_AWS && !unknown) {
			int icb = strcmp(a.code, "InvalidChangeBatch") == 0;
			char code[64], msg[600];
			long status = a.status;
			snprintf(code, sizeof code, "%s", a.code);
			snprintf(msg, sizeof msg, "%s", a.msg);
			answer_release(&a);
			struct prov_error e3 = PROV_ERROR_INIT;
			/* refused as a whole: nothing was applied. For an invalid
			 * batch, read again: what is there now, which set moved */
			char **again = icb ? group_names(g, ng, names) : NULL;
			int rr = again ? r53_read(r, again, &e3) : -1;
			strv_free(again);
			struct buf moved = BUF_INIT;
			if (rr == 0) {
				group_list(g, ng, as_read, r, &moved);
				for (size_t i = 0; i < n; i++)
					*applied += in_place(r, &changes[i]);
			}
			if (icb && moved.len)
				rc = prov_errorf(err, PROV_ERR_RUNTIME,
						 "route53: zone %s: the change batch was refused and nothing "
						 "was applied: %s changed since it was read (someone else "
						 "edited it; InvalidChangeBatch: %s); run provision again to "
						 "plan from the current records", r->zone_bare,
						 buf_str(&moved), msg);
			else
				rc = prov_errorf(err, PROV_ERR_RUNTIME,
						 "route53: %s: HTTP %ld %s: %s%s", buf_str(&what), status,
						 code, msg, hint(r, code));
			buf_release(&moved);
			goto out;
		}
		if (rc == CALL_AWS)
			rc = aws_error(r, buf_str(&what), &a, &e2);
		answer_release(&a);
		if (!unknown || attempt + 1 >= R53_WRITE_TRIES) {
			prov_errorf(err, rc, "%s", e2.msg);
			if (unknown) { /* say what is in place, read back */
				struct prov_error e3 = PROV_ERROR_INIT;
				if (r53_read(r, names, &e3) == 0)
					for (size_t i = 0; i < n; i++)
						*applied += in_place(r, &changes[i]);
			}
			goto out;
		}
		/* The batch may or may not have been applied: read, then decide. */
		if (r->verbose)
			fprintf(stderr, "provision: %s; reading the record sets again\n", e2.msg);
		if ((rc = r53_read(r, names, err)) < 0)
			goto out;
		int all_written = 1, all_read = 1;
		for (size_t i = 0; i < ng; i++)
			if (g[i].changed) {
				all_written &= as_written(r, &g[i]);
				all_read &= as_read(r, &g[i]);
			}
		if (all_written) { /* the lost answer was a success */
			*applied = n;
			r->confirmed = 1;
			rc = 0;
			break;
		}
		if (!all_read) {
			struct buf moved = BUF_INIT;
			group_list(g, ng, as_read, r, &moved);
			for (size_t i = 0; i < n; i++)
				*applied += in_place(r, &changes[i]);
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: zone %s: after a lost answer, %s changed since it was "
					 "read; nothing was sent again; run provision again",
					 r->zone_bare, buf_str(&moved));
			buf_release(&moved);
			goto out;
		}
		/* untouched: Route 53 never took it, sending again is safe */
	}
	if (rc == 0 && r->wait && change_id)
		rc = r53_wait_insync(r, change_id, err);
out:
	free(body);
	free(change_id);
	strv_free(names);
	groups_free(g, ng);
	buf_release(&path);
	buf_release(&what);
	return rc;
}

const struct provider_ops provider_route53 = {
	.name = "route53",
	.keys = r53_keys,
	.min_ttl = 0, /* Route 53 takes 0 to 2147483647 */
	.conditional_writes = 1, /* exact DELETE of what was read, CREATE */
	.open = r53_open,
	.list = r53_list,
	.apply = r53_apply,
	.close = r53_close,
};
