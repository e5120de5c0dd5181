/*
 * provider.h - the interface every DNS provider implements.
 *
 * A provider moves record sets in and out of one zone; it knows nothing of
 * SPF or DMARC. Each providers/<name>.c defines one constant struct
 * provider_ops; providers/registry.c lists them. Adding a provider means one
 * file and one registry line; nothing in src/ changes.
 *
 * Calling sequence: open() once per configured provider and worker thread
 * (reads settings and secrets, no I/O), list() per zone, apply() per zone
 * with that zone's changes, close(). A handle is used by one thread at a
 * time; what handles of one block share (a limiter, credentials) is kept
 * thread-safe by the provider.
 */
#ifndef PROVISION_PROVIDER_H
#define PROVISION_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "provision/error.h"
#include "provision/record.h"

/* One setting of a provider block in the configuration, as text. */
struct provider_setting {
	char *key;
	char *value; /* strings as written; integers and booleans printed */
	int line;    /* line in the configuration file */
};

struct provider_config {
	char *name; /* the block's name: "local", "cf" */
	char *type; /* "zonefile", "cloudflare", ... */
	const struct provider_ops *ops;
	struct provider_setting *settings;
	size_t nsettings;
	const char *file; /* configuration file, for messages */
	int line;
	int verbose;      /* -v given */
	long wait_s;      /* --wait in seconds (0: none): a provider that
			   * reports propagation waits for it that long */
	long lock_timeout_s; /* --lock-timeout in seconds: how long a provider
			      * with a local lock (zonefile) waits for it */
	const char *base_dir; /* directory relative paths are taken from */
};

/* The setting's value, or NULL. */
const char *provider_setting(const struct provider_config *cfg,
			     const char *key);
/* A configuration error about a provider's setting (key, or the block when
 * key is NULL or not set): "FILE:LINE: provider 'NAME': <message>".
 * Returns PROV_ERR_CONFIG (exit 78). */
int provider_config_error(const struct provider_config *cfg, const char *key,
			  struct prov_error *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The zone a call is about. */
struct zone {
	const char *name; /* FQDN, lower case, trailing dot */
	const char *id;   /* the domain's zone_id from the configuration (a
			   * Cloudflare zone id, a Route 53 hosted zone id),
			   * or NULL: the provider looks the zone up */
};

enum change_action { CHANGE_CREATE, CHANGE_UPDATE, CHANGE_DELETE };

/*
 * One managed value at one name. The provider removes `before` (when not
 * NULL) from the set (name, type) and adds `after` (when not NULL), leaving
 * every other value of the set as it was. The value's TTL becomes ttl (on a
 * store with one TTL per set, the set's: the planner then gives the set's).
 */
struct change {
	enum change_action action;
	char *name;     /* FQDN, lower case, trailing dot */
	uint16_t type;
	uint32_t ttl;
	char *before;   /* the managed value now, or NULL (create) */
	char *after;    /* the value wanted, or NULL (delete) */
	const char *what; /* "spf", "dkim", "dmarc", "tracking" */
};

struct provider_ops {
	const char *name; /* the configuration's type = "..." */
	const char *const *keys; /* settings it accepts, NULL-terminated;
				  * "type" is implied */
	uint32_t min_ttl;        /* the smallest TTL the API accepts (0: any);
				  * a configured ttl below it is a
				  * configuration error before any I/O */
	int ttl_per_record;      /* 1: the store keeps a TTL per record
				  * (Cloudflare, GoDaddy), so a managed value
				  * gets the configured TTL and the others keep
				  * theirs; 0: one TTL per record set (zone
				  * file, Route 53, RFC 2181 §5.2) */
	int conditional_writes;  /* 1: the write itself refuses to land on
				  * another state than the one listed (Route
				  * 53's exact DELETE, RFC 2136 prerequisites,
				  * the zone file's lock); 0: the core reads
				  * the managed sets again right before the
				  * write and refuses the domain on any
				  * difference (Cloudflare, GoDaddy) */
	/* Read settings and secrets; no network or file I/O yet. */
	int (*open)(const struct provider_config *cfg, void **handle,
		    struct prov_error *err);
	/* Every record set at each of names (FQDNs) in zone (FQDN): all
	 * types, so the planner can see clashes. A zone that does not exist
	 * is an error; names without data are simply absent from out. */
	int (*list)(void *handle, const struct zone *zone, char *const *names,
		    struct rrset_list *out, struct prov_error *err);
	/* Apply all changes of one zone, in as few calls as the API allows.
	 * *applied counts the changes known to be in place afterwards (all of
	 * them on success). */
	int (*apply)(void *handle, const struct zone *zone,
		     const struct change *changes, size_t n, size_t *applied,
		     struct prov_error *err);
	void (*close)(void *handle);
};

struct http_client;
struct http_config;

/* The API's base URL: the endpoint setting, which must be https:// (TLS is
 * always verified), else def; no trailing slash. 0 and *base (caller
 * frees), or PROV_ERR_CONFIG / PROV_ERR_NOMEM with err. */
int provider_endpoint(const struct provider_config *cfg, const char *def,
		      char **base, struct prov_error *err);
/* The provider's "rate" setting ("4/s", "60/m", "1200/5m": REQUESTS/PERIOD,
 * the account's published limit): 1 and *n requests per *w seconds, 0 when
 * not set, or PROV_ERR_CONFIG with err naming FILE:LINE. */
int provider_rate(const struct provider_config *cfg, double *n, double *w,
		  struct prov_error *err);
/* The token bucket for at most n requests in any w seconds: burst b and
 * rate r with b + floor(r*w) <= n, 3% margin (60/60: a burst of 3 at
 * 0.94/s; 1200/300: 10 at 3.85/s). */
void provider_bucket(double n, double w, double *rate, int *burst);
/* The provider's "concurrency" setting: *n domains of the block in flight
 * at once (default PROVIDER_CONCURRENCY), or PROV_ERR_CONFIG with err. The
 * core reads it (every provider accepts it); each domain in flight has a
 * handle of its own (open() once per worker thread), so a provider's
 * handle is only ever used by one thread at a time. */
#define PROVIDER_CONCURRENCY 8
#define PROVIDER_CONCURRENCY_MAX 64
int provider_concurrency(const struct provider_config *cfg, unsigned *n,
			 struct prov_error *err);
/* The account a credential stands for, as text that holds no secret: the
 * first 16 bytes of SHA-256(secret) in hex and the API's base URL, into
 * out (at least 96 bytes). Provider blocks with the same credential then
 * share one limiter (http_config.account). */
void provider_account(const char *secret, const char *base, char *out, size_t n);
/* An HTTP client for the provider: *hc with its ca_file setting (relative
 * to the configuration file's directory) and -v. NULL with err. */
struct http_client *provider_http(const struct provider_config *cfg,
				  const struct http_config *hc,
				  struct prov_error *err);

/* The registry (providers/registry.c). NULL when no provider has the name. */
const struct provider_ops *provider_find(const char *type);
/* NULL-terminated list of all providers. */
extern const struct provider_ops *const provider_registry[];

#endif
