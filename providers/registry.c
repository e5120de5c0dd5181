/*
 * registry.c - the providers compiled in, found by their configuration type.
 * Adding a provider: one file in providers/ and one line here.
 */
#include <string.h>

#include "provision/provider.h"

extern const struct provider_ops provider_zonefile;

const struct provider_ops *const provider_registry[] = {
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
