/*
 * error.c - first-message-wins error lines and the contract's exit codes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "provision/error.h"

int prov_errorf(struct prov_error *err, int code, const char *fmt, ...)
{
	if (!err || err->set)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	/* One line: a message never carries a newline. */
	for (char *p = err->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	err->set = 1;
	return code;
}

void prov_error_clear(struct prov_error *err)
{
	if (err) {
		err->set = 0;
		err->msg[0] = '\0';
	}
}

const char *prov_strerror(int code)
{
	switch (code) {
	case PROV_OK: return "success";
	case PROV_ERR_RUNTIME: return "runtime failure";
	case PROV_ERR_RULE: return "refused by a record rule";
	case PROV_ERR_USAGE: return "usage error";
	case PROV_ERR_CONFIG: return "configuration error";
	case PROV_ERR_NOMEM: return "out of memory";
	}
	return "unknown error";
}

int prov_exit_status(int code)
{
	switch (code) {
	case PROV_OK: return 0;
	case PROV_ERR_RULE: return 3;
	case PROV_ERR_USAGE: return 64;
	case PROV_ERR_CONFIG: return 78;
	default: return 1;
	}
}
