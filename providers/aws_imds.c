/*
 * aws_imds.c - the credentials of an EC2 instance's role from the instance
 * metadata service, IMDSv2 only: a session token from PUT /latest/api/token,
 * then the role's name and its credentials (JSON, read with cJSON) from
 * /latest/meta-data/iam/security-credentials/, the token sent with each.
 * The endpoint is AWS_EC2_METADATA_SERVICE_ENDPOINT, else
 * http://169.254.169.254 (http://[fd00:ec2::254] with
 * AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6). Short timeouts: where there
 * is no instance, this fails within seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>
#include <openssl/crypto.h>

#include "provision/buf.h"
#include "aws_credentials.h"

#define IMDS_ENDPOINT "http://169.254.169.254"
#define IMDS_ENDPOINT6 "http://[fd00:ec2::254]"
#define IMDS_TOKEN_TTL "21600"
#define IMDS_CREDS "/latest/meta-data/iam/security-credentials/"

/* GET or PUT base+path with header hdr; 0 with the body in out (HTTP 200),
 * or an error "<who>: instance metadata service at BASE: ...". */
static int imds_call(struct http_client *h, const char *who, const char *base,
		     const char *method, const char *path, const char *hdr, const char *secret,
		     struct buf *out, struct prov_error *err)
{
	struct buf url = BUF_INIT;
	struct http_response rs;
	struct prov_error e = PROV_ERROR_INIT;
	const char *hdrs[] = { hdr, NULL };
	const char *redact[] = { secret, NULL };
	buf_printf(&url, "%s%s", base, path);
	const struct http_request rq = { method, buf_str(&url), NULL, hdrs, 0, NULL, NULL,
					 redact };
	int rc = http_send(h, &rq, &rs, &e);
	if (rc < 0)
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: instance metadata service at %s: %s",
				 who, base, e.msg);
	else if (rs.status == 404 && strcmp(path, IMDS_CREDS) == 0)
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: instance metadata service at %s: "
				 "the instance has no IAM role (instance profile)", who, base);
	else if (rs.status != 200)
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: instance metadata service at %s: "
				 "%s %s: HTTP %ld%s", who, base, method, path, rs.status,
				 rs.status == 401 ? " (the session token was refused)" :
				 rs.status == 403 ? " (IMDS is turned off for this instance, or the "
				 "token request came through a proxy)" : "");
	else if (buf_add(out, rs.body.data ? rs.body.data : "", rs.body.len) < 0)
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	if (rs.body.data)
		OPENSSL_cleanse(rs.body.data, rs.body.len);
	http_response_release(&rs);
	buf_release(&url);
	return rc;
}

static const char *success(const cJSON *doc)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "Code");
	return !cJSON_IsString(v) || strcmp(v->valuestring, "Success") == 0 ? NULL :
	       "a Code other than Success";
}

int aws_from_imds(struct http_client *h, const char *who, struct aws_creds *c, char *role,
		  size_t role_size, char *endpoint, size_t ep_size, struct prov_error *err)
{
	const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	if (!ep || !*ep)
		ep = mode && strcasecmp(mode, "IPv6") == 0 ? IMDS_ENDPOINT6 : IMDS_ENDPOINT;
	struct buf base = BUF_INIT, token = BUF_INIT, hdr = BUF_INIT, name = BUF_INIT,
		   path = BUF_INIT, body = BUF_INIT, what = BUF_INIT;
	buf_puts(&base, ep);
	while (base.len && base.data[base.len - 1] == '/')
		base.data[--base.len] = '\0';
	snprintf(endpoint, ep_size, "%s", buf_str(&base));
	int rc = imds_call(h, who, buf_str(&base), "PUT", "/latest/api/token",
			   "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL, NULL, &token,
			   err);
	while (rc == 0 && token.len && strchr(" \t\r\n", token.data[token.len - 1]))
		token.data[--token.len] = '\0';
	if (rc == 0 && (!token.len || strpbrk(buf_str(&token), "\r\n")))
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: instance metadata service at %s: no "
				 "session token in the answer to PUT /latest/api/token", who,
				 buf_str(&base));
	if (rc == 0)
		buf_printf(&hdr, "X-aws-ec2-metadata-token: %s", buf_str(&token));
	if (rc == 0)
		rc = imds_call(h, who, buf_str(&base), "GET", IMDS_CREDS, buf_str(&hdr),
			       buf_str(&token), &name, err);
	if (rc == 0) {
		name.len = strcspn(buf_str(&name), "\r\n");
		if (name.data)
			name.data[name.len] = '\0';
		if (!name.len || strchr(name.data, '/'))
			rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: instance metadata service at "
					 "%s: no role name under %s", who, buf_str(&base), IMDS_CREDS);
		snprintf(role, role_size, "%s", buf_str(&name));
	}
	if (rc == 0) {
		buf_printf(&path, IMDS_CREDS "%s", buf_str(&name));
		rc = imds_call(h, who, buf_str(&base), "GET", buf_str(&path), buf_str(&hdr),
			       buf_str(&token), &body, err);
	}
	if (rc == 0) {
		buf_printf(&what, "%s: instance metadata service at %s (role %s)", who,
			   buf_str(&base), buf_str(&name));
		rc = aws_json_creds(buf_str(&what), buf_str(&body), "Token", 1, success, c, err);
	}
	if (token.data)
		OPENSSL_cleanse(token.data, token.len);
	if (hdr.data)
		OPENSSL_cleanse(hdr.data, hdr.len);
	if (body.data)
		OPENSSL_cleanse(body.data, body.len);
	buf_release(&base);
	buf_release(&token);
	buf_release(&hdr);
	buf_release(&name);
	buf_release(&path);
	buf_release(&body);
	buf_release(&what);
	return rc;
}
