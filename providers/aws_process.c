/*
 * aws_process.c - credentials from a profile's credential_process: the
 * command is run (split into words as the AWS CLI splits it, without a
 * shell; a command that needs one, with a pipe, a variable or a glob in it,
 * goes to /bin/sh -c), its standard output read as the JSON of the AWS
 * format {"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken",
 * "Expiration"} with cJSON, and its standard error left to the user's
 * terminal. The child gets our environment as it is, and nothing more.
 * Nothing it printed is ever echoed.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/crypto.h>

#include "provision/buf.h"
#include "provision/util.h"
#include "aws_credentials.h"

#define PROCESS_OUT_MAX (1 << 20)  /* bytes of output read at the most */
#define PROCESS_TIMEOUT_MS 120000  /* a command that hangs is killed */

/*
 * The words of command, as a POSIX shell would split it when it holds
 * only words, blanks, quotes and backslashes; NULL when it needs a shell
 * (or memory ran out: *nomem).
 */
static char **split_words(const char *command, int *nomem)
{
	char **v = NULL;
	struct buf w = BUF_INIT;
	int in_word = 0, bad = 0;
	*nomem = 0;
	for (const char *p = command; *p && !bad; p++) {
		if (*p == ' ' || *p == '\t') {
			if (in_word && strv_push(&v, buf_str(&w)) < 0)
				*nomem = bad = 1;
			buf_release(&w);
			in_word = 0;
		} else if (*p == '\'') {
			const char *e = strchr(p + 1, '\'');
			if (!e)
				bad = 1;
			else if (buf_add(&w, p + 1, (size_t)(e - p - 1)) < 0)
				*nomem = bad = 1;
			in_word = 1;
			p = e ? e : p;
		} else if (*p == '"') {
			for (p++; *p && *p != '"' && !bad; p++) {
				if (*p == '$' || *p == '`')
					bad = 1;
				else if (*p == '\\' && strchr("\"\\", p[1]) && p[1])
					p++;
				if (!bad && buf_putc(&w, *p) < 0)
					*nomem = bad = 1;
			}
			bad |= *p != '"';
			in_word = 1;
		} else if (*p == '\\' && p[1] && p[1] != '\n') {
			if (buf_putc(&w, *++p) < 0)
				*nomem = bad = 1;
			in_word = 1;
		} else if (strchr("|&;<>()$`*?[]#~=!{}\n\\", *p)) {
			bad = 1; /* the shell would read this */
		} else {
			if (buf_putc(&w, *p) < 0)
				*nomem = bad = 1;
			in_word = 1;
		}
	}
	if (!bad && in_word && strv_push(&v, buf_str(&w)) < 0)
		*nomem = bad = 1;
	buf_release(&w);
	if (bad || !v) {
		strv_free(v);
		return NULL;
	}
	return v;
}

/* Run argv (or /bin/sh -c command) with its output into out. Returns the
 * wait status, or -1 (errno) when it could not be run or timed out. */
static int run(char **argv, const char *command, struct buf *out)
{
	int fd[2];
	if (pipe(fd) != 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		close(fd[0]);
		close(fd[1]);
		if (argv)
			execvp(argv[0], argv);
		else
			execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	struct timespec start, t;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int timed_out = 0, too_big = 0;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = PROCESS_TIMEOUT_MS - ((t.tv_sec - start.tv_sec) * 1000L +
						  (t.tv_nsec - start.tv_nsec) / 1000000L);
		struct pollfd pfd = { fd[0], POLLIN, 0 };
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		int n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			timed_out = n == 0;
			break;
		}
		char chunk[4096];
		ssize_t k = read(fd[0], chunk, sizeof chunk);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (out->len + (size_t)k > PROCESS_OUT_MAX || buf_add(out, chunk, (size_t)k) < 0) {
			too_big = 1;
			OPENSSL_cleanse(chunk, sizeof chunk);
			break;
		}
		OPENSSL_cleanse(chunk, sizeof chunk);
	}
	close(fd[0]);
	if (timed_out || too_big)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out || too_big) {
		errno = timed_out ? ETIMEDOUT : EFBIG;
		return -1;
	}
	return status;
}

static const char *version_1(const cJSON *doc)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "Version");
	return cJSON_IsNumber(v) && v->valuedouble == 1 ? NULL : "no \"Version\": 1";
}

int aws_from_process(const char *who, const char *profile, const char *file,
		     const char *command, struct aws_creds *c, struct prov_error *err)
{
	struct buf what = BUF_INIT, out = BUF_INIT;
	int nomem = 0, rc = 0;
	char **argv = split_words(command, &nomem);
	buf_printf(&what, "%s: credential_process of profile '%s' in %s", who, profile, file);
	if (nomem) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		goto out;
	}
	int status = run(argv, command, &out);
	if (status < 0)
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s could not be run: %s", buf_str(&what),
				 errno == ETIMEDOUT ? "it ran for more than 120 s" :
				 errno == EFBIG ? "it printed more than 1 MiB" : strerror(errno));
	else if (WIFSIGNALED(status))
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s was killed by signal %d",
				 buf_str(&what), WTERMSIG(status));
	else if (WEXITSTATUS(status) == 127)
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s exited with status 127 (is the "
				 "command there?)", buf_str(&what));
	else if (WEXITSTATUS(status) != 0)
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s exited with status %d",
				 buf_str(&what), WEXITSTATUS(status));
	else
		rc = aws_json_creds(buf_str(&what), buf_str(&out), "SessionToken", 0, version_1, c, err);
out:
	if (out.data)
		OPENSSL_cleanse(out.data, out.len);
	buf_release(&out);
	buf_release(&what);
	strv_free(argv);
	return rc;
}
