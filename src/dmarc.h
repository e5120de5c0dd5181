/*
 * dmarc.h - DMARC policy records (RFC 7489 §6): build, parse, compare.
 */
#ifndef PROVISION_DMARC_H
#define PROVISION_DMARC_H

#include "provision/error.h"

enum dmarc_policy {
	DMARC_P_INVALID = -1,
	DMARC_P_NONE = 0,
	DMARC_P_QUARANTINE = 1,
	DMARC_P_REJECT = 2,
};

/* "none" -> DMARC_P_NONE ...; DMARC_P_INVALID for anything else. */
enum dmarc_policy dmarc_policy_from_name(const char *s);

struct dmarc_params {
	const char *policy; /* required */
	const char *sp, *rua, *ruf, *fo, *adkim, *aspf; /* NULL: left out */
	int pct; /* -1: left out */
};

/* "v=DMARC1; p=quarantine; sp=..; rua=..; ruf=..; fo=..; adkim=..;
 * aspf=..; pct=.." with unset tags left out: valid under RFC 7489 and RFC
 * 9989 (v first, p second). Caller frees. */
char *dmarc_record_build(const struct dmarc_params *p);

/* 1 when text starts with the tag v=DMARC1 (§6.3: exact, upper case). */
int dmarc_is_record(const char *text);

struct dmarc_record {
	enum dmarc_policy p, sp; /* sp = p when absent */
	char *rua, *ruf, *fo, *adkim, *aspf, *pct; /* NULL when absent */
};

/* Parse a record strictly: v=DMARC1 first, p= second with a valid policy,
 * no duplicate tags, known tags with valid values (unknown tags ignored),
 * rua/ruf lists of URIs. PROV_ERR_RULE with err naming the tag. */
int dmarc_record_parse(const char *text, struct dmarc_record *out,
		       struct prov_error *err);
void dmarc_record_release(struct dmarc_record *r);

/* 0 when list is a comma-separated list of DMARC URIs (mailto: with an
 * address, optional !size suffix); PROV_ERR_RULE with err otherwise. */
int dmarc_uri_list_check(const char *list, struct prov_error *err);

#endif
