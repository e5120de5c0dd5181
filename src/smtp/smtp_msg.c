/*
 * smtp_msg.c - the test message of `provision smtp-test`: an RFC 5322
 * message with CRLF lines, a Date (section 3.3, in UTC), From, To, the
 * Subject "provision smtp-test" and a Message-ID (section 3.6.4) made of
 * 128 random bits from OpenSSL's RAND_bytes, in hex, at the sender's
 * domain, so that IMAP can find exactly this message again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "smtp.h"

int smtp_message_id(char *buf, size_t n, const char *domain)
{
	unsigned char r[16];
	char hex[sizeof r * 2 + 1];
	if (!domain || !*domain || RAND_bytes(r, sizeof r) != 1)
		return -1;
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	int w = snprintf(buf, n, "%s@%s", hex, domain);
	return w > 0 && (size_t)w < n ? 0 : -1;
}

char *smtp_message(const char *from, const char *to, const char *msgid,
		   const char *domain, const struct smtp_config *cfg,
		   long long now)
{
	static const char fmt[] =
		"Date: %s\r\n"
		"From: <%s>\r\n"
		"To: <%s>\r\n"
		"Subject: provision smtp-test\r\n"
		"Message-ID: <%s>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n"
		"Content-Transfer-Encoding: 7bit\r\n"
		"\r\n"
		"This is a test message from provision smtp-test.\r\n"
		"\r\n"
		"It checks the SMTP settings of %s: %s port %d (%s).\r\n"
		"You may delete it.\r\n";
	char date[64];
	time_t t = (time_t)now;
	struct tm tm;
	if (!gmtime_r(&t, &tm)
	    || !strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm))
		return NULL;
	int n = snprintf(NULL, 0, fmt, date, from, to, msgid, domain,
			 cfg->host, cfg->port, cfg->security);
	char *msg = n > 0 ? malloc((size_t)n + 1) : NULL;
	if (msg)
		snprintf(msg, (size_t)n + 1, fmt, date, from, to, msgid, domain,
			 cfg->host, cfg->port, cfg->security);
	return msg;
}
