/*
 * smtp.h - the parts of `provision smtp-test` below the command: the test
 * message (smtp_msg.c), the libcurl SMTP and IMAP sessions (smtp_client.c),
 * their verbose trace with secrets redacted and the diagnosis of a failure
 * as one line, a hint and an exit status (smtp_diag.c). Nothing here
 * prints: traces and progress go through callbacks that src/smtp/smtp.c gives.
 */
#ifndef PROVISION_SMTP_H
#define PROVISION_SMTP_H

#include <stddef.h>

#include "config.h"

/* The steps of a test, in order; each ends ok, failed or skipped. */
enum smtp_step {
	SMTP_CONNECT, SMTP_TLS, SMTP_AUTH, SMTP_SEND, SMTP_IMAP, SMTP_CONFIRM,
	SMTP_NSTEPS
};
enum smtp_status { SMTP_SKIPPED, SMTP_OK, SMTP_FAILED };

struct smtp_step_result {
	enum smtp_status status;
	char message[512]; /* one line, never a secret */
	char hint[320];    /* "" when none */
};

struct smtp_report {
	struct smtp_step_result steps[SMTP_NSTEPS];
	int exit; /* 0 ok, 3 refused or not delivered, 1 not reached */
};

/* What the test needs; the strings belong to the caller. */
struct smtp_job {
	const struct smtp_config *cfg; /* host is set */
	const char *ca_file;  /* resolved path, or NULL for the system's CAs */
	const char *password; /* NULL when cfg->user is NULL */
	const char *from, *to;
	const char *message;  /* smtp_message() */
	const char *msgid;    /* "hex@domain", without angle brackets */
	int wait_s;           /* --confirm: give up after this many seconds */
	int poll_ms;          /* --confirm: pause between searches */
	/* Called for each trace line (already redacted) when set. */
	void (*trace)(void *arg, const char *proto, char dir, const char *line);
	/* Called before each search with the seconds waited so far. */
	void (*progress)(void *arg, int waited_s, int wait_s);
	void *arg;
};

/* "<32 hex digits>@domain" from RAND_bytes into buf; -1 when the random
 * generator or the buffer failed. */
int smtp_message_id(char *buf, size_t n, const char *domain);
/* The test message (CRLF lines: Date, From, To, Subject, Message-ID,
 * MIME headers, a short body naming domain and server); caller frees,
 * NULL on no memory. now: seconds since the epoch. */
char *smtp_message(const char *from, const char *to, const char *msgid,
		   const char *domain, const struct smtp_config *cfg,
		   long long now);

/* Send the message (steps connect, tls, auth, send), log in to IMAP when
 * configured (imap) and, with confirm, search INBOX for the Message-ID
 * until found or wait_s (confirm). Fills r; returns r->exit. */
int smtp_run(const struct smtp_job *job, int confirm, struct smtp_report *r);

/* The trace line to show for a line the client sent: commands that carry
 * credentials (AUTH, AUTHENTICATE, LOGIN, SASL continuations) are cut to
 * their verb and mechanism plus "[redacted]"; so is any line holding
 * secret. out always ends with '\0'. */
void smtp_redact(const char *line, const char *secret, char *out, size_t n);

/* line, or "[redacted]" when it holds secret (server lines, curl's text). */
void smtp_redact_secret(const char *line, const char *secret, char *out,
			size_t n);

/* How far a session got, from its trace (for the diagnosis). */
struct smtp_progress {
	int greeted;      /* a server reply arrived */
	int starttls;     /* STARTTLS was sent */
	int tls_done;     /* the handshake completed */
	int auth_sent;    /* AUTH / LOGIN was sent */
	int mail_sent;    /* MAIL FROM was sent (authenticated, if asked) */
	int connected;    /* the TCP connection was made */
	int closing;      /* QUIT / LOGOUT sent: replies no longer noted */
	long reply;       /* the last reply code (CURLINFO_RESPONSE_CODE) */
	char last_reply[256]; /* the server's last line */
	char errbuf[256]; /* curl's CURLOPT_ERRORBUFFER */
};

/* Fill the SMTP steps of r from curl's result code (a CURLcode) and the
 * progress; sets r->exit to the worse of its value and this outcome. */
void smtp_diagnose(int code, const struct smtp_progress *p,
		   const struct smtp_job *job, struct smtp_report *r);
/* The same for the IMAP login (step imap). */
void smtp_diagnose_imap(int code, const struct smtp_progress *p,
			const struct smtp_job *job, struct smtp_report *r);

#endif
