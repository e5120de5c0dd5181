/*
 * spf_macro.c - the SPF macro language and domain-spec checks.
 *
 * RFC 7208 §7: "%{" letter digits ["r"] delimiters "}" plus %% %_ %-; the
 * letters s l o d i p h v everywhere, c r t only in explanations; digits
 * keep that many parts from the right, "r" reverses, an upper-case letter
 * URL-escapes the value; an expanded name over 253 bytes loses labels from
 * the left. §7.1 domain-end: a literal name ends in a non-numeric toplabel.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spf_internal.h"

#define DELIMS ".-+,/_="

static int macro_letter_ok(char c, int exp)
{
	c = (char)tolower((unsigned char)c);
	if (strchr("slodiphv", c))
		return 1;
	return exp && strchr("crt", c);
}

/* Length of the "%{...}" at s (s[0] == '%', s[1] == '{'), or 0 when bad. */
static size_t macro_len(const char *s, size_t len, int exp)
{
	size_t i = 2;
	if (i >= len || !macro_letter_ok(s[i], exp))
		return 0;
	i++;
	size_t d0 = i;
	unsigned long n = 0;
	while (i < len && isdigit((unsigned char)s[i]))
		n = n * 10 + (unsigned long)(s[i++] - '0'), n = n > 1000 ? 1000 : n;
	if (i > d0 && n == 0)
		return 0; /* "the value MUST be nonzero" */
	if (i < len && (s[i] == 'r' || s[i] == 'R'))
		i++;
	while (i < len && s[i] && strchr(DELIMS, s[i]))
		i++;
	return (i < len && s[i] == '}') ? i + 1 : 0;
}

int spf_macro_check(const char *s, size_t len, int exp, size_t *bad)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 1 < len && strchr("%_-", s[i + 1]) && s[i + 1]) {
				i += 2;
				continue;
			}
			size_t n = 0;
			if (i + 1 < len && s[i + 1] == '{')
				n = macro_len(s + i, len - i, exp);
			if (!n)
				goto bad;
			i += n;
		} else if ((c >= 0x21 && c <= 0x7e) || (exp && c == ' ')) {
			i++;
		} else {
			goto bad;
		}
	}
	return 0;
bad:
	if (bad)
		*bad = i;
	return -1;
}

int spf_has_macro(const char *s)
{
	return s && strchr(s, '%') != NULL;
}

int spf_macro_only_domain(const char *s)
{
	for (const char *p = s ? strchr(s, '%') : NULL; p; p = strchr(p, '%')) {
		if (p[1] == '{' && tolower((unsigned char)p[2]) != 'd')
			return 0;
		p += p[1] ? 2 : 1; /* "%%", "%_", "%-" and "%{d...}" */
	}
	return 1;
}

static int put_ip(struct buf *b, const struct spf_macro_env *env, int dotted6)
{
	char tmp[INET6_ADDRSTRLEN];
	if (env->family == 4)
		return buf_printf(b, "%u.%u.%u.%u", env->ip[0], env->ip[1],
				  env->ip[2], env->ip[3]);
	if (!dotted6) {
		if (!inet_ntop(AF_INET6, env->ip, tmp, sizeof tmp))
			return -1;
		return buf_puts(b, tmp);
	}
	for (int i = 0; i < 16; i++)
		if (buf_printf(b, "%s%X.%X", i ? "." : "", env->ip[i] >> 4,
			       env->ip[i] & 15) < 0)
			return -1;
	return 0;
}

/* A name as RFC 7208 writes it: without the root's trailing dot, which the
 * planner's names carry ("%{d}.x" must not become "example.com..x"). */
static int put_name(struct buf *b, const char *v)
{
	size_t len = strlen(v);
	if (len && v[len - 1] == '.')
		len--;
	return buf_printf(b, "%.*s", (int)len, v);
}

/* The raw value of a macro letter (§7.2). */
static int letter_value(struct buf *b, char letter,
			const struct spf_macro_env *env)
{
	const char *v = NULL;
	switch (tolower((unsigned char)letter)) {
	case 's': return put_name(b, env->sender ? env->sender : "");
	case 'l': v = env->local; break;
	case 'o': return put_name(b, env->sdomain ? env->sdomain : "");
	case 'd': return put_name(b, env->domain ? env->domain : "");
	case 'h': return put_name(b, env->helo ? env->helo : "");
	case 'r': v = env->receiver ? env->receiver : "unknown"; break;
	case 'v': v = env->family == 4 ? "in-addr" : "ip6"; break;
	case 'i': return put_ip(b, env, 1);
	case 'c': return put_ip(b, env, 0);
	case 't': return buf_printf(b, "%lld", (long long)time(NULL));
	case 'p':
		v = env->ptr_name ? env->ptr_name(env->ptr_ctx, env->domain)
				  : NULL;
		return put_name(b, v ? v : "unknown");
	}
	return buf_puts(b, v ? v : "");
}

/* Split value on delims, reverse when asked, keep the last keep parts (0:
 * all), join with dots into out. */
static int transform(struct buf *out, char *value, const char *delims,
		     int reverse, size_t keep)
{
	size_t n = 1;
	for (char *p = value; *p; p++)
		if (strchr(delims, *p))
			n++;
	char **parts = malloc(n * sizeof *parts);
	if (!parts)
		return -1;
	size_t k = 0;
	parts[k++] = value;
	for (char *p = value; *p; p++)
		if (strchr(delims, *p)) {
			*p = '\0';
			parts[k++] = p + 1;
		}
	if (reverse)
		for (size_t i = 0; i < n / 2; i++) {
			char *t = parts[i];
			parts[i] = parts[n - 1 - i];
			parts[n - 1 - i] = t;
		}
	size_t first = (keep && keep < n) ? n - keep : 0;
	int rc = 0;
	for (size_t i = first; i < n && rc == 0; i++)
		rc = buf_printf(out, "%s%s", i > first ? "." : "", parts[i]);
	free(parts);
	return rc;
}

static int url_escape(struct buf *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int rc = (isalnum(*p) || strchr("-._~", *p))
				 ? buf_putc(out, (char)*p)
				 : buf_printf(out, "%%%02X", *p);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Expand the "%{...}" at s (already checked); *used gets its length. */
static int expand_one(const char *s, const struct spf_macro_env *env,
		      struct buf *out, size_t *used)
{
	const char *p = s + 2;
	char letter = *p++;
	size_t keep = 0;
	while (isdigit((unsigned char)*p))
		keep = keep * 10 + (size_t)(*p++ - '0'), keep = keep > 1000 ? 1000 : keep;
	int reverse = 0;
	if (*p == 'r' || *p == 'R')
		reverse = 1, p++;
	char delims[sizeof DELIMS] = "";
	size_t nd = 0;
	while (*p != '}')
		if (!strchr(delims, *p) && nd < sizeof delims - 1)
			delims[nd++] = *p++;
		else
			p++;
	*used = (size_t)(p + 1 - s);
	struct buf raw = BUF_INIT, done = BUF_INIT;
	int rc = letter_value(&raw, letter, env);
	if (rc == 0 && raw.data)
		rc = transform(&done, raw.data, nd ? delims : ".", reverse, keep);
	if (rc == 0 && isupper((unsigned char)letter))
		rc = url_escape(out, buf_str(&done));
	else if (rc == 0)
		rc = buf_puts(out, buf_str(&done));
	buf_release(&raw);
	buf_release(&done);
	return rc;
}

int spf_macro_expand(const char *s, const struct spf_macro_env *env,
		     struct buf *out)
{
	if (buf_puts(out, "") < 0)
		return -1;
	while (*s) {
		int rc;
		size_t used = 1;
		if (s[0] != '%') {
			rc = buf_putc(out, s[0]);
		} else if (s[1] == '%') {
			rc = buf_putc(out, '%'), used = 2;
		} else if (s[1] == '_') {
			rc = buf_putc(out, ' '), used = 2;
		} else if (s[1] == '-') {
			rc = buf_puts(out, "%20"), used = 2;
		} else if (s[1] == '{') {
			rc = expand_one(s, env, out, &used);
		} else {
			rc = buf_putc(out, s[0]); /* not reached: checked */
		}
		if (rc < 0)
			return -1;
		s += used;
	}
	return 0;
}

void spf_truncate_name(char *name)
{
	size_t len = strlen(name);
	char *p = name;
	while (len > 253) {
		char *dot = strchr(p, '.');
		if (!dot)
			break;
		len -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	if (p != name)
		memmove(name, p, len + 1);
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int toplabel_ok(const char *s, size_t len)
{
	int alpha = 0;
	if (len == 0 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalpha(c))
			alpha = 1;
		else if (c == '-')
			alpha = 1; /* the second form: a dash inside */
		else if (!isdigit(c))
			return 0;
	}
	return alpha;
}

int spf_domain_end_ok(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	if (s[len - 1] == '}') /* ends in a macro-expand */
		for (size_t i = 0; i + 1 < len; i++)
			if (s[i] == '%' && s[i + 1] == '{')
				return 1;
	if (len >= 2 && s[len - 2] == '%' && strchr("%_-", s[len - 1]))
		return 1;
	if (s[len - 1] == '.')
		len--;
	size_t start = len;
	while (start > 0 && s[start - 1] != '.')
		start--;
	if (start == 0)
		return 0; /* "." toplabel: one label alone is not enough */
	return toplabel_ok(s + start, len - start);
}

int spf_name_ok(const char *name)
{
	size_t len = strlen(name), label = 0, labels = 0;
	if (len && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			if (label == 0 || label > 63)
				return 0;
			labels++;
			label = 0;
		} else {
			label++;
		}
	}
	return labels >= 2;
}
