// SPDX-License-Identifier: MIT
/*
 * The JSON API (api.h). Login is a connection to the broker with the operator's own
 * account; state changes (logout, acknowledge) need the session's CSRF token in the
 * X-CSRF-Token header; every other request needs only the session cookie. Reads that
 * the person starts count as activity for the idle timeout; the live stream does not.
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "alert.h"
#include "clock.h"
#include "deadletters.h"
#include "log.h"
#include "text.h"

#define USER_MAX 128
#define PASSWORD_MAX 512
#define COMMENT_MAX 500   /* characters of an acknowledgement's comment */
#define TOPIC_MAX 400

/*
 * An error reply. The message may echo a request's bytes or be cut to fit a buffer,
 * so it goes through text_json: jansson refuses a string that is not UTF-8, and the
 * reply would be a 500 "out of memory" instead of the reason.
 */
static void error(struct api_reply *r, int status, const char *code, const char *message)
{
    r->status = status;
    json_decref(r->body);
    free(r->text);
    r->text = NULL;
    r->body = json_pack("{s:s,s:o*}", "error", code, "message",
                        text_json(message, strlen(message)));
}

static void ok(struct api_reply *r, json_t *body)
{
    r->status = body ? 200 : 500;
    json_decref(r->body);
    free(r->text);
    r->text = NULL;
    r->body = body ? body : json_pack("{s:s,s:s}", "error", "internal", "message", "out of memory");
}

/* A reply of JSON text (taken, freed when sent); NULL: out of memory. */
static void ok_text(struct api_reply *r, char *text)
{
    if (!text) {
        ok(r, NULL);
        return;
    }
    json_decref(r->body);
    r->body = NULL;
    free(r->text);
    r->text = text;
    r->status = 200;
}

/* The account name alphabet of deploy/broker/account: [A-Za-z0-9._-]{1,128}. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > USER_MAX)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* Characters (code points) of a UTF-8 string that jansson has checked. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static json_t *parse_body(const struct api_request *req, struct api_reply *reply)
{
    json_error_t jerr;
    json_t *j;

    if (!req->body || !(j = json_loadb(req->body, req->body_len, 0, &jerr)) || !json_is_object(j)) {
        if (req->body)
            json_decref(j);
        error(reply, 400, "bad_request", "the body must be a JSON object");
        return NULL;
    }
    return j;
}

static void set_cookie(struct console *c, struct api_reply *reply, const char *token, int max_age)
{
    snprintf(reply->cookie, sizeof(reply->cookie),
             "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s", API_COOKIE, token,
             max_age, c->tls ? "; Secure" : "");
}

static void login(struct console *c, const struct api_request *req, struct api_reply *reply)
{
    json_t *body = parse_body(req, reply);
    const char *user, *password;
    struct operator_link *link = NULL;
    struct session_info info;
    enum operator_result res;
    char client_id[200], rnd[17], role[32];
    int64_t wait;
    int r;

    if (!body)
        return;
    user = json_string_value(json_object_get(body, "user"));
    password = json_string_value(json_object_get(body, "password"));
    if (!user || !password || !name_ok(user) || !password[0] || strlen(password) > PASSWORD_MAX) {
        error(reply, 400, "bad_request", "user and password are required");
        goto out;
    }
    if ((wait = throttle_wait_ms(c->throttle, req->client, clock_now_ms())) > 0) {
        reply->retry_after_s = (int)((wait + 999) / 1000);
        counters_login(&c->counters, COUNTERS_LOGIN_throttled);
        error(reply, 429, "throttled", "too many failed logins from this address; wait a moment");
        goto out;
    }
    if (session_random_hex(rnd, 8) < 0) {
        error(reply, 500, "internal", "no random numbers");
        goto out;
    }
    snprintf(client_id, sizeof(client_id), "console-%s-%s", user, rnd);
    res = operator_connect(c->broker_host, c->broker_port, client_id, user, password, &link);
    if (res == OPERATOR_REFUSED) {
        throttle_failed(c->throttle, req->client, clock_now_ms());
        counters_login(&c->counters, COUNTERS_LOGIN_failed);
        log_info("api", "login of %s from %s refused by the broker", user, req->client);
        error(reply, 401, "login_failed", "the broker refused this user name and password");
        goto out;
    }
    if (res != OPERATOR_OK) {
        counters_login(&c->counters, COUNTERS_LOGIN_unavailable);
        error(reply, 503, "broker_unreachable", "the broker does not answer; try again shortly");
        goto out;
    }
    r = accounts_role(c->cfg->console.accounts_file, user, role, sizeof(role));
    if (r < 0 || strcmp(role, "operator") != 0) {
        json_t *e;
        /* No success: a refused account's right password must not forgive the failed
         * logins of this address (somebody guessing may know a device's password). */
        operator_close(link);
        if (r == -ESRCH || r == 0) {
            counters_login(&c->counters, COUNTERS_LOGIN_not_operator);
            log_info("api", "login of %s (%s) refused: not an operator account", user,
                     r == 0 ? role : "not in the registry");
            error(reply, 403, "not_operator",
                  "this account is not an operations staff account (role operator)");
            if (r == 0 && (e = reply->body))
                json_object_set_new(e, "role", json_string(role));
        } else {
            log_error("api", "cannot read the account registry %s: %s",
                      c->cfg->console.accounts_file, strerror(-r));
            counters_login(&c->counters, COUNTERS_LOGIN_unavailable);
            error(reply, 503, "no_registry", "the console cannot read the account registry");
        }
        goto out;
    }
    throttle_succeeded(c->throttle, req->client);
    /* A page that logs in again (a reload, a kiosk, a script) gives up the session its
     * cookie names: its cookie is replaced, so that session could only idle out, and
     * each such login would hold one more place and one more broker connection. */
    if (sessions_close(c->sessions, req->session) == 0) {
        board_end_session(c->board, req->session);
        log_info("api", "an earlier session from %s ended by a new login of %s", req->client,
                 user);
    }
    if ((r = sessions_open(c->sessions, user, link, &info)) < 0) {
        counters_login(&c->counters, COUNTERS_LOGIN_unavailable);
        error(reply, 503, "too_many_sessions", "too many open sessions; try again later");
        goto out;
    }
    counters_login(&c->counters, COUNTERS_LOGIN_succeeded);
    log_info("api", "%s logged in from %s", user, req->client);
    set_cookie(c, reply, info.token, c->cfg->console.idle_timeout_s * 4);
    ok(reply, json_pack("{s:s,s:s}", "user", info.user, "csrf", info.csrf));
out:
    json_decref(body);
}

/* The session of the request, touched; false after an error reply. */
static bool need_session(struct console *c, const struct api_request *req, bool touch,
                         struct session_info *info, struct api_reply *reply)
{
    if (!sessions_get(c->sessions, req->session, touch, info)) {
        error(reply, 401, "no_session", "not logged in, or the session has ended");
        return false;
    }
    return true;
}

static bool need_csrf(struct console *c, const struct api_request *req, struct api_reply *reply)
{
    if (!sessions_csrf_ok(c->sessions, req->session, req->csrf)) {
        error(reply, 403, "csrf", "the request lacks this session's CSRF token");
        return false;
    }
    return true;
}

/* How /metrics counts a publish's result (counters.h). */
static enum counters_ack ack_result(enum operator_result res)
{
    switch (res) {
    case OPERATOR_OK: return COUNTERS_ACK_sent;
    case OPERATOR_DENIED:
    case OPERATOR_REFUSED: return COUNTERS_ACK_refused;
    case OPERATOR_UNREACHABLE: return COUNTERS_ACK_unreachable;
    case OPERATOR_UNCONFIRMED: return COUNTERS_ACK_unconfirmed;
    default: return COUNTERS_ACK_failed;
    }
}

static void ack(struct console *c, const struct api_request *req, const struct session_info *info,
                struct api_reply *reply)
{
    json_t *body = parse_body(req, reply), *payload = NULL, *given, *given_id;
    const char *topic, *comment, *alert_id;
    char ack_topic[TOPIC_MAX + 8], *text = NULL;
    enum operator_result res;

    if (!body)
        return;
    topic = json_string_value(json_object_get(body, "topic"));
    given = json_object_get(body, "comment"); /* optional, but a string when given */
    comment = given ? json_string_value(given) : "";
    /* Optional: the id of the alert the person saw, so that the alerting worker does not
     * take the acknowledgement for the next alert of the topic. */
    given_id = json_object_get(body, "alert_id");
    alert_id = given_id ? json_string_value(given_id) : NULL;
    if (!topic || strlen(topic) > TOPIC_MAX || !comment || utf8_chars(comment) > COMMENT_MAX) {
        error(reply, 400, "bad_request", "topic (an alert) and a comment of up to 500 characters");
        goto out;
    }
    if (given_id && (!alert_id || !alert_id_valid(alert_id, strlen(alert_id)))) {
        error(reply, 400, "bad_request",
              "alert_id must be an alert's id: 1 to 128 letters, digits, '.', '_', ':' or '-'");
        goto out;
    }
    switch (board_alert_match(c->board, topic, alert_id)) {
    case BOARD_ALERT_NONE:
        counters_ack(&c->counters, COUNTERS_ACK_stale);
        error(reply, 404, "no_alert", "no active alert on this topic");
        goto out;
    case BOARD_ALERT_OTHER:
        counters_ack(&c->counters, COUNTERS_ACK_stale);
        error(reply, 409, "alert_changed",
              "the alert on this topic is no longer the one named: it cleared and another was "
              "raised; nothing was sent");
        goto out;
    case BOARD_ALERT_HELD:
        break;
    }
    snprintf(ack_topic, sizeof(ack_topic), "%s/ack", topic);
    payload = json_pack("{s:s,s:s,s:s*}", "by", info->user, "comment", comment, "alert_id",
                        alert_id);
    if (!payload || !(text = json_dumps(payload, JSON_COMPACT))) {
        counters_ack(&c->counters, COUNTERS_ACK_failed);
        error(reply, 500, "internal", "out of memory");
        goto out;
    }
    res = sessions_publish(c->sessions, req->session, ack_topic, text, strlen(text));
    counters_ack(&c->counters, ack_result(res));
    switch (res) {
    case OPERATOR_OK:
        log_info("api", "%s acknowledged %s%s%s", info->user, topic,
                 alert_id ? ", alert " : "", alert_id ? alert_id : "");
        ok(reply, json_pack("{s:b}", "sent", 1));
        reply->status = 202;
        break;
    case OPERATOR_DENIED:
        error(reply, 403, "acl", "the broker does not let this account acknowledge this alert");
        break;
    case OPERATOR_REFUSED:
        error(reply, 401, "no_session", "the session has ended");
        break;
    case OPERATOR_UNREACHABLE:
        error(reply, 503, "broker_unreachable",
              "no connection to the broker; the acknowledgement was not sent");
        break;
    case OPERATOR_UNCONFIRMED:
        /* Sent or queued, so it may still arrive: the page must not call it failed. */
        log_warn("api", "%s acknowledged %s: not confirmed by the broker in time", info->user,
                 topic);
        error(reply, 504, "unconfirmed",
              "the broker has not confirmed the acknowledgement yet; it may still arrive");
        break;
    default:
        error(reply, 500, "internal", "the acknowledgement was not sent");
        break;
    }
out:
    free(text);
    json_decref(payload);
    json_decref(body);
}

static void alert_detail(struct console *c, const struct api_request *req, struct api_reply *reply)
{
    const char *topic = req->arg(req->conn, "topic"), *id = req->arg(req->conn, "id");
    char err[512] = "";
    json_t *out = NULL;
    int r;

    if (!topic || !id || strlen(topic) > TOPIC_MAX) {
        error(reply, 400, "bad_request", "topic and id are required");
        return;
    }
    r = history_alert(&c->history, topic, id, &out, err, sizeof(err));
    if (r == -ENOENT)
        error(reply, 404, "no_history", err);
    else if (r == -EINVAL)
        error(reply, 400, "bad_request", "not an alert topic");
    else if (r < 0)
        error(reply, 503, "storage", err[0] ? err : "the database cannot be read");
    else
        ok(reply, out);
}

/* "<m>/<type>/<subject>" of an alert or a gauge. */
static void subject_key(const json_t *o, char *out, size_t size)
{
    const char *m = json_string_value(json_object_get(o, "municipality"));
    const char *type = json_string_value(json_object_get(o, "type"));
    const char *subject = json_string_value(json_object_get(o, "subject"));

    snprintf(out, size, "%s/%s/%s", m ? m : "", type ? type : "", subject ? subject : "");
}

struct silent_scan {
    const struct rules *rules;
    json_t *silent; /* subject_key -> true */
};

/* Marks the subject of alert when its rule is a silence rule. */
static void mark_silent(const json_t *alert, void *data)
{
    struct silent_scan *scan = data;
    const char *rule = json_string_value(json_object_get(alert, "rule"));
    const struct rule *r = rule && scan->rules ? rules_find(scan->rules, rule) : NULL;
    char key[400];

    if (!r || r->kind != RULE_SILENCE)
        return;
    subject_key(alert, key, sizeof(key));
    json_object_set_new(scan->silent, key, json_true());
}

/*
 * The board's gauges, each marked "silent" while an alert of a silence rule (the
 * rules file's kind silence) is open for its subject.
 */
static void gauges(struct console *c, struct api_reply *reply)
{
    struct silent_scan scan = {c->history.rules, json_object()};

    if (!scan.silent || board_alerts_each(c->board, mark_silent, &scan) < 0) {
        json_decref(scan.silent);
        error(reply, 500, "internal", "out of memory");
        return;
    }
    ok_text(reply, board_gauges_text(c->board, scan.silent, NULL));
    json_decref(scan.silent);
}

static void series(struct console *c, const struct api_request *req, struct api_reply *reply)
{
    const char *type = req->arg(req->conn, "type");
    char err[512] = "";
    json_t *out = NULL;

    if (!type || strlen(type) > 128) {
        error(reply, 400, "bad_request", "type is required");
        return;
    }
    if (history_series(&c->history, type, &out, err, sizeof(err)) < 0)
        error(reply, 503, "storage", err[0] ? err : "the database cannot be read");
    else
        ok(reply, out);
}

static void deadletters(struct console *c, const struct api_request *req, struct api_reply *reply)
{
    const char *prefix = req->arg(req->conn, "prefix");
    char err[512] = "";
    json_t *out = NULL;

    if (!prefix)
        prefix = "";
    if (strlen(prefix) > TOPIC_MAX) {
        error(reply, 400, "bad_request", "the prefix is too long");
        return;
    }
    if (deadletters_read(c->cfg, prefix, DEADLETTERS_MAX, &out, err, sizeof(err)) < 0)
        error(reply, 503, "redis", err);
    else
        ok(reply, out);
}

void api_handle(struct console *c, const struct api_request *req, struct api_reply *reply)
{
    struct session_info info;
    bool post = strcmp(req->method, "POST") == 0;

    reply->status = 500;
    reply->body = NULL;
    reply->text = NULL;
    reply->cookie[0] = '\0';
    reply->retry_after_s = 0;
    if (post && strcmp(req->path, "/login") == 0) {
        login(c, req, reply);
        return;
    }
    if (post) {
        if (!need_session(c, req, true, &info, reply) || !need_csrf(c, req, reply))
            return;
        if (strcmp(req->path, "/logout") == 0) {
            sessions_close(c->sessions, req->session);
            board_end_session(c->board, req->session);
            set_cookie(c, reply, "", 0);
            log_info("api", "%s logged out", info.user);
            ok(reply, json_pack("{s:b}", "ended", 1));
        } else if (strcmp(req->path, "/ack") == 0) {
            ack(c, req, &info, reply);
        } else {
            error(reply, 404, "not_found", "no such request");
        }
        return;
    }
    if (!need_session(c, req, true, &info, reply))
        return;
    if (strcmp(req->path, "/session") == 0)
        ok(reply, json_pack("{s:s,s:s,s:i,s:b}", "user", info.user, "csrf", info.csrf,
                            "idle_timeout_s", c->cfg->console.idle_timeout_s, "broker",
                            info.broker));
    else if (strcmp(req->path, "/alerts") == 0)
        ok_text(reply, board_alerts_text(c->board, NULL));
    else if (strcmp(req->path, "/alert") == 0)
        alert_detail(c, req, reply);
    else if (strcmp(req->path, "/gauges") == 0)
        gauges(c, reply);
    else if (strcmp(req->path, "/series") == 0)
        series(c, req, reply);
    else if (strcmp(req->path, "/deadletters") == 0)
        deadletters(c, req, reply);
    else
        error(reply, 404, "not_found", "no such request");
}
