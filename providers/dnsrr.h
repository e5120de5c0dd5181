/*
 * dnsrr.h - ldns records as record.h holds them, shared by the providers
 * that speak DNS itself (zonefile, rfc2136).
 */
#ifndef PROVISION_DNSRR_H
#define PROVISION_DNSRR_H

#include <stdint.h>

#include <ldns/ldns.h>

#include "provision/buf.h"

/* The record's value as record.h holds it: TXT logical text, names lower
 * case FQDN (an MX is its target, as the resolver gives it), other types
 * their ldns presentation. Caller frees; NULL on no memory. */
char *dnsrr_value(const ldns_rr *rr);

/* Master-file text of one record, ending in a newline: FQDN owner,
 * explicit TTL and class IN, a TXT value split into quoted 255-byte
 * character-strings (multiline: inside parentheses, one per line). 0 or -1. */
int dnsrr_text(struct buf *b, const char *name, uint16_t type, uint32_t ttl,
	       const char *value, int multiline);

/* The record itself, read back by ldns from that text (one line); NULL
 * when ldns does not take it. */
ldns_rr *dnsrr_new(const char *name, uint16_t type, uint32_t ttl,
		   const char *value);

#endif
