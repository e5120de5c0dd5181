/*
 * registry.c - the providers compiled in, found by their configuration type.
 * Adding a provider: one file in providers/ and one line here. The settings
 * work they share (endpoint, CA file, HTTP client) is settings.c.
 */
#include <string.h>

#include "provision/provider.h"

extern const struct provider_ops provider_cloudflare;
extern const struct provider_ops provider_godaddy;
extern const struct provider_ops provider_rfc2136;
extern const struct provider_ops provider_route53;
extern const struct provider_ops provider_zonefile;

const struct provider_ops *const provider_registry[] = {
	&provider_cloudflare,
	&provider_godaddy,
	&provider_rfc2136,
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
