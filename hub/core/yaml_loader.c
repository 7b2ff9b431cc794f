// SPDX-License-Identifier: MIT
/* The parts every YAML loader shares: parsing, counted reports, scalars (yaml_loader.h). */
#include "yaml_loader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_report.h"

/* Reports the parser's syntax error as "path:line: problem context" and counts it. */
static void report_syntax(struct yaml_loader *l, const yaml_parser_t *parser)
{
    l->errors++;
    if (l->err)
        fprintf(l->err, "%s:%lu: %s%s%s\n", l->path, (unsigned long)parser->problem_mark.line + 1,
                parser->problem ? parser->problem : "YAML error", parser->context ? " " : "",
                parser->context ? parser->context : "");
}

/* Reads the parser's next document into doc; a syntax error is reported and counted. */
static int parse(struct yaml_loader *l, yaml_parser_t *parser, yaml_document_t *doc)
{
    if (!yaml_parser_load(parser, doc)) {
        report_syntax(l, parser);
        return -1;
    }
    l->doc = doc;
    return 0;
}

/*
 * Walks the text's events before the document is built: libyaml's scanner slows down
 * with every level of nesting (a file of 200,000 '[' took more than 20 s), so the walk
 * stops at the first level past YAML_LOADER_DEPTH_MAX. Collections are bounded too
 * (YAML_LOADER_ENTRIES_MAX): the loaders compare each key with the keys before it, and
 * 100,000 keys kept --check busy past two minutes. It also reads past the first
 * document: libyaml's loader stops there, and a second one ("---" and more keys) would
 * be left unread without a word. A scalar holding U+0000 is refused: the loaders copy
 * values as C strings, which would end there. Returns 0, or -1 with the error reported
 * and counted.
 */
static int check_events(struct yaml_loader *l, const char *text, size_t len)
{
    /* entries[d]: nodes so far in the collection at depth d; in_map[d]: it is a mapping */
    int entries[YAML_LOADER_DEPTH_MAX + 1] = {0};
    bool in_map[YAML_LOADER_DEPTH_MAX + 1] = {false};
    yaml_parser_t parser;
    int depth = 0, documents = 0, r = 0;

    if (!yaml_parser_initialize(&parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        unsigned long line;
        yaml_event_t ev;
        yaml_event_type_t type;
        bool start, nul;

        if (!yaml_parser_parse(&parser, &ev)) {
            report_syntax(l, &parser);
            r = -1;
            break;
        }
        type = ev.type;
        line = (unsigned long)ev.start_mark.line + 1;
        nul = type == YAML_SCALAR_EVENT &&
              memchr(ev.data.scalar.value, '\0', ev.data.scalar.length) != NULL;
        yaml_event_delete(&ev);
        if (nul) {
            /* "\0" in a quoted scalar: every loader copies values as C strings. */
            l->errors++;
            if (l->err)
                fprintf(l->err, "%s:%lu: a value holds the character U+0000 (\"\\0\")\n",
                        l->path, line);
            r = -1;
            break;
        }
        start = type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT;
        if (depth > 0 && (start || type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT) &&
            ++entries[depth] > (in_map[depth] ? 2 : 1) * YAML_LOADER_ENTRIES_MAX) {
            l->errors++;
            if (l->err)
                fprintf(l->err, "%s:%lu: more than %d entries in one %s\n", l->path, line,
                        YAML_LOADER_ENTRIES_MAX, in_map[depth] ? "mapping" : "list");
            r = -1;
        } else if (start && depth == YAML_LOADER_DEPTH_MAX) {
            l->errors++;
            if (l->err)
                fprintf(l->err, "%s:%lu: nested deeper than %d levels\n", l->path, line,
                        YAML_LOADER_DEPTH_MAX);
            r = -1;
        } else if (start) {
            depth++;
            entries[depth] = 0;
            in_map[depth] = type == YAML_MAPPING_START_EVENT;
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (type == YAML_DOCUMENT_START_EVENT && ++documents > 1) {
            l->errors++;
            if (l->err)
                fprintf(l->err, "%s:%lu: a second YAML document begins here; the file holds one\n",
                        l->path, line);
            r = -1;
        }
        if (r < 0 || type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&parser);
    return r;
}

static int out_of_memory(const struct yaml_loader *l)
{
    if (l->err)
        fprintf(l->err, "%s: out of memory\n", l->path);
    return -ENOMEM;
}

/*
 * The whole file into *text (malloc'd, the caller frees it), *len its size. Returns 0, or
 * a negative errno reported as "path: cannot open|read <what>: reason".
 */
static int read_all(const struct yaml_loader *l, const char *what, char **text, size_t *len)
{
    size_t size = 0, cap = 4096;
    char *buf = NULL;
    const char *verb = "open";
    FILE *f;
    int e = 0;

    if (!(f = fopen(l->path, "rb"))) {
        e = errno;
        goto err;
    }
    verb = "read";
    for (;;) {
        size_t n;
        if (!buf || size == cap) {
            char *more;
            if (buf)
                cap *= 2;
            if (cap > YAML_LOADER_SIZE_MAX + 1)
                cap = YAML_LOADER_SIZE_MAX + 1;
            if (!(more = realloc(buf, cap))) {
                e = ENOMEM;
                goto err;
            }
            buf = more;
        }
        n = fread(buf + size, 1, cap - size, f);
        size += n;
        if (size > YAML_LOADER_SIZE_MAX) {
            e = EFBIG;
            goto err;
        }
        if (n == 0) {
            if (ferror(f)) {
                e = errno ? errno : EIO;
                goto err;
            }
            break;
        }
    }
    fclose(f);
    *text = buf;
    *len = size;
    return 0;
err:
    if (f)
        fclose(f);
    free(buf);
    if (l->err && e == EFBIG)
        fprintf(l->err, "%s: cannot read%s%s: larger than %d bytes\n", l->path, what ? " " : "",
                what ? what : "", YAML_LOADER_SIZE_MAX);
    else if (l->err)
        fprintf(l->err, "%s: cannot %s%s%s: %s\n", l->path, verb, what ? " " : "",
                what ? what : "", strerror(e));
    return -e;
}

int yaml_loader_read_file(struct yaml_loader *l, const char *what, yaml_document_t *doc)
{
    size_t len = 0;
    char *text = NULL;
    int r;

    if ((r = read_all(l, what, &text, &len)) < 0)
        return r;
    r = yaml_loader_read_text(l, text, len, doc);
    free(text);
    return r;
}

int yaml_loader_read_text(struct yaml_loader *l, const char *text, size_t len,
                          yaml_document_t *doc)
{
    yaml_parser_t parser;
    int r;

    if ((r = check_events(l, text, len)) < 0)
        return r == -ENOMEM ? out_of_memory(l) : r;
    if (!yaml_parser_initialize(&parser))
        return out_of_memory(l);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    r = parse(l, &parser, doc);
    yaml_parser_delete(&parser);
    return r;
}

void yaml_loader_report(struct yaml_loader *l, const yaml_node_t *node, const char *fmt, ...)
{
    va_list ap;

    l->errors++;
    if (!l->err)
        return;
    va_start(ap, fmt);
    yaml_vreport(l->err, l->path, node, fmt, ap);
    va_end(ap);
}

yaml_node_t *yaml_loader_node(const struct yaml_loader *l, int index)
{
    return yaml_document_get_node(l->doc, index);
}

const char *yaml_loader_text(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : "";
}

bool yaml_loader_is_plain(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE &&
           node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool yaml_loader_is_null(const yaml_node_t *node)
{
    static const char *const spellings[] = {"", "~", "null", "Null", "NULL"};
    const char *v = yaml_loader_text(node);

    if (!yaml_loader_is_plain(node))
        return false;
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++)
        if (strcmp(v, spellings[i]) == 0)
            return true;
    return false;
}

int yaml_loader_resolve_path(const struct yaml_loader *l, char *p, size_t size)
{
    const char *slash = strrchr(l->path, '/');
    char joined[4096];
    int n;

    if (!p[0] || p[0] == '/' || !slash)
        return 0;
    n = snprintf(joined, sizeof(joined), "%.*s/%s", (int)(slash - l->path), l->path, p);
    if (n < 0 || (size_t)n >= size || (size_t)n >= sizeof(joined))
        return -ENAMETOOLONG;
    memcpy(p, joined, (size_t)n + 1);
    return 0;
}

bool yaml_loader_seen_before(const struct yaml_loader *l, const yaml_node_t *map,
                             const yaml_node_pair_t *pair)
{
    const yaml_node_t *key = yaml_loader_node(l, pair->key);

    if (key->type != YAML_SCALAR_NODE)
        return false;
    for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
        const yaml_node_t *prev = yaml_loader_node(l, q->key);
        if (prev->type == YAML_SCALAR_NODE &&
            strcmp(yaml_loader_text(prev), yaml_loader_text(key)) == 0)
            return true;
    }
    return false;
}
