/*
 * aws_credentials.c - the credentials of an AWS provider, found in this
 * order, the first source that has them wins:
 *
 *  1. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN),
 *     unless the provider names a profile;
 *  2. the profile (the provider's setting, AWS_PROFILE, or "default") in
 *     the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else
 *     ~/.aws/credentials) and the config file (AWS_CONFIG_FILE, else
 *     ~/.aws/config, "[profile NAME]"), the credentials file's keys first:
 *     static keys, else credential_process (aws_process.c), else
 *     web_identity_token_file with role_arn (aws_sts.c);
 *  3. AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN (and
 *     AWS_ROLE_SESSION_NAME) through STS AssumeRoleWithWebIdentity;
 *  4. the instance metadata service, IMDSv2 (aws_imds.c), unless
 *     AWS_EC2_METADATA_DISABLED is true.
 *
 * A profile that is named (setting or AWS_PROFILE) must exist and give
 * credentials; "default" may be absent. Credentials with an Expiration are
 * fetched again from the same source when less than AWS_REFRESH_S remain.
 * Secrets are wiped once dropped and never written to a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/crypto.h>

#include "provision/buf.h"
#include "aws_credentials.h"

enum source { SRC_NONE, SRC_ENV, SRC_PROFILE, SRC_PROCESS, SRC_WEB, SRC_IMDS };

struct aws_chain {
	char *who;           /* "route53: provider 'aws'" */
	char *setting;       /* the provider's profile setting, or NULL */
	struct http_client *sts, *imds;
	int verbose;
	enum source src;     /* where cur came from */
	/* what fetching again needs */
	char *profile, *file, *process, *token_file, *role_arn, *session;
	struct aws_creds cur;
};

/* What a profile says, from both files. */
struct profile {
	char *akid, *secret, *token;
	char *process, *token_file, *role_arn, *session, *source_profile, *sso;
	const char *file;   /* where the profile was found (credentials file first) */
};

static void profile_release(struct profile *p)
{
	free(p->akid);
	aws_wipe(p->secret);
	aws_wipe(p->token);
	free(p->process);
	free(p->token_file);
	free(p->role_arn);
	free(p->session);
	free(p->source_profile);
	free(p->sso);
	memset(p, 0, sizeof *p);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* 1 when the section header text names the profile. In the config file
 * a profile is "[profile NAME]", the default one "[default]". */
static int section_is(const char *s, const char *profile, int config)
{
	if (!config || strcmp(s, "default") == 0)
		return strcmp(s, profile) == 0;
	if (strncmp(s, "profile", 7) != 0 || (s[7] != ' ' && s[7] != '\t'))
		return 0;
	for (s += 7; *s == ' ' || *s == '\t'; s++)
		;
	return strcmp(s, profile) == 0;
}

static char **profile_slot(struct profile *p, const char *k)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "aws_access_key_id", offsetof(struct profile, akid) },
		{ "aws_secret_access_key", offsetof(struct profile, secret) },
		{ "aws_session_token", offsetof(struct profile, token) },
		{ "credential_process", offsetof(struct profile, process) },
		{ "web_identity_token_file", offsetof(struct profile, token_file) },
		{ "role_arn", offsetof(struct profile, role_arn) },
		{ "role_session_name", offsetof(struct profile, session) },
		{ "source_profile", offsetof(struct profile, source_profile) },
		{ "sso_session", offsetof(struct profile, sso) },
		{ "sso_start_url", offsetof(struct profile, sso) },
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(k, keys[i].key) == 0)
			return (char **)((char *)p + keys[i].off);
	if (strcmp(k, "aws_security_token") == 0 && !p->token)
		return &p->token;
	return NULL;
}

/* The keys of the profile in file into p (a later file's keys replace an
 * earlier one's). 0 when the profile is there, 1 when the file or the
 * profile is missing, -1 on no memory. */
static int read_profile(const char *file, const char *profile, int config, struct profile *p)
{
	FILE *f = fopen(file, "r");
	char line[4096];
	int in = 0, found = 0, rc = 0;
	if (!f)
		return 1;
	while (rc == 0 && fgets(line, sizeof line, f)) {
		char *s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			if (e)
				*e = '\0';
			in = section_is(trim(s + 1), profile, config);
			found |= in;
			continue;
		}
		char *eq = strchr(s, '=');
		if (!in || !eq)
			continue;
		*eq = '\0';
		char **slot = profile_slot(p, trim(s));
		if (slot) {
			aws_wipe(*slot);
			if (!(*slot = strdup(trim(eq + 1))))
				rc = -1;
		}
	}
	OPENSSL_cleanse(line, sizeof line);
	fclose(f);
	return rc < 0 ? -1 : found ? 0 : 1;
}

static void aws_file(struct buf *b, const char *env, const char *name)
{
	const char *file = getenv(env);
	const char *home = getenv("HOME");
	if (file && *file)
		buf_puts(b, file);
	else
		buf_printf(b, "%s/.aws/%s", home && *home ? home : ".", name);
}

static int bad_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int is_true(const char *v)
{
	return v && strcasecmp(v, "true") == 0;
}

static int set(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? strdup(v) : NULL;
	return v && !*slot ? -1 : 0;
}

/* ------------------------------------------------------------ the chain */

struct aws_chain *aws_chain_new(const char *who, const char *profile,
				const struct provider_config *cfg, struct prov_error *err)
{
	struct aws_chain *ch = calloc(1, sizeof *ch);
	if (!ch || !(ch->who = strdup(who)) || (profile && !(ch->setting = strdup(profile)))) {
		aws_chain_free(ch);
		prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		return NULL;
	}
	ch->verbose = cfg->verbose;
	/* never traced: their answers are the secrets */
	struct provider_config quiet = *cfg;
	quiet.verbose = 0;
	const struct http_config sts = {
		.provider = "sts", .connect_timeout_ms = 10000, .timeout_ms = 30000,
		.max_retries = 2, .max_backoff_s = 5,
	};
	/* an instance answers at once; a laptop without one must fail fast */
	const struct http_config imds = {
		.provider = "imds", .connect_timeout_ms = 1000, .timeout_ms = 2000,
		.max_retries = 2, .max_backoff_s = 0.25,
	};
	ch->sts = provider_http(&quiet, &sts, err);
	ch->imds = ch->sts ? provider_http(&quiet, &imds, err) : NULL;
	if (!ch->imds) {
		aws_chain_free(ch);
		return NULL;
	}
	return ch;
}

void aws_chain_free(struct aws_chain *ch)
{
	if (!ch)
		return;
	http_client_free(ch->sts);
	http_client_free(ch->imds);
	free(ch->who);
	free(ch->setting);
	free(ch->profile);
	free(ch->file);
	free(ch->process);
	free(ch->token_file);
	free(ch->role_arn);
	free(ch->session);
	aws_creds_release(&ch->cur);
	free(ch);
}

int aws_chain_refreshable(const struct aws_chain *ch)
{
	return ch->cur.expires != 0;
}

/* Fetch from the source ch->src with what ch remembers. */
static int fetch(struct aws_chain *ch, struct aws_creds *c, struct prov_error *err)
{
	char role[200] = "", ep[200] = "";
	int rc;
	switch (ch->src) {
	case SRC_PROCESS:
		rc = aws_from_process(ch->who, ch->profile, ch->file, ch->process, c, err);
		snprintf(c->source, sizeof c->source,
			 "credentials from credential_process of profile '%s' in %s", ch->profile,
			 ch->file);
		return rc;
	case SRC_WEB:
		rc = aws_from_web_identity(ch->sts, ch->who, ch->token_file, ch->role_arn,
					   ch->session, c, err);
		if (ch->profile)
			snprintf(c->source, sizeof c->source, "credentials from web identity "
				 "(role %s) via STS, profile '%s' in %s", ch->role_arn, ch->profile,
				 ch->file);
		else
			snprintf(c->source, sizeof c->source,
				 "credentials from web identity (role %s) via STS", ch->role_arn);
		return rc;
	case SRC_IMDS:
		rc = aws_from_imds(ch->imds, ch->who, c, role, sizeof role, ep, sizeof ep, err);
		snprintf(c->source, sizeof c->source, "credentials from the instance metadata "
			 "service (role %s) at %s", role, ep);
		return rc;
	default:
		return prov_errorf(err, PROV_ERR_RUNTIME, "%s: no source of credentials", ch->who);
	}
}

/* Static keys from the environment: 0 taken, 1 none, <0 error. */
static int from_env(struct aws_chain *ch, struct aws_creds *c, struct prov_error *err)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID");
	const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tk = getenv("AWS_SESSION_TOKEN");
	if (ch->setting)
		return 1;
	if (ak && *ak && sk && *sk) {
		c->akid = strdup(ak);
		c->secret = strdup(sk);
		c->token = tk && *tk ? strdup(tk) : NULL;
		snprintf(c->source, sizeof c->source,
			 "credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY%s",
			 c->token ? "/AWS_SESSION_TOKEN" : "");
		ch->src = SRC_ENV;
		return 0;
	}
	if ((ak && *ak) || (sk && *sk))
		return prov_errorf(err, PROV_ERR_RUNTIME, "%s: %s is set but %s is not", ch->who,
				   ak && *ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
				   ak && *ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	return 1;
}

/* What the profile gives: 0 taken, 1 nothing (tried says why), <0 error. */
static int from_profile(struct aws_chain *ch, struct aws_creds *c, struct buf *tried,
			struct prov_error *err)
{
	const char *env_profile = getenv("AWS_PROFILE");
	const char *name = ch->setting ? ch->setting :
			   env_profile && *env_profile ? env_profile : "default";
	int named = ch->setting || (env_profile && *env_profile);
	struct buf cred_file = BUF_INIT, config_file = BUF_INIT;
	struct profile p;
	memset(&p, 0, sizeof p);
	aws_file(&cred_file, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
	aws_file(&config_file, "AWS_CONFIG_FILE", "config");
	int in_config = read_profile(buf_str(&config_file), name, 1, &p);
	int in_cred = in_config < 0 ? -1 : read_profile(buf_str(&cred_file), name, 0, &p);
	int rc = 1;
	p.file = in_cred == 0 ? buf_str(&cred_file) : buf_str(&config_file);
	if (in_cred < 0 || in_config < 0) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	} else if (in_cred > 0 && in_config > 0) {
		if (named && access(buf_str(&cred_file), R_OK) != 0 &&
		    access(buf_str(&config_file), R_OK) != 0)
			rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: no credentials: set "
					 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
					 "AWS_SESSION_TOKEN for temporary ones), or add profile '%s' "
					 "to %s", ch->who, name, buf_str(&cred_file));
		else if (named)
			rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: profile '%s' is not in %s "
					 "nor in %s", ch->who, name, buf_str(&cred_file),
					 buf_str(&config_file));
		buf_printf(tried, "profile '%s' (not in %s or %s)", name, buf_str(&cred_file),
			   buf_str(&config_file));
	} else if ((p.akid && *p.akid) || (p.secret && *p.secret)) {
		if (!p.akid || !*p.akid || !p.secret || !*p.secret) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: profile '%s' in %s has no "
					 "aws_access_key_id and aws_secret_access_key (only one of "
					 "them)", ch->who, name, p.file);
		} else {
			c->akid = p.akid;
			c->secret = p.secret;
			c->token = p.token && *p.token ? p.token : NULL;
			if (!c->token)
				aws_wipe(p.token);
			p.akid = p.secret = p.token = NULL;
			snprintf(c->source, sizeof c->source, "credentials of profile '%s' in %s",
				 name, p.file);
			ch->src = SRC_PROFILE;
			rc = 0;
		}
	} else if (p.process && *p.process) {
		ch->src = SRC_PROCESS;
		rc = set(&ch->process, p.process) < 0 ?
		     prov_errorf(err, PROV_ERR_NOMEM, "out of memory") : 0;
	} else if (p.token_file && *p.token_file && p.role_arn && *p.role_arn) {
		ch->src = SRC_WEB;
		rc = (set(&ch->token_file, p.token_file) | set(&ch->role_arn, p.role_arn) |
		      set(&ch->session, p.session)) < 0 ?
		     prov_errorf(err, PROV_ERR_NOMEM, "out of memory") : 0;
	} else if (named || p.role_arn || p.sso) {
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: profile '%s' in %s has no "
				 "aws_access_key_id and aws_secret_access_key, credential_process "
				 "or web_identity_token_file with role_arn%s", ch->who, name, p.file,
				 p.sso ? " (SSO is not read: export the credentials, e.g. with 'aws "
				 "configure export-credentials --format env')" : p.role_arn ?
				 " (role_arn with source_profile is not read)" : "");
	} else {
		buf_printf(tried, "profile '%s' in %s (no keys)", name, p.file);
	}
	if (rc == 0 && ch->src != SRC_PROFILE)
		rc = (set(&ch->profile, name) | set(&ch->file, p.file)) < 0 ?
		     prov_errorf(err, PROV_ERR_NOMEM, "out of memory") : fetch(ch, c, err);
	profile_release(&p);
	buf_release(&cred_file);
	buf_release(&config_file);
	return rc;
}

/* Web identity from the environment: 0 taken, 1 not set, <0 error. */
static int from_web_env(struct aws_chain *ch, struct aws_creds *c, struct buf *tried,
			struct prov_error *err)
{
	const char *file = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *role = getenv("AWS_ROLE_ARN");
	const char *session = getenv("AWS_ROLE_SESSION_NAME");
	if ((!file || !*file) && (!role || !*role)) {
		buf_puts(tried, ", web identity (AWS_WEB_IDENTITY_TOKEN_FILE not set)");
		return 1;
	}
	if (!file || !*file || !role || !*role)
		return prov_errorf(err, PROV_ERR_RUNTIME, "%s: %s is set but %s is not", ch->who,
				   file && *file ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
				   file && *file ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
	ch->src = SRC_WEB;
	if (set(&ch->token_file, file) < 0 || set(&ch->role_arn, role) < 0 ||
	    set(&ch->session, session && *session ? session : NULL) < 0)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	return fetch(ch, c, err);
}

/* The instance metadata service: 0 taken, 1 not there (tried says why). */
static int from_imds(struct aws_chain *ch, struct aws_creds *c, struct buf *tried,
		     struct prov_error *err)
{
	if (is_true(getenv("AWS_EC2_METADATA_DISABLED"))) {
		buf_puts(tried, ", the instance metadata service (AWS_EC2_METADATA_DISABLED)");
		return 1;
	}
	struct prov_error e = PROV_ERROR_INIT;
	ch->src = SRC_IMDS;
	int rc = fetch(ch, c, &e);
	if (rc == PROV_ERR_NOMEM)
		return prov_errorf(err, rc, "out of memory");
	if (rc == 0)
		return 0;
	/* "<who>: instance metadata service at URL: what" */
	const char *why = strncmp(e.msg, ch->who, strlen(ch->who)) == 0 ?
			  e.msg + strlen(ch->who) + 2 : e.msg;
	buf_printf(tried, ", the %s", why);
	aws_creds_release(c);
	ch->src = SRC_NONE;
	return 1;
}

/* The first source of the chain that has credentials. */
static int find(struct aws_chain *ch, struct aws_creds *c, struct prov_error *err)
{
	struct buf tried = BUF_INIT;
	int rc = from_env(ch, c, err);
	if (rc == 1) {
		buf_puts(&tried, ch->setting ? "" : "the environment, ");
		rc = from_profile(ch, c, &tried, err);
	}
	if (rc == 1)
		rc = from_web_env(ch, c, &tried, err);
	if (rc == 1)
		rc = from_imds(ch, c, &tried, err);
	if (rc == 1) {
		struct buf cred_file = BUF_INIT;
		aws_file(&cred_file, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: no credentials: set "
				 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN "
				 "for temporary ones), or add profile 'default' to %s; tried %s",
				 ch->who, buf_str(&cred_file), buf_str(&tried));
		buf_release(&cred_file);
	}
	buf_release(&tried);
	return rc;
}

static void when(time_t t, char *out, size_t size)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int usable(const struct aws_chain *ch, const struct aws_creds *c, struct prov_error *err)
{
	char at[32];
	if (!c->akid || !c->secret)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	if (!*c->akid || !*c->secret || strchr(c->akid, ':') || bad_chars(c->akid) ||
	    bad_chars(c->secret) || (c->token && bad_chars(c->token)))
		return prov_errorf(err, PROV_ERR_RUNTIME, "%s: the access key id, secret key or "
				   "session token holds characters AWS keys never have (%s)",
				   ch->who, c->source);
	if (c->expires && c->expires <= time(NULL)) {
		when(c->expires, at, sizeof at);
		return prov_errorf(err, PROV_ERR_RUNTIME, "%s: the %s expired at %s already "
				   "(is the clock right?)", ch->who, c->source, at);
	}
	return 0;
}

int aws_chain_get(struct aws_chain *ch, int force, const struct aws_creds **out,
		  int *changed, struct prov_error *err)
{
	time_t now = time(NULL);
	struct aws_creds c;
	char at[32] = "";
	int first = ch->src == SRC_NONE;
	*changed = 0;
	*out = first ? NULL : &ch->cur;
	if (!first && !force && (!ch->cur.expires || ch->cur.expires - now > AWS_REFRESH_S))
		return 0;
	if (!first && ch->cur.expires)
		when(ch->cur.expires, at, sizeof at);
	memset(&c, 0, sizeof c);
	struct prov_error e = PROV_ERROR_INIT;
	int rc = first ? find(ch, &c, &e) : fetch(ch, &c, &e);
	if (rc == 0)
		rc = usable(ch, &c, &e);
	if (rc < 0) {
		aws_creds_release(&c);
		if (first)
			ch->src = SRC_NONE;
		else if (!force && ch->cur.expires > now + 10) { /* the old ones still do */
			if (ch->verbose)
				fprintf(stderr, "provision: %s: could not refresh the %s: %s\n",
					ch->who, ch->cur.source, e.msg);
			return 0;
		}
		return prov_errorf(err, rc, "%s", e.msg);
	}
	if (c.token && !*c.token) {
		aws_wipe(c.token);
		c.token = NULL;
	}
	if (ch->verbose && first)
		fprintf(stderr, "provision: %s: %s\n", ch->who, c.source);
	else if (ch->verbose)
		fprintf(stderr, "provision: %s: %s refreshed (the old ones expire at %s)\n",
			ch->who, c.source, at);
	aws_creds_release(&ch->cur);
	ch->cur = c;
	*out = &ch->cur;
	*changed = 1;
	return 0;
}
