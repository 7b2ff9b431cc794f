// SPDX-License-Identifier: MIT
/*
 * A libcurl GET (fetch.h). The body is collected up to FETCH_BODY_MAX; beyond it the
 * transfer is stopped. Response headers are read case-insensitively; only the last
 * response's count (a 100 Continue or a redirect starts over). The waits an answer
 * asks for (max-age, Retry-After) are taken up to FETCH_WAIT_MAX_S.
 */
#include "fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define USER_AGENT "rheinhub-source-pegelonline/" RHEINHUB_VERSION

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    struct fetch *f = user;
    size_t add = size * n;

    if (f->len + add > FETCH_BODY_MAX) {
        f->too_large = true;
        return 0; /* stops the transfer with CURLE_WRITE_ERROR */
    }
    if (f->len + add + 1 > f->cap) {
        size_t cap = f->cap ? f->cap : 8192;
        char *p;
        while (cap < f->len + add + 1)
            cap *= 2;
        if (!(p = realloc(f->body, cap)))
            return 0;
        f->body = p;
        f->cap = cap;
    }
    memcpy(f->body + f->len, data, add);
    f->len += add;
    f->body[f->len] = '\0';
    return add;
}

/* Copies the header's value (trimmed) into out[size] when line is "<name>: value". */
static bool header_value(const char *line, size_t n, const char *name, char *out, size_t size)
{
    size_t k = strlen(name);
    const char *v, *end = line + n;

    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return false;
    for (v = line + k + 1; v < end && (*v == ' ' || *v == '\t'); v++)
        ;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    if ((size_t)(end - v) >= size)
        return false;
    memcpy(out, v, (size_t)(end - v));
    out[end - v] = '\0';
    return true;
}

/*
 * Reads the seconds at p (decimal digits, as max-age and Retry-After give them) into
 * *out, at most FETCH_WAIT_MAX_S: a larger number, however many digits, is taken as
 * that, so that a wait in ms cannot overflow. Returns false when p starts with no digit.
 */
static bool seconds_value(const char *p, long *out, const char **end)
{
    long s = 0;

    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++)
        if (s < FETCH_WAIT_MAX_S)
            s = s * 10 + (*p - '0');
    *out = s < FETCH_WAIT_MAX_S ? s : FETCH_WAIT_MAX_S;
    *end = p;
    return true;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    struct fetch *f = user;
    size_t len = size * n;
    char value[FETCH_VALIDATOR_MAX];

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue or a redirect): forget the last one's. */
        f->etag[0] = f->last_modified[0] = '\0';
        f->max_age_s = f->retry_after_s = -1;
        return len;
    }
    if (header_value(data, len, "ETag", value, sizeof(value)))
        memcpy(f->etag, value, sizeof(value));
    else if (header_value(data, len, "Last-Modified", value, sizeof(value)))
        memcpy(f->last_modified, value, sizeof(value));
    else if (header_value(data, len, "Cache-Control", value, sizeof(value))) {
        const char *p = strcasestr(value, "max-age="), *end;
        long s;
        if (strcasestr(value, "no-store") || strcasestr(value, "no-cache"))
            f->max_age_s = 0;
        else if (p && seconds_value(p + 8, &s, &end))
            f->max_age_s = s;
    } else if (header_value(data, len, "Retry-After", value, sizeof(value))) {
        const char *end;
        long s;
        if (seconds_value(value, &s, &end) && *end == '\0')
            f->retry_after_s = s;
    }
    return len;
}

int fetch_start(struct fetch *f, const char *url, int timeout_s, const char *ca_file,
                const char *etag, const char *last_modified)
{
    char line[FETCH_VALIDATOR_MAX + 32];

    memset(f, 0, sizeof(*f));
    f->max_age_s = f->retry_after_s = -1;
    snprintf(f->url, sizeof(f->url), "%s", url);
    if (!(f->easy = curl_easy_init()))
        return -ENOMEM;
    f->headers = curl_slist_append(NULL, "Accept: application/json");
    if (f->headers && etag && etag[0]) {
        snprintf(line, sizeof(line), "If-None-Match: %s", etag);
        f->headers = curl_slist_append(f->headers, line);
    }
    if (f->headers && last_modified && last_modified[0]) {
        snprintf(line, sizeof(line), "If-Modified-Since: %s", last_modified);
        f->headers = curl_slist_append(f->headers, line);
    }
    if (!f->headers) {
        fetch_close(f);
        return -ENOMEM;
    }
    curl_easy_setopt(f->easy, CURLOPT_URL, f->url);
    curl_easy_setopt(f->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(f->easy, CURLOPT_HTTPHEADER, f->headers);
    curl_easy_setopt(f->easy, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(f->easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(f->easy, CURLOPT_TIMEOUT_MS, (long)timeout_s * 1000L);
    curl_easy_setopt(f->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_s * 1000L);
    curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(f->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(f->easy, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->error);
    curl_easy_setopt(f->easy, CURLOPT_PRIVATE, f);
    if (ca_file && ca_file[0])
        curl_easy_setopt(f->easy, CURLOPT_CAINFO, ca_file);
    return 0;
}

void fetch_done(struct fetch *f, CURLcode result)
{
    f->result = result;
    if (result == CURLE_OK)
        curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &f->status);
    /* The API moved (301, 308) or sends us elsewhere: say where, so that the operator
     * can check it and set api.base_url. Following it unasked could leave https. */
    if (result == CURLE_OK && f->status >= 300 && f->status < 400) {
        char *target = NULL;
        if (curl_easy_getinfo(f->easy, CURLINFO_REDIRECT_URL, &target) == CURLE_OK && target)
            snprintf(f->location, sizeof(f->location), "%s", target);
    }
    if (!f->error[0] && result != CURLE_OK)
        snprintf(f->error, sizeof(f->error), "%s", curl_easy_strerror(result));
    if (f->too_large)
        snprintf(f->error, sizeof(f->error), "answer larger than %u bytes", FETCH_BODY_MAX);
}

void fetch_close(struct fetch *f)
{
    if (f->easy)
        curl_easy_cleanup(f->easy);
    curl_slist_free_all(f->headers);
    free(f->body);
    f->easy = NULL;
    f->headers = NULL;
    f->body = NULL;
    f->len = f->cap = 0;
}
