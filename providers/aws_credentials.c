/*
 * aws_credentials.c - the credentials of an AWS provider, found as the AWS
 * CLI finds them: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN, or the static keys of a profile of the shared
 * credentials file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials;
 * the profile from the provider's setting, AWS_PROFILE, or "default").
 * Secrets are wiped once dropped and never written to a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "provision/buf.h"
#include "aws_credentials.h"

void aws_wipe(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void aws_creds_release(struct aws_creds *c)
{
	free(c->akid);
	aws_wipe(c->secret);
	aws_wipe(c->token);
	memset(c, 0, sizeof *c);
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
			aws_wipe(*slot);
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

int aws_creds_load(struct aws_creds *c, const char *who, const char *profile_setting,
		   struct prov_error *err)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID");
	const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tk = getenv("AWS_SESSION_TOKEN");
	if (!profile_setting && ak && *ak && sk && *sk) {
		c->akid = strdup(ak);
		c->secret = strdup(sk);
		c->token = tk && *tk ? strdup(tk) : NULL;
		snprintf(c->source, sizeof c->source,
			 "credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY%s",
			 c->token ? "/AWS_SESSION_TOKEN" : "");
	} else if (!profile_setting && ((ak && *ak) || (sk && *sk))) {
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "%s: %s is set but %s is not", who,
				   ak && *ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
				   ak && *ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	} else {
		const char *env_profile = getenv("AWS_PROFILE");
		const char *profile = profile_setting ? profile_setting :
				      env_profile && *env_profile ? env_profile : "default";
		const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
		const char *home = getenv("HOME");
		struct buf path = BUF_INIT;
		if (file && *file)
			buf_puts(&path, file);
		else
			buf_printf(&path, "%s/.aws/credentials", home && *home ? home : ".");
		int frc = read_profile(buf_str(&path), profile, &c->akid, &c->secret, &c->token);
		int rc = 0;
		if (frc < 0)
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		else if (frc > 0 && access(buf_str(&path), R_OK) != 0)
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "%s: no credentials: set AWS_ACCESS_KEY_ID "
					 "and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary "
					 "ones), or add profile '%s' to %s", who, profile,
					 buf_str(&path));
		else if (frc > 0)
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "%s: profile '%s' is not in %s",
					 who, profile, buf_str(&path));
		else if (!c->akid || !*c->akid || !c->secret || !*c->secret)
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "%s: profile '%s' in %s has no "
					 "aws_access_key_id and aws_secret_access_key (SSO, role and "
					 "process credentials are not read: export them, e.g. with "
					 "'aws configure export-credentials --format env')",
					 who, profile, buf_str(&path));
		snprintf(c->source, sizeof c->source, "credentials of profile '%s' in %s",
			 profile, buf_str(&path));
		buf_release(&path);
		if (rc < 0)
			return rc;
		if (c->token && !*c->token) {
			aws_wipe(c->token);
			c->token = NULL;
		}
	}
	if (!c->akid || !c->secret)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	if (strchr(c->akid, ':') || bad_chars(c->akid) || bad_chars(c->secret) ||
	    (c->token && bad_chars(c->token)))
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "%s: the access key id, secret key or session "
				   "token holds characters AWS keys never have (%s)", who,
				   c->source);
	return 0;
}
