// SPDX-License-Identifier: MIT
/*
 * $ref resolution for the schema compiler: a reference is resolved against the base
 * URI ($id, RFC 3986), its document part looked up in the identifiers of the
 * compiled document, then in the registry, then in the registry's folder mappings
 * (loading the file). The fragment is a JSON pointer (percent-decoded, then ~1 and
 * ~0 unescaped) or a plain name ("#foo" from an $id).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_compiler.h"
#include "schema_uri.h"

/*
 * Follows the JSON pointer ptr (percent-decoded: "" or "/a/b", ~0 and ~1 still
 * escaped) from start, whose outer base URI is outer. On success stores the target
 * in *target and its outer base URI in *target_outer (allocated) and returns 0;
 * returns -ENOENT when the pointer leads nowhere, -ENOMEM when memory runs out.
 */
static int follow_pointer(json_t *start, const char *outer, const char *ptr, size_t n,
                          json_t **target, char **target_outer)
{
    enum { AT_SCHEMA, AT_MAP, AT_LIST, AT_OTHER } at = AT_SCHEMA;
    json_t *cur = start;
    char *base = strdup(outer), *tok = malloc(n + 1);
    size_t i = 0;
    int rc = -ENOENT;

    if (!base || !tok) {
        rc = -ENOMEM;
        goto fail;
    }
    if (n > 0 && ptr[0] != '/')
        goto fail;
    while (i < n) {
        size_t t = 0;
        json_t *next = NULL;

        for (i++; i < n && ptr[i] != '/'; i++) {
            if (ptr[i] == '~') {
                if (i + 1 == n || (ptr[i + 1] != '0' && ptr[i + 1] != '1'))
                    goto fail;
                tok[t++] = ptr[++i] == '0' ? '~' : '/';
            } else {
                tok[t++] = ptr[i];
            }
        }
        tok[t] = '\0';
        if (at == AT_SCHEMA && json_is_object(cur)) {
            char *inner = schema_inner_base(cur, base);

            if (!inner) {
                rc = -ENOMEM;
                goto fail;
            }
            free(base);
            base = inner;
        }
        if (json_is_object(cur)) {
            next = json_object_getn(cur, tok, t);
        } else if (json_is_array(cur) && t > 0 && t < 19 && strspn(tok, "0123456789") == t &&
                   (tok[0] != '0' || t == 1)) {
            next = json_array_get(cur, strtoull(tok, NULL, 10));
        }
        if (!next)
            goto fail;
        if (at == AT_SCHEMA) {
            bool one = false, map = false, list = false;

            for (size_t k = 0; k < schema_keywords_one_n; k++)
                one = one || strcmp(tok, schema_keywords_one[k]) == 0;
            for (size_t k = 0; k < schema_keywords_map_n; k++)
                map = map || strcmp(tok, schema_keywords_map[k]) == 0;
            for (size_t k = 0; k < schema_keywords_list_n; k++)
                list = list || strcmp(tok, schema_keywords_list[k]) == 0;
            at = one || (list && !json_is_array(next)) ? AT_SCHEMA
                 : map                                 ? AT_MAP
                 : list                                ? AT_LIST
                                                       : AT_OTHER;
        } else if (at == AT_MAP || at == AT_LIST) {
            at = AT_SCHEMA;
        }
        cur = next;
    }
    free(tok);
    *target = cur;
    *target_outer = base;
    return 0;

fail:
    free(tok);
    free(base);
    return rc;
}

/* Looks uri up among the compiled document's identifiers, then the registry's. */
static const struct id_entry *lookup(struct compiler *c, const char *uri)
{
    const struct id_entry *e = schema_ids_find(&c->local, uri);

    return e ? e : schema_registry_find(c->reg, uri);
}

struct schema_node *schema_resolve_ref(struct compiler *c, const char *ref, const char *base,
                                       const char *where)
{
    char *abs = schema_uri_resolve(base, ref), *doc = NULL, *frag = NULL, *target_outer = NULL;
    char *target_where = NULL, why[512] = "";
    const struct id_entry *e;
    struct schema_node *node = NULL;
    size_t k, frag_n = 0;
    json_t *target = NULL;

    if (!abs || !(doc = strndup(abs, k = schema_uri_strip_fragment(abs))) ||
        !(frag = schema_uri_decode(abs + k + (abs[k] == '#'), strlen(abs + k + (abs[k] == '#')),
                                   &frag_n)))
        goto nomem;
    /* The document: known, or loaded now through the registry's folder mappings. */
    if (!lookup(c, doc) && c->reg) {
        int rc = schema_registry_load(c->reg, doc, why, sizeof(why));

        if (rc < 0 && rc != -ENOENT) {
            schema_fail(c, where, "cannot resolve $ref \"%s\": %s", ref, why);
            goto out;
        }
    }
    if (frag_n == 0 || frag[0] == '/') {
        if ((e = lookup(c, doc))) {
            int rc = follow_pointer(e->json, e->outer_base, frag, frag_n, &target, &target_outer);

            if (rc == -ENOMEM)
                goto nomem;
            if (rc == 0 &&
                asprintf(&target_where, "%s#%s", e->where, abs + k + (abs[k] == '#')) < 0)
                target_where = NULL;
        }
    } else if ((e = lookup(c, abs))) {
        target = e->json;
        target_outer = strdup(e->outer_base);
        target_where = strdup(abs);
    }
    if (!target) {
        schema_fail(c, where, "cannot resolve $ref \"%s\" (\"%s\" is not a known schema)", ref, abs);
        goto out;
    }
    if (!target_outer || !target_where)
        goto nomem;
    node = schema_get_node(c, target, target_outer, target_where);
    goto out;

nomem:
    schema_fail_nomem(c);
out:
    free(abs);
    free(doc);
    free(frag);
    free(target_outer);
    free(target_where);
    return node;
}