// SPDX-License-Identifier: MIT
/* Several events of one stream in one XADD. */
#include "entry_pack.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

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
    size_t key_len = strlen(key), env_len = 0, size;
    char count[24], *cmd = NULL, *p;
    const struct out_item *it;
    msgpack_sbuffer ids;
    msgpack_packer pk;

    msgpack_sbuffer_init(&ids);
    msgpack_packer_init(&pk, &ids, msgpack_sbuffer_write);
    if (msgpack_pack_array(&pk, pack->len) < 0)
        goto out;
    for (it = pack->head; it; it = it->next) {
        size_t n = strlen(it->id);
        if (msgpack_pack_str(&pk, n) < 0 || msgpack_pack_str_body(&pk, it->id, n) < 0)
            goto out;
        env_len += it->env_len;
    }
    snprintf(count, sizeof(count), "%zu", pack->len);
    /* *9, then seven short parts (XADD key * n count ids env) and two long ones, each
     * with its "$<len>\r\n" (at most 23 bytes) and "\r\n". */
    size = 4 + 9 * (23 + 2) + 4 + key_len + 1 + 1 + strlen(count) + 3 + 3 + ids.size + env_len;
    if (!(cmd = malloc(size)))
        goto out;
    p = cmd;
    memcpy(p, "*9\r\n", 4), p += 4;
    p = put_bulk(p, "XADD", 4);
    p = put_bulk(p, key, key_len);
    p = put_bulk(p, "*", 1);
    p = put_bulk(p, "n", 1);
    p = put_bulk(p, count, strlen(count));
    p = put_bulk(p, "ids", 3);
    p = put_bulk(p, ids.data, ids.size);
    p = put_bulk(p, "env", 3);
    p += bulk_header(p, env_len);
    for (it = pack->head; it; it = it->next)
        memcpy(p, it->env, it->env_len), p += it->env_len;
    *p++ = '\r', *p++ = '\n';
    *len = (size_t)(p - cmd);
out:
    msgpack_sbuffer_destroy(&ids);
    return cmd;
}

bool entry_pack_lingers(size_t queued, size_t events_max, uint64_t since_sent_ns,
                        uint64_t linger_ns)
{
    if (linger_ns == 0 || queued == 0 || queued >= events_max)
        return false;
    return queued >= 2 || since_sent_ns < linger_ns;
}
