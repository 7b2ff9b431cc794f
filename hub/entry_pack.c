// SPDX-License-Identifier: MIT
/* Several events of one stream in one XADD. */
#include "entry_pack.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void entry_pack_take(struct out_list *src, struct out_list *pack, size_t max, size_t scan)
{
    struct out_list skipped = {0};
    struct out_item *it;
    const char *key;

    if (!src->head || !src->head->is_event)
        return;
    key = src->head->key;
    out_list_push(pack, out_list_pop(src));
    while (pack->len < max && scan-- > 0 && (it = out_list_pop(src))) {
        if (it->is_event && strcmp(it->key, key) == 0)
            out_list_push(pack, it);
        else
            out_list_push(&skipped, it);
    }
    out_list_prepend(src, &skipped);
}

/* msgpack's header of a str of len bytes (at most 5 bytes). Returns its length. */
static size_t msgpack_str_header(unsigned char *p, size_t len)
{
    if (len < 32) {
        p[0] = (unsigned char)(0xa0 | len);
        return 1;
    }
    if (len < 256) {
        p[0] = 0xd9, p[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        p[0] = 0xda, p[1] = (unsigned char)(len >> 8), p[2] = (unsigned char)len;
        return 3;
    }
    p[0] = 0xdb;
    p[1] = (unsigned char)(len >> 24), p[2] = (unsigned char)(len >> 16);
    p[3] = (unsigned char)(len >> 8), p[4] = (unsigned char)len;
    return 5;
}

/* msgpack's header of an array of n elements (at most 5 bytes). Returns its length. */
static size_t msgpack_array_header(unsigned char *p, size_t n)
{
    if (n < 16) {
        p[0] = (unsigned char)(0x90 | n);
        return 1;
    }
    if (n < 65536) {
        p[0] = 0xdc, p[1] = (unsigned char)(n >> 8), p[2] = (unsigned char)n;
        return 3;
    }
    p[0] = 0xdd;
    p[1] = (unsigned char)(n >> 24), p[2] = (unsigned char)(n >> 16);
    p[3] = (unsigned char)(n >> 8), p[4] = (unsigned char)n;
    return 5;
}

/* "$<len>\r\n" at p. Returns its length. */
static size_t bulk_header(char *p, size_t len)
{
    return (size_t)sprintf(p, "$%zu\r\n", len);
}

static char *put_bulk(char *p, const void *s, size_t len)
{
    p += bulk_header(p, len);
    memcpy(p, s, len);
    p += len;
    *p++ = '\r', *p++ = '\n';
    return p;
}

char *entry_pack_command(const struct out_list *pack, size_t *len)
{
    const char *key = pack->head->key;
    size_t key_len = strlen(key), ids_len, env_len = 0, size;
    unsigned char head[5];
    char count[24], *cmd, *p;
    const struct out_item *it;

    ids_len = msgpack_array_header(head, pack->len);
    for (it = pack->head; it; it = it->next) {
        ids_len += msgpack_str_header(head, strlen(it->id)) + strlen(it->id);
        env_len += it->env_len;
    }
    snprintf(count, sizeof(count), "%zu", pack->len);
    /* *9, then seven short parts (XADD key * n count ids env) and two long ones, each
     * with its "$<len>\r\n" (at most 23 bytes) and "\r\n". */
    size = 4 + 9 * (23 + 2) + 4 + key_len + 1 + 1 + strlen(count) + 3 + 3 + ids_len + env_len;
    if (!(cmd = malloc(size)))
        return NULL;
    p = cmd;
    memcpy(p, "*9\r\n", 4), p += 4;
    p = put_bulk(p, "XADD", 4);
    p = put_bulk(p, key, key_len);
    p = put_bulk(p, "*", 1);
    p = put_bulk(p, "n", 1);
    p = put_bulk(p, count, strlen(count));
    p = put_bulk(p, "ids", 3);
    p += bulk_header(p, ids_len);
    p += msgpack_array_header((unsigned char *)p, pack->len);
    for (it = pack->head; it; it = it->next) {
        size_t n = strlen(it->id);
        p += msgpack_str_header((unsigned char *)p, n);
        memcpy(p, it->id, n), p += n;
    }
    *p++ = '\r', *p++ = '\n';
    p = put_bulk(p, "env", 3);
    p += bulk_header(p, env_len);
    for (it = pack->head; it; it = it->next)
        memcpy(p, it->env, it->env_len), p += it->env_len;
    *p++ = '\r', *p++ = '\n';
    *len = (size_t)(p - cmd);
    return cmd;
}
