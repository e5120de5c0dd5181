/*
 * spf_internal.h - what spf.c, spf_macro.c and spf_flatten.c share: the
 * parsed form of a record (RFC 7208 §4.6.1, §12), the macro language of §7
 * (syntax check and expansion) and the domain-name checks of §4.3 and §7.1
 * (domain-end). Not a public interface.
 */
#ifndef PROVISION_SPF_INTERNAL_H
#define PROVISION_SPF_INTERNAL_H

#include <stddef.h>

#include "provision/buf.h"
#include "provision/error.h"

#define SPF_MAX_DEPTH 24 /* nested include/redirect records */
#define SPF_MAX_MX 10    /* §4.6.4 */

/* A term of a parsed record. The mechanisms come first, in this order. */
enum spf_kind { K_ALL, K_INCLUDE, K_A, K_MX, K_PTR, K_IP4, K_IP6, K_EXISTS,
		K_REDIRECT, K_EXP, K_MOD };

struct spf_term_p {
	enum spf_kind kind;
	char qual;     /* + - ~ ? */
	char *text;    /* as written */
	char *spec;    /* domain-spec, or NULL */
	int cidr4, cidr6;
	unsigned char addr[16]; /* ip4 (4 bytes) / ip6 */
	size_t col, len; /* 1-based column and length in the record */
};

struct spf_record_p {
	struct spf_term_p *t;
	size_t n;
	int has_all;
	int redirect, exp; /* index of the modifier, or -1 */
};

/* Parse a whole record of len bytes (§4.6: any error anywhere fails it):
 * 0, or PROV_ERR_RULE / PROV_ERR_NOMEM with err saying what and where. */
int spf_parse_record(const char *text, size_t len, struct spf_record_p *rec,
		     struct prov_error *err);
void spf_record_release(struct spf_record_p *rec);

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
/* 1 when every macro of the checked macro-string s names only the domain
 * (%{d} with any transformer, and %% %_ %-): what the cost walk can expand
 * without a client. */
int spf_macro_only_domain(const char *s);
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
