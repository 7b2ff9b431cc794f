// SPDX-License-Identifier: MIT
/* `rheinhub validate`: checks JSON documents against a JSON Schema (draft-07). */
#ifndef RHEINHUB_VALIDATE_CMD_H
#define RHEINHUB_VALIDATE_CMD_H

/*
 * rheinhub validate SCHEMA.json [INSTANCE.json...]; argv[0] is "validate". Reads the
 * instances (standard input when there is none, or for "-"), prints "FILE: valid" or
 * "FILE: invalid" and one line per error ("  /pointer: keyword: message") to
 * standard output, problems with files to standard error. Returns the exit status:
 * 0 when every instance is valid, 1 when some is invalid, 2 on a bad schema, an
 * unreadable file or text that is not JSON.
 */
int validate_main(int argc, char **argv);

#endif
