// SPDX-License-Identifier: MIT
/*
 * One HTTP GET of the PEGELONLINE API on a libcurl easy handle, run by the caller's
 * multi handle: the request headers for HTTP caching (If-None-Match,
 * If-Modified-Since), and what the answer brings: status, body (bounded), ETag,
 * Last-Modified, Cache-Control max-age and Retry-After.
 */
#ifndef RHEINHUB_PEGEL_FETCH_H
#define RHEINHUB_PEGEL_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#define FETCH_BODY_MAX (4u << 20) /* a day of 1-minute values is about 100 KiB */
#define FETCH_VALIDATOR_MAX 256
#define FETCH_WAIT_MAX_S 86400L /* the longest max-age or Retry-After taken: a day */

struct fetch {
    CURL *easy;
    struct curl_slist *headers;
    char url[1024];
    char *body;            /* NUL-terminated; owned */
    size_t len, cap;
    bool too_large;
    long status;           /* HTTP status, 0 when no answer */
    CURLcode result;       /* CURLE_OK, or the transfer's error */
    char etag[FETCH_VALIDATOR_MAX];
    char last_modified[FETCH_VALIDATOR_MAX];
    long max_age_s;        /* Cache-Control max-age, -1 when absent; <= FETCH_WAIT_MAX_S */
    long retry_after_s;    /* Retry-After in seconds, -1 when absent; <= FETCH_WAIT_MAX_S */
    char location[1024];   /* a redirect's target (not followed), "" when none */
    char error[CURL_ERROR_SIZE];
};

/*
 * Prepares a GET of url with a timeout, the CA file (may be ""), and the validators of
 * an earlier answer (may be ""). A redirect is not followed: its status ends the
 * request, with its target in location. Returns 0, or -ENOMEM. The caller adds f->easy
 * to its multi handle, and calls fetch_done when the transfer ends, fetch_close at the
 * end.
 */
int fetch_start(struct fetch *f, const char *url, int timeout_s, const char *ca_file,
                const char *etag, const char *last_modified);

/* Reads the status (and a redirect's target) after the transfer ended with result. */
void fetch_done(struct fetch *f, CURLcode result);

/* Frees the handle, the header list and the body. Accepts a closed fetch. */
void fetch_close(struct fetch *f);

#endif
