/*
 * rfc2136.c - the provider for self-hosted DNS: RFC 2136 dynamic updates
 * signed with TSIG (RFC 8945), sent to the zone's primary (BIND, Knot,
 * PowerDNS, Windows DNS).
 *
 * Reading: each managed name is asked of the primary itself, over TCP,
 * signed, never through a recursive resolver: TXT first (an authoritative
 * server answers a CNAME there when the name holds one), then, only when
 * the name exists without either, ANY to learn what else is there (Knot
 * answers ANY with one RRset, RFC 8482: enough to see a clash). The
 * records read are kept, as the server sent them, until the apply.
 *
 * Writing: one UPDATE per zone, built and signed by ldns. Its prerequisite
 * section (§2.4) asserts the exact before-state of every RRset it touches:
 * the whole RRset as read (value dependent, §2.4.2), or "RRset does not
 * exist" (§2.4.3), "name is not in use" (§2.4.5) for a new CNAME. A value
 * replaced is deleted by its exact rdata as read (§2.5.4), so a TXT split
 * in other places than ours is still found; the new one is added (§2.5.1)
 * with TXT split into 255-byte character-strings. An edit made between the
 * read and the write makes the server answer NXRRSET/YXRRSET/YXDOMAIN and
 * nothing is written.
 *
 * --wait: the primary's SOA serial after the update, then each server of
 * the zone's NS set until all serve it (RFC 1982 serial arithmetic).
 * Secondaries are asked on the port of `server` (53 in real use).
 *
 * The TSIG secret is read from the environment or a BIND key file and
 * never printed, also with -v.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <openssl/evp.h>

#include "dnsrr.h"
#include "provision/buf.h"
#include "provision/provider.h"
#include "provision/util.h"

#define R2_FUDGE 300         /* TSIG fudge, seconds (RFC 8945 §10) */
#define R2_TIMEOUT_S 5       /* per query, unless timeout = N */
#define R2_TSIG_BADSIG 16
#define R2_TSIG_BADKEY 17
#define R2_TSIG_BADTIME 18

static const char *const r2_keys[] = {
	"server", "tsig_name", "tsig_algorithm", "tsig_secret_env", "tsig_keyfile",
	"timeout", "concurrency", NULL,
};

static const char *const r2_algs[] = { "hmac-sha256", "hmac-sha384", "hmac-sha512", NULL };

/* The records read of one zone, as the server sent them. */
struct r2_zone {
	char *name;
	ldns_rr_list *rrs;
};

struct r2 {
	char *server;      /* as configured, for messages */
	char *host;
	uint16_t port;
	char *key_name;    /* FQDN */
	char *key_alg;     /* "hmac-sha256." as ldns names it */
	char *secret;      /* base64 */
	char from[300];    /* where the secret came from, for messages */
	long timeout_s, wait_s;
	int verbose;
	int key_ok;        /* a signed answer verified: the key is known */
	struct r2_zone *zones;
	size_t nzones;
	unsigned long queries, updates;
};

static void r2_close(void *handle)
{
	struct r2 *r = handle;
	if (!r)
		return;
	for (size_t i = 0; i < r->nzones; i++) {
		free(r->zones[i].name);
		ldns_rr_list_deep_free(r->zones[i].rrs);
	}
	free(r->zones);
	if (r->secret)
		OPENSSL_cleanse(r->secret, strlen(r->secret));
	free(r->secret);
	free(r->server);
	free(r->host);
	free(r->key_name);
	free(r->key_alg);
	free(r);
}

/* ---- settings ----------------------------------------------------------- */

/* "host", "host:port", "[v6]:port", or a bare IPv6 address. */
static int parse_server(struct r2 *r, const struct provider_config *cfg,
			const char *s, struct prov_error *err)
{
	const char *end = s + strlen(s), *port = NULL;
	const char *h = s;
	size_t hl = strlen(s);
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close || (close[1] && close[1] != ':'))
			goto bad;
		h = s + 1;
		hl = (size_t)(close - h);
		port = close[1] ? close + 2 : NULL;
	} else {
		const char *colon = strchr(s, ':');
		if (colon && !strchr(colon + 1, ':')) { /* one colon: host:port */
			hl = (size_t)(colon - s);
			port = colon + 1;
		}
	}
	r->port = 53;
	if (port) {
		char *e = NULL;
		long v = strtol(port, &e, 10);
		if (port == end || *e || v < 1 || v > 65535)
			goto bad;
		r->port = (uint16_t)v;
	}
	if (hl == 0)
		goto bad;
	r->host = strndup(h, hl);
	r->server = strdup(s);
	return r->host && r->server ? 0 : prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
bad:
	return provider_config_error(cfg, "server", err,
				     "server must be HOST, HOST:PORT or [IPv6]:PORT, not '%s'", s);
}

/* "hmac-sha256" (any case, trailing dot or not) as ldns names it. */
static char *alg_name(const char *a)
{
	size_t n = strlen(a);
	if (n && a[n - 1] == '.')
		n--;
	for (size_t i = 0; r2_algs[i]; i++)
		if (strlen(r2_algs[i]) == n && strncasecmp(a, r2_algs[i], n) == 0) {
			struct buf b = BUF_INIT;
			buf_printf(&b, "%s.", r2_algs[i]);
			return buf_detach(&b);
		}
	return NULL;
}

/* 1 when s is non-empty base64 (OpenSSL decodes it). */
static int base64_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n % 4 != 0 || n > 4096)
		return 0;
	unsigned char *out = malloc(n);
	int len = out ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)n) : -1;
	if (out)
		OPENSSL_cleanse(out, n);
	free(out);
	return len > 0;
}

/* One token of a BIND key file: a quoted string, a word, or one of {};.
 * Comments (#, //, and C style) are skipped. NULL at the end. */
static char *kf_token(const char **pp, int *line)
{
	const char *p = *pp;
	for (;;) {
		while (*p && isspace((unsigned char)*p))
			*line += *p++ == '\n';
		if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
				*line += *p == '\n';
			p += *p ? 2 : 0;
		} else {
			break;
		}
	}
	const char *s = p;
	char *tok = NULL;
	if (!*p) {
		tok = NULL;
	} else if (*p == '"') {
		for (s = ++p; *p && *p != '"' && *p != '\n'; p++)
			;
		tok = *p == '"' ? strndup(s, (size_t)(p - s)) : NULL;
		p += *p == '"';
	} else if (strchr("{};", *p)) {
		tok = strndup(p++, 1);
	} else {
		while (*p && !isspace((unsigned char)*p) && !strchr("{};\"", *p))
			p++;
		tok = strndup(s, (size_t)(p - s));
	}
	*pp = p;
	return tok;
}

/* The key named want (or the first, want NULL) of a BIND key file:
 * key "NAME" { algorithm ALG; secret "BASE64"; }; */
static int read_keyfile(struct r2 *r, const struct provider_config *cfg,
			const char *path, const char *want, char **alg,
			struct prov_error *err)
{
	struct buf full = BUF_INIT;
	if (path[0] != '/' && cfg->base_dir && *cfg->base_dir)
		buf_printf(&full, "%s/", cfg->base_dir);
	buf_puts(&full, path);
	FILE *f = fopen(buf_str(&full), "r");
	struct buf text = BUF_INIT;
	char chunk[4096];
	size_t got;
	int rc = 0, line = 1, found = 0;
	if (!f) {
		rc = provider_config_error(cfg, "tsig_keyfile", err, "cannot read the key file %s: %s",
					   path, strerror(errno));
		goto out;
	}
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && text.len < 65536)
		buf_add(&text, chunk, got);
	fclose(f);
	const char *p = buf_str(&text);
	char *tok;
	while (!found && (tok = kf_token(&p, &line))) {
		int is_key = strcmp(tok, "key") == 0;
		free(tok);
		if (!is_key)
			continue;
		char *name = kf_token(&p, &line), *open = kf_token(&p, &line);
		char *a = NULL, *sec = NULL;
		int ok = name && open && strcmp(open, "{") == 0, closed = 0;
		while (ok && !closed) {
			tok = kf_token(&p, &line);
			if (!tok || strcmp(tok, "}") == 0) {
				ok = tok != NULL; /* no closing brace: not a key */
				closed = 1;
				free(tok);
				continue;
			}
			char *v = kf_token(&p, &line), *semi = kf_token(&p, &line);
			ok = v && semi && strcmp(semi, ";") == 0;
			if (ok && strcmp(tok, "algorithm") == 0)
				free(a), a = strdup(v);
			else if (ok && strcmp(tok, "secret") == 0)
				free(sec), sec = strdup(v);
			if (v)
				OPENSSL_cleanse(v, strlen(v));
			free(tok);
			free(v);
			free(semi);
		}
		if (!ok) {
			rc = provider_config_error(cfg, "tsig_keyfile", err,
						   "%s:%d: not a BIND key file (key \"NAME\" { algorithm "
						   "ALG; secret \"BASE64\"; };)", path, line);
		} else if (!want || dname_equal(want, name)) {
			found = 1;
			if (!sec || !a)
				rc = provider_config_error(cfg, "tsig_keyfile", err,
							   "%s:%d: key \"%s\" has no %s", path, line,
							   name, sec ? "algorithm" : "secret");
			else {
				r->key_name = dname_fqdn(name);
				r->secret = sec, sec = NULL;
				*alg = a, a = NULL;
			}
		}
		free(name);
		free(open);
		free(a);
		if (sec)
			OPENSSL_cleanse(sec, strlen(sec));
		free(sec);
		if (rc < 0)
			goto out;
	}
	if (!found)
		rc = provider_config_error(cfg, "tsig_keyfile", err, "%s holds no key%s%s%s", path,
					   want ? " named \"" : "", want ? want : "", want ? "\"" : "");
	else
		snprintf(r->from, sizeof r->from, "the key file %s", path);
out:
	if (text.data)
		OPENSSL_cleanse(text.data, text.len);
	buf_release(&text);
	buf_release(&full);
	return rc;
}

static int r2_open(const struct provider_config *cfg, void **handle,
		   struct prov_error *err)
{
	struct r2 *r = calloc(1, sizeof *r);
	const char *server = provider_setting(cfg, "server");
	const char *name = provider_setting(cfg, "tsig_name");
	const char *alg = provider_setting(cfg, "tsig_algorithm");
	const char *env = provider_setting(cfg, "tsig_secret_env");
	const char *file = provider_setting(cfg, "tsig_keyfile");
	const char *to = provider_setting(cfg, "timeout");
	char *file_alg = NULL;
	int rc = 0;
	*handle = NULL;
	if (!r)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	r->verbose = cfg->verbose;
	r->wait_s = cfg->wait_s;
	r->timeout_s = R2_TIMEOUT_S;
	if (!server) {
		rc = provider_config_error(cfg, NULL, err, "server is required (the zone's "
					   "primary, HOST or HOST:PORT)");
		goto fail;
	}
	if ((rc = parse_server(r, cfg, server, err)) < 0)
		goto fail;
	if (to) {
		char *e = NULL;
		r->timeout_s = strtol(to, &e, 10);
		if (*e || r->timeout_s < 1 || r->timeout_s > 300) {
			rc = provider_config_error(cfg, "timeout", err,
						   "timeout must be 1 to 300 seconds");
			goto fail;
		}
	}
	if (file && env) {
		rc = provider_config_error(cfg, "tsig_keyfile", err,
					   "give tsig_keyfile or tsig_secret_env, not both");
		goto fail;
	}
	if (file) {
		if ((rc = read_keyfile(r, cfg, file, name, &file_alg, err)) < 0)
			goto fail;
	} else if (env) {
		const char *v = getenv(env);
		if (!name) {
			rc = provider_config_error(cfg, NULL, err, "tsig_name is required with "
						   "tsig_secret_env (the key's name on the server)");
			goto fail;
		}
		if (!v || !*v) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME, "rfc2136: provider '%s': no TSIG "
					 "secret: set %s to the key's base64 secret", cfg->name, env);
			goto fail;
		}
		r->key_name = dname_fqdn(name);
		r->secret = strdup(v);
		snprintf(r->from, sizeof r->from, "%s", env);
	} else {
		rc = provider_config_error(cfg, NULL, err, "a TSIG key is required: "
					   "tsig_secret_env (with tsig_name) or tsig_keyfile");
		goto fail;
	}
	if (!r->key_name || !r->secret) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (!base64_ok(r->secret)) {
		rc = file ? provider_config_error(cfg, "tsig_keyfile", err, "the secret in %s "
						  "is not base64", file)
			  : prov_errorf(err, PROV_ERR_RUNTIME, "rfc2136: provider '%s': the TSIG "
					"secret in %s is not base64", cfg->name, env);
		goto fail;
	}
	if (alg && file_alg && !dname_equal(alg, file_alg)) {
		rc = provider_config_error(cfg, "tsig_algorithm", err, "tsig_algorithm %s "
					   "differs from the key file's %s", alg, file_alg);
		goto fail;
	}
	const char *want = alg ? alg : file_alg ? file_alg : "hmac-sha256";
	if (!(r->key_alg = alg_name(want))) {
		rc = provider_config_error(cfg, alg ? "tsig_algorithm" : "tsig_keyfile", err,
					   "TSIG algorithm '%s' is not one of hmac-sha256, "
					   "hmac-sha384, hmac-sha512", want);
		goto fail;
	}
	free(file_alg);
	*handle = r;
	return 0;
fail:
	free(file_alg);
	r2_close(r);
	return rc;
}

/* ---- talking to the server --------------------------------------------- */

/* "zone example.test. on 127.0.0.1:5300" for messages. */
#define R2_AT "rfc2136: zone %s on %s: "

static ldns_rdf *addr_rdf(const char *host)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, host, a) == 1)
		return ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, host);
	if (inet_pton(AF_INET6, host, a) == 1)
		return ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, host);
	return NULL;
}

/* The first address of host (numeric, or through getaddrinfo). */
static ldns_rdf *host_rdf(const char *host)
{
	ldns_rdf *rdf = addr_rdf(host);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char text[INET6_ADDRSTRLEN];
	if (rdf || getaddrinfo(host, NULL, &hints, &res) != 0)
		return rdf;
	for (struct addrinfo *ai = res; ai && !rdf; ai = ai->ai_next) {
		const void *p = ai->ai_family == AF_INET
					? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
					: (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    inet_ntop(ai->ai_family, p, text, sizeof text))
			rdf = addr_rdf(text);
	}
	freeaddrinfo(res);
	return rdf;
}

/* One server: an address and a port. */
struct r2_srv {
	ldns_rdf *addr;
	uint16_t port;
};

static void srv_release(struct r2_srv *s)
{
	ldns_rdf_deep_free(s->addr);
	s->addr = NULL;
}

static int r2_primary(const struct r2 *r, const char *zone, struct r2_srv *s,
		      struct prov_error *err)
{
	s->port = r->port;
	if (!(s->addr = host_rdf(r->host)))
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "cannot resolve the server "
				   "name %s", zone, r->server, r->host);
	return 0;
}

/* Sign p with the key, send it over TCP to s, read the answer. *reply is
 * the answer (caller frees) or NULL; the status says why none, or
 * LDNS_STATUS_CRYPTO_TSIG_BOGUS when the answer's signature does not
 * verify (the answer is still given: its rcode and TSIG error say why). */
static ldns_status r2_exchange(struct r2 *r, const struct r2_srv *s, ldns_pkt *p,
			       int sign, ldns_pkt **reply)
{
	ldns_buffer *qb = ldns_buffer_new(LDNS_MIN_BUFLEN);
	uint8_t *bytes = NULL;
	size_t size = 0, slen = 0;
	struct sockaddr_storage *sa = NULL;
	ldns_status st = !qb ? LDNS_STATUS_MEM_ERR
			 : sign ? ldns_pkt_tsig_sign(p, r->key_name, r->secret, R2_FUDGE,
						     r->key_alg, NULL)
				: LDNS_STATUS_OK;
	*reply = NULL;
	if (st == LDNS_STATUS_OK)
		st = ldns_pkt2buffer_wire(qb, p);
	if (st == LDNS_STATUS_OK && !(sa = ldns_rdf2native_sockaddr_storage(s->addr, s->port, &slen)))
		st = LDNS_STATUS_MEM_ERR;
	if (st == LDNS_STATUS_OK)
		st = ldns_tcp_send(&bytes, qb, sa, (socklen_t)slen,
				   (struct timeval){ r->timeout_s, 0 }, &size);
	if (st == LDNS_STATUS_OK && (!bytes || size == 0))
		st = LDNS_STATUS_NETWORK_ERR;
	if (st == LDNS_STATUS_OK)
		st = ldns_wire2pkt(reply, bytes, size);
	if (st == LDNS_STATUS_OK && sign &&
	    !ldns_pkt_tsig_verify(*reply, bytes, size, r->key_name, r->secret,
				  ldns_rr_rdf(ldns_pkt_tsig(p), 3)))
		st = LDNS_STATUS_CRYPTO_TSIG_BOGUS;
	else if (st == LDNS_STATUS_OK && sign)
		r->key_ok = 1; /* the server knows the key and its secret */
	LDNS_FREE(bytes);
	LDNS_FREE(sa);
	ldns_buffer_free(qb);
	return st;
}

static const char *rcode_name(ldns_pkt_rcode rc)
{
	const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, (int)rc);
	return t ? t->name : "unknown rcode";
}

/* The TSIG error of an answer (0 when none or unsigned), and the server's
 * time when it sent BADTIME (RFC 8945 §5.2.3: in the other data). */
static int tsig_error(const ldns_pkt *p, long long *server_time)
{
	const ldns_rr *t = ldns_pkt_tsig(p);
	*server_time = -1;
	if (!t || ldns_rr_rd_count(t) < 7)
		return 0;
	int e = ldns_rdf2native_int16(ldns_rr_rdf(t, 5));
	const ldns_rdf *other = ldns_rr_rdf(t, 6);
	if (ldns_rdf_size(other) == 8) { /* length 6, then 48-bit time */
		const uint8_t *d = ldns_rdf_data(other) + 2;
		long long v = 0;
		for (int i = 0; i < 6; i++)
			v = v << 8 | d[i];
		*server_time = v;
	}
	return e;
}

/* Why an answer (or its absence) is not a usable one: one line in err.
 * what: "query TXT pic._domainkey.example.test." or "update". Returns 0
 * when the answer can be used (rcode is then the caller's to judge). */
static int answer_error(const struct r2 *r, const char *zone, const char *what,
			ldns_status st, const ldns_pkt *p, struct prov_error *err)
{
	long long stime;
	if (!p)
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "no answer to the %s "
				   "over TCP within %ld s (%s): is the server running and "
				   "listening there?", zone, r->server, what, r->timeout_s,
				   ldns_get_errorstr_by_id(st));
	int te = tsig_error(p, &stime);
	ldns_pkt_rcode rc = ldns_pkt_get_rcode(p);
	if (te == R2_TSIG_BADTIME) {
		long long skew = stime >= 0 ? (long long)time(NULL) - stime : 0;
		char by[96] = "by more";
		if (stime >= 0)
			snprintf(by, sizeof by, "%lld s %s", skew < 0 ? -skew : skew,
				 skew < 0 ? "behind" : "ahead of");
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the server refused "
				   "the TSIG time of the %s (%s, BADTIME): this machine's clock "
				   "is %s the server's, more than the %d s allowed: set both "
				   "clocks right (NTP)", zone, r->server, what, rcode_name(rc), by,
				   R2_FUDGE);
	}
	if (te == R2_TSIG_BADKEY && r->key_ok) /* Knot's answer to an ACL denial */
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the server refused the "
				   "%s (%s, BADKEY) although key '%.*s' signed the reads: the key "
				   "is not allowed to %s there (see its acl / update-policy)", zone,
				   r->server, what, rcode_name(rc), (int)strlen(r->key_name) - 1,
				   r->key_name, strncmp(what, "update", 6) == 0
				   ? "update these names and types" : "read it");
	if (te == R2_TSIG_BADKEY)
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the server rejected "
				   "the TSIG key '%.*s' with %.*s (%s, BADKEY): it does not know "
				   "that key, or (Knot) the key is not in this zone's acl: check "
				   "tsig_name and tsig_algorithm against the server's key and the "
				   "zone's acl / update-policy", zone, r->server,
				   (int)strlen(r->key_name) - 1, r->key_name,
				   (int)strlen(r->key_alg) - 1, r->key_alg, rcode_name(rc));
	if (te == R2_TSIG_BADSIG)
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the server could not "
				   "verify the TSIG signature of key '%.*s' (%s, BADSIG): the "
				   "secret in %s is not the server's", zone, r->server,
				   (int)strlen(r->key_name) - 1, r->key_name, rcode_name(rc), r->from);
	if (te)
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "TSIG error %d in "
				   "the answer to the %s (%s)", zone, r->server, te, what,
				   rcode_name(rc));
	if (rc == LDNS_RCODE_NOTAUTH)
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the server is not "
				   "authoritative for the zone (NOTAUTH): is it the zone's primary, "
				   "and the zone name right?", zone, r->server);
	if (rc == LDNS_RCODE_NOERROR && st == LDNS_STATUS_CRYPTO_TSIG_BOGUS)
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the answer to the "
				   "%s is not signed with key '%.*s' as it must be; not trusted",
				   zone, r->server, what, (int)strlen(r->key_name) - 1, r->key_name);
	if (rc == LDNS_RCODE_REFUSED)
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the server refused "
				   "the %s (REFUSED): it does not serve the zone, or the key "
				   "'%.*s' is not allowed to %s there (see its acl / update-policy)", zone,
				   r->server, what, (int)strlen(r->key_name) - 1, r->key_name,
				   strncmp(what, "update", 6) == 0 ? "update these names and types"
								   : "read it");
	if (rc == LDNS_RCODE_SERVFAIL)
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the server failed "
				   "on the %s (SERVFAIL): see its log", zone, r->server, what);
	if (rc == LDNS_RCODE_NOTIMPL)
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the server does not "
				   "implement the %s (NOTIMP)", zone, r->server, what);
	if (rc == LDNS_RCODE_FORMERR)
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the server could not "
				   "parse the %s (FORMERR)", zone, r->server, what);
	if (rc == LDNS_RCODE_NOTZONE)
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "a name is not in "
				   "the zone (NOTZONE)", zone, r->server);
	return 0;
}

/* One signed query to res; the answer (caller frees) or NULL with err. */
static ldns_pkt *r2_query(struct r2 *r, const struct r2_srv *srv, int sign,
			  const char *zone, const char *name, ldns_rr_type type,
			  struct prov_error *err)
{
	ldns_rdf *dname = ldns_dname_new_frm_str(name);
	ldns_pkt *q = dname ? ldns_pkt_query_new(dname, type, LDNS_RR_CLASS_IN, 0) : NULL;
	ldns_pkt *p = NULL;
	char what[400];
	snprintf(what, sizeof what, "query %s %s", rr_type_name((uint16_t)type), name);
	if (!q) {
		ldns_rdf_deep_free(dname);
		prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "bad name %s", zone,
			    r->server, name);
		return NULL;
	}
	ldns_pkt_set_random_id(q);
	r->queries++;
	ldns_status st = r2_exchange(r, srv, q, sign, &p);
	ldns_pkt_free(q);
	if (answer_error(r, zone, what, st, p, err) < 0) {
		ldns_pkt_free(p);
		return NULL;
	}
	ldns_pkt_rcode rc = ldns_pkt_get_rcode(p);
	if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN) {
		prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "unexpected answer %s to "
			    "the %s", zone, r->server, rcode_name(rc), what);
		ldns_pkt_free(p);
		return NULL;
	}
	if (!ldns_pkt_aa(p)) {
		prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the answer to the %s is "
			    "not authoritative: server must be the zone's primary, not a "
			    "resolver", zone, r->server, what);
		ldns_pkt_free(p);
		return NULL;
	}
	return p;
}

/* ---- list ----------------------------------------------------------------- */

static struct r2_zone *zone_slot(struct r2 *r, const char *zone)
{
	for (size_t i = 0; i < r->nzones; i++)
		if (dname_equal(r->zones[i].name, zone))
			return &r->zones[i];
	struct r2_zone *v = realloc(r->zones, (r->nzones + 1) * sizeof *v);
	if (!v)
		return NULL;
	r->zones = v;
	v[r->nzones] = (struct r2_zone){ strdup(zone), ldns_rr_list_new() };
	if (!v[r->nzones].name || !v[r->nzones].rrs) {
		free(v[r->nzones].name);
		ldns_rr_list_free(v[r->nzones].rrs);
		return NULL;
	}
	return &v[r->nzones++];
}

static int owner_is(const ldns_rr *rr, const char *name)
{
	char *o = ldns_rdf2str(ldns_rr_owner(rr));
	int same = o && dname_equal(o, name);
	free(o);
	return same;
}

/* Keep the answer's records at name (each (type) once): in out and in
 * kept. Returns the number kept, or -1 (memory). */
static long keep_answer(const ldns_pkt *p, const char *name, struct rrset_list *out,
			ldns_rr_list *kept)
{
	const ldns_rr_list *an = ldns_pkt_answer(p);
	long n = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (!owner_is(rr, name) || t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_HINFO)
			continue;
		int dup = 0;
		for (size_t j = 0; j < ldns_rr_list_rr_count(kept) && !dup; j++)
			dup = ldns_rr_compare(ldns_rr_list_rr(kept, j), rr) == 0;
		if (dup)
			continue;
		char *v = dnsrr_value(rr);
		ldns_rr *c = ldns_rr_clone(rr);
		int rc = !v || !c || rrset_list_add(out, name, (uint16_t)t, ldns_rr_ttl(rr), v) < 0 ||
			 !ldns_rr_list_push_rr(kept, c);
		free(v);
		if (rc) {
			ldns_rr_free(c);
			return -1;
		}
		n++;
	}
	return n;
}

static int r2_list(void *handle, const struct zone *zone, char *const *names,
		   struct rrset_list *out, struct prov_error *err)
{
	struct r2 *r = handle;
	struct r2_zone *z = zone_slot(r, zone->name);
	if (!z)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	ldns_rr_list_deep_free(z->rrs);
	if (!(z->rrs = ldns_rr_list_new()))
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	struct r2_srv res = { 0 };
	if (r2_primary(r, zone->name, &res, err) < 0)
		return PROV_ERR_RUNTIME;
	int rc = 0;
	unsigned long q0 = r->queries;
	/* The apex SOA first: the server must serve the zone itself. */
	ldns_pkt *p = r2_query(r, &res, 1, zone->name, zone->name, LDNS_RR_TYPE_SOA, err);
	if (!p)
		rc = PROV_ERR_RUNTIME;
	else if (ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR ||
		 ldns_rr_list_rr_count(ldns_pkt_answer(p)) == 0)
		rc = prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the server does "
				 "not serve this zone (no SOA at its apex)", zone->name, r->server);
	ldns_pkt_free(p);
	for (size_t i = 0; rc == 0 && names && names[i]; i++) {
		if (!(p = r2_query(r, &res, 1, zone->name, names[i], LDNS_RR_TYPE_TXT, err))) {
			rc = PROV_ERR_RUNTIME;
			break;
		}
		int exists = ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR;
		long kept = keep_answer(p, names[i], out, z->rrs);
		ldns_pkt_free(p);
		if (kept < 0)
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		if (rc || kept > 0 || !exists || dname_equal(names[i], zone->name))
			continue; /* (the apex exists; no CNAME can clash there) */
		/* the name exists without TXT or CNAME: what else is there? */
		if (!(p = r2_query(r, &res, 1, zone->name, names[i], LDNS_RR_TYPE_ANY, err)))
			rc = PROV_ERR_RUNTIME;
		else if (keep_answer(p, names[i], out, z->rrs) < 0)
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		ldns_pkt_free(p);
	}
	if (r->verbose)
		fprintf(stderr, "provision: rfc2136: zone %s: %lu queries to %s over TCP\n",
			zone->name, r->queries - q0, r->server);
	srv_release(&res);
	return rc;
}

/* ---- apply ------------------------------------------------------------- */

/* The record read at (name, type) with value, or NULL. */
static const ldns_rr *read_rr(const struct r2_zone *z, const char *name, uint16_t type,
			      const char *value)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
		if (ldns_rr_get_type(rr) != type || !owner_is(rr, name))
			continue;
		char *v = dnsrr_value(rr);
		int same = v && strcmp(v, value) == 0;
		free(v);
		if (same)
			return rr;
	}
	return NULL;
}

/* An RR with no rdata: the §2.4.3/§2.4.5 forms (class NONE). */
static ldns_rr *empty_rr(const char *name, ldns_rr_type type)
{
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *owner = ldns_dname_new_frm_str(name);
	if (!rr || !owner) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(owner);
		return NULL;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, type);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
	ldns_rr_set_ttl(rr, 0);
	return rr;
}

/* The prerequisites of the RRset (name, type): exactly as read. */
static int prereq_set(const struct r2_zone *z, const char *name, uint16_t type,
		      ldns_rr_list *pr)
{
	int any = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
		if (ldns_rr_get_type(rr) != type || !owner_is(rr, name))
			continue;
		ldns_rr *c = ldns_rr_clone(rr);
		if (!c)
			return -1;
		ldns_rr_set_ttl(c, 0); /* §2.4.2: TTL zero, class IN */
		if (!ldns_rr_list_push_rr(pr, c)) {
			ldns_rr_free(c);
			return -1;
		}
		any = 1;
	}
	if (any)
		return 0;
	/* not there: a CNAME needs the whole name free, others their RRset */
	ldns_rr *rr = empty_rr(name, type == RR_CNAME ? LDNS_RR_TYPE_ANY : (ldns_rr_type)type);
	if (!rr || !ldns_rr_list_push_rr(pr, rr)) {
		ldns_rr_free(rr);
		return -1;
	}
	return 0;
}

/* The UPDATE of one zone's changes; NULL with err. */
static ldns_pkt *build_update(const struct r2 *r, const struct r2_zone *z,
			      const struct change *c, size_t n, size_t *npr, size_t *nup,
			      struct prov_error *err)
{
	ldns_rr_list *pr = ldns_rr_list_new(), *up = ldns_rr_list_new();
	ldns_pkt *p = NULL;
	int rc = pr && up ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		int seen = 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = c[j].type == c[i].type && dname_equal(c[j].name, c[i].name);
		if (!seen)
			rc = prereq_set(z, c[i].name, c[i].type, pr);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) { /* deletions first */
		if (!c[i].before)
			continue;
		const ldns_rr *was = read_rr(z, c[i].name, c[i].type, c[i].before);
		ldns_rr *del = was ? ldns_rr_clone(was) : NULL;
		if (!was) {
			prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the %s value to "
				    "replace at %s was not read from the server", z->name,
				    r->server, rr_type_name(c[i].type), c[i].name);
			rc = -2;
			break;
		}
		if (del) {
			ldns_rr_set_class(del, LDNS_RR_CLASS_NONE); /* §2.5.4 */
			ldns_rr_set_ttl(del, 0);
		}
		rc = del && ldns_rr_list_push_rr(up, del) ? 0 : (ldns_rr_free(del), -1);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!c[i].after)
			continue;
		ldns_rr *add = dnsrr_new(c[i].name, c[i].type, c[i].ttl, c[i].after);
		if (!add) {
			prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "cannot build the "
				    "%s record at %s", z->name, r->server,
				    rr_type_name(c[i].type), c[i].name);
			rc = -2;
			break;
		}
		rc = ldns_rr_list_push_rr(up, add) ? 0 : (ldns_rr_free(add), -1);
	}
	ldns_rdf *apex = rc == 0 ? ldns_dname_new_frm_str(z->name) : NULL;
	if (apex && (p = ldns_update_pkt_new(apex, LDNS_RR_CLASS_IN, pr, up, NULL))) {
		ldns_pkt_set_rd(p, false);
		ldns_pkt_set_random_id(p);
		*npr = ldns_rr_list_rr_count(pr);
		*nup = ldns_rr_list_rr_count(up);
	} else if (apex) {
		ldns_rdf_deep_free(apex);
	}
	if (rc == -1 || (rc == 0 && !p))
		prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	ldns_rr_list_deep_free(pr);
	ldns_rr_list_deep_free(up);
	return p;
}

/* The SOA serial of zone on res; -1 with err. */
static long long soa_serial(struct r2 *r, const struct r2_srv *srv, int sign,
			    const char *zone, struct prov_error *err)
{
	ldns_pkt *p = r2_query(r, srv, sign, zone, zone, LDNS_RR_TYPE_SOA, err);
	long long serial = -1;
	const ldns_rr_list *an = p ? ldns_pkt_answer(p) : NULL;
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(an, i)) == LDNS_RR_TYPE_SOA)
			serial = ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(an, i), 2));
	if (p && serial < 0)
		prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "no SOA in the answer",
			    zone, r->server);
	ldns_pkt_free(p);
	return serial;
}

/* RFC 1982: a is at least b. */
static int serial_reached(uint32_t a, uint32_t b)
{
	return a == b || (int32_t)(a - b) > 0;
}

/* One secondary of the zone: its name and an address on our port. */
struct r2_ns {
	char *name;
	struct r2_srv srv;
	long long serial;
};

/* The servers of the zone's NS set other than the primary itself. */
static int secondaries(struct r2 *r, const struct r2_srv *prim, const char *zone,
		       struct r2_ns **out, size_t *nout, struct prov_error *err)
{
	ldns_pkt *p = r2_query(r, prim, 1, zone, zone, LDNS_RR_TYPE_NS, err);
	ldns_rdf *paddr = host_rdf(r->host);
	if (!p) {
		ldns_rdf_deep_free(paddr);
		return PROV_ERR_RUNTIME;
	}
	const ldns_rr_list *an = ldns_pkt_answer(p);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *ns = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(ns) != LDNS_RR_TYPE_NS)
			continue;
		char *host = ldns_rdf2str(ldns_rr_rdf(ns, 0));
		ldns_rdf *addr = NULL;
		/* in-zone names: the primary's own A record; else the system */
		ldns_pkt *a = host ? r2_query(r, prim, 1, zone, host, LDNS_RR_TYPE_A, err) : NULL;
		prov_error_clear(err);
		for (size_t j = 0; a && !addr && j < ldns_rr_list_rr_count(ldns_pkt_answer(a)); j++) {
			const ldns_rr *x = ldns_rr_list_rr(ldns_pkt_answer(a), j);
			if (ldns_rr_get_type(x) == LDNS_RR_TYPE_A)
				addr = ldns_rdf_clone(ldns_rr_rdf(x, 0));
		}
		ldns_pkt_free(a);
		if (!addr && host)
			addr = host_rdf(host);
		if (!addr)
			rc = prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "cannot find the "
					 "address of the name server %s", zone, r->server,
					 host ? host : "?");
		else if (paddr && ldns_rdf_compare(addr, paddr) == 0)
			; /* the primary itself */
		else {
			struct r2_ns *v = realloc(*out, (*nout + 1) * sizeof *v);
			if (!v)
				rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			else {
				*out = v;
				v[(*nout)++] = (struct r2_ns){ host, { addr, r->port }, -1 };
				host = NULL;
				addr = NULL;
			}
		}
		ldns_rdf_deep_free(addr);
		free(host);
	}
	ldns_pkt_free(p);
	ldns_rdf_deep_free(paddr);
	return rc;
}

/* --wait: until every server of the NS set serves the primary's serial. */
static int r2_wait(struct r2 *r, const struct r2_srv *prim, const char *zone,
		   struct prov_error *err)
{
	struct r2_ns *ns = NULL;
	size_t n = 0;
	long long want = soa_serial(r, prim, 1, zone, err);
	int rc = want < 0 ? PROV_ERR_RUNTIME : secondaries(r, prim, zone, &ns, &n, err);
	time_t end = time(NULL) + r->wait_s;
	unsigned pause = 1;
	for (;;) {
		size_t behind = 0;
		for (size_t i = 0; rc == 0 && i < n; i++) {
			struct prov_error e2 = PROV_ERROR_INIT;
			if (ns[i].serial < 0 || !serial_reached((uint32_t)ns[i].serial, (uint32_t)want))
				ns[i].serial = soa_serial(r, &ns[i].srv, 0, zone, &e2); /* secondaries: unsigned */
			behind += ns[i].serial < 0 ||
				  !serial_reached((uint32_t)ns[i].serial, (uint32_t)want);
		}
		if (rc || behind == 0 || time(NULL) >= end)
			break;
		sleep(pause); /* polling a remote server: nothing to wait on */
		pause = pause < 4 ? pause * 2 : 4;
	}
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && (ns[i].serial < 0 ||
				!serial_reached((uint32_t)ns[i].serial, (uint32_t)want)))
			rc = prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "applied on "
					 "the primary (serial %lld), but %s still serves %s after "
					 "%ld s", zone, r->server, want, ns[i].name,
					 ns[i].serial < 0 ? "no answer" : "an older serial",
					 r->wait_s);
		free(ns[i].name);
		srv_release(&ns[i].srv);
	}
	free(ns);
	if (rc == 0 && r->verbose)
		fprintf(stderr, "provision: rfc2136: zone %s: serial %lld served by the primary "
			"and %zu other server(s)\n", zone, want, n);
	return rc;
}

static int r2_apply(void *handle, const struct zone *zone, const struct change *c,
		    size_t n, size_t *applied, struct prov_error *err)
{
	struct r2 *r = handle;
	struct r2_zone *z = NULL;
	size_t npr = 0, nup = 0;
	*applied = 0;
	for (size_t i = 0; i < r->nzones; i++)
		if (dname_equal(r->zones[i].name, zone->name))
			z = &r->zones[i];
	if (n == 0)
		return 0;
	if (!z)
		return prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the zone was "
				   "not read before the update", zone->name, r->server);
	struct r2_srv res = { 0 };
	if (r2_primary(r, zone->name, &res, err) < 0)
		return PROV_ERR_RUNTIME;
	ldns_pkt *u = build_update(r, z, c, n, &npr, &nup, err), *reply = NULL;
	int rc = u ? 0 : PROV_ERR_RUNTIME;
	if (rc == 0) {
		if (r->verbose)
			fprintf(stderr, "provision: rfc2136: zone %s: UPDATE to %s with %zu "
				"prerequisite(s) and %zu update(s), signed by key '%s' (%s)\n",
				zone->name, r->server, npr, nup, r->key_name, r->key_alg);
		r->updates++;
		ldns_status st = r2_exchange(r, &res, u, 1, &reply);
		ldns_pkt_rcode code = reply ? ldns_pkt_get_rcode(reply) : LDNS_RCODE_NOERROR;
		if (reply && (code == LDNS_RCODE_NXRRSET || code == LDNS_RCODE_YXRRSET ||
			      code == LDNS_RCODE_NXDOMAIN || code == LDNS_RCODE_YXDOMAIN))
			rc = prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the zone "
					 "changed since it was read (%s: a record set to replace was "
					 "edited meanwhile); nothing was written: run again to plan "
					 "from what is there now", zone->name, r->server,
					 rcode_name(code));
		else if (answer_error(r, zone->name, "update", st, reply, err) < 0)
			rc = PROV_ERR_RUNTIME;
		else if (code != LDNS_RCODE_NOERROR)
			rc = prov_errorf(err, PROV_ERR_RUNTIME, R2_AT "the "
					 "server answered the update with %s", zone->name,
					 r->server, rcode_name(code));
		if (r->verbose)
			fprintf(stderr, "provision: rfc2136: zone %s: answer %s\n", zone->name,
				reply ? rcode_name(code) : "none");
	}
	if (rc == 0) {
		*applied = n;
		ldns_rr_list_deep_free(z->rrs); /* what was read is now stale */
		z->rrs = ldns_rr_list_new();
		if (r->wait_s > 0)
			rc = r2_wait(r, &res, zone->name, err);
	}
	ldns_pkt_free(u);
	ldns_pkt_free(reply);
	srv_release(&res);
	return rc;
}

const struct provider_ops provider_rfc2136 = {
	.name = "rfc2136",
	.keys = r2_keys,
	.min_ttl = 0,
	.ttl_per_record = 0, /* one TTL per RRset (RFC 2181 §5.2) */
	.conditional_writes = 1, /* prerequisites assert the sets read */
	.open = r2_open,
	.list = r2_list,
	.apply = r2_apply,
	.close = r2_close,
};
