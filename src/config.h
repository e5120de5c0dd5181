/*
 * config.h - the configuration file (libconfig), validated.
 *
 * config_load() turns provision.cfg into a struct config in which every
 * domain carries its full record policy: defaults merged with the domain's
 * own groups, `{domain}` replaced. Every error names the file and line and
 * returns PROV_ERR_CONFIG (exit 78). libconfig's strings die with
 * config_destroy(), so everything here is copied.
 */
#ifndef PROVISION_CONFIG_H
#define PROVISION_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "provision/error.h"
#include "provision/provider.h"

/* The smtp group (smtp-test). After config_load() a preset has filled what
 * the keys left unset, the security is derived from the port (465: tls,
 * else starttls) and the port from the security (tls: 465, starttls: 587),
 * the IMAP port defaults to 993 and password_env to SMTP_PASSWORD; host is
 * NULL when the domain has no SMTP settings. ca_file is as written, relative
 * to the configuration file's directory. Ports are 0 when unset. */
struct smtp_config {
	char *preset;       /* gmail | icloud | outlook | custom, or NULL */
	char *host;         /* a DNS name or an IP address */
	int port;
	char *security;     /* starttls | tls */
	char *user, *password_env, *from, *ca_file;
	struct {
		char *host;
		int port;
	} imap;
};

/* A provider's published settings (smtp.preset). */
struct smtp_preset {
	const char *name;
	const char *host;
	int port;
	const char *security;
	const char *imap_host;
	int imap_port;
};

/* The preset called name, or NULL (also for "custom"). */
const struct smtp_preset *smtp_preset_find(const char *name);

/* The records a domain can get; record_policy.omit holds those left out
 * (`tracking = false;`), which are neither planned, touched nor checked. */
enum record_bit { REC_SPF = 1, REC_DKIM = 2, REC_DMARC = 4, REC_TRACKING = 8 };

struct record_policy {
	uint32_t ttl;
	unsigned omit;      /* REC_* bits */
	struct {
		char *include;  /* "mailgun.org" */
		char *all;      /* "~all", "-all", "?all" */
		char *test_ip;  /* NULL: taken from the include's tree */
		char **flatten; /* NULL-terminated, may be empty */
	} spf;
	struct {
		char *selector; /* "pic" */
		char *key;      /* base64 public key */
	} dkim;
	struct {
		char *policy;   /* none | quarantine | reject */
		char *sp, *rua, *ruf, *fo, *adkim, *aspf; /* NULL when unset */
		int pct;        /* -1 when unset */
	} dmarc;
	struct {
		char *name;     /* "email.mg3" (relative) or "x.example.com." */
		char *target;   /* "mailgun.org" */
	} tracking;
	struct smtp_config smtp;
	struct {
		int min_days;    /* days of reports before the next stage */
		int min_aligned; /* percent of the volume passing DMARC */
	} dmarc_report;
};

struct domain_config {
	char *name;       /* as written, lower case, no trailing dot */
	char *provider;   /* the providers block it names */
	struct provider_config *prov; /* points into config.providers */
	char *zone_id;    /* NULL unless given */
	char **nameservers; /* NULL-terminated; may be empty */
	struct record_policy policy;
	int line;
};

struct config {
	char *file;
	char *backup_dir;   /* backup_dir, relative to the file's directory;
			     * default provision-backups beside the file */
	char *content;      /* the configuration as libconfig read it, @include
			     * files in, written back by config_write() (for
			     * the saved plan's digest) */
	size_t content_len;
	struct provider_config *providers;
	size_t nproviders;
	struct domain_config *domains;
	size_t ndomains;
};

/* Load and validate path. Returns 0, or PROV_ERR_CONFIG (syntax, unknown
 * key, wrong type, bad value, unknown provider: err = "FILE:LINE: ..."; a
 * file that cannot be read: "FILE: cannot read configuration: ..."). cfg is
 * filled only on success; release it with config_release(). */
int config_load(const char *path, struct config *cfg, struct prov_error *err);
void config_release(struct config *cfg);
/* The domain entry with this name (case and trailing dot ignored), or NULL. */
struct domain_config *config_find_domain(struct config *cfg, const char *name);

/* The setup guide's values. */
#define DEFAULT_TTL 3600
#define DEFAULT_SPF_INCLUDE "mailgun.org"
#define DEFAULT_SPF_ALL "~all"
#define DEFAULT_DKIM_SELECTOR "pic"
#define DEFAULT_DKIM_KEY \
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAlgB1xR40xdzrPaAsYUzes27T" \
	"geTrAgTXdjngNAcGgzziBuBNIxeyEZbV36dOgurgvYFytszBnWDdWgDzGkYihjkEGAOe" \
	"g7E48WhYSADWVirl+59EAxb/Llu+GGPlOu2zvIFl8rUCbOUKYVeqfV4FxOsrDV9jGAXz" \
	"typwR5wZ6+C+FoL4VJUmplPL648tJ2viW8NcFTdh4VLyv34xaHrWrwvHrLGa1AHBDt0q" \
	"9FTUrqTfk7ohM++rpS0MiuZopHyf/W4AEmzC/ZzueuJVXwzTwriSGsabt4i5LMIYZEgT" \
	"5lvCblB7FBb8vtm2A3XMCyZRT6CxGKUSyI+QDNKlsF4aFQIDAQAB"
#define DEFAULT_DMARC_POLICY "quarantine"
#define DEFAULT_DMARC_RUA "mailto:postmaster@{domain}"
#define DEFAULT_DMARC_RUF "mailto:postmaster@{domain}"
#define DEFAULT_DMARC_FO "1"
#define DEFAULT_TRACKING_NAME "email.mg3"
#define DEFAULT_TRACKING_TARGET "mailgun.org"
#define DEFAULT_SMTP_PASSWORD_ENV "SMTP_PASSWORD"
#define DEFAULT_IMAP_PORT 993

#endif
