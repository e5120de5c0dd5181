/*
 * smtp_diag.c - what `provision smtp-test` tells the user: each libcurl
 * failure of the SMTP or IMAP session becomes the step where it happened,
 * one line, a hint as the SMTP setup guide lists them (wrong host or port,
 * TLS handshake or untrusted certificate, 465 vs 587, authentication, sender
 * or relay refused) and an exit status: 3 when the server refused, 1 when it
 * could not be reached or trusted. Also the redaction of traces: what the
 * client sends to authenticate is never shown.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "smtp.h"

/* Commands shown as they are; they carry no credentials. */
static const char *const safe_verbs[] = {
	"EHLO", "HELO", "STARTTLS", "MAIL", "RCPT", "DATA", "QUIT", "RSET",
	"NOOP", "CAPABILITY", "SELECT", "EXAMINE", "UID", "SEARCH", "LOGOUT",
	"LIST", "ID", "ENABLE", NULL };
/* Commands that carry credentials. */
static const char *const auth_verbs[] = {
	"AUTH", "AUTHENTICATE", "LOGIN", NULL };
/* SASL mechanism names, shown after AUTH. */
static const char *const mechanisms[] = {
	"PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER", "CRAM-MD5", "DIGEST-MD5",
	"NTLM", "GSSAPI", "EXTERNAL", "SCRAM-SHA-1", "SCRAM-SHA-256", NULL };

static int listed(const char *const *list, const char *w, size_t n)
{
	for (; *list; list++)
		if (strlen(*list) == n && strncasecmp(*list, w, n) == 0)
			return 1;
	return 0;
}

void smtp_redact_secret(const char *line, const char *secret, char *out,
			size_t n)
{
	if (secret && *secret && strstr(line, secret))
		line = "[redacted]";
	snprintf(out, n, "%s", line);
}

/* "[tag ]VERB [MECH] [redacted]" for a credential command at word w. */
static void cut_auth(const char *line, const char *w, char *out, size_t n)
{
	size_t vl = strcspn(w, " ");
	const char *mech = w[vl] == ' ' ? w + vl + 1 : "";
	size_t ml = strcspn(mech, " ");
	int show = ml && strncasecmp(w, "LOGIN", vl) != 0
		   && listed(mechanisms, mech, ml);
	snprintf(out, n, "%.*s%s%.*s [redacted]", (int)(w - line + vl), line,
		 show ? " " : "", show ? (int)ml : 0, mech);
}

void smtp_redact(const char *line, const char *secret, char *out, size_t n)
{
	const char *w1 = line, *w2 = strchr(line, ' ');
	size_t l1 = strcspn(w1, " "), l2 = 0;
	if (w2) {
		w2++;
		l2 = strcspn(w2, " ");
	}
	if (!*line)
		snprintf(out, n, "%s", "");
	else if (listed(safe_verbs, w1, l1))
		smtp_redact_secret(line, secret, out, n);
	else if (listed(auth_verbs, w1, l1))
		cut_auth(line, w1, out, n);
	else if (w2 && listed(safe_verbs, w2, l2))
		smtp_redact_secret(line, secret, out, n);
	else if (w2 && listed(auth_verbs, w2, l2))
		cut_auth(line, w2, out, n);
	else
		snprintf(out, n, "%s", "[redacted]");
}

/* ---- diagnosis ---------------------------------------------------- */

static void set(struct smtp_step_result *st, enum smtp_status status,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set(struct smtp_step_result *st, enum smtp_status status,
		const char *fmt, ...)
{
	va_list ap;
	st->status = status;
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof st->message, fmt, ap);
	va_end(ap);
}

static void hint(struct smtp_step_result *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void hint(struct smtp_step_result *st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->hint, sizeof st->hint, fmt, ap);
	va_end(ap);
}

static void worse(struct smtp_report *r, int code)
{
	if (code == 1 || (code == 3 && r->exit == 0))
		r->exit = code;
}

static const char *detail(int code, const struct smtp_progress *p)
{
	return p->errbuf[0] ? p->errbuf : curl_easy_strerror((CURLcode)code);
}

static int is_cert_error(int code)
{
	return code == CURLE_PEER_FAILED_VERIFICATION
	       || code == CURLE_SSL_CERTPROBLEM || code == CURLE_SSL_ISSUER_ERROR
	       || code == CURLE_SSL_CACERT_BADFILE
	       || code == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

/* The step an SMTP failure belongs to: by its code when that says, else
 * by how far the session got. */
static enum smtp_step smtp_failed_step(int code, const struct smtp_progress *p,
				       int with_auth)
{
	if (code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_CONNECT)
		return SMTP_CONNECT;
	if (code == CURLE_SSL_CONNECT_ERROR || code == CURLE_USE_SSL_FAILED
	    || is_cert_error(code))
		return SMTP_TLS;
	if (code == CURLE_LOGIN_DENIED)
		return SMTP_AUTH;
	if (!p->connected)
		return SMTP_CONNECT;
	if (!p->tls_done)
		return SMTP_TLS;
	if (with_auth && !p->mail_sent)
		return SMTP_AUTH;
	return SMTP_SEND;
}

/* The steps before `at` passed; those after it were not reached. */
static void smtp_passed(const struct smtp_job *job, enum smtp_step at,
			struct smtp_report *r)
{
	const struct smtp_config *c = job->cfg;
	struct smtp_step_result *s = r->steps;
	if (at > SMTP_CONNECT)
		set(&s[SMTP_CONNECT], SMTP_OK, "connected to %s port %d",
		    c->host, c->port);
	if (at > SMTP_TLS)
		set(&s[SMTP_TLS], SMTP_OK, "%s, certificate verified",
		    strcmp(c->security, "tls") ? "STARTTLS" : "implicit TLS");
	if (at > SMTP_AUTH && c->user)
		set(&s[SMTP_AUTH], SMTP_OK, "authenticated as %s", c->user);
	else if (at > SMTP_AUTH)
		set(&s[SMTP_AUTH], SMTP_SKIPPED, "no smtp.user: sent without "
		    "authentication");
	for (int i = at + 1; i <= SMTP_SEND; i++)
		set(&s[i], SMTP_SKIPPED, "not reached");
}

/* The hint for a TLS failure that may be a port/security mismatch. */
static void mismatch_hint(struct smtp_step_result *st,
			  const struct smtp_config *c,
			  const struct smtp_progress *p)
{
	if (!strcmp(c->security, "tls") && c->port == 587)
		hint(st, "port 587 uses STARTTLS: set security = \"starttls\"");
	else if (!strcmp(c->security, "tls"))
		hint(st, "port %d may expect STARTTLS: set security = "
		     "\"starttls\", or use port 465 for implicit TLS", c->port);
	else if (c->port == 465)
		hint(st, "port 465 uses implicit TLS: set security = \"tls\"");
	else if (!p->greeted)
		hint(st, "no greeting: port %d may expect implicit TLS: set "
		     "security = \"tls\" (or use port 587 for STARTTLS)",
		     c->port);
	else
		hint(st, "check smtp.port and smtp.security: 587 is STARTTLS, "
		     "465 is implicit TLS");
}

static void cert_hint(struct smtp_step_result *st, const char *host,
		      const char *ca_file)
{
	if (ca_file)
		hint(st, "the certificate must be signed by a CA in ca_file "
		     "'%s' and name %s; certificates are always verified",
		     ca_file, host);
	else
		hint(st, "a server with a private CA needs smtp.ca_file (the "
		     "CA's certificate, PEM); certificates are always verified");
}

static const char app_password_hint[] =
	"check the password in $%s; Gmail, iCloud and Outlook want an app "
	"password (with two-step verification), or SMTP AUTH / third-party "
	"access enabled for the account";

/* Connection and TLS failures, alike for SMTP and IMAP (key: "smtp" or
 * "smtp.imap"; ports: the usual ones). 0 when code is none of them. */
static int transport(struct smtp_step_result *st, int code,
		     const struct smtp_progress *p, const char *key,
		     const char *host, int port, const char *ports,
		     const struct smtp_job *job)
{
	if (code == CURLE_COULDNT_RESOLVE_HOST) {
		set(st, SMTP_FAILED, "host %s not found", host);
		hint(st, "check %s.host: a typo, or a name that does not "
		     "resolve", key);
	} else if (code == CURLE_COULDNT_CONNECT
		   || (code == CURLE_OPERATION_TIMEDOUT && !p->connected)) {
		set(st, SMTP_FAILED, "cannot connect to %s port %d: %s", host,
		    port, code == CURLE_COULDNT_CONNECT ? "connection refused "
		    "or unreachable" : "timed out");
		hint(st, "wrong host or port: check %s.host and %s.port (%s); "
		     "a firewall may block the port", key, key, ports);
	} else if (code == CURLE_OPERATION_TIMEDOUT) {
		set(st, SMTP_FAILED, "%s port %d did not answer in time",
		    host, port);
	} else if (code == CURLE_SSL_CONNECT_ERROR) {
		set(st, SMTP_FAILED, "TLS handshake with %s port %d failed: %s",
		    host, port, detail(code, p));
	} else if (code == CURLE_SSL_CACERT_BADFILE) {
		set(st, SMTP_FAILED, "cannot use ca_file '%s': %s",
		    job->ca_file ? job->ca_file : "", detail(code, p));
		hint(st, "smtp.ca_file must be a PEM file of CA certificates, "
		     "relative to the configuration file");
	} else if (is_cert_error(code)) {
		set(st, SMTP_FAILED, "the certificate of %s is not trusted: %s",
		    host, detail(code, p));
		cert_hint(st, host, job->ca_file);
	} else {
		return 0;
	}
	return 1;
}

/* A refusal after MAIL FROM: the sender, a recipient or the message. */
static void send_refused(struct smtp_step_result *st,
			 const struct smtp_progress *p,
			 const struct smtp_job *job, const char *reply)
{
	if (!strncmp(p->errbuf, "MAIL", 4) && p->reply == 530) {
		set(st, SMTP_FAILED, "sender <%s> refused: authentication "
		    "required (%s)", job->from, reply);
		hint(st, "set smtp.user and smtp.password_env: the server "
		     "relays only for its accounts");
	} else if (!strncmp(p->errbuf, "MAIL", 4)) {
		set(st, SMTP_FAILED, "sender <%s> refused: %s", job->from, reply);
		hint(st, "the server accepts only the account's own address or "
		     "its aliases as sender: check smtp.from");
	} else if (!strncmp(p->errbuf, "RCPT", 4)) {
		set(st, SMTP_FAILED, "recipient <%s> refused: %s", job->to, reply);
		hint(st, "relay refused or no such mailbox: check --to, and "
		     "that the server knows the sender's account");
	} else {
		set(st, SMTP_FAILED, "message refused: %s", reply);
		hint(st, "the server's reply says why (content, size, rate or "
		     "quota)");
	}
}

/* What the server refused (exit 3), or another failure (exit 1). */
static void smtp_refused(int code, const struct smtp_progress *p,
			 const struct smtp_job *job, enum smtp_step at,
			 struct smtp_report *r)
{
	const struct smtp_config *c = job->cfg;
	struct smtp_step_result *st = &r->steps[at];
	const char *reply = p->last_reply[0] ? p->last_reply : detail(code, p);
	int refused = 1;
	if (code == CURLE_USE_SSL_FAILED) {
		set(st, SMTP_FAILED, "%s port %d does not offer STARTTLS: "
		    "refused to send without TLS", c->host, c->port);
		hint(st, "submission needs TLS: port 587 with STARTTLS, or 465 "
		     "with security = \"tls\"; check smtp.host and smtp.port");
	} else if (code == CURLE_LOGIN_DENIED && strstr(p->errbuf, "mechanism")) {
		set(st, SMTP_FAILED, "the server offers no authentication "
		    "method that can be used: %s", detail(code, p));
		hint(st, "check smtp.host and smtp.port: the submission port "
		     "offers AUTH after TLS");
	} else if (code == CURLE_LOGIN_DENIED) {
		set(st, SMTP_FAILED, "authentication refused for %s: %s",
		    c->user, reply);
		hint(st, app_password_hint, c->password_env);
	} else if (at == SMTP_SEND && p->reply >= 400) {
		send_refused(st, p, job, reply);
	} else {
		refused = 0;
		set(st, SMTP_FAILED, "%s", detail(code, p));
		if (at == SMTP_TLS)
			mismatch_hint(st, c, p);
	}
	worse(r, refused ? 3 : 1);
}

void smtp_diagnose(int code, const struct smtp_progress *p,
		   const struct smtp_job *job, struct smtp_report *r)
{
	const struct smtp_config *c = job->cfg;
	if (code == CURLE_OK) {
		smtp_passed(job, SMTP_SEND, r);
		set(&r->steps[SMTP_SEND], SMTP_OK, "accepted for <%s> with "
		    "Message-ID <%s>", job->to, job->msgid);
		return;
	}
	enum smtp_step at = smtp_failed_step(code, p, c->user != NULL);
	struct smtp_step_result *st = &r->steps[at];
	smtp_passed(job, at, r);
	if (transport(st, code, p, "smtp", c->host, c->port,
		      "587 for STARTTLS, 465 for implicit TLS", job)) {
		if (code == CURLE_SSL_CONNECT_ERROR
		    || (code == CURLE_OPERATION_TIMEDOUT && at == SMTP_TLS))
			mismatch_hint(st, c, p);
		worse(r, 1);
		return;
	}
	smtp_refused(code, p, job, at, r);
}

void smtp_diagnose_imap(int code, const struct smtp_progress *p,
			const struct smtp_job *job, struct smtp_report *r)
{
	const struct smtp_config *c = job->cfg;
	struct smtp_step_result *st = &r->steps[SMTP_IMAP];
	if (code == CURLE_OK) {
		set(st, SMTP_OK, "logged in to %s port %d over TLS as %s",
		    c->imap.host, c->imap.port, c->user);
		return;
	}
	if (transport(st, code, p, "smtp.imap", c->imap.host, c->imap.port,
		      "993 for IMAP over TLS", job)) {
		if (code == CURLE_SSL_CONNECT_ERROR
		    || (code == CURLE_OPERATION_TIMEDOUT && p->connected))
			hint(st, "IMAP is tested over implicit TLS (port 993), "
			     "not STARTTLS (port 143): check smtp.imap.port");
		worse(r, 1);
	} else if (code == CURLE_LOGIN_DENIED) {
		set(st, SMTP_FAILED, "IMAP login refused for %s: %s", c->user,
		    p->last_reply[0] ? p->last_reply : detail(code, p));
		hint(st, app_password_hint, c->password_env);
		worse(r, 3);
	} else {
		set(st, SMTP_FAILED, "IMAP %s port %d: %s", c->imap.host,
		    c->imap.port, detail(code, p));
		worse(r, 1);
	}
}
