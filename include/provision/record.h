/*
 * record.h - DNS record sets as the core and the providers exchange them.
 *
 * Names are lower case, fully qualified, with a trailing dot. A TXT value is
 * held as its logical text: the character-strings of one record joined with
 * nothing between them (RFC 7208 §3.3, RFC 6376 §3.6.2.2). It is split into
 * strings of at most 255 bytes only on the way out (a TXT character-string
 * holds at most 255 bytes, RFC 1035 §3.3). A CNAME value is the target as a
 * fully qualified name. Other types keep their presentation text.
 */
#ifndef PROVISION_RECORD_H
#define PROVISION_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "provision/buf.h"

#define RR_A 1
#define RR_NS 2
#define RR_CNAME 5
#define RR_SOA 6
#define RR_PTR 12
#define RR_MX 15
#define RR_TXT 16
#define RR_AAAA 28

#define TXT_STRING_MAX 255

/* All records of one type at one name. */
struct rrset {
	char *name;    /* owner, FQDN, lower case, trailing dot */
	uint16_t type; /* RR_* */
	uint32_t ttl;  /* the first value's TTL */
	char **values; /* NULL-terminated; TXT: logical text; CNAME: FQDN */
	uint32_t *ttls; /* each value's own TTL, as stores that keep a TTL
			 * per record (Cloudflare, GoDaddy) report it */
};

struct rrset_list {
	struct rrset *v;
	size_t n, cap;
};

/* "TXT", "CNAME", ... or "TYPE123" (static or thread-local storage). */
const char *rr_type_name(uint16_t type);
/* 0 when the name is unknown. */
uint16_t rr_type_from_name(const char *name);

/* Append a value with its TTL to the set (name, type) of the list, creating
 * the set (whose ttl is then this one) if it is new. name is normalised;
 * value copied. 0 or -1 (no memory). */
int rrset_list_add(struct rrset_list *l, const char *name, uint16_t type,
		   uint32_t ttl, const char *value);
/* The TTL of value in set (the set's when the value is not in it). */
uint32_t rrset_value_ttl(const struct rrset *set, const char *value);
/* The set at (name, type), or NULL. */
const struct rrset *rrset_list_find(const struct rrset_list *l,
				    const char *name, uint16_t type);
/* 1 when the list has any set at name other than of type except_type
 * (0 = any type at all). */
int rrset_list_has_other(const struct rrset_list *l, const char *name,
			 uint16_t except_type);
void rrset_list_release(struct rrset_list *l);
/* 1 when a and b (either may be NULL: no values) hold the same values, in
 * any order, and with_ttls, each with the same TTL. */
int rrset_same(const struct rrset *a, const struct rrset *b, int with_ttls);
/* Append the set's values to out for messages: "a" (ttl 300), "b" (ttl
 * 300) with with_ttls, else "a", "b"; (nothing) for no values. 0 or -1. */
int rrset_text(struct buf *out, const struct rrset *s, int with_ttls);

/* Split a TXT value into character-strings of at most 255 bytes. Returns a
 * NULL-terminated array the caller frees with strv_free(), NULL on no memory.
 * An empty value gives one empty string. */
char **txt_split(const char *value);
/* Join character-strings (NULL-terminated) into one logical value. */
char *txt_join(char *const *strings);
/* Append value to out as zone-file text: each <=255-byte piece quoted, with
 * '"' and '\' escaped and bytes outside printable ASCII as \DDD, pieces
 * separated by one space. 0 or -1. */
int txt_quote(struct buf *out, const char *value);
/* Parse quoted/unquoted zone-file character-strings ("a" "b" or a) back
 * into the logical value. Caller frees; NULL on a syntax error. */
char *txt_unquote(const char *text);

#endif
