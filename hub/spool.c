// SPDX-License-Identifier: MIT
/* Saving and loading the shutdown spool (format in spool.h). */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "log.h"

#define SPOOL_MAGIC "RHSPOOL1\n"
#define SPOOL_FIELD_MAX (64u << 20)

/* A stdio write that failed: the error of the write(2) under it (ENOSPC, EIO, ...). */
static int write_error(void)
{
    return errno ? -errno : -EIO;
}

static int put_field(FILE *f, const char *data, size_t len)
{
    unsigned char be[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                           (unsigned char)(len >> 8), (unsigned char)len};

    return fwrite(be, 1, 4, f) == 4 && fwrite(data, 1, len, f) == len ? 0 : write_error();
}

static int put_item(FILE *f, const struct out_item *it)
{
    int r;

    if (!it->is_event)
        return fputc('C', f) == EOF ? write_error() : put_field(f, it->cmd, it->cmd_len);
    if (fputc('E', f) == EOF)
        return write_error();
    if ((r = put_field(f, it->key, strlen(it->key))) < 0 ||
        (r = put_field(f, it->id, strlen(it->id))) < 0 ||
        (r = put_field(f, it->topic, strlen(it->topic))) < 0)
        return r;
    return put_field(f, it->env, it->env_len);
}

int spool_save(const char *path, struct out_list *const *lists, int n)
{
    char tmp[4096];
    FILE *f;
    int count = 0, r = 0, fd;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return -ENAMETOOLONG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (!(f = fdopen(fd, "wb"))) {
        r = -errno;
        close(fd);
        unlink(tmp);
        return r;
    }
    errno = 0;
    if (fputs(SPOOL_MAGIC, f) == EOF)
        r = write_error();
    for (int i = 0; i < n && r == 0; i++) {
        for (const struct out_item *it = lists[i]->head; it && r == 0; it = it->next) {
            r = put_item(f, it);
            count++;
        }
    }
    if (r == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        r = -errno;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) != 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    return count;
}

/* Reads one length-prefixed field into a new NUL-terminated buffer. */
static int get_field(FILE *f, char **out, size_t *len)
{
    unsigned char be[4];
    size_t n;

    if (fread(be, 1, 4, f) != 4)
        return -EINVAL;
    n = ((size_t)be[0] << 24) | ((size_t)be[1] << 16) | ((size_t)be[2] << 8) | be[3];
    if (n > SPOOL_FIELD_MAX || !(*out = malloc(n + 1)))
        return n > SPOOL_FIELD_MAX ? -EINVAL : -ENOMEM;
    if (fread(*out, 1, n, f) != n) {
        free(*out);
        *out = NULL; /* the caller frees what it was given */
        return -EINVAL;
    }
    (*out)[n] = '\0';
    *len = n;
    return 0;
}

static int get_event(FILE *f, struct out_item **it)
{
    char *field[4] = {NULL, NULL, NULL, NULL};
    size_t len[4];
    int r = 0;

    for (int i = 0; i < 4 && r == 0; i++)
        r = get_field(f, &field[i], &len[i]);
    /* key, id and topic are text: no NUL inside. */
    for (int i = 0; i < 3 && r == 0; i++)
        if (strlen(field[i]) != len[i])
            r = -EINVAL;
    if (r == 0 && !(*it = out_item_event_new(field[0], field[1], field[3], len[3], field[2])))
        r = -ENOMEM;
    for (int i = 0; i < 4; i++)
        free(field[i]);
    return r;
}

/*
 * 0 when cmd[0..len) is exactly one command as the hub writes it: a RESP array of bulk
 * strings, read by hiredis's reader and written again by its formatter to the same
 * bytes. The spool has no checksum; a damaged command sent as it is has Redis read the
 * commands after it as its missing part, answer with errors and drop the link (the hub
 * then sends again what was in flight). -EINVAL when it is not, -ENOMEM.
 */
static int whole_command(const char *cmd, size_t len)
{
    redisReader *rd = redisReaderCreate();
    const char **argv = NULL;
    size_t *argvlen = NULL;
    redisReply *reply = NULL;
    void *got = NULL;
    char *again = NULL;
    int n, r = -EINVAL;

    if (!rd)
        return -ENOMEM;
    if (redisReaderFeed(rd, cmd, len) != REDIS_OK || redisReaderGetReply(rd, &got) != REDIS_OK ||
        !(reply = got) || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0)
        goto out;
    argv = malloc(reply->elements * sizeof(*argv));
    argvlen = malloc(reply->elements * sizeof(*argvlen));
    if (!argv || !argvlen) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING)
            goto out;
        argv[i] = reply->element[i]->str;
        argvlen[i] = reply->element[i]->len;
    }
    if ((n = redisFormatCommandArgv(&again, (int)reply->elements, argv, argvlen)) < 0)
        r = -ENOMEM;
    else if ((size_t)n == len && memcmp(again, cmd, len) == 0)
        r = 0;
out:
    redisFreeCommand(again);
    free(argv);
    free(argvlen);
    freeReplyObject(reply);
    redisReaderFree(rd);
    return r;
}

int spool_load(const char *path, struct out_list *events, struct out_list *others)
{
    char magic[sizeof(SPOOL_MAGIC) - 1];
    FILE *f = fopen(path, "rbe");
    int count = 0, r = 0, kind;

    if (!f)
        return -errno;
    if (fread(magic, 1, sizeof(magic), f) != sizeof(magic) ||
        memcmp(magic, SPOOL_MAGIC, sizeof(magic)) != 0) {
        fclose(f);
        return -EINVAL;
    }
    while (r == 0 && (kind = fgetc(f)) != EOF) {
        struct out_item *it = NULL;
        if (kind == 'E') {
            r = get_event(f, &it);
        } else if (kind == 'C') {
            char *cmd;
            size_t len;
            if ((r = get_field(f, &cmd, &len)) == 0) {
                if ((r = whole_command(cmd, len)) == 0 && !(it = out_item_raw_new(cmd, len)))
                    r = -ENOMEM;
                free(cmd);
            }
        } else {
            r = -EINVAL;
        }
        if (r == 0) {
            it->from_spool = true;
            out_list_push(it->is_event ? events : others, it);
            count++;
        }
    }
    fclose(f);
    return r < 0 ? r : count;
}

size_t spool_take(const char *path, struct out_list *events, struct out_list *others)
{
    int r = spool_load(path, events, others);
    size_t n = events->len + others->len;

    if (r == -ENOENT)
        return n;
    if (r < 0) {
        char kept[300];
        snprintf(kept, sizeof(kept), "%s.damaged", path);
        log_error("redis", "spool %s is damaged (%s); took %zu entries before the damage, "
                  "file kept as %s", path, strerror(-r), n, kept);
        if (rename(path, kept) < 0)
            log_error("redis", "cannot rename %s: %s", path, strerror(errno));
        if (n > 0)
            return n;
    }
    if (n == 0) {
        (void)unlink(path);
        return 0;
    }
    log_info("redis", "took %zu entries from the spool %s; they go to Redis first", n, path);
    return n;
}

int spool_keep(const char *path, struct out_list *const *lists, int n, bool journaled, bool final)
{
    size_t pending = 0;
    int r;

    for (int i = 0; i < n; i++)
        pending += lists[i]->len;
    if (!path[0]) {
        if (journaled)
            log_warn("redis", "%zu entries Redis has not confirmed stay in the journal for the "
                     "next start", pending);
        else
            log_error("redis", "giving up on %zu entries Redis has not confirmed (no "
                      "shutdown.spool_file configured)", pending);
        return 0;
    }
    if ((r = spool_save(path, lists, n)) >= 0)
        log_warn("redis", "%d entries Redis has not confirmed saved to the spool %s; "
                 "the next start sends them", r, path);
    else if (final)
        log_error("redis", "cannot write the spool %s: %s; %zu entries are lost%s", path,
                  strerror(-r), pending, journaled ? " but for the events in the journal" : "");
    return r;
}
