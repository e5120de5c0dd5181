/*
 * util.c - names and string arrays.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include <cJSON.h>

#include "provision/buf.h"
#include "provision/util.h"

char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *dname_fqdn(const char *name)
{
	size_t n = strlen(name);
	while (n > 1 && name[n - 1] == '.' && name[n - 2] == '.')
		n--; /* "a.." is not a name, but never give two dots */
	char *out = malloc(n + 2);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	if (n == 0 || out[n - 1] != '.')
		out[n++] = '.';
	out[n] = '\0';
	return out;
}

/* Length without a trailing dot (the root "." keeps 0). */
static size_t dname_len(const char *s)
{
	size_t n = strlen(s);
	return (n && s[n - 1] == '.') ? n - 1 : n;
}

int dname_equal(const char *a, const char *b)
{
	size_t na = dname_len(a), nb = dname_len(b);
	return na == nb && strncasecmp(a, b, na) == 0;
}

int dname_in_zone(const char *name, const char *zone)
{
	size_t nn = dname_len(name), nz = dname_len(zone);
	if (nz == 0)
		return 1;
	if (nn < nz || strncasecmp(name + nn - nz, zone, nz) != 0)
		return 0;
	return nn == nz || name[nn - nz - 1] == '.';
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

int strv_push(char ***v, const char *s)
{
	size_t n = strv_len(*v);
	char *copy = strdup(s);
	char **nv = copy ? realloc(*v, (n + 2) * sizeof *nv) : NULL;
	if (!nv) {
		free(copy);
		return -1;
	}
	nv[n] = copy;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

int file_write_atomic(const char *path, const char *data, size_t len, unsigned mode)
{
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
	size_t n = strlen(path) + 16;
	char *tmp = malloc(n);
	if (!tmp) {
		errno = ENOMEM;
		return -1;
	}
	snprintf(tmp, n, "%.*s.%s-XXXXXX", (int)dl, path, path + dl);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	int ok = fchmod(fd, (mode_t)mode) == 0 && write(fd, data, len) == (ssize_t)len &&
		 fsync(fd) == 0;
	int e = errno;
	if (close(fd) < 0 && ok)
		ok = 0, e = errno;
	if (ok && rename(tmp, path) < 0)
		ok = 0, e = errno;
	if (!ok)
		unlink(tmp);
	free(tmp);
	errno = e;
	return ok ? 0 : -1;
}

struct cJSON *json_file_read(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf text = BUF_INIT;
	char chunk[8192];
	size_t got;
	if (!f)
		return NULL;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && text.len < 256u * 1024 * 1024)
		buf_add(&text, chunk, got);
	int bad = ferror(f), e = errno;
	fclose(f);
	cJSON *doc = bad ? NULL : cJSON_Parse(buf_str(&text));
	buf_release(&text);
	errno = bad ? e : 0;
	return doc;
}

uint32_t json_ttl(const cJSON *ttl, uint32_t def)
{
	if (!cJSON_IsNumber(ttl) || !(ttl->valuedouble >= 1))
		return def;
	return ttl->valuedouble < 2147483647.0 ? (uint32_t)ttl->valuedouble
					       : 2147483647u;
}

double monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
