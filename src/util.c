/*
 * util.c - names and string arrays.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
