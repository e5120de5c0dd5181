/*
 * names.h - turning configured names into owner names of a zone, and the
 * mail addresses a configuration gives.
 */
#ifndef PROVISION_NAMES_H
#define PROVISION_NAMES_H

#include <libpsl.h>

#include "provision/error.h"

/*
 * The FQDN (lower case, trailing dot) of a configured name for zone.
 * A name ending in a dot is absolute and must lie inside the zone; "@" is the
 * apex; any other name is relative to the zone, and is refused when it
 * itself ends in a registrable domain (checked against the Public Suffix
 * List): "email.mg3.clienttether.com" typed for zone example.com is a likely
 * mistake. Returns 0 and *out (caller frees), or PROV_ERR_RULE with err
 * holding a message and a hint.
 */
int name_resolve(const char *name, const char *zone, char **out,
		 struct prov_error *err);

/* 1 when the text ends in a registrable domain under a known public suffix
 * (no implicit "*" rule): "x.example.com" yes, "email.mg3" no. */
int name_has_registrable_suffix(const char *name);

/* The Public Suffix List: the system's copy when it can be read, else
 * libpsl's built-in one. Loaded once; never NULL unless both fail. */
const psl_ctx_t *names_psl(void);

/* 1 when s is one plain address (local@domain; nothing that could end a
 * header or an SMTP command). */
int mail_address_valid(const char *s);

#endif
