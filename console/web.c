// SPDX-License-Identifier: MIT
/*
 * The HTTP server (web.h). libmicrohttpd runs one internal thread with epoll; the
 * page's files come from memory, /api/events is a Server-Sent-Events stream read from
 * the board, everything else under /api/ goes to api.c on a lane of worker threads
 * (jobs.h): its connection is suspended while the job runs and resumed with the reply,
 * so that a request that waits (a login on a slow broker, a read of a locked table)
 * never holds up this thread, the page or the live streams. POST requests (login,
 * logout, acknowledge) share one thread, so the login throttle has a single user;
 * reads have API_READ_THREADS; /healthz, which opens the database, runs on those too,
 * while /metrics is rendered here (probe.h); neither needs a login. A stream's
 * connection is suspended while the board has nothing for it and resumed by the MQTT
 * thread when something arrives; the board's lock orders the two (board.h). Every
 * response carries a strict Content-Security-Policy: the page loads only its own files.
 */
#include "web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "api.h"
#include "jobs.h"
#include "log.h"
#include "probe.h"

#define BODY_MAX 16384           /* bytes of a POST body */
#define CONNECTION_MEMORY 32768  /* per connection: request, headers, send buffer */
#define CONNECTION_TIMEOUT_S 120 /* an idle connection that is not a suspended stream */
#define STREAM_BLOCK 4096
#define API_READ_THREADS 3      /* GET requests of the API at once */

struct web {
    struct MHD_Daemon *daemon;
    struct console *c;
    int port;
    struct log_repeat log_repeat; /* the HTTP server's messages */
    struct jobs *posts;           /* login, logout, acknowledge: one thread */
    struct jobs *reads;           /* the API's GET requests */
};

enum request_state {
    REQUEST_NEW,     /* headers or body arriving */
    REQUEST_RUNNING, /* on a lane, its connection suspended */
    REQUEST_DONE,    /* reply filled by the job; the connection resumed */
};

/*
 * Per request: the POST body as it arrives, then the API job and its reply. The job
 * thread writes req and reply before it resumes the connection; libmicrohttpd's
 * resume takes a lock that the HTTP thread takes too before it calls on_request again.
 */
struct request {
    struct job job;
    struct web *w;
    struct MHD_Connection *conn;
    char *body;
    size_t len;
    bool too_large;
    enum request_state state;
    char client[INET6_ADDRSTRLEN + 1];
    struct api_request req;
    struct api_reply reply; /* reply.body owned until sent */
};

/* One live stream: the response's reader callback data. */
struct stream {
    struct console *c;
    struct board_client *client;
};

static void headers(struct web *w, struct MHD_Response *resp, const char *type)
{
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; connect-src 'self'; media-src 'self'; "
                            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (w->c->tls)
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
}

/* Queues resp with status, counted by its class for /metrics. */
static enum MHD_Result queue(struct web *w, struct MHD_Connection *conn, unsigned status,
                             struct MHD_Response *resp)
{
    enum MHD_Result r = MHD_queue_response(conn, status, resp);

    if (r == MHD_YES)
        counters_response(&w->c->counters, status);
    return r;
}

/* A response of len bytes at data; with MHD_RESPMEM_MUST_FREE, data is freed in any case. */
static enum MHD_Result send_buffer(struct web *w, struct MHD_Connection *conn, unsigned status,
                                   const char *type, const char *data, size_t len,
                                   enum MHD_ResponseMemoryMode mode, const char *cache)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)data, mode);
    enum MHD_Result r;

    if (!resp) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free((void *)data);
        return MHD_NO;
    }
    headers(w, resp, type);
    MHD_add_response_header(resp, "Cache-Control", cache);
    r = queue(w, conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result send_text(struct web *w, struct MHD_Connection *conn, unsigned status,
                                 const char *text)
{
    return send_buffer(w, conn, status, "text/plain; charset=utf-8", text, strlen(text),
                       MHD_RESPMEM_PERSISTENT, "no-store");
}

static enum MHD_Result send_file(struct web *w, struct MHD_Connection *conn,
                                 const struct page_file *f)
{
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    struct MHD_Response *resp;
    enum MHD_Result r;
    unsigned status = MHD_HTTP_OK;

    if (inm && strcmp(inm, f->etag) == 0) {
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_MODIFIED;
    } else {
        resp = MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    headers(w, resp, f->type);
    MHD_add_response_header(resp, "ETag", f->etag);
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    r = queue(w, conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* --- the live stream -------------------------------------------------------------------- */

void web_park(void *conn)
{
    MHD_suspend_connection(conn);
}

void web_wake(void *conn)
{
    MHD_resume_connection(conn);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    ssize_t n = board_read(s->c->board, s->client, buf, max);

    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void stream_free(void *cls)
{
    struct stream *s = cls;

    board_detach(s->c->board, s->client);
    free(s);
}

static enum MHD_Result open_stream(struct web *w, struct MHD_Connection *conn, const char *token)
{
    struct stream *s = calloc(1, sizeof(*s));
    struct MHD_Response *resp;
    enum MHD_Result r;

    if (!s)
        return MHD_NO;
    s->c = w->c;
    if (!(s->client = board_attach(w->c->board, conn, token))) {
        free(s);
        return send_text(w, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
    }
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, s,
                                             stream_free);
    if (!resp) {
        board_detach(w->c->board, s->client);
        free(s);
        return MHD_NO;
    }
    headers(w, resp, "text/event-stream; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    r = queue(w, conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return r;
}

/* --- the API ------------------------------------------------------------------------------ */

static const char *query_arg(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

static void client_address(struct MHD_Connection *conn, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(out, size, "?");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)size);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)size);
}

/*
 * A POST from another site: an Origin header that is not this server. Browsers send
 * Origin with every POST; SameSite=Strict and the CSRF token are the other two locks.
 */
static bool foreign_origin(struct web *w, struct MHD_Connection *conn)
{
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    char expect[512];

    if (!origin)
        return false;
    if (!host)
        return true;
    snprintf(expect, sizeof(expect), "%s://%s", w->c->tls ? "https" : "http", host);
    return strcmp(origin, expect) != 0;
}

/* A job: the API request, on a lane's thread. */
static void api_job(struct job *job)
{
    struct request *rq = (struct request *)job; /* job is the first member */

    api_handle(rq->w->c, &rq->req, &rq->reply);
    rq->state = REQUEST_DONE;
    MHD_resume_connection(rq->conn);
}

/* A job: /healthz, on a read lane's thread (its database check may wait). */
static void health_job(struct job *job)
{
    struct request *rq = (struct request *)job; /* job is the first member */

    probe_health(rq->w->c, &rq->reply);
    rq->state = REQUEST_DONE;
    MHD_resume_connection(rq->conn);
}

/*
 * Runs the request's job on lane and suspends the connection until the job has its
 * reply. When the lane is stopping, the reply is a 503 of its own.
 */
static enum MHD_Result lane_start(struct web *w, struct MHD_Connection *conn, struct jobs *lane,
                                  job_cb run, struct request *rq)
{
    rq->w = w;
    rq->conn = conn;
    rq->job.run = run;
    rq->state = REQUEST_RUNNING;
    /* Suspended before it is queued: the job may resume it at once. */
    MHD_suspend_connection(conn);
    if (jobs_submit(lane, &rq->job) < 0) {
        rq->reply.status = MHD_HTTP_SERVICE_UNAVAILABLE;
        rq->reply.body = json_pack("{s:s,s:s}", "error", "stopping", "message",
                                   "the console is stopping");
        rq->state = REQUEST_DONE;
        MHD_resume_connection(conn); /* on_request is called again and sends it */
    }
    return MHD_YES;
}

/* Starts the API request on its lane: the POST lane or a read lane. */
static enum MHD_Result api_start(struct web *w, struct MHD_Connection *conn, const char *url,
                                 const char *method, struct request *rq)
{
    bool post = strcmp(method, "POST") == 0;

    client_address(conn, rq->client, sizeof(rq->client));
    rq->req = (struct api_request){.method = method, .path = url + 4, .arg = query_arg,
                                   .conn = conn, .client = rq->client};
    rq->req.session = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, API_COOKIE);
    rq->req.csrf = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
    if (rq->body) {
        rq->req.body = rq->body;
        rq->req.body_len = rq->len;
    }
    return lane_start(w, conn, post ? w->posts : w->reads, api_job, rq);
}

/* /metrics: the Prometheus text, rendered here (no waiting, probe.h). */
static enum MHD_Result send_metrics(struct web *w, struct MHD_Connection *conn)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    if (!out)
        return send_text(w, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    probe_metrics(w->c, out);
    if (fclose(out) != 0) {
        free(text);
        return send_text(w, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    return send_buffer(w, conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
                       len, MHD_RESPMEM_MUST_FREE, "no-store");
}

/* The job's reply as the response. */
static enum MHD_Result api_reply(struct web *w, struct MHD_Connection *conn, struct request *rq)
{
    struct api_reply *reply = &rq->reply;
    struct MHD_Response *resp;
    char retry[16], *text;
    enum MHD_Result r;

    text = reply->text ? reply->text : reply->body ? json_dumps(reply->body, JSON_COMPACT) : NULL;
    reply->text = NULL;
    json_decref(reply->body);
    reply->body = NULL;
    if (!text)
        return send_text(w, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    headers(w, resp, "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (reply->cookie[0])
        MHD_add_response_header(resp, "Set-Cookie", reply->cookie);
    if (reply->retry_after_s > 0) {
        snprintf(retry, sizeof(retry), "%d", reply->retry_after_s);
        MHD_add_response_header(resp, "Retry-After", retry);
    }
    r = queue(w, conn, (unsigned)reply->status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct web *w = cls;
    struct request *rq = *con_cls;
    bool post = strcmp(method, "POST") == 0;
    const struct page_file *f;

    if (!rq) { /* first call: headers only */
        if (!(rq = calloc(1, sizeof(*rq))))
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (rq->state == REQUEST_DONE)
        return api_reply(w, conn, rq);
    if (rq->state == REQUEST_RUNNING)
        return MHD_YES; /* not reached while suspended; nothing to do */
    if (post && *upload_size > 0) {
        if (rq->len + *upload_size > BODY_MAX) {
            rq->too_large = true;
        } else if (!rq->too_large) {
            char *grown = realloc(rq->body, rq->len + *upload_size + 1);
            if (!grown)
                return MHD_NO;
            rq->body = grown;
            memcpy(rq->body + rq->len, upload, *upload_size);
            rq->len += *upload_size;
            rq->body[rq->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (strncmp(url, "/api/", 5) == 0) {
        if (!post && strcmp(method, "GET") != 0)
            return send_text(w, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or POST\n");
        if (post) {
            const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                           "Content-Type");
            if (rq->too_large)
                return send_text(w, conn, 413, "body too large\n");
            if (!type || strncmp(type, "application/json", 16) != 0)
                return send_text(w, conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                 "Content-Type must be application/json\n");
            if (foreign_origin(w, conn))
                return send_text(w, conn, MHD_HTTP_FORBIDDEN, "cross-site request refused\n");
        }
        if (!post && strcmp(url, "/api/events") == 0) {
            const char *token = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, API_COOKIE);
            if (!sessions_get(w->c->sessions, token, false, NULL))
                return send_text(w, conn, MHD_HTTP_UNAUTHORIZED, "not logged in\n");
            return open_stream(w, conn, token);
        }
        return api_start(w, conn, url, method, rq);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_text(w, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
    /* No login for these two: they say nothing secret (probe.h). */
    if (strcmp(url, "/healthz") == 0)
        return lane_start(w, conn, w->reads, health_job, rq);
    if (strcmp(url, "/metrics") == 0)
        return send_metrics(w, conn);
    if ((f = files_find(w->c->files, url)))
        return send_file(w, conn, f);
    return send_text(w, conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request *rq = *con_cls;

    if (rq) {
        json_decref(rq->reply.body);
        free(rq->reply.text);
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

struct web *web_start(struct console *c, const char *cert_pem, const char *key_pem, char *err,
                      size_t err_size)
{
    struct web *w = calloc(1, sizeof(*w));
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;

    if (!w) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    w->c = c;
    if (!(w->posts = jobs_new(1)) || !(w->reads = jobs_new(API_READ_THREADS))) {
        snprintf(err, err_size, "cannot start the API's threads: %s", strerror(errno));
        jobs_free(w->posts);
        free(w);
        return NULL;
    }
    memset(&ss, 0, sizeof(ss));
    if (strchr(c->cfg->console.bind, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)c->cfg->console.port);
        inet_pton(AF_INET6, c->cfg->console.bind, &a->sin6_addr);
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)c->cfg->console.port);
        inet_pton(AF_INET, c->cfg->console.bind, &a->sin_addr);
    }
    if (cert_pem && key_pem)
        flags |= MHD_USE_TLS;
    w->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, w, MHD_OPTION_EXTERNAL_LOGGER, log_http_server, &w->log_repeat,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->cfg->console.max_clients,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->cfg->console.max_clients_per_address,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
        cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert_pem,
        MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_END);
    if (!w->daemon) {
        snprintf(err, err_size, "cannot listen on %s:%d%s", c->cfg->console.bind,
                 c->cfg->console.port, cert_pem ? " with TLS" : "");
        jobs_free(w->posts);
        jobs_free(w->reads);
        free(w);
        return NULL;
    }
    info = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_BIND_PORT);
    w->port = info ? info->port : c->cfg->console.port;
    return w;
}

int web_port(struct web *w)
{
    return w->port;
}

void web_stop(struct web *w)
{
    if (!w)
        return;
    /*
     * Suspended connections must be resumed before the daemon stops (microhttpd.h):
     * the lanes run what is queued, each job resuming its connection, and refuse more.
     */
    jobs_stop(w->posts);
    jobs_stop(w->reads);
    board_wake_all(w->c->board);
    for (int i = 0; i < 100 && board_clients(w->c->board) > 0; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        board_wake_all(w->c->board);
    }
    MHD_stop_daemon(w->daemon);
    jobs_free(w->posts);
    jobs_free(w->reads);
    free(w);
}
