/*
 * registry.c - the providers compiled in, found by their configuration type.
 * Adding a provider: one file in providers/ and one line here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "provision/provider.h"

extern const struct provider_ops provider_cloudflare;
extern const struct provider_ops provider_godaddy;
extern const struct provider_ops provider_route53;
extern const struct provider_ops provider_zonefile;

const struct provider_ops *const provider_registry[] = {
	&provider_cloudflare,
	&provider_godaddy,
	&provider_route53,
	&provider_zonefile,
	NULL,
};

const struct provider_ops *provider_find(const char *type)
{
	for (size_t i = 0; type && provider_registry[i]; i++)
		if (strcmp(provider_registry[i]->name, type) == 0)
			return provider_registry[i];
	return NULL;
}

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
