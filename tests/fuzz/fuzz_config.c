// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the YAML files operators write, as each program reads them at
 * start. The first byte chooses the reader (its value modulo 6), the rest is the file:
 * hub.yaml (config_load, 0), the alert rules (rules_load, 1), the analytics windows
 * (windows_file_load, 2), a source's file of the TTN (3), ChirpStack (4) or PEGELONLINE
 * (5) kind (source_file_load). The file is read from a memory file, as from disk.
 *
 * A broken file is refused with its reasons and nothing else: a loader returns 0 or a
 * negative count (or errno), and when it refuses, it has written at least one report,
 * every report one line that starts with the file's name (what an operator reads in
 * the journal, one line a problem, whatever the file held). Nothing is left allocated
 * either way (LeakSanitizer). A violation aborts; the sanitizers abort on any memory
 * error or overflow. The seeds are the shipped files (tests/fuzz/run).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"
#include "log.h"
#include "rules.h"
#include "source_file.h"
#include "windows_file.h"

/* Every line of the reports text (len bytes) starts with "path:". */
static void check_reports(const char *text, size_t len, const char *path)
{
    size_t plen = strlen(path);

    if (memchr(text, '\0', len))
        fuzz_fail("a report holds a NUL byte", NULL);
    for (const char *line = text, *end = text + len; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));

        if (!nl)
            fuzz_fail("the last report does not end its line", line);
        if ((size_t)(nl - line) <= plen || memcmp(line, path, plen) != 0 || line[plen] != ':') {
            fprintf(stderr, "reports:\n%.*s\n", (int)len, text);
            fuzz_fail("a report line does not start with the file's name", NULL);
        }
        line = nl + 1;
    }
}

static int load(unsigned kind, const char *path, FILE *err)
{
    static struct hub_config cfg;   /* large: not on the stack */
    static struct windows_file wf;
    struct rules rules;
    struct source_file sf;
    int r;

    switch (kind) {
    case 0:
        return config_load(&cfg, path, err);
    case 1:
        if ((r = rules_load(&rules, path, err)) == 0)
            rules_free(&rules);
        return r;
    case 2:
        windows_file_defaults(&wf);
        return windows_file_load(&wf, path, err);
    default:
        if ((r = source_file_load(&sf, (enum source_kind)(kind - 3), path, err)) == 0)
            source_file_close(&sf);
        return r;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], *text = NULL;
    size_t len = 0;
    FILE *err;
    int fd, r;

    if (size < 1)
        return 0;
    log_set_level(LOG_LEVEL_ERROR);
    fd = memfd_create("config", MFD_CLOEXEC);
    if (fd < 0 || (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)))
        fuzz_fail("cannot write the memory file", strerror(errno));
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (!(err = open_memstream(&text, &len)))
        fuzz_fail("open_memstream", strerror(errno));
    r = load(data[0] % 6u, path, err);
    fclose(err);
    close(fd);
    if (r > 0)
        fuzz_fail("a loader returned a positive count", NULL);
    if (r < 0 && len == 0)
        fuzz_fail("a file refused without a report", NULL);
    check_reports(text, len, path);
    free(text);
    return 0;
}
