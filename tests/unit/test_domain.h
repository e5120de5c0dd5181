/*
 * test_domain.h - a domain entry with the setup guide's policy, built by
 * hand for unit tests (header-only): what config_load() would give for
 * { name = "<name>"; } with no defaults.
 */
#ifndef TESTS_TEST_DOMAIN_H
#define TESTS_TEST_DOMAIN_H

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "provision/util.h"

static void set(char **field, const char *v)
{
	free(*field);
	*field = v ? strdup(v) : NULL;
}

static void test_domain_init(struct domain_config *d, const char *name)
{
	struct record_policy *pol = &d->policy;
	set(&d->name, name);
	pol->ttl = 3600;
	set(&pol->spf.include, "mailgun.org");
	set(&pol->spf.all, "~all");
	set(&pol->dkim.selector, "pic");
	set(&pol->dkim.key, DEFAULT_DKIM_KEY);
	set(&pol->dmarc.policy, "quarantine");
	set(&pol->dmarc.rua, "mailto:postmaster@example.com");
	set(&pol->dmarc.ruf, "mailto:postmaster@example.com");
	set(&pol->dmarc.fo, "1");
	pol->dmarc.pct = -1;
	set(&pol->tracking.name, "email.mg3");
	set(&pol->tracking.target, "mailgun.org");
}

static void test_domain_release(struct domain_config *d)
{
	struct record_policy *pol = &d->policy;
	char **fields[] = { &d->name, &d->provider, &pol->spf.include, &pol->spf.all,
			    &pol->spf.test_ip, &pol->dkim.selector, &pol->dkim.key,
			    &pol->dmarc.policy, &pol->dmarc.rua, &pol->dmarc.ruf,
			    &pol->dmarc.fo, &pol->dmarc.sp, &pol->tracking.name,
			    &pol->tracking.target };
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		set(fields[i], NULL);
	strv_free(pol->spf.flatten);
	pol->spf.flatten = NULL;
}

#endif
