/*
 * usage.c - the one-line usage error every command prints (exit 64). Kept
 * out of main.c so that the commands, linked into the unit tests without
 * main.o, can use it too.
 */
#include <stdarg.h>
#include <stdio.h>

#include "commands.h"

int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "provision: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'provision --help'.\n");
	va_end(ap);
	return 64;
}
