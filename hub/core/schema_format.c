// SPDX-License-Identifier: MIT
/*
 * Format checks, each a small hand-written parser of the format's grammar, without
 * allocation: date-time, date and time (RFC 3339, through rfc3339.c), email
 * (RFC 5321 mailbox: dot-atom or quoted local part, host name or address literal),
 * hostname (RFC 1123), ipv4 (dotted quad, no leading zeros), ipv6 (RFC 4291 text
 * forms, no zone), uri and uri-reference (RFC 3986), json-pointer (RFC 6901) and
 * relative-json-pointer.
 */
#include "schema_format.h"

#include <string.h>

#include "rfc3339.h"

static const char *const format_names[] = {"",
#define SCHEMA_FORMAT_TEXT(name, text) text,
                                           SCHEMA_FORMAT_MAP(SCHEMA_FORMAT_TEXT)
#undef SCHEMA_FORMAT_TEXT
};

enum schema_format schema_format_find(const char *name)
{
    for (size_t i = 1; i < sizeof(format_names) / sizeof(format_names[0]); i++)
        if (strcmp(format_names[i], name) == 0)
            return (enum schema_format)i;
    return SCHEMA_FORMAT_NONE;
}

const char *schema_format_name(enum schema_format f)
{
    return format_names[f];
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_sub_delim(char c)
{
    return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

/* Dotted quad: four decimal numbers 0..255, no leading zeros (they read as octal). */
static bool ipv4_valid(const char *s, size_t n)
{
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        size_t start = i;
        int v = 0;

        if (part > 0) {
            if (i >= n || s[i] != '.')
                return false;
            start = ++i;
        }
        while (i < n && is_digit(s[i]) && i - start < 3)
            v = v * 10 + (s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
            return false;
    }
    return i == n;
}

/* RFC 4291 section 2.2: eight groups, one "::" for a run of zeros, an IPv4 tail. */
static bool ipv6_valid(const char *s, size_t n)
{
    int groups = 0;
    bool compressed = false;
    size_t i = 0;

    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        compressed = true;
        i = 2;
    } else if (n == 0 || s[0] == ':') {
        return false;
    }
    while (i < n) {
        size_t j = i;

        while (j < n && is_hex(s[j]) && j - i < 5)
            j++;
        if (j < n && s[j] == '.') {
            if (!ipv4_valid(s + i, n - i))
                return false;
            groups += 2;
            break;
        }
        if (j == i || j - i > 4)
            return false;
        groups++;
        i = j;
        if (i == n)
            break;
        if (s[i] != ':' || ++i == n)
            return false;
        if (s[i] == ':') {
            if (compressed)
                return false;
            compressed = true;
            i++;
        }
    }
    return compressed ? groups <= 7 : groups == 8;
}

/* RFC 1123 host name: labels of 1..63 letters, digits and inner hyphens; 253 in all. */
static bool hostname_valid(const char *s, size_t n)
{
    size_t label = 0;

    if (n > 0 && s[n - 1] == '.')
        n--; /* a fully qualified name's root */
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if (is_alpha(s[i]) || is_digit(s[i]) || (s[i] == '-' && label > 0)) {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

static bool is_atext(char c)
{
    return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/*
 * RFC 5321 Mailbox: Local-part "@" ( Domain / address-literal ). The local part is a
 * dot-atom or a quoted string; the domain a host name or [IPv4] or [IPv6:...].
 */
static bool email_valid(const char *s, size_t n)
{
    size_t i = 0, at;

    if (n > 0 && s[0] == '"') {
        for (i = 1; i < n && s[i] != '"'; i++) {
            if (s[i] == '\\' && ++i == n)
                return false;
            if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
                return false;
        }
        if (i == n || i + 1 >= n || s[i + 1] != '@')
            return false;
        at = i + 1;
    } else {
        for (; i < n && s[i] != '@'; i++) {
            if (s[i] == '.') {
                if (i == 0 || s[i - 1] == '.')
                    return false;
            } else if (!is_atext(s[i])) {
                return false;
            }
        }
        if (i == 0 || i == n || s[i - 1] == '.')
            return false;
        at = i;
    }
    if (at > 64)
        return false;
    s += at + 1;
    n -= at + 1;
    if (n > 2 && s[0] == '[' && s[n - 1] == ']') {
        if (n > 7 && strncmp(s + 1, "IPv6:", 5) == 0)
            return ipv6_valid(s + 6, n - 7);
        return ipv4_valid(s + 1, n - 2);
    }
    return n > 0 && s[n - 1] != '.' && hostname_valid(s, n);
}

/* Whether s[*i] starts a pct-encoded triplet or is one of the allowed characters. */
static bool uri_char(const char *s, size_t n, size_t *i, const char *extra)
{
    char c = s[*i];

    if (c == '%') {
        if (*i + 2 >= n || !is_hex(s[*i + 1]) || !is_hex(s[*i + 2]))
            return false;
        *i += 2;
        return true;
    }
    return is_unreserved(c) || is_sub_delim(c) || (c != '\0' && strchr(extra, c));
}

/* RFC 3986 IP-literal: "[" ( IPv6address / IPvFuture ) "]", without the brackets. */
static bool ip_literal_valid(const char *s, size_t n)
{
    size_t i = 1;

    if (n == 0)
        return false;
    if (s[0] != 'v' && s[0] != 'V')
        return ipv6_valid(s, n);
    while (i < n && is_hex(s[i]))
        i++;
    if (i == 1 || i >= n || s[i] != '.' || ++i == n)
        return false;
    for (; i < n; i++)
        if (!is_unreserved(s[i]) && !is_sub_delim(s[i]) && s[i] != ':')
            return false;
    return true;
}

/* authority = [ userinfo "@" ] host [ ":" port ] */
static bool authority_valid(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    size_t i = 0;

    if (at) {
        for (; s + i < at; i++)
            if (!uri_char(s, (size_t)(at - s), &i, ":"))
                return false;
        i++;
    }
    if (i < n && s[i] == '[') {
        const char *close = memchr(s + i, ']', n - i);

        if (!close || !ip_literal_valid(s + i + 1, (size_t)(close - s) - i - 1))
            return false;
        i = (size_t)(close - s) + 1;
    } else {
        for (; i < n && s[i] != ':'; i++)
            if (!uri_char(s, n, &i, ""))
                return false;
    }
    if (i < n && s[i] == ':')
        for (i++; i < n; i++)
            if (!is_digit(s[i]))
                return false;
    return i == n;
}

/* RFC 3986 URI (with a scheme) or, when !absolute, URI-reference. */
static bool uri_valid(const char *s, size_t n, bool absolute)
{
    size_t i = 0, j = 0;
    bool scheme = false, authority = false;

    if (n > 0 && is_alpha(s[0])) {
        while (j < n &&
               (is_alpha(s[j]) || is_digit(s[j]) || s[j] == '+' || s[j] == '-' || s[j] == '.'))
            j++;
        if (j < n && s[j] == ':') {
            scheme = true;
            i = j + 1;
        }
    }
    if (absolute && !scheme)
        return false;
    if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        size_t start = i += 2;

        while (i < n && s[i] != '/' && s[i] != '?' && s[i] != '#')
            i++;
        if (!authority_valid(s + start, i - start))
            return false;
        authority = true;
    }
    /* path; a relative path's first segment must not hold ":" (path-noscheme) */
    for (bool first = !scheme && !authority; i < n && s[i] != '?' && s[i] != '#'; i++) {
        if (s[i] == '/')
            first = false;
        else if (s[i] == ':' && first)
            return false;
        else if (!uri_char(s, n, &i, ":@"))
            return false;
    }
    if (i < n && s[i] == '?')
        for (i++; i < n && s[i] != '#'; i++)
            if (!uri_char(s, n, &i, ":@/?"))
                return false;
    if (i < n && s[i] == '#')
        for (i++; i < n; i++)
            if (!uri_char(s, n, &i, ":@/?"))
                return false;
    return true;
}

/* RFC 6901: "" or ("/" reference-token)*, where "~" is followed by "0" or "1". */
static bool json_pointer_valid(const char *s, size_t n)
{
    if (n > 0 && s[0] != '/')
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '~' && (i + 1 == n || (s[i + 1] != '0' && s[i + 1] != '1')))
            return false;
    return true;
}

/* A non-negative integer (no leading zeros), then "#" or a JSON pointer. */
static bool relative_json_pointer_valid(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && is_digit(s[i]))
        i++;
    if (i == 0 || (s[0] == '0' && i > 1))
        return false;
    if (i < n && s[i] == '#')
        return i + 1 == n;
    return json_pointer_valid(s + i, n - i);
}

bool schema_format_check(enum schema_format f, const char *s, size_t n)
{
    switch (f) {
    case SCHEMA_FORMAT_NONE:
        return true;
    case SCHEMA_FORMAT_DATE_TIME:
        return rfc3339_date_time_valid(s, n);
    case SCHEMA_FORMAT_DATE:
        return rfc3339_date_valid(s, n);
    case SCHEMA_FORMAT_TIME:
        return rfc3339_time_valid(s, n);
    case SCHEMA_FORMAT_EMAIL:
        return email_valid(s, n);
    case SCHEMA_FORMAT_HOSTNAME:
        return hostname_valid(s, n);
    case SCHEMA_FORMAT_IPV4:
        return ipv4_valid(s, n);
    case SCHEMA_FORMAT_IPV6:
        return ipv6_valid(s, n);
    case SCHEMA_FORMAT_URI:
        return uri_valid(s, n, true);
    case SCHEMA_FORMAT_URI_REFERENCE:
        return uri_valid(s, n, false);
    case SCHEMA_FORMAT_JSON_POINTER:
        return json_pointer_valid(s, n);
    case SCHEMA_FORMAT_RELATIVE_JSON_POINTER:
        return relative_json_pointer_valid(s, n);
    }
    return true;
}
