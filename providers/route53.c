/*
 * route53.c - the Amazon Route 53 provider (provider-apis.md §3).
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4, region us-east-1,
 * service route53) through http.c; XML is read and written with libxml2.
 * Credentials are found as the AWS SDKs find them (aws_credentials.c: the
 * environment, the profile, web identity, the instance metadata service)
 * and renewed before a request when they expire within five minutes.
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
 *
 * This file holds the provider's operations and the zone look-up; the
 * other route53_*.c files are listed in route53_internal.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/util.h"
#include "route53_internal.h"

static const char *const r53_keys[] = {
	"profile", "endpoint", "ca_file", "region", "wait", "wait_timeout", "rate", "concurrency", NULL,
};

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
	r53_creds_release(r);
	free(r->zone_name);
	free(r->zone_bare);
	free(r->zone_id);
	free(r);
}

/* The account, as far as it is known before any credential is fetched:
 * where the chain will take them from (the environment's key, a profile, a
 * web identity role, else the instance's), in the order aws_credentials.c
 * tries them. Blocks (and the worker handles of one block) with the same
 * source share one limiter: AWS limits an account, not a connection. */
static void r53_account(const char *profile, const char *base, char *out, size_t n)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *env_profile = getenv("AWS_PROFILE");
	const char *role = getenv("AWS_ROLE_ARN");
	struct buf b = BUF_INIT;
	if (profile)
		buf_printf(&b, "profile %s", profile);
	else if (ak && *ak)
		buf_printf(&b, "key %s", ak);
	else if (env_profile && *env_profile)
		buf_printf(&b, "profile %s", env_profile);
	else if (role && *role)
		buf_printf(&b, "role %s", role);
	else
		buf_printf(&b, "default");
	provider_account(b.data ? b.data : "", base, out, n);
	buf_release(&b);
}

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
	/* five requests per second per account, the documented floor, unless
	 * the rate setting gives the account's limit */
	double rate = 5.0, rn, rw;
	int burst = 5;
	if ((rc = provider_rate(cfg, &rn, &rw, err)) < 0)
		goto fail;
	if (rc > 0)
		provider_bucket(rn, rw, &rate, &burst);
	rc = PROV_ERR_NOMEM;
	struct buf sv = BUF_INIT;
	buf_printf(&sv, "aws:amz:%s:route53", region ? region : R53_REGION);
	r->sigv4 = buf_detach(&sv);
	r->provider = strdup(cfg->name ? cfg->name : "route53");
	r->profile = profile ? strdup(profile) : NULL;
	if (!r->sigv4 || !r->provider || (profile && !r->profile))
		goto fail;
	char account[96];
	r53_account(profile, r->base, account, sizeof account);
	const struct http_config hc = {
		.provider = "route53", .connect_timeout_ms = 10000, .timeout_ms = 60000,
		.max_retries = 5, .rate = rate, .burst = burst, .max_backoff_s = 20,
		.account = account,
	};
	r->http = provider_http(cfg, &hc, err);
	if (!r->http || (rc = r53_creds_init(r, cfg, err)) < 0) {
		rc = PROV_ERR_RUNTIME;
		goto fail;
	}
	*handle = r;
	return 0;
fail:
	r53_close(r);
	return rc;
}

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
		struct r53_answer a;
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
			rc = r53_aws_error(r, buf_str(&what), &a, err);
		if (rc == 0 && !r53_xml_is(a.root, "ListHostedZonesByNameResponse"))
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: %s: unexpected answer <%s>", buf_str(&what),
					 (const char *)a.root->name);
		int past = 0;
		xmlNode *zs = rc == 0 ? r53_xml_child(a.root, "HostedZones") : NULL;
		for (xmlNode *z = zs ? zs->children : NULL; z && !past; z = z->next) {
			if (!r53_xml_is(z, "HostedZone"))
				continue;
			char *name = r53_xml_text(z, "Name"), *id = r53_xml_text(z, "Id");
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
				c[nc++].private_zone = r53_xml_true(r53_xml_child(z, "Config"), "PrivateZone");
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
		if (rc == 0 && !past && r53_xml_true(a.root, "IsTruncated")) {
			next_name = r53_xml_text(a.root, "NextDNSName");
			next_id = r53_xml_text(a.root, "NextHostedZoneId");
		}
		r53_answer_release(&a);
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
					 "(%s)", r->zone_bare, r53_cred_source(r));
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

static int r53_list(void *handle, const struct zone *z, char *const *names,
		    struct rrset_list *out, struct prov_error *err)
{
	struct r53 *r = handle;
	int rc = r53_zone(r, z, err);
	int fresh = r->confirmed;
	for (size_t i = 0; fresh && names[i]; i++)
		fresh = r53_covered(r, names[i]);
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
			if (rrset_list_add(out, s->plain, r53_type_num(s->type), s->ttl, s->vals[v]) < 0)
				rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	}
	return rc;
}

static int r53_apply(void *handle, const struct zone *z, const struct change *changes,
		     size_t n, size_t *applied, struct prov_error *err)
{
	struct r53 *r = handle;
	struct r53_group *g = NULL;
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
		known = r53_covered(r, changes[i].name);
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
	if ((rc = r53_make_groups(r, changes, n, &g, &ng, err)) < 0)
		goto out;
	body = r53_batch_xml(r, g, ng, &count);
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
	r53_group_list(g, ng, NULL, r, &what);
	buf_putc(&what, ')');
	strv_free(names);
	names = r53_strv_copy(r->covered);
	for (int attempt = 0;; attempt++) {
		struct r53_answer a;
		int unknown = 0;
		struct prov_error e2 = PROV_ERROR_INIT;
		rc = r53_call(r, "POST", buf_str(&path), body, buf_str(&what), &a, &unknown, &e2);
		if (rc == CALL_OK) {
			char *id = r53_xml_text(r53_xml_child(a.root, "ChangeInfo"), "Id");
			change_id = id ? bare_id(id) : NULL;
			free(id);
			r53_answer_release(&a);
			if (r53_take_written(r, g, ng) < 0) {
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
			r53_answer_release(&a);
			struct prov_error e3 = PROV_ERROR_INIT;
			/* refused as a whole: nothing was applied. For an invalid
			 * batch, read again: what is there now, which set moved */
			char **again = icb ? r53_group_names(g, ng, names) : NULL;
			int rr = again ? r53_read(r, again, &e3) : -1;
			strv_free(again);
			struct buf moved = BUF_INIT;
			if (rr == 0) {
				r53_group_list(g, ng, r53_as_read, r, &moved);
				for (size_t i = 0; i < n; i++)
					*applied += r53_in_place(r, &changes[i]);
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
						 code, msg, r53_hint(r, code));
			buf_release(&moved);
			goto out;
		}
		if (rc == CALL_AWS)
			rc = r53_aws_error(r, buf_str(&what), &a, &e2);
		r53_answer_release(&a);
		if (!unknown || attempt + 1 >= R53_WRITE_TRIES) {
			prov_errorf(err, rc, "%s", e2.msg);
			if (unknown) { /* say what is in place, read back */
				struct prov_error e3 = PROV_ERROR_INIT;
				if (r53_read(r, names, &e3) == 0)
					for (size_t i = 0; i < n; i++)
						*applied += r53_in_place(r, &changes[i]);
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
				all_written &= r53_as_written(r, &g[i]);
				all_read &= r53_as_read(r, &g[i]);
			}
		if (all_written) { /* the lost answer was a success */
			*applied = n;
			r->confirmed = 1;
			rc = 0;
			break;
		}
		if (!all_read) {
			struct buf moved = BUF_INIT;
			r53_group_list(g, ng, r53_as_read, r, &moved);
			for (size_t i = 0; i < n; i++)
				*applied += r53_in_place(r, &changes[i]);
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
	r53_groups_free(g, ng);
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
