/*
 * spf_internal.h - what spf.c and spf_macro.c share: the macro language of
 * RFC 7208 §7 (syntax check and expansion) and the domain-name checks of
 * §4.3 and §7.1 (domain-end). Not a public interface.
 */
#ifndef PROVISION_SPF_INTERNAL_H
#define PROVISION_SPF_INTERNAL_H

#include <stddef.h>

#include "provision/buf.h"

/* The sender data a macro can name (§7.2). */
struct spf_macro_env {
	const char *sender;   /* s */
	const char *local;    /* l */
	const char *sdomain;  /* o */
	const char *domain;   /* d: the domain being evaluated */
	const char *helo;     /* h */
	const char *receiver; /* r (explanations only) */
	int family;           /* 4 or 6 */
	const unsigned char *ip;
	/* p: the validated name of the client, found on demand */
	const char *(*ptr_name)(void *ctx, const char *domain);
	void *ptr_ctx;
};

/* Check a macro-string of len bytes (§7.1). exp: an explain-string (c, r, t
 * and spaces allowed). 0 when valid; else -1 and *bad is the offset of the
 * first bad byte. */
int spf_macro_check(const char *s, size_t len, int exp, size_t *bad);
/* 1 when s holds a macro (a '%'). */
int spf_has_macro(const char *s);
/* Expand a checked macro-string into out (appended). 0 or -1 (memory). */
int spf_macro_expand(const char *s, const struct spf_macro_env *env,
		     struct buf *out);
/* Remove labels from the left until name is at most 253 bytes (§7.3). */
void spf_truncate_name(char *name);
/* 1 when a literal or macro domain-spec of len bytes ends as §7.1's
 * domain-end requires: "." toplabel ["."], or a macro. */
int spf_domain_end_ok(const char *s, size_t len);
/* 1 when name can be asked of DNS: labels of 1-63 bytes, at most 253 bytes,
 * at least two labels (§4.3). A trailing dot is allowed. */
int spf_name_ok(const char *name);

#endif
