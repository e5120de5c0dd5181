/*
 * smtp.c - placeholder until issue 8 lands: the command reports that it
 * is not in this build.
 */
#include <stdio.h>

#include "commands.h"

int cmd_smtp_test(const struct options *o, struct config *cfg)
{
	(void)cfg;
	fprintf(stderr, "provision: the %s command is not part of this build\n", o->command);
	return 1;
}
