// SPDX-License-Identifier: MIT
/*
 * The PCRE2 adapter of the validator. ECMA-262 patterns are mapped onto PCRE2 as
 * closely as its options allow:
 *   - PCRE2_UTF: patterns and subjects are Unicode code points, as JSON Schema asks;
 *   - PCRE2_ALT_BSUX: \uhhhh is a code point, \x takes exactly two hex digits;
 *   - PCRE2_DOLLAR_ENDONLY: "$" matches only at the very end, not before a final \n;
 *   - PCRE2_ALLOW_EMPTY_CLASS: "[]" matches nothing and "[^]" any character;
 *   - newlines are CR, LF and CRLF, so that "." excludes both CR and LF;
 *   - \s and \S are widened to ECMA-262's white space and line terminators (PCRE2
 *     without UCP knows only the ASCII ones), except \S inside a character class.
 * Patterns are compiled once (and JIT-compiled where the platform allows); each
 * regex carries its own match data and match context, so a search allocates
 * nothing. A search gives up after SCHEMA_REGEX_MATCH_LIMIT backtracking steps.
 */
#include "schema_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_REGEX_MATCH_LIMIT 1000000
#define SCHEMA_REGEX_HEAP_LIMIT_KIB 8192

/* ECMA-262 WhiteSpace and LineTerminator beyond the ASCII ones PCRE2's \s matches. */
#define ECMA_SPACE "\\s\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"

struct schema_regex {
    pcre2_code *code;
    pcre2_match_data *match;
    pcre2_match_context *context;
    char *source;
};

/*
 * Rewrites the ECMA-262 pattern p[0..n) for PCRE2 (see the file comment) into a new
 * NUL-terminated string of *out_n bytes. Returns NULL when out of memory.
 */
static char *translate(const char *p, size_t n, size_t *out_n)
{
    size_t cap = n * (sizeof(ECMA_SPACE) + 4) + 1, o = 0;
    char *out = malloc(cap);
    int in_class = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];

        if (c == '\\' && i + 1 < n) {
            char e = p[++i];

            if (e == 's' && !in_class) {
                o += (size_t)sprintf(out + o, "[%s]", ECMA_SPACE);
            } else if (e == 's') {
                o += (size_t)sprintf(out + o, "%s", ECMA_SPACE);
            } else if (e == 'S' && !in_class) {
                o += (size_t)sprintf(out + o, "[^%s]", ECMA_SPACE);
            } else {
                out[o++] = '\\';
                out[o++] = e;
            }
            continue;
        }
        out[o++] = c;
        if (c == '[' && !in_class) {
            in_class = 1;
            if (i + 1 < n && p[i + 1] == '^')
                out[o++] = p[++i];
            if (i + 1 < n && p[i + 1] == ']') { /* "[]" and "[^]": an empty class */
                out[o++] = p[++i];
                in_class = 0;
            }
        } else if (c == ']' && in_class) {
            in_class = 0;
        }
    }
    out[o] = '\0';
    *out_n = o;
    return out;
}

struct schema_regex *schema_regex_new(const char *pattern, size_t n, char *err, size_t err_size)
{
    struct schema_regex *re = calloc(1, sizeof(*re));
    pcre2_compile_context *cctx = NULL;
    char *text = NULL;
    size_t text_n, offset;
    int code;

    if (!re || !(re->source = malloc(n + 1)) || !(text = translate(pattern, n, &text_n)) ||
        !(cctx = pcre2_compile_context_create(NULL)))
        goto nomem;
    memcpy(re->source, pattern, n);
    re->source[n] = '\0';
    pcre2_set_newline(cctx, PCRE2_NEWLINE_ANYCRLF);
    re->code = pcre2_compile((PCRE2_SPTR)text, text_n,
                             PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY |
                                 PCRE2_ALLOW_EMPTY_CLASS | PCRE2_NEVER_BACKSLASH_C,
                             &code, &offset, cctx);
    if (!re->code) {
        PCRE2_UCHAR msg[160];

        if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", code);
        /* The offset is in the translated text; it matches the schema's until a \s. */
        snprintf(err, err_size, "%s (near offset %zu)", (const char *)msg, offset < n ? offset : n);
        goto fail;
    }
    /* Without JIT support (or with it disabled) the interpreter is used. */
    (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
    if (!(re->match = pcre2_match_data_create(1, NULL)) ||
        !(re->context = pcre2_match_context_create(NULL)))
        goto nomem;
    pcre2_set_match_limit(re->context, SCHEMA_REGEX_MATCH_LIMIT);
    pcre2_set_heap_limit(re->context, SCHEMA_REGEX_HEAP_LIMIT_KIB);
    /* One search now, so that the interpreter's first frame vector is made here. */
    (void)pcre2_match(re->code, (PCRE2_SPTR) "", 0, 0, 0, re->match, re->context);
    pcre2_compile_context_free(cctx);
    free(text);
    return re;

nomem:
    snprintf(err, err_size, "out of memory");
fail:
    pcre2_compile_context_free(cctx);
    free(text);
    schema_regex_free(re);
    return NULL;
}

void schema_regex_free(struct schema_regex *re)
{
    if (!re)
        return;
    pcre2_match_context_free(re->context);
    pcre2_match_data_free(re->match);
    pcre2_code_free(re->code);
    free(re->source);
    free(re);
}

const char *schema_regex_source(const struct schema_regex *re)
{
    return re->source;
}

int schema_regex_search(const struct schema_regex *re, const char *s, size_t n)
{
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, re->match, re->context);

    if (rc >= 0)
        return 1;
    return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}
