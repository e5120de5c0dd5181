/*
 * util.h - small helpers shared by the core and the providers.
 */
#ifndef PROVISION_UTIL_H
#define PROVISION_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Seconds on the monotonic clock (for waits and rates, never dates). */
double monotonic_s(void);
/* strdup that returns NULL for NULL. */
char *xstrdup(const char *s);
/* A lower-case, fully qualified copy of name with one trailing dot
 * ("Example.COM" -> "example.com."; "." stays "."). Caller frees. */
char *dname_fqdn(const char *name);
/* 1 when two names are equal ignoring case and a trailing dot. */
int dname_equal(const char *a, const char *b);
/* 1 when name is zone itself or below it (case and trailing dot ignored). */
int dname_in_zone(const char *name, const char *zone);
/* NULL-terminated array of strings, freed with strv_free(). */
void strv_free(char **v);
size_t strv_len(char *const *v);
int strv_push(char ***v, const char *s); /* copies s; 0 or -1 */

/* Write data to path whole or not at all: a temporary file in path's
 * directory (.NAME-XXXXXX), mode, fsync, rename. 0, or -1 with errno set
 * (the temporary file removed). */
int file_write_atomic(const char *path, const char *data, size_t len, unsigned mode);
/* A JSON file parsed with cJSON (at most 256 MB read); NULL with errno set
 * when it cannot be read (errno 0: read, but not JSON). Caller frees with
 * cJSON_Delete. */
struct cJSON *json_file_read(const char *path);
/* A TTL from an API's JSON: a number of at least 1 as a whole number of
 * seconds, at most 2147483647 (RFC 2181 §8; a larger one is taken as that);
 * def when ttl is not a number or is below 1. */
uint32_t json_ttl(const struct cJSON *ttl, uint32_t def);

#endif
