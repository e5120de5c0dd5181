/*
 * config.c - provision.cfg (libconfig) to a validated struct config.
 *
 * First step of config -> plan -> apply. Each domain's record policy is the
 * built-in values (DEFAULT_* in config.h), overridden key by key by
 * `defaults`, then by the domain entry; `{domain}` is replaced last. Values
 * are checked against their key's domain here (a TTL is 0..2^31-1 as in
 * RFC 2181 section 8, a DMARC p= is none/quarantine/reject as in RFC 7489
 * section 6.3); whether a key is a real RSA key is the planner's business.
 * The smtp group (smtp-test) is merged the same way, then completed from
 * its preset and from what port and security imply (smtp_resolve).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"
#include "dmarc.h"
#include "names.h"
#include "provision/util.h"

/* What a key holds and how its value is checked. */
enum kind {
	K_STR,    /* any string */
	K_NAME,   /* a DNS name, relative or with a trailing dot */
	K_LABELS, /* DNS labels, no trailing dot */
	K_B64,    /* base64 characters */
	K_ENUM,   /* one of choices */
	K_URIS,   /* DMARC rua/ruf: comma-separated mailto:/http(s): URIs */
	K_FO,     /* DMARC fo: colon-separated 0, 1, d, s */
	K_IP,     /* an IPv4 or IPv6 address */
	K_STRV,   /* a list or array of non-empty strings */
	K_U32,    /* integer in [min, max], stored as uint32_t */
	K_INT,    /* integer in [min, max], stored as int */
	K_GROUP,  /* a group of sub keys */
	K_HOST,   /* a DNS name or an IP address (it goes into a URL) */
	K_TEXT,   /* a non-empty string without control characters */
	K_ENV,    /* an environment variable's name */
	K_ADDR,   /* an e-mail address: local@domain, nothing else */
};

#define NOFIELD SIZE_MAX /* validated, not stored */
#define F(field) .off = offsetof(struct record_policy, field)

struct key {
	const char *name;
	enum kind kind;
	size_t off;
	const char *const *choices;
	long long min, max;
	const struct key *sub;
	unsigned bit; /* a group that `false` leaves out (REC_*), or 0 */
};

static const char *const all_choices[] = { "~all", "-all", "?all", NULL };
static const char *const policy_choices[] = {
	"none", "quarantine", "reject", NULL };
static const char *const align_choices[] = { "r", "s", NULL };
static const char *const preset_choices[] = {
	"gmail", "icloud", "outlook", "custom", NULL };
static const char *const security_choices[] = { "starttls", "tls", NULL };

static const struct key spf_keys[] = {
	{ .name = "include", .kind = K_NAME, F(spf.include) },
	{ .name = "all", .kind = K_ENUM, F(spf.all), .choices = all_choices },
	{ .name = "test_ip", .kind = K_IP, F(spf.test_ip) },
	{ .name = "flatten", .kind = K_STRV, F(spf.flatten) },
	{ .name = NULL },
};

static const struct key dkim_keys[] = {
	{ .name = "selector", .kind = K_LABELS, F(dkim.selector) },
	{ .name = "key", .kind = K_B64, F(dkim.key) },
	{ .name = NULL },
};

static const struct key dmarc_keys[] = {
	{ .name = "policy", .kind = K_ENUM, F(dmarc.policy),
	  .choices = policy_choices },
	{ .name = "sp", .kind = K_ENUM, F(dmarc.sp), .choices = policy_choices },
	{ .name = "rua", .kind = K_URIS, F(dmarc.rua) },
	{ .name = "ruf", .kind = K_URIS, F(dmarc.ruf) },
	{ .name = "fo", .kind = K_FO, F(dmarc.fo) },
	{ .name = "adkim", .kind = K_ENUM, F(dmarc.adkim),
	  .choices = align_choices },
	{ .name = "aspf", .kind = K_ENUM, F(dmarc.aspf),
	  .choices = align_choices },
	{ .name = "pct", .kind = K_INT, F(dmarc.pct), .min = 0, .max = 100 },
	{ .name = NULL },
};

static const struct key tracking_keys[] = {
	{ .name = "name", .kind = K_NAME, F(tracking.name) },
	{ .name = "target", .kind = K_NAME, F(tracking.target) },
	{ .name = NULL },
};

static const struct key imap_keys[] = {
	{ .name = "host", .kind = K_HOST, F(smtp.imap.host) },
	{ .name = "port", .kind = K_INT, F(smtp.imap.port), .min = 1,
	  .max = 65535 },
	{ .name = NULL },
};

static const struct key smtp_keys[] = {
	{ .name = "preset", .kind = K_ENUM, F(smtp.preset),
	  .choices = preset_choices },
	{ .name = "host", .kind = K_HOST, F(smtp.host) },
	{ .name = "port", .kind = K_INT, F(smtp.port), .min = 1,
	  .max = 65535 },
	{ .name = "security", .kind = K_ENUM, F(smtp.security),
	  .choices = security_choices },
	{ .name = "user", .kind = K_TEXT, F(smtp.user) },
	{ .name = "password_env", .kind = K_ENV, F(smtp.password_env) },
	{ .name = "from", .kind = K_ADDR, F(smtp.from) },
	{ .name = "ca_file", .kind = K_TEXT, F(smtp.ca_file) },
	{ .name = "imap", .kind = K_GROUP, .sub = imap_keys },
	{ .name = NULL },
};

static const struct key dmarc_report_keys[] = {
	{ .name = "min_days", .kind = K_INT, F(dmarc_report.min_days), .min = 1, .max = 366 },
	{ .name = "min_aligned", .kind = K_INT, F(dmarc_report.min_aligned), .min = 0,
	  .max = 100 },
	{ .name = NULL },
};

/* The keys of `defaults` and the record keys of a domain entry. */
static const struct key policy_keys[] = {
	{ .name = "ttl", .kind = K_U32, F(ttl), .min = 0, .max = INT32_MAX },
	{ .name = "spf", .kind = K_GROUP, .sub = spf_keys, .bit = REC_SPF },
	{ .name = "dkim", .kind = K_GROUP, .sub = dkim_keys, .bit = REC_DKIM },
	{ .name = "dmarc", .kind = K_GROUP, .sub = dmarc_keys, .bit = REC_DMARC },
	{ .name = "tracking", .kind = K_GROUP, .sub = tracking_keys, .bit = REC_TRACKING },
	{ .name = "smtp", .kind = K_GROUP, .sub = smtp_keys },
	{ .name = "dmarc_report", .kind = K_GROUP, .sub = dmarc_report_keys },
	{ .name = NULL },
};

struct ctx {
	const char *file; /* as given */
	struct prov_error *err;
};

/* "FILE:LINE: message" with the line of setting s; returns
 * PROV_ERR_CONFIG. */
static int fail(struct ctx *c, config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, config_setting_t *s, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	const char *file = s && config_setting_source_file(s)
				   ? config_setting_source_file(s) : c->file;
	unsigned line = s ? config_setting_source_line(s) : 1;
	return prov_errorf(c->err, PROV_ERR_CONFIG, "%s:%u: %s", file, line,
			   msg);
}

static int nomem(struct ctx *c)
{
	return prov_errorf(c->err, PROV_ERR_NOMEM, "%s: out of memory",
			   c->file);
}

/* s with every "{domain}" replaced by dom; caller frees; NULL on ENOMEM. */
static char *subst(const char *s, const char *dom)
{
	static const char tag[] = "{domain}";
	size_t n = 1, tl = sizeof tag - 1, dl = strlen(dom);
	for (const char *p = s; *p;)
		if (strncmp(p, tag, tl) == 0) {
			n += dl;
			p += tl;
		} else {
			n++;
			p++;
		}
	char *out = malloc(n), *o = out;
	if (!out)
		return NULL;
	for (const char *p = s; *p;)
		if (strncmp(p, tag, tl) == 0) {
			memcpy(o, dom, dl);
			o += dl;
			p += tl;
		} else {
			*o++ = *p++;
		}
	*o = '\0';
	return out;
}

/* 1 when s is a DNS name: labels of letters, digits, '-' and '_', 1..63
 * bytes each, 253 in all (RFC 1035 section 2.3.4); a trailing dot only
 * with allow_dot. */
static int valid_name(const char *s, int allow_dot)
{
	size_t n = strlen(s), label = 0;
	if (allow_dot && n > 1 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
			   || (ch >= '0' && ch <= '9') || ch == '-'
			   || ch == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0;
}

static int valid_b64(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789+/=", *s))
			return 0;
	return 1;
}

static int valid_choice(const char *s, const char *const *choices)
{
	for (; *choices; choices++)
		if (strcmp(s, *choices) == 0)
			return 1;
	return 0;
}

/* Each piece of s split at sep passes ok (a URI or an fo option). */
static int valid_split(const char *s, char sep, int (*ok)(const char *, size_t))
{
	for (;;) {
		const char *end = strchr(s, sep);
		size_t n = end ? (size_t)(end - s) : strlen(s);
		if (!ok(s, n))
			return 0;
		if (!end)
			return 1;
		s = end + 1;
	}
}

static int valid_fo(const char *s, size_t n)
{
	return n == 1 && strchr("01ds", *s);
}

static int valid_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int valid_text(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int valid_env(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789_", *s))
			return 0;
	return 1;
}

/* NULL when v suits kind k, else what is wrong. v has {domain} replaced by
 * a sample name, so templates are checked as the names they become. */
static const char *check_string(const struct key *k, const char *v)
{
	switch (k->kind) {
	case K_NAME:
		return valid_name(v, 1) ? NULL : "is not a valid DNS name";
	case K_LABELS:
		return valid_name(v, 0) ? NULL : "is not a valid DNS label";
	case K_B64:
		return valid_b64(v) ? NULL : "must be non-empty base64";
	case K_URIS:
		return dmarc_uri_list_check(v, NULL) == 0 ? NULL
		       : "must be comma-separated mailto: (with an @), "
			 "https: or http: URIs";
	case K_FO:
		return valid_split(v, ':', valid_fo) ? NULL
		       : "must be colon-separated 0, 1, d or s";
	case K_IP:
		return valid_ip(v) ? NULL : "is not an IPv4 or IPv6 address";
	case K_HOST:
		return valid_name(v, 0) || valid_ip(v) ? NULL
		       : "is not a host name or an IP address";
	case K_TEXT:
		return valid_text(v) ? NULL
		       : "must be non-empty, without control characters";
	case K_ENV:
		return valid_env(v) ? NULL
		       : "is not an environment variable name";
	case K_ADDR:
		return mail_address_valid(v) ? NULL
		       : "is not an e-mail address (local@domain)";
	default:
		return NULL;
	}
}

/* "a, b or c" for messages. */
static void join_choices(char *buf, size_t n, const char *const *choices)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; choices[i] && used < n; i++) {
		const char *sep = i == 0 ? "" : choices[i + 1] ? ", " : " or ";
		int w = snprintf(buf + used, n - used, "%s%s", sep, choices[i]);
		used += w > 0 ? (size_t)w : 0;
	}
}

static int apply_string(struct ctx *c, struct record_policy *p,
			config_setting_t *s, const struct key *k,
			const char *path)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(c, s, "'%s' must be a string", path);
	const char *v = config_setting_get_string(s);
	if (k->kind == K_ENUM && !valid_choice(v, k->choices)) {
		char list[200];
		join_choices(list, sizeof list, k->choices);
		return fail(c, s, "'%s' must be %s, not '%s'", path, list, v);
	}
	char *sample = subst(v, "example.com");
	if (!sample)
		return nomem(c);
	const char *why = check_string(k, sample);
	free(sample);
	if (why)
		return fail(c, s, "'%s' %s: '%s'", path, why, v);
	if (k->off == NOFIELD)
		return 0;
	char *copy = strdup(v), **slot = (char **)((char *)p + k->off);
	if (!copy)
		return nomem(c);
	free(*slot);
	*slot = copy;
	return 0;
}

static int apply_int(struct ctx *c, struct record_policy *p,
		     config_setting_t *s, const struct key *k, const char *path)
{
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return fail(c, s, "'%s' must be an integer", path);
	long long v = config_setting_get_int64(s);
	if (v < k->min || v > k->max)
		return fail(c, s, "'%s' must be between %lld and %lld, not %lld",
			    path, k->min, k->max, v);
	if (k->off == NOFIELD)
		return 0;
	if (k->kind == K_U32)
		*(uint32_t *)((char *)p + k->off) = (uint32_t)v;
	else
		*(int *)((char *)p + k->off) = (int)v;
	return 0;
}

/* A list or array of non-empty strings into a fresh strv; -1 when s is not
 * one, PROV_ERR_NOMEM. */
static int read_strv(config_setting_t *s, char ***out)
{
	char **v = calloc(1, sizeof *v);
	if (!v)
		return PROV_ERR_NOMEM;
	int rc = -1;
	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		goto out;
	for (int i = 0; i < config_setting_length(s); i++) {
		config_setting_t *e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING
		    || !*config_setting_get_string(e))
			goto out;
		if (strv_push(&v, config_setting_get_string(e)) < 0) {
			rc = PROV_ERR_NOMEM;
			goto out;
		}
	}
	*out = v;
	return 0;
out:
	strv_free(v);
	return rc;
}

static int apply_strv(struct ctx *c, struct record_policy *p,
		      config_setting_t *s, const struct key *k, const char *path)
{
	char **v = NULL;
	int rc = read_strv(s, &v);
	if (rc == PROV_ERR_NOMEM)
		return nomem(c);
	if (rc < 0)
		return fail(c, s, "'%s' must be a list of non-empty strings",
			    path);
	char ***slot = (char ***)((char *)p + k->off);
	strv_free(*slot);
	*slot = v;
	return 0;
}

static int apply_group(struct ctx *c, struct record_policy *p,
		       config_setting_t *grp, const struct key *keys,
		       const char *path, const char *owner);

static const struct key *key_find(const struct key *keys, const char *name)
{
	for (; keys->name; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

/* Check setting s against key k and store it in p. prefix is the path of
 * the enclosing group ("" at the top, "smtp." in smtp). */
static int apply_key(struct ctx *c, struct record_policy *p,
		     config_setting_t *s, const struct key *k,
		     const char *prefix, const char *owner)
{
	char path[128];
	snprintf(path, sizeof path, "%s%s", prefix, k->name);
	switch (k->kind) {
	case K_GROUP:
		if (k->bit && config_setting_type(s) == CONFIG_TYPE_BOOL) {
			if (config_setting_get_bool(s))
				p->omit &= ~k->bit;
			else
				p->omit |= k->bit;
			return 0;
		}
		if (!config_setting_is_group(s) && k->bit)
			return fail(c, s, "'%s' must be a group, or false to leave the "
				    "record out", path);
		if (!config_setting_is_group(s))
			return fail(c, s, "'%s' must be a group", path);
		p->omit &= ~k->bit; /* a group of its own brings the record back */
		return apply_group(c, p, s, k->sub, path, owner);
	case K_U32:
	case K_INT:
		return apply_int(c, p, s, k, path);
	case K_STRV:
		return apply_strv(c, p, s, k, path);
	default:
		return apply_string(c, p, s, k, path);
	}
}

/* Every member of group grp (path "dmarc", "smtp.imap", "" for the keys
 * of `defaults` itself) against keys. owner: "defaults", "domain 'x'". */
static int apply_group(struct ctx *c, struct record_policy *p,
		       config_setting_t *grp, const struct key *keys,
		       const char *path, const char *owner)
{
	char prefix[130];
	snprintf(prefix, sizeof prefix, "%s%s", path, *path ? "." : "");
	for (int i = 0; i < config_setting_length(grp); i++) {
		config_setting_t *m = config_setting_get_elem(grp, i);
		const char *name = config_setting_name(m);
		const struct key *k = key_find(keys, name);
		if (!k && *path)
			return fail(c, m, "unknown key '%s' in %s of %s", name,
				    path, owner);
		if (!k)
			return fail(c, m, "unknown key '%s' in %s", name, owner);
		int rc = apply_key(c, p, m, k, prefix, owner);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Calls fn on every stored string (strv 0) and string list (strv 1) slot
 * of p; returns -1 when any call did. */
typedef int (*slot_fn)(void *slot, int strv, void *arg);

static int policy_walk(struct record_policy *p, const struct key *keys,
		       slot_fn fn, void *arg)
{
	int rc = 0;
	for (const struct key *k = keys; k->name; k++) {
		if (k->off == NOFIELD || k->kind == K_U32 || k->kind == K_INT)
			continue;
		if (k->kind == K_GROUP) {
			if (policy_walk(p, k->sub, fn, arg) < 0)
				rc = -1;
		} else if (fn((char *)p + k->off, k->kind == K_STRV, arg) < 0) {
			rc = -1;
		}
	}
	return rc;
}

static int slot_free(void *slot, int strv, void *arg)
{
	(void)arg;
	if (strv)
		strv_free(*(char ***)slot);
	else
		free(*(char **)slot);
	return 0;
}

static char **strv_dup(char *const *v, const char *dom)
{
	char **out = calloc(1, sizeof *out);
	for (size_t i = 0; out && v && v[i]; i++) {
		char *s = dom ? subst(v[i], dom) : xstrdup(v[i]);
		if (!s || strv_push(&out, s) < 0) {
			strv_free(out);
			out = NULL;
		}
		free(s);
	}
	return out;
}

/* Replace the slot's borrowed pointer by an owned copy, with {domain}
 * replaced when arg is a name. The slot is NULL when that fails. */
static int slot_dup(void *slot, int strv, void *arg)
{
	if (strv) {
		char ***v = slot;
		*v = strv_dup(*v, arg);
		return *v ? 0 : -1;
	}
	char **s = slot;
	if (!*s)
		return 0;
	*s = arg ? subst(*s, arg) : strdup(*s);
	return *s ? 0 : -1;
}

static void policy_release(struct record_policy *p)
{
	policy_walk(p, policy_keys, slot_free, NULL);
	memset(p, 0, sizeof *p);
}

/* dst = a deep copy of src, {domain} replaced by dom unless NULL. dst is
 * always safe to release. */
static int policy_copy(struct record_policy *dst,
		       const struct record_policy *src, const char *dom)
{
	*dst = *src;
	return policy_walk(dst, policy_keys, slot_dup, (void *)dom);
}

/* The built-in policy (config.h), owned by p. */
static int policy_builtin(struct record_policy *p)
{
	memset(p, 0, sizeof *p);
	p->ttl = DEFAULT_TTL;
	p->dmarc.pct = -1;
	p->dmarc_report.min_days = 14;
	p->dmarc_report.min_aligned = 98;
	p->spf.include = strdup(DEFAULT_SPF_INCLUDE);
	p->spf.all = strdup(DEFAULT_SPF_ALL);
	p->spf.flatten = calloc(1, sizeof *p->spf.flatten);
	p->dkim.selector = strdup(DEFAULT_DKIM_SELECTOR);
	p->dkim.key = strdup(DEFAULT_DKIM_KEY);
	p->dmarc.policy = strdup(DEFAULT_DMARC_POLICY);
	p->dmarc.rua = strdup(DEFAULT_DMARC_RUA);
	p->dmarc.ruf = strdup(DEFAULT_DMARC_RUF);
	p->dmarc.fo = strdup(DEFAULT_DMARC_FO);
	p->tracking.name = strdup(DEFAULT_TRACKING_NAME);
	p->tracking.target = strdup(DEFAULT_TRACKING_TARGET);
	if (p->spf.include && p->spf.all && p->spf.flatten && p->dkim.selector
	    && p->dkim.key && p->dmarc.policy && p->dmarc.rua && p->dmarc.ruf
	    && p->dmarc.fo && p->tracking.name && p->tracking.target)
		return 0;
	return -1;
}

/* ---- smtp --------------------------------------------------------- */

/* The providers' published submission (RFC 6409, port 587 with STARTTLS)
 * and IMAP (RFC 8314, port 993 with implicit TLS) settings. */
static const struct smtp_preset presets[] = {
	{ "gmail", "smtp.gmail.com", 587, "starttls", "imap.gmail.com", 993 },
	{ "icloud", "smtp.mail.me.com", 587, "starttls", "imap.mail.me.com",
	  993 },
	{ "outlook", "smtp-mail.outlook.com", 587, "starttls",
	  "outlook.office365.com", 993 },
	{ NULL, NULL, 0, NULL, NULL, 0 },
};

const struct smtp_preset *smtp_preset_find(const char *name)
{
	for (const struct smtp_preset *p = presets; name && p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* *slot = a copy of v unless already set; -1 on ENOMEM. */
static int fill(char **slot, const char *v)
{
	if (*slot || !v)
		return 0;
	*slot = strdup(v);
	return *slot ? 0 : -1;
}

/* The final SMTP settings of a domain (see struct smtp_config): explicit
 * keys first, then the preset, then what the port or security implies
 * (465 is implicit TLS, RFC 8314 section 3.3; 587 submission with
 * STARTTLS, RFC 6409). */
static int smtp_resolve(struct smtp_config *s)
{
	const struct smtp_preset *ps = smtp_preset_find(s->preset);
	int rc = 0;
	if (ps && (fill(&s->host, ps->host) < 0
		   || fill(&s->imap.host, ps->imap_host) < 0))
		return -1;
	if (!s->host)
		return 0;
	if (!s->port && !s->security) {
		s->port = ps ? ps->port : 587;
		rc = fill(&s->security, ps ? ps->security : "starttls");
	} else if (!s->port) {
		s->port = strcmp(s->security, "tls") == 0 ? 465 : 587;
	} else {
		rc = fill(&s->security, s->port == 465 ? "tls" : "starttls");
	}
	if (s->imap.host && !s->imap.port)
		s->imap.port = ps ? ps->imap_port : DEFAULT_IMAP_PORT;
	if (rc == 0)
		rc = fill(&s->password_env, DEFAULT_SMTP_PASSWORD_ENV);
	return rc;
}

/* ---- providers ---------------------------------------------------- */

/* "a, b, c": the registered types. */
static void known_types(char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; provider_registry[i] && used < n; i++) {
		int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "",
				 provider_registry[i]->name);
		used += w > 0 ? (size_t)w : 0;
	}
}

/* The value of a provider setting as text; NULL when of no scalar type. */
static char *setting_text(config_setting_t *s)
{
	char num[32];
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		return strdup(config_setting_get_string(s));
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(num, sizeof num, "%lld", config_setting_get_int64(s));
		return strdup(num);
	case CONFIG_TYPE_BOOL:
		return strdup(config_setting_get_bool(s) ? "true" : "false");
	default:
		return NULL;
	}
}

static int key_listed(const char *const *keys, const char *name)
{
	for (; keys && *keys; keys++)
		if (strcmp(*keys, name) == 0)
			return 1;
	return 0;
}

static int provider_type(struct ctx *c, struct provider_config *pc,
			 config_setting_t *blk)
{
	config_setting_t *t = config_setting_get_member(blk, "type");
	char known[300];
	if (!t)
		return fail(c, blk, "provider '%s' has no 'type'", pc->name);
	if (config_setting_type(t) != CONFIG_TYPE_STRING)
		return fail(c, t, "'type' of provider '%s' must be a string",
			    pc->name);
	pc->type = strdup(config_setting_get_string(t));
	if (!pc->type)
		return nomem(c);
	pc->ops = provider_find(pc->type);
	if (!pc->ops) {
		known_types(known, sizeof known);
		return fail(c, t, "provider '%s' has unknown type '%s' "
			    "(known types: %s)", pc->name, pc->type, known);
	}
	return 0;
}

static int provider_settings(struct ctx *c, struct provider_config *pc,
			     config_setting_t *blk)
{
	int n = config_setting_length(blk);
	pc->settings = calloc((size_t)n + 1, sizeof *pc->settings);
	if (!pc->settings)
		return nomem(c);
	for (int i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(blk, i);
		const char *name = config_setting_name(m);
		if (strcmp(name, "type") == 0)
			continue;
		if (!key_listed(pc->ops->keys, name))
			return fail(c, m, "unknown key '%s' in provider '%s' "
				    "(type %s)", name, pc->name, pc->type);
		struct provider_setting *ps = &pc->settings[pc->nsettings];
		ps->value = setting_text(m);
		if (!ps->value)
			return fail(c, m, "'%s' of provider '%s' must be a "
				    "string, integer or boolean", name,
				    pc->name);
		pc->nsettings++;
		ps->key = strdup(name);
		ps->line = (int)config_setting_source_line(m);
		if (!ps->key)
			return nomem(c);
	}
	return 0;
}

/* The directory of path ("." when it has none); caller frees. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int load_providers(struct ctx *c, struct config *cfg,
			  config_setting_t *grp)
{
	if (!config_setting_is_group(grp))
		return fail(c, grp, "'providers' must be a group");
	int n = config_setting_length(grp);
	cfg->providers = calloc((size_t)n + 1, sizeof *cfg->providers);
	if (!cfg->providers)
		return nomem(c);
	for (int i = 0; i < n; i++) {
		config_setting_t *blk = config_setting_get_elem(grp, i);
		struct provider_config *pc = &cfg->providers[i];
		cfg->nproviders++;
		pc->name = strdup(config_setting_name(blk));
		pc->base_dir = dir_of(cfg->file);
		pc->file = cfg->file;
		pc->line = (int)config_setting_source_line(blk);
		if (!pc->name || !pc->base_dir)
			return nomem(c);
		if (!config_setting_is_group(blk))
			return fail(c, blk, "provider '%s' must be a group",
				    pc->name);
		int rc = provider_type(c, pc, blk);
		if (rc == 0)
			rc = provider_settings(c, pc, blk);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void provider_release(struct provider_config *pc)
{
	for (size_t i = 0; i < pc->nsettings; i++) {
		free(pc->settings[i].key);
		free(pc->settings[i].value);
	}
	free(pc->settings);
	free(pc->name);
	free(pc->type);
	free((char *)pc->base_dir); /* our copy; file belongs to config */
}

/* ---- domains ------------------------------------------------------ */

/* HOST, HOST:PORT, IPv6 or [IPv6]:PORT; port 1..65535. */
static int valid_server(const char *s)
{
	const char *port = NULL;
	if (*s == '[') {
		const char *end = strchr(s, ']');
		if (!end || end == s + 1 || (end[1] && end[1] != ':'))
			return 0;
		port = end[1] ? end + 2 : NULL;
	} else {
		const char *colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			return valid_ip(s);
		if (colon == s)
			return 0;
		port = colon ? colon + 1 : NULL;
	}
	if (!*s)
		return 0;
	if (!port)
		return 1;
	char *end;
	errno = 0;
	long v = strtol(port, &end, 10);
	return *port >= '0' && *port <= '9' && !*end && !errno && v >= 1
	       && v <= 65535;
}

static int domain_name(struct ctx *c, struct config *cfg,
		       struct domain_config *d, config_setting_t *e)
{
	config_setting_t *s = config_setting_get_member(e, "name");
	if (!s)
		return fail(c, e, "domain entry has no 'name'");
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(c, s, "'name' must be a string");
	const char *v = config_setting_get_string(s);
	if (!valid_name(v, 1))
		return fail(c, s, "'name' is not a valid DNS name: '%s'", v);
	char *fq = dname_fqdn(v);
	if (!fq)
		return nomem(c);
	fq[strlen(fq) - 1] = '\0';
	d->name = fq;
	for (size_t i = 0; i + 1 < cfg->ndomains; i++)
		if (strcmp(cfg->domains[i].name, fq) == 0)
			return fail(c, s, "domain '%s' is listed twice (first "
				    "on line %d)", fq, cfg->domains[i].line);
	return 0;
}

static int domain_provider(struct ctx *c, struct config *cfg,
			   struct domain_config *d, config_setting_t *e)
{
	config_setting_t *s = config_setting_get_member(e, "provider");
	if (!s)
		return fail(c, e, "domain '%s' has no 'provider'", d->name);
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(c, s, "'provider' of domain '%s' must be a string",
			    d->name);
	const char *v = config_setting_get_string(s);
	d->provider = strdup(v);
	if (!d->provider)
		return nomem(c);
	for (size_t i = 0; i < cfg->nproviders; i++)
		if (strcmp(cfg->providers[i].name, v) == 0)
			d->prov = &cfg->providers[i];
	if (!d->prov)
		return fail(c, s, "domain '%s' names provider '%s', which is "
			    "not defined in providers", d->name, v);
	return 0;
}

static int domain_nameservers(struct ctx *c, struct domain_config *d,
			      config_setting_t *s)
{
	char **v = NULL;
	int rc = read_strv(s, &v);
	if (rc == PROV_ERR_NOMEM)
		return nomem(c);
	if (rc < 0)
		return fail(c, s, "'nameservers' must be a list of strings");
	strv_free(d->nameservers);
	d->nameservers = v;
	for (size_t i = 0; v[i]; i++)
		if (!valid_server(v[i]))
			return fail(c, s, "'nameservers' entry '%s' is not "
				    "HOST[:PORT]", v[i]);
	return 0;
}

/* The keys of a domain entry besides name and provider. */
static int domain_member(struct ctx *c, struct domain_config *d,
			 struct record_policy *p, config_setting_t *m,
			 const char *owner)
{
	const char *name = config_setting_name(m);
	if (strcmp(name, "name") == 0 || strcmp(name, "provider") == 0)
		return 0;
	if (strcmp(name, "nameservers") == 0)
		return domain_nameservers(c, d, m);
	if (strcmp(name, "zone_id") == 0) {
		if (config_setting_type(m) != CONFIG_TYPE_STRING
		    || !*config_setting_get_string(m))
			return fail(c, m, "'zone_id' must be a non-empty string");
		free(d->zone_id);
		d->zone_id = strdup(config_setting_get_string(m));
		return d->zone_id ? 0 : nomem(c);
	}
	const struct key *k = key_find(policy_keys, name);
	if (!k)
		return fail(c, m, "unknown key '%s' in %s", name, owner);
	return apply_key(c, p, m, k, "", owner);
}

/* One entry of `domains`: defaults overridden, then {domain} replaced. */
static int load_domain(struct ctx *c, struct config *cfg,
		       const struct record_policy *defs, config_setting_t *e)
{
	struct domain_config *d = &cfg->domains[cfg->ndomains++];
	struct record_policy p = { 0 };
	char owner[300];
	d->line = (int)config_setting_source_line(e);
	if (!config_setting_is_group(e))
		return fail(c, e, "each entry of 'domains' must be a group");
	int rc = domain_name(c, cfg, d, e);
	if (rc == 0)
		rc = domain_provider(c, cfg, d, e);
	if (rc < 0)
		return rc;
	d->nameservers = calloc(1, sizeof *d->nameservers);
	if (!d->nameservers || policy_copy(&p, defs, NULL) < 0)
		rc = nomem(c);
	snprintf(owner, sizeof owner, "domain '%s'", d->name);
	for (int i = 0; rc == 0 && i < config_setting_length(e); i++)
		rc = domain_member(c, d, &p, config_setting_get_elem(e, i),
				   owner);
	if (rc == 0 && (policy_copy(&d->policy, &p, d->name) < 0
			|| smtp_resolve(&d->policy.smtp) < 0))
		rc = nomem(c);
	policy_release(&p);
	return rc;
}

static int load_domains(struct ctx *c, struct config *cfg,
			const struct record_policy *defs, config_setting_t *l)
{
	if (!l)
		return prov_errorf(c->err, PROV_ERR_CONFIG, "%s:1: 'domains' "
				   "is missing: list the domains to manage",
				   c->file);
	if (!config_setting_is_list(l))
		return fail(c, l, "'domains' must be a list of groups");
	int n = config_setting_length(l);
	if (n == 0)
		return fail(c, l, "'domains' must not be empty");
	cfg->domains = calloc((size_t)n, sizeof *cfg->domains);
	if (!cfg->domains)
		return nomem(c);
	for (int i = 0; i < n; i++) {
		int rc = load_domain(c, cfg, defs, config_setting_get_elem(l, i));
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- the file ----------------------------------------------------- */

static int read_file(struct ctx *c, config_t *lc)
{
	errno = 0;
	if (config_read_file(lc, c->file))
		return 0;
	if (config_error_type(lc) == CONFIG_ERR_FILE_IO) {
		struct stat st;
		int e = errno;
		if (stat(c->file, &st) == 0 && S_ISDIR(st.st_mode))
			e = EISDIR;
		return prov_errorf(c->err, PROV_ERR_CONFIG, "%s: cannot read "
				   "configuration: %s", c->file,
				   e ? strerror(e) : config_error_text(lc));
	}
	const char *text = config_error_text(lc);
	const char *file = config_error_file(lc) ? config_error_file(lc)
						 : c->file;
	if (strcmp(text, "syntax error") == 0)
		return prov_errorf(c->err, PROV_ERR_CONFIG, "%s:%d: syntax "
				   "error", file, config_error_line(lc));
	return prov_errorf(c->err, PROV_ERR_CONFIG, "%s:%d: syntax error: %s",
			   file, config_error_line(lc), text);
}

static int check_top(struct ctx *c, config_setting_t *root)
{
	for (int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *m = config_setting_get_elem(root, i);
		const char *name = config_setting_name(m);
		if (strcmp(name, "defaults") && strcmp(name, "providers")
		    && strcmp(name, "domains") && strcmp(name, "backup_dir"))
			return fail(c, m, "unknown key '%s' at the top level "
				    "(expected defaults, providers, domains, backup_dir)",
				    name);
	}
	return 0;
}

static int load_root(struct ctx *c, struct config *cfg, config_setting_t *root)
{
	struct record_policy defs = { 0 };
	config_setting_t *s;
	int rc = check_top(c, root);
	if (rc < 0)
		return rc;
	s = config_setting_get_member(root, "backup_dir");
	const char *bd = s ? config_setting_get_string(s) : "provision-backups";
	if (!bd || !*bd)
		return fail(c, s, "backup_dir must be a directory name (a string)");
	char *cdir = dir_of(c->file);
	struct buf b = BUF_INIT;
	if (bd[0] != '/' && cdir && strcmp(cdir, ".") != 0)
		buf_printf(&b, "%s/", cdir);
	buf_puts(&b, bd);
	free(cdir);
	if (!(cfg->backup_dir = buf_detach(&b)))
		return nomem(c);
	s = config_setting_get_member(root, "providers");
	if (s && (rc = load_providers(c, cfg, s)) < 0)
		return rc;
	if (policy_builtin(&defs) < 0) {
		rc = nomem(c);
		goto out;
	}
	s = config_setting_get_member(root, "defaults");
	if (s && !config_setting_is_group(s))
		rc = fail(c, s, "'defaults' must be a group");
	else if (s)
		rc = apply_group(c, &defs, s, policy_keys, "", "defaults");
	if (rc == 0)
		rc = load_domains(c, cfg, &defs,
				  config_setting_get_member(root, "domains"));
out:
	policy_release(&defs);
	return rc;
}

int config_load(const char *path, struct config *cfg, struct prov_error *err)
{
	struct config tmp = { 0 };
	struct ctx c = { path, err };
	config_t lc;
	char *dir = dir_of(path);
	int rc;

	config_init(&lc);
	if (!dir || !(tmp.file = strdup(path))) {
		rc = nomem(&c);
		goto out;
	}
	config_set_include_dir(&lc, dir);
	rc = read_file(&c, &lc);
	if (rc == 0)
		rc = load_root(&c, &tmp, config_root_setting(&lc));
	if (rc == 0) {
		FILE *m = open_memstream(&tmp.content, &tmp.content_len);
		if (m)
			config_write(&lc, m);
		if (!m || fclose(m) != 0)
			rc = nomem(&c);
	}
	if (rc == 0) {
		*cfg = tmp;
		memset(&tmp, 0, sizeof tmp);
	}
out:
	config_release(&tmp);
	config_destroy(&lc);
	free(dir);
	return rc;
}

void config_release(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; cfg->providers && i < cfg->nproviders; i++)
		provider_release(&cfg->providers[i]);
	free(cfg->providers);
	for (size_t i = 0; cfg->domains && i < cfg->ndomains; i++) {
		struct domain_config *d = &cfg->domains[i];
		free(d->name);
		free(d->provider);
		free(d->zone_id);
		strv_free(d->nameservers);
		policy_release(&d->policy);
	}
	free(cfg->domains);
	free(cfg->file);
	free(cfg->backup_dir);
	free(cfg->content);
	memset(cfg, 0, sizeof *cfg);
}

struct domain_config *config_find_domain(struct config *cfg, const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->ndomains; i++)
		if (dname_equal(cfg->domains[i].name, name))
			return &cfg->domains[i];
	return NULL;
}
