/*
 * aws_sts.c - credentials for a role from a web identity token (what CI
 * systems with OpenID Connect give): STS AssumeRoleWithWebIdentity, an
 * unsigned POST of the token read from its file, to AWS_ENDPOINT_URL_STS,
 * AWS_ENDPOINT_URL or https://sts.amazonaws.com (TLS verified, ca_file of
 * the provider trusted), its XML answer read with libxml2. The file is read
 * again at every refresh: the CI system rotates the token in it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/tree.h>
#include <openssl/crypto.h>

#include "provision/buf.h"
#include "aws_credentials.h"
#include "route53_xml.h"

#define STS_ENDPOINT "https://sts.amazonaws.com"
#define TOKEN_MAX (64 * 1024)

/* The token in file, trailing blanks cut (caller wipes), or NULL with err. */
static char *read_token(const char *who, const char *file, struct prov_error *err)
{
	FILE *f = fopen(file, "r");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t k;
	if (!f) {
		prov_errorf(err, PROV_ERR_RUNTIME, "%s: cannot read the web identity token file "
			    "%s: %s", who, file, strerror(errno));
		return NULL;
	}
	int bad = 0;
	while (!bad && (k = fread(chunk, 1, sizeof chunk, f)) > 0)
		bad = b.len + k > TOKEN_MAX || buf_add(&b, chunk, k) < 0;
	OPENSSL_cleanse(chunk, sizeof chunk);
	fclose(f);
	while (b.len && strchr(" \t\r\n", b.data[b.len - 1]))
		b.data[--b.len] = '\0';
	if (bad || !b.len) {
		prov_errorf(err, PROV_ERR_RUNTIME, "%s: the web identity token file %s is %s", who,
			    file, bad ? "larger than 64 KiB" : "empty");
		if (b.data)
			OPENSSL_cleanse(b.data, b.len);
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* Overwrite every text of the document (it held the secret key). */
static void xml_wipe(xmlNode *n)
{
	for (; n; n = n->next) {
		if (n->content)
			OPENSSL_cleanse(n->content, (size_t)xmlStrlen(n->content));
		xml_wipe(n->children);
	}
}

static const char *sts_hint(const char *code)
{
	if (strcmp(code, "InvalidIdentityToken") == 0)
		return " (STS does not accept the token: check the identity provider in IAM, "
		       "the token's audience and the role's trust policy)";
	if (strcmp(code, "ExpiredTokenException") == 0)
		return " (the token in the file has expired: it is written anew by the CI "
		       "system or the cluster; run again with a fresh one)";
	if (strcmp(code, "AccessDenied") == 0)
		return " (the role's trust policy does not let this identity assume it, or the "
		       "role ARN is wrong)";
	return "";
}

/* The credentials of a successful answer, or an error. */
static int read_answer(const char *what, xmlNode *root, struct aws_creds *c,
		       struct prov_error *err)
{
	xmlNode *cr = r53_xml_child(r53_xml_child(root, "AssumeRoleWithWebIdentityResult"),
				    "Credentials");
	char *ex = r53_xml_text(cr, "Expiration");
	c->akid = r53_xml_text(cr, "AccessKeyId");
	c->secret = r53_xml_text(cr, "SecretAccessKey");
	c->token = r53_xml_text(cr, "SessionToken");
	int rc = 0;
	if (!r53_xml_is(root, "AssumeRoleWithWebIdentityResponse") || !c->akid || !*c->akid ||
	    !c->secret || !*c->secret || !c->token || !*c->token)
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: the answer holds no Credentials "
				 "with AccessKeyId, SecretAccessKey and SessionToken", what);
	else if (!ex || (c->expires = aws_time_parse(ex)) < 0)
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: the answer's Expiration is not an "
				 "ISO 8601 time", what);
	free(ex);
	return rc;
}

int aws_from_web_identity(struct http_client *sts, const char *who, const char *token_file,
			  const char *role_arn, const char *session_name,
			  struct aws_creds *c, struct prov_error *err)
{
	const char *ep = getenv("AWS_ENDPOINT_URL_STS");
	if (!ep || !*ep)
		ep = getenv("AWS_ENDPOINT_URL");
	if (!ep || !*ep)
		ep = STS_ENDPOINT;
	if (strncmp(ep, "https://", 8) != 0)
		return prov_errorf(err, PROV_ERR_RUNTIME, "%s: the STS endpoint %s is not an "
				   "https:// URL", who, ep);
	char *token = read_token(who, token_file, err);
	if (!token)
		return PROV_ERR_RUNTIME;
	char session[64];
	snprintf(session, sizeof session, "provision-%lld", (long long)time(NULL));
	char *q_role = http_escape(role_arn);
	char *q_session = http_escape(session_name ? session_name : session);
	char *q_token = http_escape(token);
	struct buf url = BUF_INIT, body = BUF_INIT, what = BUF_INIT;
	int rc = 0;
	buf_puts(&url, ep);
	while (url.len > 8 && url.data[url.len - 1] == '/')
		url.data[--url.len] = '\0';
	buf_putc(&url, '/');
	buf_printf(&what, "%s: web identity (role %s): STS AssumeRoleWithWebIdentity at %s",
		   who, role_arn, ep);
	if (!q_role || !q_session || !q_token ||
	    buf_printf(&body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=%s"
		       "&RoleSessionName=%s&WebIdentityToken=%s", q_role, q_session, q_token) < 0) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		goto out;
	}
	const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
			       NULL };
	const char *redact[] = { token, q_token, NULL };
	const struct http_request rq = { "POST", buf_str(&url), buf_str(&body), hdrs, 0, NULL,
					 NULL, redact };
	struct http_response rs;
	struct prov_error e = PROV_ERROR_INIT;
	if (http_send(sts, &rq, &rs, &e) < 0) {
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: %s", buf_str(&what), e.msg);
		http_response_release(&rs);
		goto out;
	}
	xmlDoc *doc = r53_xml_parse(rs.body.data, rs.body.len);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (rs.body.data)
		OPENSSL_cleanse(rs.body.data, rs.body.len);
	http_response_release(&rs);
	if (!root) {
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: HTTP %ld, the answer is not STS's "
				 "XML", buf_str(&what), rs.status);
	} else if (rs.status != 200 || r53_xml_is(root, "ErrorResponse")) {
		char code[64], msg[600];
		r53_xml_error(root, code, sizeof code, msg, sizeof msg);
		char *p = strstr(msg, token); /* never the token, should STS quote it */
		if (p)
			*p = '\0';
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: HTTP %ld %s: %s%s", buf_str(&what),
				 rs.status, code, msg, sts_hint(code));
	} else {
		rc = read_answer(buf_str(&what), root, c, err);
	}
	if (doc) {
		xml_wipe(xmlDocGetRootElement(doc));
		xmlFreeDoc(doc);
	}
out:
	aws_wipe(token);
	aws_wipe(q_token);
	if (body.data)
		OPENSSL_cleanse(body.data, body.len);
	buf_release(&body);
	buf_release(&url);
	buf_release(&what);
	free(q_role);
	free(q_session);
	return rc;
}
