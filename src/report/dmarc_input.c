/*
 * dmarc_input.c - where aggregate reports come in: plain XML, gzip, zip,
 * and e-mail messages carrying any of these.
 *
 * The kind is sniffed from the bytes, not the file name: "\x1f\x8b" is
 * gzip and "PK\3\4" zip, both read with libarchive (which also caps what
 * they expand to: DR_MAX_BYTES per part, DR_MAX_RATIO over the compressed
 * size, DR_MAX_PARTS members); something with RFC 5322 header lines is a
 * message, taken apart with GMime (MIME, base64 and quoted-printable
 * decoded by it); anything else is handed to the XML parser. libarchive
 * over plain zlib: one library reads both containers with the same caps;
 * GMime: the MIME parser of Debian's mail tools (Evolution, notmuch).
 * A report seen before (same org and report_id) is counted once.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <gmime/gmime.h>

#include "dmarc_report.h"
#include "provision/buf.h"
#include "provision/util.h"

#define DR_MAX_DEPTH 3 /* a message holding a zip holding XML */

static void refuse(struct dr_set *set, const char *file, const char *part,
		   const char *why)
{
	fprintf(set->err, "provision: %s%s%s: %s\n", file, part ? ": part " : "",
		part ? part : "", why);
	set->errors++;
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void add_report(struct dr_set *set, const char *file, const char *part,
		       const char *data, size_t len)
{
	struct dr_report r;
	char why[400];
	if (dr_parse(data, len, set->now, &r, why, sizeof why) < 0) {
		refuse(set, file, part, why);
		return;
	}
	for (size_t i = 0; i < set->n; i++)
		if (r.report_id && same(set->v[i].org, r.org) &&
		    same(set->v[i].report_id, r.report_id)) {
			set->duplicates++;
			dr_release(&r);
			return;
		}
	struct dr_report *v = realloc(set->v, (set->n + 1) * sizeof *v);
	if (!v) {
		dr_release(&r);
		refuse(set, file, part, "out of memory");
		return;
	}
	set->v = v;
	v[set->n++] = r;
}

static void read_any(struct dr_set *set, const char *file, const char *part,
		     const unsigned char *data, size_t len, int depth);

/* Every member of a gzip or zip, within the caps. */
static void read_archive(struct dr_set *set, const char *file, const char *part,
			 const unsigned char *data, size_t len, int depth)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char why[300];
	size_t members = 0;
	int gz = data[0] == 0x1f;
	if (!a) {
		refuse(set, file, part, "out of memory");
		return;
	}
	archive_read_support_filter_gzip(a);
	if (gz)
		archive_read_support_format_raw(a);
	else
		archive_read_support_format_zip(a);
	if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
		snprintf(why, sizeof why, "not a readable %s archive: %s", gz ? "gzip" : "zip",
			 archive_error_string(a) ? archive_error_string(a) : "?");
		refuse(set, file, part, why);
		archive_read_free(a);
		return;
	}
	int rc;
	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		struct buf out = BUF_INIT, label = BUF_INIT;
		if (part)
			buf_printf(&label, "%s/", part);
		buf_puts(&label, name && *name ? name : "data");
		if (archive_entry_filetype(e) == AE_IFDIR && !gz) {
			buf_release(&label);
			continue;
		}
		if (++members > DR_MAX_PARTS) {
			snprintf(why, sizeof why, "more than %d members: the rest is not read",
				 DR_MAX_PARTS);
			refuse(set, file, part, why);
			buf_release(&label);
			break;
		}
		size_t limit = DR_MAX_BYTES, ratio = len * (size_t)DR_MAX_RATIO;
		if (ratio > 1024 * 1024 && ratio < limit)
			limit = ratio;
		char chunk[65536];
		la_ssize_t got;
		int over = 0;
		while ((got = archive_read_data(a, chunk, sizeof chunk)) > 0) {
			if (out.len + (size_t)got > limit) {
				over = 1;
				break;
			}
			buf_add(&out, chunk, (size_t)got);
		}
		if (over) {
			snprintf(why, sizeof why, "expands to more than %zu bytes (%s): refused as "
				 "a likely archive bomb", limit,
				 limit == DR_MAX_BYTES ? "the 50 MB cap" : "1000 times its size");
			refuse(set, file, buf_str(&label), why);
		} else if (got < 0) {
			snprintf(why, sizeof why, "cannot be decompressed: %s",
				 archive_error_string(a) ? archive_error_string(a) : "?");
			refuse(set, file, buf_str(&label), why);
		} else {
			read_any(set, file, buf_str(&label), (const unsigned char *)buf_str(&out),
				 out.len, depth + 1);
		}
		buf_release(&out);
		buf_release(&label);
		if (over || got < 0)
			break;
	}
	if (rc != ARCHIVE_EOF && rc != ARCHIVE_OK && members <= DR_MAX_PARTS) {
		snprintf(why, sizeof why, "a damaged %s archive: %s", gz ? "gzip" : "zip",
			 archive_error_string(a) ? archive_error_string(a) : "?");
		refuse(set, file, part, why);
	}
	archive_read_free(a);
}

/* A message's leaves: each part's decoded content, in order. */
struct mime_walk {
	struct dr_set *set;
	const char *file;
	int depth;
	size_t parts;
};

static void mime_part(GMimeObject *parent, GMimeObject *obj, gpointer data)
{
	struct mime_walk *w = data;
	(void)parent;
	if (!GMIME_IS_PART(obj) || ++w->parts > DR_MAX_PARTS)
		return;
	GMimePart *part = (GMimePart *)obj;
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *fname = g_mime_part_get_filename(part);
	char *mime = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	/* the body text of a report message is not the report */
	int text = mime && strncasecmp(mime, "text/plain", 10) == 0 && !fname;
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	if (!text && content) {
		GMimeStream *mem = g_mime_stream_mem_new();
		char label[300];
		snprintf(label, sizeof label, "%zu (%s%s%s)", w->parts, mime ? mime : "?",
			 fname ? ", " : "", fname ? fname : "");
		if (g_mime_data_wrapper_write_to_stream(content, mem) < 0) {
			refuse(w->set, w->file, label, "cannot be decoded");
		} else {
			GByteArray *bytes = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
			if (bytes->len > DR_MAX_BYTES)
				refuse(w->set, w->file, label, "larger than the 50 MB cap");
			else if (bytes->len)
				read_any(w->set, w->file, label, bytes->data, bytes->len, w->depth + 1);
		}
		g_object_unref(mem);
	}
	g_free(mime);
}

static void read_message(struct dr_set *set, const char *file, const unsigned char *data,
			 size_t len, int depth)
{
	static int inited;
	if (!inited) {
		g_mime_init();
		inited = 1;
	}
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer((const char *)data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	struct mime_walk w = { set, file, depth, 0 };
	if (!msg) {
		refuse(set, file, NULL, "not an e-mail message GMime can read");
	} else {
		g_mime_message_foreach(msg, mime_part, &w);
		if (w.parts > DR_MAX_PARTS) {
			char why[120];
			snprintf(why, sizeof why, "more than %d parts: the rest is not read",
				 DR_MAX_PARTS);
			refuse(set, file, NULL, why);
		} else if (w.parts == 0) {
			refuse(set, file, NULL, "a message with no report attached");
		}
		g_object_unref(msg);
	}
	g_object_unref(parser);
	g_object_unref(stream);
}

/* "Name: value" on the first line, an RFC 5322 header field. */
static int looks_like_message(const unsigned char *d, size_t len)
{
	size_t i = 0;
	while (i < len && i < 80 && d[i] > 32 && d[i] < 127 && d[i] != ':')
		i++;
	return i > 0 && i < len && d[i] == ':' && d[0] != '<';
}

static void read_any(struct dr_set *set, const char *file, const char *part,
		     const unsigned char *data, size_t len, int depth)
{
	if (depth > DR_MAX_DEPTH) {
		refuse(set, file, part, "nested too deep (a message in an archive in a message...)");
		return;
	}
	if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b)
		read_archive(set, file, part, data, len, depth);
	else if (len >= 4 && memcmp(data, "PK\3\4", 4) == 0)
		read_archive(set, file, part, data, len, depth);
	else if (!part && looks_like_message(data, len))
		read_message(set, file, data, len, depth);
	else
		add_report(set, file, part, (const char *)data, len);
}

void dr_read_bytes(struct dr_set *set, const char *file, const char *part,
		   const unsigned char *data, size_t len)
{
	if (len == 0) {
		refuse(set, file, part, "empty");
		return;
	}
	read_any(set, file, part, data, len, 0);
}

static void read_file(struct dr_set *set, const char *path, const struct stat *st)
{
	FILE *f = fopen(path, "rb");
	char why[300];
	if (!f) {
		snprintf(why, sizeof why, "cannot be read: %s", strerror(errno));
		refuse(set, path, NULL, why);
		return;
	}
	if ((unsigned long long)st->st_size > DR_MAX_BYTES) {
		fclose(f);
		refuse(set, path, NULL, "larger than the 50 MB cap");
		return;
	}
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= DR_MAX_BYTES)
		buf_add(&b, chunk, got);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		snprintf(why, sizeof why, "cannot be read: %s", strerror(errno));
		refuse(set, path, NULL, why);
	} else {
		dr_read_bytes(set, path, NULL, (const unsigned char *)buf_str(&b), b.len);
	}
	buf_release(&b);
}

/* In a directory, the files that can hold reports, by their names. */
static int report_name(const char *name)
{
	static const char *const ends[] = { ".xml", ".gz", ".zip", ".eml", NULL };
	size_t n = strlen(name);
	for (size_t i = 0; ends[i]; i++) {
		size_t e = strlen(ends[i]);
		if (n > e && strcasecmp(name + n - e, ends[i]) == 0)
			return 1;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void dr_read_path(struct dr_set *set, const char *path)
{
	struct stat st;
	char why[300];
	if (stat(path, &st) < 0) {
		snprintf(why, sizeof why, "cannot be read: %s", strerror(errno));
		refuse(set, path, NULL, why);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		read_file(set, path, &st);
		return;
	}
	DIR *d = opendir(path);
	char **names = NULL;
	struct dirent *de;
	if (!d) {
		snprintf(why, sizeof why, "cannot be read: %s", strerror(errno));
		refuse(set, path, NULL, why);
		return;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && report_name(de->d_name))
			strv_push(&names, de->d_name);
	closedir(d);
	size_t n = strv_len(names);
	if (n)
		qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		struct buf full = BUF_INIT;
		size_t pl = strlen(path);
		while (pl > 1 && path[pl - 1] == '/')
			pl--;
		buf_printf(&full, "%.*s/%s", (int)pl, path, names[i]);
		if (stat(buf_str(&full), &st) == 0 && S_ISREG(st.st_mode))
			read_file(set, buf_str(&full), &st);
		buf_release(&full);
	}
	strv_free(names);
}

void dr_set_release(struct dr_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		dr_release(&set->v[i]);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}
