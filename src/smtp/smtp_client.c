/*
 * smtp_client.c - the network half of `provision smtp-test`, on libcurl:
 * one SMTP session (RFC 5321) that requires TLS, either STARTTLS on the
 * submission port (RFC 3207, RFC 6409: smtp:// with CURLUSESSL_ALL) or
 * implicit TLS (RFC 8314 section 3.3: smtps://), verifies the certificate,
 * authenticates and sends the message; then an IMAP session over implicit
 * TLS (imaps://, port 993) that logs in and, with --confirm, repeats
 * `UID SEARCH HEADER Message-ID` in INBOX (RFC 9051 section 6.4.4). The
 * trace follows the session to tell which step failed; smtp_diag.c says why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "smtp.h"

_Static_assert(sizeof ((struct smtp_progress *)0)->errbuf >= CURL_ERROR_SIZE,
	       "errbuf must hold CURL_ERROR_SIZE bytes");

#define RESP_MAX 65536

struct session {
	const struct smtp_job *job;
	const char *proto; /* "smtp" or "imap": trace prefix */
	int implicit_tls;  /* the greeting comes after the handshake */
	struct smtp_progress prog;
	const char *body;  /* the upload */
	size_t len, off;
	char resp[RESP_MAX]; /* IMAP untagged replies of the last command */
	size_t resp_len;
};

/* The command word of a line a client sent: the first word, or the second
 * after an IMAP tag ("A001 LOGIN"). */
static void verb_of(const char *line, char *out, size_t n, int imap)
{
	const char *p = line;
	if (imap) {
		const char *sp = strchr(line, ' ');
		p = sp ? sp + 1 : line;
	}
	size_t k = strcspn(p, " ");
	if (k >= n)
		k = n - 1;
	memcpy(out, p, k);
	out[k] = '\0';
}

/* Follow the session: what has been sent and received so far. */
static void note(struct session *s, char dir, const char *line)
{
	struct smtp_progress *p = &s->prog;
	char verb[16];
	if (dir == '<' && p->closing)
		return;
	if (dir == '<') {
		p->greeted = p->connected = 1;
		if (s->implicit_tls)
			p->tls_done = 1;
		size_t k = strlen(line);
		if (k >= sizeof p->last_reply)
			k = sizeof p->last_reply - 1;
		memcpy(p->last_reply, line, k);
		p->last_reply[k] = '\0';
		return;
	}
	verb_of(line, verb, sizeof verb, !strcmp(s->proto, "imap"));
	if (!strcasecmp(verb, "STARTTLS"))
		p->starttls = 1;
	else if ((!strcasecmp(verb, "EHLO") || !strcasecmp(verb, "HELO"))
		 && p->starttls)
		p->tls_done = 1;
	else if (!strcasecmp(verb, "AUTH") || !strcasecmp(verb, "AUTHENTICATE")
		 || !strcasecmp(verb, "LOGIN"))
		p->auth_sent = 1;
	else if (!strcasecmp(verb, "MAIL"))
		p->mail_sent = 1;
	else if (!strcasecmp(verb, "QUIT") || !strcasecmp(verb, "LOGOUT"))
		p->closing = 1;
}

/* Each line of a trace chunk: noted, redacted, handed to job->trace. */
static void trace_lines(struct session *s, char dir, const char *data,
			size_t size)
{
	char line[1024], shown[1024];
	while (size > 0) {
		size_t k = 0;
		while (k < size && data[k] != '\n')
			k++;
		size_t n = k < sizeof line - 1 ? k : sizeof line - 1;
		memcpy(line, data, n);
		line[n] = '\0';
		line[strcspn(line, "\r")] = '\0';
		data += k < size ? k + 1 : k;
		size -= k < size ? k + 1 : k;
		if (dir != '*')
			note(s, dir, line);
		if (dir == '>')
			smtp_redact(line, s->job->password, shown, sizeof shown);
		else
			smtp_redact_secret(line, s->job->password, shown,
					   sizeof shown);
		if (s->job->trace && *shown)
			s->job->trace(s->job->arg, s->proto, dir, shown);
	}
}

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size,
		    void *arg)
{
	struct session *s = arg;
	char msg[64];
	(void)h;
	switch (type) {
	case CURLINFO_TEXT:
		trace_lines(s, '*', data, size);
		break;
	case CURLINFO_HEADER_IN:
		trace_lines(s, '<', data, size);
		break;
	case CURLINFO_HEADER_OUT:
		trace_lines(s, '>', data, size);
		break;
	case CURLINFO_DATA_OUT:
		snprintf(msg, sizeof msg, "[message: %zu bytes]", size);
		if (s->job->trace)
			s->job->trace(s->job->arg, s->proto, '>', msg);
		break;
	default:
		break;
	}
	return 0;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct session *s = arg;
	size_t n = s->len - s->off;
	if (n > size * nmemb)
		n = size * nmemb;
	memcpy(buf, s->body + s->off, n);
	s->off += n;
	return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct session *s = arg;
	size_t n = size * nmemb, room = sizeof s->resp - 1 - s->resp_len;
	memcpy(s->resp + s->resp_len, data, n < room ? n : room);
	s->resp_len += n < room ? n : room;
	s->resp[s->resp_len] = '\0';
	return n;
}

/* "scheme://host:port/path", brackets around an IPv6 address. */
static void make_url(char *buf, size_t n, const char *scheme,
		     const char *host, int port, const char *path)
{
	int v6 = strchr(host, ':') != NULL;
	snprintf(buf, n, "%s://%s%s%s:%d/%s", scheme, v6 ? "[" : "", host,
		 v6 ? "]" : "", port, path);
}

/* A handle for url with what both sessions share: TLS 1.2 or later with
 * the certificate and the host name always verified, timeouts, the
 * account, the trace. NULL on no memory. */
static CURL *handle_new(struct session *s, const char *url,
			const char *protocols)
{
	const struct smtp_job *job = s->job;
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (job->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, job->ca_file);
	if (job->cfg->user) {
		curl_easy_setopt(h, CURLOPT_USERNAME, job->cfg->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD,
				 job->password ? job->password : "");
	}
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->prog.errbuf);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, s);
	return h;
}

/* After a transfer: the reply code and whether TCP got through. */
static void collect(CURL *h, struct session *s)
{
	curl_off_t t = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &s->prog.reply);
	if (curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK
	    && t > 0)
		s->prog.connected = 1;
}

/* Steps connect, tls, auth and send: one SMTP transaction. */
static void smtp_send(const struct smtp_job *job, struct smtp_report *r)
{
	struct session *s = calloc(1, sizeof *s);
	const struct smtp_config *c = job->cfg;
	struct curl_slist *rcpt = NULL;
	char url[600], addr[300];
	CURL *h = NULL;
	int code = CURLE_OUT_OF_MEMORY;
	if (!s)
		goto out;
	*s = (struct session){ .job = job, .proto = "smtp",
			       .implicit_tls = !strcmp(c->security, "tls"),
			       .body = job->message,
			       .len = strlen(job->message) };
	make_url(url, sizeof url, s->implicit_tls ? "smtps" : "smtp", c->host,
		 c->port, "");
	snprintf(addr, sizeof addr, "<%s>", job->to);
	if (!(rcpt = curl_slist_append(NULL, addr))
	    || !(h = handle_new(s, url, "smtp,smtps")))
		goto out;
	snprintf(addr, sizeof addr, "<%s>", job->from);
	curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, addr);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, s);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	code = curl_easy_perform(h);
	collect(h, s);
out:
	smtp_diagnose(code, s ? &s->prog : &(struct smtp_progress){ 0 }, job,
		      r);
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	free(s);
}

/* The first UID of a "* SEARCH 12 ..." line in resp, or 0. */
static long search_uid(const char *resp)
{
	for (const char *p = resp; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncasecmp(p, "* SEARCH ", 9) != 0)
			continue;
		long uid = strtol(p + 9, NULL, 10);
		if (uid > 0)
			return uid;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };
	while (ms > 0 && nanosleep(&ts, &ts) != 0)
		;
}

/* Step confirm: search INBOX on the logged-in handle until found or the
 * time is up. */
static void imap_confirm(CURL *h, struct session *s, struct smtp_report *r)
{
	const struct smtp_job *job = s->job;
	struct smtp_step_result *st = &r->steps[SMTP_CONFIRM];
	char url[600], cmd[400];
	long long start = now_ms(), left;
	make_url(url, sizeof url, "imaps", job->cfg->imap.host,
		 job->cfg->imap.port, "INBOX");
	snprintf(cmd, sizeof cmd, "UID SEARCH HEADER Message-ID \"<%s>\"",
		 job->msgid);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, cmd);
	for (;;) {
		int waited = (int)((now_ms() - start) / 1000);
		if (job->progress)
			job->progress(job->arg, waited, job->wait_s);
		s->resp_len = 0;
		s->resp[0] = '\0';
		int code = curl_easy_perform(h);
		long uid = code == CURLE_OK ? search_uid(s->resp) : 0;
		waited = (int)((now_ms() - start) / 1000);
		if (code != CURLE_OK) {
			st->status = SMTP_FAILED;
			snprintf(st->message, sizeof st->message, "searching "
				 "INBOX failed: %s", s->prog.errbuf[0]
				 ? s->prog.errbuf : curl_easy_strerror(code));
			r->exit = 1;
			return;
		}
		if (uid > 0) {
			st->status = SMTP_OK;
			snprintf(st->message, sizeof st->message, "found in "
				 "INBOX after %ds (UID %ld)", waited, uid);
			return;
		}
		left = start + (long long)job->wait_s * 1000 - now_ms();
		if (left <= 0)
			break;
		pause_ms(left < job->poll_ms ? left : job->poll_ms);
	}
	st->status = SMTP_FAILED;
	snprintf(st->message, sizeof st->message, "the message did not arrive "
		 "in INBOX within %ds", job->wait_s);
	snprintf(st->hint, sizeof st->hint, "the server accepted it: look in "
		 "the spam folder, and make sure --to is delivered to the IMAP "
		 "account %s (or wait longer with --wait)", job->cfg->user);
	if (r->exit == 0)
		r->exit = 3;
}

/* Steps imap and confirm. */
static void imap_session(const struct smtp_job *job, int confirm,
			 struct smtp_report *r)
{
	struct session *s = calloc(1, sizeof *s);
	char url[600];
	CURL *h = NULL;
	int code = CURLE_OUT_OF_MEMORY;
	if (!s)
		goto out;
	*s = (struct session){ .job = job, .proto = "imap", .implicit_tls = 1 };
	make_url(url, sizeof url, "imaps", job->cfg->imap.host,
		 job->cfg->imap.port, "");
	if (!(h = handle_new(s, url, "imaps")))
		goto out;
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "NOOP");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	code = curl_easy_perform(h);
	collect(h, s);
out:
	smtp_diagnose_imap(code, s ? &s->prog : &(struct smtp_progress){ 0 },
			   job, r);
	if (code == CURLE_OK && confirm
	    && r->steps[SMTP_SEND].status == SMTP_OK)
		imap_confirm(h, s, r);
	curl_easy_cleanup(h);
	free(s);
}

int smtp_run(const struct smtp_job *job, int confirm, struct smtp_report *r)
{
	memset(r, 0, sizeof *r);
	for (int i = 0; i < SMTP_NSTEPS; i++)
		snprintf(r->steps[i].message, sizeof r->steps[i].message,
			 "not reached");
	snprintf(r->steps[SMTP_IMAP].message, sizeof r->steps[0].message,
		 "no IMAP settings (smtp.imap or a preset)");
	snprintf(r->steps[SMTP_CONFIRM].message, sizeof r->steps[0].message,
		 "%s", confirm ? "not reached" : "not asked (--confirm)");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		r->exit = 1;
		snprintf(r->steps[SMTP_CONNECT].message,
			 sizeof r->steps[0].message, "libcurl did not start");
		r->steps[SMTP_CONNECT].status = SMTP_FAILED;
		return r->exit;
	}
	smtp_send(job, r);
	if (job->cfg->imap.host && !job->cfg->user)
		snprintf(r->steps[SMTP_IMAP].message, sizeof r->steps[0].message,
			 "no smtp.user to log in to IMAP with");
	else if (job->cfg->imap.host)
		imap_session(job, confirm, r);
	if (confirm && r->steps[SMTP_SEND].status != SMTP_OK)
		snprintf(r->steps[SMTP_CONFIRM].message,
			 sizeof r->steps[0].message, "no message was sent");
	curl_global_cleanup();
	return r->exit;
}
