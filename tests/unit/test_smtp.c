/*
 * test_smtp.c - the parts of smtp-test that need no server: the test
 * message and its Message-ID, --to and --wait checks, the redaction of
 * what the client sends, and the diagnosis table (libcurl result + how far
 * the session got -> failed step, exit status, message and hint). The
 * sessions themselves are tested against real servers in tests/e2e/smtp.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "names.h"
#include "smtp/smtp.h"

static struct smtp_config cfg_587 = {
	.host = (char *)"smtp.example.net", .port = 587,
	.security = (char *)"starttls", .user = (char *)"me@example.net",
	.password_env = (char *)"SMTP_PASSWORD",
	.imap = { (char *)"imap.example.net", 993 },
};

static void test_message_id(void **state)
{
	(void)state;
	char a[128], b[128];
	assert_int_equal(smtp_message_id(a, sizeof a, "example.net"), 0);
	assert_int_equal(smtp_message_id(b, sizeof b, "example.net"), 0);
	assert_int_equal(strlen(a), 32 + strlen("@example.net"));
	assert_int_equal(strspn(a, "0123456789abcdef"), 32);
	assert_string_equal(a + 32, "@example.net");
	assert_string_not_equal(a, b);
	assert_int_equal(smtp_message_id(a, 20, "example.net"), -1);
	assert_int_equal(smtp_message_id(a, sizeof a, ""), -1);
}

static void test_message(void **state)
{
	(void)state;
	/* 2024-01-02 03:04:05 UTC */
	char *m = smtp_message("me@example.net", "you@example.org",
			       "abc@example.net", "example.net", &cfg_587,
			       1704164645LL);
	assert_non_null(m);
	assert_non_null(strstr(m, "Date: Tue, 02 Jan 2024 03:04:05 +0000\r\n"));
	assert_non_null(strstr(m, "\r\nFrom: <me@example.net>\r\n"));
	assert_non_null(strstr(m, "\r\nTo: <you@example.org>\r\n"));
	assert_non_null(strstr(m, "\r\nSubject: provision smtp-test\r\n"));
	assert_non_null(strstr(m, "\r\nMessage-ID: <abc@example.net>\r\n"));
	assert_non_null(strstr(m, "\r\n\r\nThis is a test message"));
	assert_non_null(strstr(m, "smtp.example.net port 587 (starttls)"));
	/* CRLF only, no bare LF, no line starting with '.' */
	for (const char *p = m; *p; p++) {
		if (*p == '\n')
			assert_true(p > m && p[-1] == '\r');
		if (*p == '\n')
			assert_true(p[1] != '.');
	}
	free(m);
}

static void test_address(void **state)
{
	(void)state;
	assert_true(mail_address_valid("me@example.net"));
	assert_true(mail_address_valid("first.last+tag@mail.example.net"));
	assert_false(mail_address_valid(NULL));
	assert_false(mail_address_valid("example.net"));
	assert_false(mail_address_valid("@example.net"));
	assert_false(mail_address_valid("me@"));
	assert_false(mail_address_valid("me@example..net"));
	assert_false(mail_address_valid("me @example.net"));
	assert_false(mail_address_valid("<me@example.net>"));
	assert_false(mail_address_valid("a@b.net, c@d.net"));
	assert_false(mail_address_valid("me@example.net\r\nBcc: x@y.net"));
	assert_false(mail_address_valid("me@exa mple.net"));
}

static void test_duration(void **state)
{
	(void)state;
	assert_int_equal(duration_seconds("90s"), 90);
	assert_int_equal(duration_seconds("2m"), 120);
	assert_int_equal(duration_seconds("1h30m"), 5400);
	assert_int_equal(duration_seconds("0s"), 0);
	assert_int_equal(duration_seconds(""), -1);
	assert_int_equal(duration_seconds("90"), -1);
	assert_int_equal(duration_seconds("-5s"), -1);
	assert_int_equal(duration_seconds("5d"), -1);
	assert_int_equal(duration_seconds(NULL), -1);
}

static void test_redact(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "EHLO client.example", "EHLO client.example" },
		{ "STARTTLS", "STARTTLS" },
		{ "MAIL FROM:<me@example.net>", "MAIL FROM:<me@example.net>" },
		{ "RCPT TO:<you@example.org>", "RCPT TO:<you@example.org>" },
		{ "AUTH PLAIN AG1lQGV4YW1wbGUubmV0AHMzY3JldA==",
		  "AUTH PLAIN [redacted]" },
		{ "AUTH LOGIN", "AUTH LOGIN [redacted]" },
		{ "AUTH XOAUTH2 dXNlcj1tZQFhdXRoPUJlYXJlcg==",
		  "AUTH XOAUTH2 [redacted]" },
		{ "AUTH bWVAZXhhbXBsZS5uZXQ=", "AUTH [redacted]" },
		{ "bWVAZXhhbXBsZS5uZXQ=", "[redacted]" }, /* LOGIN continuation */
		{ "czNjcmV0", "[redacted]" },
		{ "A001 CAPABILITY", "A001 CAPABILITY" },
		{ "A002 AUTHENTICATE PLAIN AG1lAHMzY3JldA==",
		  "A002 AUTHENTICATE PLAIN [redacted]" },
		{ "A002 LOGIN me@example.net s3cret", "A002 LOGIN [redacted]" },
		{ "A002 LOGIN PLAIN s3cret", "A002 LOGIN [redacted]" },
		{ "A004 UID SEARCH HEADER Message-ID \"<x@y>\"",
		  "A004 UID SEARCH HEADER Message-ID \"<x@y>\"" },
		{ "MAIL FROM:<s3cret@example.net>", "[redacted]" },
		{ "", "" },
	};
	char out[256];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		smtp_redact(cases[i].in, "s3cret", out, sizeof out);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("redact(\"%s\") = \"%s\", want \"%s\"",
				 cases[i].in, out, cases[i].want);
	}
	smtp_redact_secret("535 bad password s3cret", "s3cret", out, sizeof out);
	assert_string_equal(out, "[redacted]");
	smtp_redact_secret("250 OK", "s3cret", out, sizeof out);
	assert_string_equal(out, "250 OK");
	smtp_redact_secret("250 OK", NULL, out, sizeof out);
	assert_string_equal(out, "250 OK");
}

/* One row of the diagnosis table. */
struct diag_case {
	const char *name;
	int code;
	struct smtp_progress prog;
	const char *security;
	int port;
	enum smtp_step failed; /* the step that failed */
	int exit;
	const char *message, *hint; /* substrings; hint NULL: no hint */
};

static const struct diag_case smtp_cases[] = {
	{ "refused", CURLE_COULDNT_CONNECT, { 0 }, "starttls", 587,
	  SMTP_CONNECT, 1, "cannot connect to smtp.example.net port 587",
	  "wrong host or port" },
	{ "not found", CURLE_COULDNT_RESOLVE_HOST, { 0 }, "starttls", 587,
	  SMTP_CONNECT, 1, "host smtp.example.net not found", "smtp.host" },
	{ "tcp timeout", CURLE_OPERATION_TIMEDOUT, { 0 }, "starttls", 587,
	  SMTP_CONNECT, 1, "timed out", "firewall" },
	{ "starttls on 465", CURLE_OPERATION_TIMEDOUT, { .connected = 1 },
	  "starttls", 465, SMTP_TLS, 1, "did not answer in time",
	  "port 465 uses implicit TLS: set security = \"tls\"" },
	{ "starttls, no greeting", CURLE_OPERATION_TIMEDOUT, { .connected = 1 },
	  "starttls", 2465, SMTP_TLS, 1, "did not answer",
	  "may expect implicit TLS: set security = \"tls\"" },
	{ "tls on 587", CURLE_SSL_CONNECT_ERROR,
	  { .connected = 1, .errbuf = "wrong version number" }, "tls", 587,
	  SMTP_TLS, 1, "TLS handshake with smtp.example.net port 587 failed: "
	  "wrong version number",
	  "port 587 uses STARTTLS: set security = \"starttls\"" },
	{ "untrusted", CURLE_PEER_FAILED_VERIFICATION,
	  { .connected = 1, .greeted = 1, .starttls = 1,
	    .errbuf = "SSL certificate problem: self-signed certificate" },
	  "starttls", 587, SMTP_TLS, 1,
	  "certificate of smtp.example.net is not trusted: SSL certificate "
	  "problem", "smtp.ca_file" },
	{ "no starttls", CURLE_USE_SSL_FAILED,
	  { .connected = 1, .greeted = 1, .last_reply = "250 HELP" },
	  "starttls", 587, SMTP_TLS, 3, "does not offer STARTTLS: refused to "
	  "send without TLS", "465 with security = \"tls\"" },
	{ "wrong password", CURLE_LOGIN_DENIED,
	  { .connected = 1, .greeted = 1, .starttls = 1, .tls_done = 1,
	    .auth_sent = 1, .reply = 535,
	    .last_reply = "535 5.7.8 Authentication credentials invalid" },
	  "starttls", 587, SMTP_AUTH, 3, "authentication refused for "
	  "me@example.net: 535 5.7.8", "app password" },
	{ "recipient", CURLE_SEND_ERROR,
	  { .connected = 1, .greeted = 1, .tls_done = 1, .auth_sent = 1,
	    .mail_sent = 1, .reply = 550, .errbuf = "RCPT failed: 550",
	    .last_reply = "550 5.1.1 no such user" },
	  "tls", 465, SMTP_SEND, 3,
	  "recipient <you@example.org> refused: 550 5.1.1 no such user",
	  "relay" },
	{ "sender", CURLE_SEND_ERROR,
	  { .connected = 1, .greeted = 1, .tls_done = 1, .mail_sent = 1,
	    .reply = 553, .errbuf = "MAIL failed: 553",
	    .last_reply = "553 5.7.1 not owned by user" },
	  "starttls", 587, SMTP_SEND, 3,
	  "sender <me@example.net> refused: 553 5.7.1", "smtp.from" },
	{ "auth required", CURLE_SEND_ERROR,
	  { .connected = 1, .greeted = 1, .tls_done = 1, .mail_sent = 1,
	    .reply = 530, .errbuf = "MAIL failed: 530",
	    .last_reply = "530 5.7.0 Authentication required" },
	  "starttls", 587, SMTP_SEND, 3, "authentication required",
	  "smtp.user" },
	{ "cut after MAIL", CURLE_RECV_ERROR,
	  { .connected = 1, .greeted = 1, .tls_done = 1, .mail_sent = 1,
	    .errbuf = "Connection died" },
	  "starttls", 587, SMTP_SEND, 1, "Connection died", NULL },
	{ "closed before AUTH", CURLE_GOT_NOTHING,
	  { .connected = 1, .greeted = 1, .tls_done = 1 },
	  "starttls", 587, SMTP_AUTH, 1, "", NULL },
};

static void run_case(const struct diag_case *c)
{
	struct smtp_config cfg = cfg_587;
	struct smtp_job job = { .cfg = &cfg, .from = "me@example.net",
				.to = "you@example.org", .msgid = "x@example.net",
				.password = "s3cret" };
	struct smtp_report r;
	memset(&r, 0, sizeof r);
	cfg.security = (char *)c->security;
	cfg.port = c->port;
	smtp_diagnose(c->code, &c->prog, &job, &r);
	for (int i = 0; i <= SMTP_SEND; i++) {
		enum smtp_status want = i < (int)c->failed ? SMTP_OK
			: i == (int)c->failed ? SMTP_FAILED : SMTP_SKIPPED;
		if (r.steps[i].status != want)
			fail_msg("%s: step %d is %d, want %d (%s)", c->name, i,
				 r.steps[i].status, want, r.steps[i].message);
	}
	const struct smtp_step_result *st = &r.steps[c->failed];
	if (r.exit != c->exit || !strstr(st->message, c->message)
	    || (c->hint ? !strstr(st->hint, c->hint) : st->hint[0] != '\0'))
		fail_msg("%s: exit %d \"%s\" hint \"%s\"", c->name, r.exit,
			 st->message, st->hint);
	assert_null(strstr(st->message, "s3cret"));
}

static void test_diagnose(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof smtp_cases / sizeof smtp_cases[0]; i++)
		run_case(&smtp_cases[i]);
}

static void test_diagnose_ok(void **state)
{
	(void)state;
	struct smtp_config cfg = cfg_587;
	struct smtp_job job = { .cfg = &cfg, .from = "me@example.net",
				.to = "you@example.org", .msgid = "x@example.net" };
	struct smtp_progress p = { 0 };
	struct smtp_report r;
	memset(&r, 0, sizeof r);
	smtp_diagnose(CURLE_OK, &p, &job, &r);
	assert_int_equal(r.exit, 0);
	for (int i = 0; i <= SMTP_SEND; i++)
		assert_int_equal(r.steps[i].status, SMTP_OK);
	assert_non_null(strstr(r.steps[SMTP_TLS].message, "STARTTLS"));
	assert_non_null(strstr(r.steps[SMTP_SEND].message, "<x@example.net>"));
	/* without smtp.user: no AUTH, the step is skipped */
	cfg.user = NULL;
	cfg.security = (char *)"tls";
	memset(&r, 0, sizeof r);
	smtp_diagnose(CURLE_OK, &p, &job, &r);
	assert_int_equal(r.steps[SMTP_AUTH].status, SMTP_SKIPPED);
	assert_non_null(strstr(r.steps[SMTP_TLS].message, "implicit TLS"));
}

static void test_diagnose_imap(void **state)
{
	(void)state;
	struct smtp_config cfg = cfg_587;
	struct smtp_job job = { .cfg = &cfg, .from = "me@example.net",
				.to = "you@example.org" };
	struct smtp_progress denied = {
		.connected = 1, .greeted = 1, .tls_done = 1,
		.last_reply = "A002 NO [AUTHENTICATIONFAILED] Authentication "
			      "failed." };
	struct smtp_progress none = { 0 };
	struct smtp_report r;
	memset(&r, 0, sizeof r);
	smtp_diagnose_imap(CURLE_LOGIN_DENIED, &denied, &job, &r);
	assert_int_equal(r.steps[SMTP_IMAP].status, SMTP_FAILED);
	assert_int_equal(r.exit, 3);
	assert_non_null(strstr(r.steps[SMTP_IMAP].message,
			       "IMAP login refused for me@example.net"));
	/* 1 (not reached) wins over 3 (refused) */
	smtp_diagnose_imap(CURLE_COULDNT_CONNECT, &none, &job, &r);
	assert_int_equal(r.exit, 1);
	assert_non_null(strstr(r.steps[SMTP_IMAP].hint, "smtp.imap.port"));
	memset(&r, 0, sizeof r);
	smtp_diagnose_imap(CURLE_OK, &none, &job, &r);
	assert_int_equal(r.exit, 0);
	assert_int_equal(r.steps[SMTP_IMAP].status, SMTP_OK);
	assert_non_null(strstr(r.steps[SMTP_IMAP].message,
			       "imap.example.net port 993 over TLS"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_id),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_diagnose),
		cmocka_unit_test(test_diagnose_ok),
		cmocka_unit_test(test_diagnose_imap),
	};
	return cmocka_run_group_tests_name("smtp", tests, NULL, NULL);
}
