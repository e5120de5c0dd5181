/*
 * cloudflare_read.h - reading Cloudflare API v4 answers, for
 * providers/cloudflare.c: the envelope and its first error, a zone
 * lookup, a page of a listing, a batch's result. No I/O: the answer's body
 * in, records or an error out (tests/fuzz/fuzz_cloudflare.c feeds them).
 */
#ifndef PROVISION_CLOUDFLARE_READ_H
#define PROVISION_CLOUDFLARE_READ_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

/* One record as Cloudflare holds it. */
struct cf_record {
	char *id, *name, *type, *value; /* name FQDN with dot; value logical */
	uint32_t ttl;
};

struct cf_records {
	struct cf_record *v; /* NULL while empty */
	size_t n;
};

void cf_records_release(struct cf_records *l);

/* The body parsed as Cloudflare's envelope: NULL when it is not JSON with
 * a boolean "success"; else the document (caller frees with cJSON_Delete)
 * and *success. */
cJSON *cf_envelope(const char *data, size_t len, int *success);

/* The first error of an envelope: "code 81054: A CNAME record ...", or
 * "no error details". */
void cf_error_text(const cJSON *root, char *out, size_t n);

/* The id of the first zone of a GET /zones?name= answer, or NULL (it
 * points into root). */
const char *cf_zone_id(const cJSON *root);

/* Append the records of page `page` of a listing to l; *more is set when
 * result_info.total_pages says another page follows. 0, or -1 when the
 * result is not an array of records {id, name, type, content} (the
 * well-formed records are appended all the same). */
int cf_take_page(struct cf_records *l, const cJSON *root, int page, int *more);

/* Bring l up to date from a batch's result: the records as Cloudflare
 * stored them (deletes dropped, patches, puts and posts replaced or
 * added). 0, or -1 when the result is not as documented. */
int cf_take_result(struct cf_records *l, const cJSON *root);

#endif
