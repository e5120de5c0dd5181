/*
 * names.c - configured names to owner names, with the Public Suffix List.
 *
 * Names in the configuration are relative to the zone unless they end with
 * a dot (contract.md). A relative name that already ends in a registrable
 * domain is almost always a full name typed without its dot, which would
 * land at "email.mg3.clienttether.com.example.com."; libpsl tells us.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "names.h"
#include "provision/buf.h"
#include "provision/util.h"

static psl_ctx_t *latest;
static pthread_once_t latest_once = PTHREAD_ONCE_INIT;

static void latest_load(void)
{
	latest = psl_latest(NULL); /* the system's list, if newer */
}

/* Loaded once, whichever thread asks first. */
const psl_ctx_t *names_psl(void)
{
	pthread_once(&latest_once, latest_load);
	return latest ? latest : psl_builtin();
}

int name_has_registrable_suffix(const char *name)
{
	const psl_ctx_t *ctx = names_psl();
	if (!ctx)
		return 0;
	char *lower = dname_fqdn(name);
	if (!lower)
		return 0;
	lower[strlen(lower) - 1] = '\0'; /* libpsl wants no trailing dot */
	int found = 0;
	/* Every proper suffix that follows a label: "b.c" and "c" of "a.b.c". */
	for (const char *p = strchr(lower, '.'); p && !found; p = strchr(p + 1, '.'))
		found = psl_is_public_suffix2(ctx, p + 1,
					      PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE);
	free(lower);
	return found;
}

int name_resolve(const char *name, const char *zone, char **out,
		 struct prov_error *err)
{
	*out = NULL;
	size_t n = strlen(name);
	if (strcmp(name, "@") == 0) {
		*out = dname_fqdn(zone);
	} else if (n && name[n - 1] == '.') {
		if (!dname_in_zone(name, zone))
			return prov_errorf(err, PROV_ERR_RULE,
					   "name '%s' is outside zone %s", name, zone);
		*out = dname_fqdn(name);
	} else {
		if (name_has_registrable_suffix(name))
			return prov_errorf(err, PROV_ERR_RULE,
					   "name '%s' for zone %s ends in a registrable domain "
					   "(hint: names are relative to the zone; write the "
					   "part before the zone, or end a full name with a dot)",
					   name, zone);
		struct buf b = BUF_INIT;
		if (buf_printf(&b, "%s.%s", name, zone) == 0)
			*out = dname_fqdn(buf_str(&b));
		buf_release(&b);
	}
	return *out ? 0 : prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
}

/* A DNS name of letters, digits, '-' and '_' in dot-separated labels. */
static int addr_domain_valid(const char *s)
{
	size_t label = 0;
	if (!*s || strlen(s) > 253)
		return 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
				  "VWXYZ0123456789-_", *s)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0;
}

int mail_address_valid(const char *s)
{
	const char *at = s ? strrchr(s, '@') : NULL;
	if (!at || at == s || strlen(s) > 254 || !addr_domain_valid(at + 1))
		return 0;
	for (const char *p = s; p < at; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f
		    || strchr("<>()[]\\,;:\"@", *p))
			return 0;
	return 1;
}
