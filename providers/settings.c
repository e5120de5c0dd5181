/*
 * settings.c - the settings work every provider shares: a setting's value,
 * a configuration error that names FILE:LINE and the provider, the API
 * endpoint (https only, overridable), and the HTTP client with its CA file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "provision/buf.h"
#include "provision/http.h"
#include "provision/provider.h"

const char *provider_setting(const struct provider_config *cfg,
			     const char *key)
{
	for (size_t i = 0; cfg && i < cfg->nsettings; i++)
		if (strcmp(cfg->settings[i].key, key) == 0)
			return cfg->settings[i].value;
	return NULL;
}

int provider_config_error(const struct provider_config *cfg, const char *key,
			  struct prov_error *err, const char *fmt, ...)
{
	char msg[512];
	int line = cfg->line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (size_t i = 0; key && i < cfg->nsettings; i++)
		if (strcmp(cfg->settings[i].key, key) == 0)
			line = cfg->settings[i].line;
	return prov_errorf(err, PROV_ERR_CONFIG, "%s:%d: provider '%s': %s",
			   cfg->file ? cfg->file : "?", line, cfg->name, msg);
}

int provider_endpoint(const struct provider_config *cfg, const char *def,
		      char **base, struct prov_error *err)
{
	const char *ep = provider_setting(cfg, "endpoint");
	if (ep && strncmp(ep, "https://", 8) != 0)
		return provider_config_error(cfg, "endpoint", err,
					     "endpoint must be an https:// URL (TLS is always verified)");
	if (!(*base = strdup(ep ? ep : def)))
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	for (size_t n = strlen(*base); n > 8 && (*base)[n - 1] == '/'; n--)
		(*base)[n - 1] = '\0';
	return 0;
}

/* A bucket of burst b and rate r lets b + floor(r*w) requests into a
 * window of w seconds (b at once, then one every 1/r), so r*w < n - b + 1
 * keeps within n; 3% below that for the clocks' disagreement. The burst is
 * small (a twentieth of n, at most 10): it only speeds up the first
 * requests, and every token of it is taken from the rate of a long run. */
void provider_bucket(double n, double w, double *rate, int *burst)
{
	int b = (int)(n / 20);
	*burst = b < 1 ? 1 : b > 10 ? 10 : b;
	*rate = (n - *burst + 1) / w * 0.97;
}

int provider_rate(const struct provider_config *cfg, double *n, double *w,
		  struct prov_error *err)
{
	const char *spec = provider_setting(cfg, "rate");
	if (!spec)
		return 0;
	char *end;
	double count = strtod(spec, &end), per = 0;
	if (end != spec && *end == '/') {
		const char *u = end + 1;
		double k = 1;
		if (*u >= '0' && *u <= '9') {
			k = strtod(u, &end);
			u = end;
		}
		per = strcmp(u, "s") == 0 ? k : strcmp(u, "m") == 0 ? k * 60 :
		      strcmp(u, "h") == 0 ? k * 3600 : 0;
	}
	if (end == spec || !(count >= 1 && count <= 1e6) || !(per > 0 && per <= 86400))
		return provider_config_error(cfg, "rate", err,
					     "rate must be REQUESTS/PERIOD such as \"4/s\", "
					     "\"60/m\" or \"1200/5m\", not \"%s\"", spec);
	*n = count;
	*w = per;
	return 1;
}

int provider_concurrency(const struct provider_config *cfg, unsigned *n,
			 struct prov_error *err)
{
	const char *v = provider_setting(cfg, "concurrency");
	*n = PROVIDER_CONCURRENCY;
	if (!v)
		return 0;
	char *end;
	long k = strtol(v, &end, 10);
	if (!*v || *end || k < 1 || k > PROVIDER_CONCURRENCY_MAX)
		return provider_config_error(cfg, "concurrency", err,
					     "concurrency must be a number of domains from 1 to %d, "
					     "not \"%s\"", PROVIDER_CONCURRENCY_MAX, v);
	*n = (unsigned)k;
	return 0;
}

void provider_account(const char *secret, const char *base, char *out, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[33] = "";
	if (!EVP_Digest(secret, strlen(secret), md, &len, EVP_sha256(), NULL))
		len = 0;
	for (unsigned int i = 0; i < len && i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(out, n, "%s %s", hex, base);
}

struct http_client *provider_http(const struct provider_config *cfg,
				  const struct http_config *hc,
				  struct prov_error *err)
{
	const char *ca = provider_setting(cfg, "ca_file");
	struct buf path = BUF_INIT;
	struct http_config c = *hc;
	if (ca && ca[0] != '/' && cfg->base_dir && *cfg->base_dir)
		buf_printf(&path, "%s/", cfg->base_dir);
	if (ca)
		buf_puts(&path, ca);
	c.ca_file = ca ? buf_str(&path) : NULL;
	c.verbose = cfg->verbose;
	struct http_client *h = http_client_new(&c, err);
	buf_release(&path);
	return h;
}
