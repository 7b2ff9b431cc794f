// SPDX-License-Identifier: MIT
/*
 * libmicrohttpd on libuv: MHD keeps its sockets in one epoll set; a uv_poll_t
 * watches that set's fd and a timer follows MHD_get_timeout(). Every request is
 * answered at once from a route's render callback; only GET and HEAD are served.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "log.h"

struct http_server {
    struct MHD_Daemon *daemon;
    const struct http_route *routes;
    void *data;
    uv_poll_t poll;
    uv_timer_t timer;
    int open_handles;
    struct log_repeat log_repeat; /* libmicrohttpd's messages */
};

static enum MHD_Result respond(struct MHD_Connection *conn, int status, const char *type,
                               const char *body, size_t len)
{
    struct MHD_Response *resp;
    enum MHD_Result r;

    resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    r = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct http_server *srv = cls;
    static const char not_found[] = "not found: try /healthz or /metrics\n";
    static const char bad_method[] = "only GET is served\n";
    char *body = NULL;
    size_t len = 0;
    FILE *out;
    int status;
    enum MHD_Result r;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method,
                       sizeof(bad_method) - 1);
    for (const struct http_route *rt = srv->routes; rt->path; rt++) {
        if (strcmp(url, rt->path) != 0)
            continue;
        if (!(out = open_memstream(&body, &len)))
            return MHD_NO;
        status = rt->render(srv->data, out);
        if (fclose(out) != 0) {
            free(body);
            return MHD_NO;
        }
        r = respond(conn, status, rt->content_type, body, len);
        free(body);
        return r;
    }
    return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof(not_found) - 1);
}

static void run(struct http_server *srv);

static void on_timer(uv_timer_t *t)
{
    run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    run(p->data);
}

/* Lets MHD do its work, then re-arms the timer for its next deadline. */
static void run(struct http_server *srv)
{
    MHD_UNSIGNED_LONG_LONG timeout;

    MHD_run(srv->daemon);
    if (MHD_get_timeout(srv->daemon, &timeout) == MHD_YES)
        uv_timer_start(&srv->timer, on_timer, timeout, 0);
    else
        uv_timer_stop(&srv->timer);
}

struct http_server *http_server_new(uv_loop_t *loop, const char *bind, int port,
                                    const struct http_route *routes, void *data)
{
    struct http_server *srv = calloc(1, sizeof(*srv));
    struct sockaddr_storage addr;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

    if (!srv)
        return NULL;
    memset(&addr, 0, sizeof(addr));
    if (uv_ip4_addr(bind, port, (struct sockaddr_in *)&addr) != 0) {
        if (uv_ip6_addr(bind, port, (struct sockaddr_in6 *)&addr) != 0) {
            free(srv);
            errno = EINVAL;
            return NULL;
        }
        flags |= MHD_USE_IPv6;
    }
    srv->routes = routes;
    srv->data = data;
    srv->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, srv,
                                   MHD_OPTION_EXTERNAL_LOGGER, log_http_server, &srv->log_repeat,
                                   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                   MHD_OPTION_CONNECTION_LIMIT, 64U,
                                   MHD_OPTION_CONNECTION_TIMEOUT, 10U,
                                   MHD_OPTION_END);
    if (!srv->daemon) {
        free(srv);
        errno = EADDRINUSE;
        return NULL;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || uv_poll_init(loop, &srv->poll, info->epoll_fd) < 0) {
        MHD_stop_daemon(srv->daemon);
        free(srv);
        errno = EIO;
        return NULL;
    }
    uv_timer_init(loop, &srv->timer);
    srv->poll.data = srv;
    srv->timer.data = srv;
    srv->open_handles = 2;
    uv_poll_start(&srv->poll, UV_READABLE, on_poll);
    run(srv);
    return srv;
}

static void on_closed(uv_handle_t *h)
{
    struct http_server *srv = h->data;

    if (--srv->open_handles == 0) {
        MHD_stop_daemon(srv->daemon);
        free(srv);
    }
}

void http_server_close(struct http_server *srv)
{
    if (!srv)
        return;
    uv_close((uv_handle_t *)&srv->poll, on_closed);
    uv_close((uv_handle_t *)&srv->timer, on_closed);
}

void http_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}
