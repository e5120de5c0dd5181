/*
 * aws_keys.c - what every source of AWS credentials shares: wiping a
 * secret, releasing a key pair, reading one from the JSON that
 * credential_process and the instance metadata service give, and the
 * ISO 8601 time of an Expiration. Below aws_credentials.c (the chain) and
 * the sources it calls (aws_process.c, aws_sts.c, aws_imds.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
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

const char *aws_json_string(const struct cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

void aws_json_wipe(struct cJSON *o)
{
	for (cJSON *c = o ? o->child : NULL; c; c = c->next) {
		if (cJSON_IsString(c) && c->valuestring)
			OPENSSL_cleanse(c->valuestring, strlen(c->valuestring));
		aws_json_wipe(c);
	}
}

int aws_json_creds(const char *what, const char *text, const char *token_key, int temporary,
		   const char *(*check)(const struct cJSON *doc), struct aws_creds *c,
		   struct prov_error *err)
{
	cJSON *doc = cJSON_Parse(text);
	const char *ak = aws_json_string(doc, "AccessKeyId");
	const char *sk = aws_json_string(doc, "SecretAccessKey");
	const char *tk = aws_json_string(doc, token_key);
	const char *ex = aws_json_string(doc, "Expiration");
	const char *refused = cJSON_IsObject(doc) && check ? check(doc) : NULL;
	int rc = 0;
	if (!cJSON_IsObject(doc))
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s gave no JSON object", what);
	else if (refused)
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s gave %s", what, refused);
	else if (!ak || !*ak || !sk || !*sk || (temporary && (!tk || !*tk)))
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s gave no AccessKeyId and "
				 "SecretAccessKey%s%s", what, temporary ? " and " : "",
				 temporary ? token_key : "");
	else if ((ex || temporary) && (c->expires = aws_time_parse(ex)) < 0)
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s gave no Expiration as an ISO 8601 "
				 "time", what);
	if (rc == 0) {
		c->akid = strdup(ak);
		c->secret = strdup(sk);
		c->token = tk && *tk ? strdup(tk) : NULL;
		if (!c->akid || !c->secret || (tk && *tk && !c->token))
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	}
	if (rc < 0)
		c->expires = 0;
	aws_json_wipe(doc);
	cJSON_Delete(doc);
	return rc;
}

time_t aws_time_parse(const char *s)
{
	struct tm tm;
	int n = 0;
	memset(&tm, 0, sizeof tm);
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	const char *p = s + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	long off = 0;
	if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
	    strspn(p + 1, "0123456789") == 2 && strspn(p + 4, "0123456789") == 2) {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600L +
		      ((p[4] - '0') * 10 + (p[5] - '0')) * 60L;
		off = *p == '-' ? -off : off;
	} else if (strcmp(p, "Z") != 0 && strcmp(p, "z") != 0) {
		return -1;
	}
	time_t t = timegm(&tm);
	return t == (time_t)-1 ? -1 : t - off;
}
