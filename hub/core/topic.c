// SPDX-License-Identifier: MIT
/*
 * Topic parsing. Each level has its own alphabet and length limit; a topic with more
 * or fewer than four levels is rejected, as is any empty level.
 */
#include "topic.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static const char *const category_names[] = {
#define X(name, text) text,
    EVENT_CATEGORY_MAP(X)
#undef X
};

const char *event_category_name(enum event_category category)
{
    return category_names[category];
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9][a-z0-9-]* */
static bool municipality_ok(const char *s, size_t n)
{
    if (n == 0 || n > TOPIC_MUNICIPALITY_MAX || !is_lower_alnum(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

/* [a-z][a-z0-9_]* */
static bool type_ok(const char *s, size_t n)
{
    if (n == 0 || n > TOPIC_TYPE_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '_')
            return false;
    return true;
}

/* [A-Za-z0-9._-]{1,128} */
static bool subject_ok(const char *s, size_t n)
{
    if (n == 0 || n > TOPIC_SUBJECT_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int topic_parse(const char *topic, struct topic *out, const char **why)
{
    const char *level[4];
    size_t len[4];
    const char *p = topic;
    int i;

    for (i = 0; i < 4; i++) {
        const char *slash = strchr(p, '/');
        level[i] = p;
        if (!slash) {
            len[i] = strlen(p);
            break;
        }
        len[i] = (size_t)(slash - p);
        p = slash + 1;
    }
    if (i != 3) {
        *why = "topic must have four levels: <municipality>/<category>/<type>/<subject>";
        return -EINVAL;
    }
    if (!municipality_ok(level[0], len[0])) {
        *why = "municipality must match [a-z0-9][a-z0-9-]* (at most 63 characters)";
        return -EINVAL;
    }
    for (i = 0; i < EVENT_CATEGORY_COUNT; i++) {
        if (strlen(category_names[i]) == len[1] && memcmp(category_names[i], level[1], len[1]) == 0)
            break;
    }
    if (i == EVENT_CATEGORY_COUNT) {
        *why = "category must be sensor, service or citizen";
        return -EINVAL;
    }
    out->category = (enum event_category)i;
    if (!type_ok(level[2], len[2])) {
        *why = "type must match [a-z][a-z0-9_]* (at most 63 characters)";
        return -EINVAL;
    }
    if (!subject_ok(level[3], len[3])) {
        *why = "subject must match [A-Za-z0-9._-]{1,128}";
        return -EINVAL;
    }
    memcpy(out->municipality, level[0], len[0]);
    out->municipality[len[0]] = '\0';
    memcpy(out->type, level[2], len[2]);
    out->type[len[2]] = '\0';
    memcpy(out->subject, level[3], len[3]);
    out->subject[len[3]] = '\0';
    strcpy(out->event_type, category_names[out->category]);
    strcat(out->event_type, ".");
    strcat(out->event_type, out->type);
    return 0;
}

bool topic_filter_ok(const char *s)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++) {
        bool level_start = p == s || p[-1] == '/';
        bool level_end = p[1] == '\0' || p[1] == '/';
        if (*p == '+' && !(level_start && level_end))
            return false;
        if (*p == '#' && !(level_start && p[1] == '\0'))
            return false;
    }
    return true;
}
