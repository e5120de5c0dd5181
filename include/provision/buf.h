/*
 * buf.h - a growable byte buffer, always NUL-terminated.
 *
 * Modelled on git's strbuf: BUF_INIT allocates nothing; buf_release() frees
 * the contents and leaves an empty, reusable buffer; buf_detach() hands the
 * string to the caller. Appends return 0, or -1 when memory ran out (the
 * buffer is then left as it was).
 */
#ifndef PROVISION_BUF_H
#define PROVISION_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

int buf_add(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* The contents as a string ("" for an empty buffer); owned by b. */
const char *buf_str(const struct buf *b);
/* Caller owns the result (never NULL unless memory ran out); b is emptied. */
char *buf_detach(struct buf *b);
void buf_release(struct buf *b);

#endif
