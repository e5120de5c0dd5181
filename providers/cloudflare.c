/*
 * cloudflare.c - the Cloudflare API v4 provider (provider-apis.md §1).
 *
 * Zone by name (GET /zones?name=, skipped with zone_id), one listing of the
 * zone's records with a large per_page (paginated by result_info), and the
 * whole plan in one call to the batch endpoint, which Cloudflare applies
 * all-or-nothing. Records are single values with ids, so an update PATCHes
 * exactly the record that held the managed value: the other TXT values at
 * the apex (verification strings) are never touched. TXT content is sent as
 * quoted character-strings of at most 255 bytes and read in either form.
 * A batch whose outcome is unknown (connection lost, 5xx) is never resent
 * blindly: the zone is read again and only what is missing is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <openssl/crypto.h>

#include "cloudflare_read.h"
#include "provision/buf.h"
#include "provision/http.h"
#include "provision/provider.h"
#include "provision/util.h"

#define CF_ENDPOINT "https://api.cloudflare.com/client/v4"
#define CF_PER_PAGE 5000
#define CF_BATCH_MAX 200 /* the Free plan's limit; batch_size raises it */
#define CF_WRITE_TRIES 3

struct cf {
	struct http_client *http;
	char *base;                /* endpoint without trailing slash */
	char *auth[3];             /* header lines, NULL-terminated */
	size_t batch_max;
	char *zone_name, *zone_id; /* the zone of the last listing */
	struct cf_records recs;
	int confirmed; /* recs were just updated from a batch's own result */
	char creds[160]; /* "the API token in VAR", for refusals (never the value) */
};

static const char *const cf_keys[] = {
	"token_env", "email_env", "key_env", "endpoint", "ca_file", "batch_size", "rate", "concurrency", NULL,
};

static void cf_forget(struct cf *cf)
{
	cf_records_release(&cf->recs);
}

static void cf_close(void *handle)
{
	struct cf *cf = handle;
	if (!cf)
		return;
	cf_forget(cf);
	http_client_free(cf->http);
	free(cf->base);
	for (size_t i = 0; i < 2; i++)
		free(cf->auth[i]);
	free(cf->zone_name);
	free(cf->zone_id);
	free(cf);
}

static char *header(const char *name, const char *value)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s: %s", name, value);
	return buf_detach(&b);
}

static int cf_auth(struct cf *cf, const struct provider_config *cfg,
		   struct prov_error *err)
{
	const char *tv = provider_setting(cfg, "token_env");
	const char *ev = provider_setting(cfg, "email_env");
	const char *kv = provider_setting(cfg, "key_env");
	const char *token = getenv(tv ? tv : "CLOUDFLARE_API_TOKEN");
	const char *email = getenv(ev ? ev : "CLOUDFLARE_EMAIL");
	const char *key = getenv(kv ? kv : "CLOUDFLARE_API_KEY");
	if (token && *token) {
		char *bearer = NULL;
		struct buf b = BUF_INIT;
		buf_printf(&b, "Bearer %s", token);
		bearer = buf_detach(&b);
		cf->auth[0] = header("Authorization", bearer);
		free(bearer);
		snprintf(cf->creds, sizeof cf->creds, "the API token in %s",
			 tv ? tv : "CLOUDFLARE_API_TOKEN");
	} else if (email && *email && key && *key) {
		cf->auth[0] = header("X-Auth-Email", email);
		cf->auth[1] = header("X-Auth-Key", key);
		snprintf(cf->creds, sizeof cf->creds, "the global API key in %s for the e-mail in %s",
			 kv ? kv : "CLOUDFLARE_API_KEY", ev ? ev : "CLOUDFLARE_EMAIL");
	} else {
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "cloudflare: provider '%s': no credentials: set %s to an API "
				   "token (or %s and %s for a global API key)", cfg->name,
				   tv ? tv : "CLOUDFLARE_API_TOKEN", ev ? ev : "CLOUDFLARE_EMAIL",
				   kv ? kv : "CLOUDFLARE_API_KEY");
	}
	return 0;
}

static int cf_open(const struct provider_config *cfg, void **handle,
		   struct prov_error *err)
{
	struct cf *cf = calloc(1, sizeof *cf);
	const char *bs = provider_setting(cfg, "batch_size");
	int rc = PROV_ERR_NOMEM;
	*handle = NULL;
	if (!cf)
		return prov_errorf(err, rc, "out of memory");
	char *end = NULL;
	if ((rc = provider_endpoint(cfg, CF_ENDPOINT, &cf->base, err)) < 0)
		goto fail;
	cf->batch_max = bs ? strtoul(bs, &end, 10) : CF_BATCH_MAX;
	if (bs && (*end || cf->batch_max < 1 || cf->batch_max > 3500)) {
		rc = provider_config_error(cfg, "batch_size", err,
					   "batch_size must be 1 to 3500 (200 on the Free plan)");
		goto fail;
	}
	/* 1,200 requests per 5 minutes per token: 4/s with a burst of 20,
	 * unless the rate setting gives the account's limit */
	double rate = 4.0, rn, rw;
	int burst = 20, set = provider_rate(cfg, &rn, &rw, err);
	if ((rc = set) < 0 || (rc = cf_auth(cf, cfg, err)) < 0)
		goto fail;
	if (set > 0)
		provider_bucket(rn, rw, &rate, &burst);
	/* one limiter for every provider block with this token */
	char account[160];
	struct buf who = BUF_INIT;
	buf_printf(&who, "%s%s", cf->auth[0] ? cf->auth[0] : "", cf->auth[1] ? cf->auth[1] : "");
	provider_account(buf_str(&who), cf->base, account, sizeof account);
	OPENSSL_cleanse(who.data, who.len);
	buf_release(&who);
	const struct http_config hc = {
		.provider = "cloudflare", .connect_timeout_ms = 10000, .timeout_ms = 60000,
		.max_retries = 5, .rate = rate, .burst = burst, .max_backoff_s = 30,
		.account = account,
	};
	cf->http = provider_http(cfg, &hc, err);
	if (!cf->http) {
		rc = PROV_ERR_RUNTIME;
		goto fail;
	}
	*handle = cf;
	return 0;
fail:
	cf_close(cf);
	return rc;
}

/*
 * One call. Returns 0 with *root (the parsed envelope with success true) or
 * PROV_ERR_RUNTIME with err naming what, the HTTP status and Cloudflare's
 * code. *unknown is set for a write whose outcome is unknown.
 */
static int cf_call(struct cf *cf, const char *method, const char *path,
		   const char *body, const char *what, cJSON **root, int *unknown,
		   struct prov_error *err)
{
	struct buf url = BUF_INIT;
	struct http_response rs;
	int write = body != NULL || strcmp(method, "GET") != 0;
	buf_printf(&url, "%s%s", cf->base, path);
	const struct http_request rq = { method, buf_str(&url), body,
					 (const char *const *)cf->auth, write, NULL, NULL, NULL };
	*root = NULL;
	int rc = http_send(cf->http, &rq, &rs, err);
	if (unknown)
		*unknown = rc < 0 ? rs.outcome_unknown : (write && rs.status >= 500);
	if (rc == 0) {
		int ok = 0;
		cJSON *j = cf_envelope(rs.body.data, rs.body.len, &ok);
		char detail[512];
		if (!j) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "cloudflare: %s: the answer is not Cloudflare's JSON (HTTP %ld)",
					 what, rs.status);
		} else if (!ok || rs.status >= 300) {
			cf_error_text(j, detail, sizeof detail);
			if (rs.status == 401 || rs.status == 403)
				rc = prov_errorf(err, PROV_ERR_RUNTIME,
						 "cloudflare: %s: Cloudflare refused %s (HTTP %ld, %s): "
						 "check that it is current and has Zone:Read and DNS:Edit "
						 "on this zone", what, cf->creds, rs.status, detail);
			else
				rc = prov_errorf(err, PROV_ERR_RUNTIME, "cloudflare: %s: HTTP %ld, %s",
						 what, rs.status, detail);
		} else {
			*root = j;
			j = NULL;
		}
		cJSON_Delete(j);
	}
	http_response_release(&rs);
	buf_release(&url);
	return rc;
}

static char *bare(const char *fqdn) /* "example.com." -> "example.com" */
{
	char *s = dname_fqdn(fqdn);
	if (s && strlen(s) > 1)
		s[strlen(s) - 1] = '\0';
	return s;
}

static int cf_zone(struct cf *cf, const struct zone *z, struct prov_error *err)
{
	if (cf->zone_name && dname_equal(cf->zone_name, z->name))
		return 0;
	free(cf->zone_name);
	free(cf->zone_id);
	cf->zone_name = strdup(z->name);
	cf->zone_id = NULL;
	cf_forget(cf);
	if (z->id) {
		cf->zone_id = strdup(z->id);
		return 0;
	}
	char *name = bare(z->name), *q = name ? http_escape(name) : NULL;
	struct buf path = BUF_INIT, what = BUF_INIT;
	cJSON *root = NULL;
	buf_printf(&path, "/zones?name=%s", q ? q : "");
	buf_printf(&what, "zone %s", name ? name : "?");
	int rc = cf_call(cf, "GET", buf_str(&path), NULL, buf_str(&what), &root, NULL, err);
	if (rc == 0) {
		const char *id = cf_zone_id(root);
		if (id)
			cf->zone_id = strdup(id);
		else
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "cloudflare: zone %s not found for this token (not in the "
					 "account, or the token is not scoped to it)", name);
	}
	cJSON_Delete(root);
	buf_release(&path);
	buf_release(&what);
	free(q);
	free(name);
	return rc;
}

/* Read every record of the zone (paginated) into cf->recs. */
static int cf_read(struct cf *cf, struct prov_error *err)
{
	cf_forget(cf);
	for (int page = 1;; page++) {
		struct buf path = BUF_INIT, what = BUF_INIT;
		cJSON *root = NULL;
		buf_printf(&path, "/zones/%s/dns_records?per_page=%d&page=%d", cf->zone_id,
			   CF_PER_PAGE, page);
		buf_printf(&what, "zone %s: listing records", cf->zone_name);
		int rc = cf_call(cf, "GET", buf_str(&path), NULL, buf_str(&what), &root, NULL, err);
		buf_release(&path);
		buf_release(&what);
		if (rc < 0)
			return rc;
		int more = 0, bad = cf_take_page(&cf->recs, root, page, &more) < 0;
		cJSON_Delete(root);
		if (bad)
			return prov_errorf(err, PROV_ERR_RUNTIME,
					   "cloudflare: zone %s: a record in the listing is malformed",
					   cf->zone_name);
		if (!more)
			return 0;
	}
}

static int cf_list(void *handle, const struct zone *z, char *const *names,
		   struct rrset_list *out, struct prov_error *err)
{
	struct cf *cf = handle;
	int rc = cf_zone(cf, z, err);
	/* Right after our batch, its result is the confirmation: no re-read. */
	if (rc == 0 && !cf->confirmed)
		rc = cf_read(cf, err);
	cf->confirmed = 0;
	for (size_t i = 0; rc == 0 && i < cf->recs.n; i++) {
		const struct cf_record *r = &cf->recs.v[i];
		for (size_t k = 0; names[k]; k++)
			if (dname_equal(names[k], r->name) &&
			    rrset_list_add(out, r->name, rr_type_from_name(r->type), r->ttl,
					   r->value) < 0)
				rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	}
	return rc;
}

static const struct cf_record *cf_find(const struct cf *cf, const char *name,
				       const char *type, const char *value)
{
	for (size_t i = 0; i < cf->recs.n; i++)
		if (strcmp(cf->recs.v[i].type, type) == 0 &&
		    dname_equal(cf->recs.v[i].name, name) &&
		    strcmp(cf->recs.v[i].value, value) == 0)
			return &cf->recs.v[i];
	return NULL;
}

/* 1 when the change is in place in the last listing. */
static int cf_in_place(const struct cf *cf, const struct change *c)
{
	const char *type = rr_type_name(c->type);
	int before_gone = !c->before || (c->after && strcmp(c->before, c->after) == 0) ||
			  !cf_find(cf, c->name, type, c->before);
	const struct cf_record *a = c->after ? cf_find(cf, c->name, type, c->after) : NULL;
	return before_gone && (!c->after || (a && a->ttl == c->ttl));
}

/* The content Cloudflare is sent: TXT as quoted <=255-byte strings, names
 * without their trailing dot. */
static char *cf_content(const struct change *c)
{
	if (c->type == RR_TXT) {
		struct buf b = BUF_INIT;
		if (txt_quote(&b, c->after) < 0) {
			buf_release(&b);
			return NULL;
		}
		return buf_detach(&b);
	}
	if (c->type == RR_CNAME)
		return bare(c->after);
	return strdup(c->after);
}

/* Add the change to the batch body; -1 when the record to replace is not in
 * the listing (someone changed it since). */
static int cf_batch_add(const struct cf *cf, cJSON *body, const struct change *c)
{
	const char *type = rr_type_name(c->type);
	const struct cf_record *old = c->before ? cf_find(cf, c->name, type, c->before) : NULL;
	if (c->before && !old)
		return -1;
	if (!c->after) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", old->id);
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(body, "deletes"), o);
		return 0;
	}
	char *content = cf_content(c), *name = bare(c->name);
	cJSON *o = cJSON_CreateObject();
	if (old)
		cJSON_AddStringToObject(o, "id", old->id);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "name", name ? name : "");
	cJSON_AddStringToObject(o, "content", content ? content : "");
	cJSON_AddNumberToObject(o, "ttl", c->ttl);
	if (c->type == RR_CNAME || c->type == RR_A || c->type == RR_AAAA)
		cJSON_AddFalseToObject(o, "proxied"); /* the tracking host must be DNS-only */
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(body, old ? "patches" : "posts"), o);
	free(content);
	free(name);
	return 0;
}

/* The changes of [from, to) not yet in place, as one batch body. */
static char *cf_batch(const struct cf *cf, const struct change *c, size_t from,
		      size_t to, size_t *count, const struct change **stale)
{
	cJSON *body = cJSON_CreateObject();
	cJSON_AddArrayToObject(body, "deletes");
	cJSON_AddArrayToObject(body, "patches");
	cJSON_AddArrayToObject(body, "posts");
	*count = 0;
	*stale = NULL;
	for (size_t i = from; i < to && !*stale; i++) {
		if (cf_in_place(cf, &c[i]))
			continue;
		if (cf_batch_add(cf, body, &c[i]) < 0)
			*stale = &c[i];
		(*count)++;
	}
	char *s = *stale ? NULL : cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	return s;
}

/*
 * Send changes [from, to) as one batch. After an unknown outcome the zone is
 * read again and only what is still missing is sent, a few times at most.
 */
static int cf_send_batch(struct cf *cf, const struct change *c, size_t from,
			 size_t to, struct prov_error *err)
{
	struct buf path = BUF_INIT, what = BUF_INIT;
	int rc = 0;
	buf_printf(&path, "/zones/%s/dns_records/batch", cf->zone_id);
	buf_printf(&what, "zone %s: batch of changes", cf->zone_name);
	for (int attempt = 0;; attempt++) {
		size_t count;
		const struct change *stale;
		char *body = cf_batch(cf, c, from, to, &count, &stale);
		if (stale) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "cloudflare: %s %s: the record to replace changed since it was "
					 "read; run provision again", stale->name, rr_type_name(stale->type));
			break;
		}
		if (!body || count == 0) {
			free(body);
			break;
		}
		cJSON *root = NULL;
		int unknown = 0;
		struct prov_error e2 = PROV_ERROR_INIT;
		rc = cf_call(cf, "POST", buf_str(&path), body, buf_str(&what), &root, &unknown, &e2);
		free(body);
		if (rc == 0 && cf_take_result(&cf->recs, root) < 0)
			rc = cf_read(cf, &e2); /* an odd result: read the truth */
		cJSON_Delete(root);
		if (rc == 0 || !unknown || attempt + 1 >= CF_WRITE_TRIES) {
			if (rc < 0)
				prov_errorf(err, rc, "%s", e2.msg);
			break;
		}
		/* The batch may or may not have been applied: read, then decide. */
		if ((rc = cf_read(cf, err)) < 0)
			break;
	}
	buf_release(&path);
	buf_release(&what);
	return rc;
}

static int cf_apply(void *handle, const struct zone *z, const struct change *changes,
		    size_t n, size_t *applied, struct prov_error *err)
{
	struct cf *cf = handle;
	int rc = cf_zone(cf, z, err);
	*applied = 0;
	if (rc == 0 && !cf->recs.v && n)
		rc = cf_read(cf, err);
	for (size_t from = 0; rc == 0 && from < n; from += cf->batch_max) {
		size_t to = from + cf->batch_max < n ? from + cf->batch_max : n;
		rc = cf_send_batch(cf, changes, from, to, err);
	}
	/* What is in place now, read back: exact even after a failure. */
	struct prov_error e2 = PROV_ERROR_INIT;
	if (rc == 0 || cf_read(cf, &e2) == 0)
		for (size_t i = 0; i < n; i++)
			*applied += cf_in_place(cf, &changes[i]);
	cf->confirmed = rc == 0;
	return rc;
}

const struct provider_ops provider_cloudflare = {
	.name = "cloudflare",
	.keys = cf_keys,
	.ttl_per_record = 1,
	.open = cf_open,
	.list = cf_list,
	.apply = cf_apply,
	.close = cf_close,
};
