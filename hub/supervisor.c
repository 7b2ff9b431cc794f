// SPDX-License-Identifier: MIT
/*
 * Worker processes on libuv. Each start of a process is a "run": the uv_process_t
 * and its three pipes, freed when all four are closed, so that an instance can be
 * started again while the last run's handles are still closing. libuv reaps the
 * children itself (no SIGCHLD handler here, PITFALLS.md) and the process handle is
 * closed in its exit callback, also when uv_spawn failed.
 *
 *   stopped ──start──▶ running ──exit──▶ backoff ──timer──▶ running
 *                          │                 (quick failures ≥ 5) ──▶ failed
 *                          └──(stop / retire / changed config)──▶ stopped
 */
#include "supervisor.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define HEALTHY_RUN_MS 30000
#define QUICK_FAILURES_MAX 5
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 60000
#define LINE_MAX_BYTES 2048

extern char **environ;

#define WORKER_STATE_MAP(X)                                                                        \
    X(STOPPED, "stopped")                                                                          \
    X(RUNNING, "running")                                                                          \
    X(BACKOFF, "backoff")                                                                          \
    X(FAILED, "failed")

enum worker_state {
#define X(name, text) WORKER_##name,
    WORKER_STATE_MAP(X)
#undef X
};

static const char *const state_names[] = {
#define X(name, text) text,
    WORKER_STATE_MAP(X)
#undef X
};

struct line_buf {
    char data[LINE_MAX_BYTES];
    size_t len;
};

struct instance;

struct run {
    struct instance *inst; /* NULL once the instance is gone or runs again */
    char name[80];         /* the instance's, for the lines still read after that */
    uv_process_t proc;
    uv_pipe_t in, out, err;
    struct line_buf out_buf, err_buf;
    int open_handles;
    bool exited;
};

struct instance {
    struct supervisor *sv;
    struct instance *next;
    char kind[64];
    int index;
    char name[80];
    char command[512];
    char args[CONFIG_LIST_MAX][256];
    int n_args;
    enum worker_state state;
    struct run *run;           /* the live process, or NULL */
    uv_timer_t restart_timer;
    uint64_t started_ms;
    unsigned backoff_ms;
    int quick_failures;
    uint64_t restarts;
    bool retire;               /* remove when it has exited */
    bool restart_now;          /* start again at once when it has exited (config changed) */
};

struct supervisor {
    uv_loop_t *loop;
    char config_path[PATH_MAX];
    struct instance *instances;
    bool stopping;
    uv_timer_t kill_timer;
    supervisor_stopped_cb stopped;
    void *stopped_data;
    int open_handles; /* timers of instances and the kill timer */
};

static void start_run(struct instance *inst);
static void maybe_stopped(struct supervisor *sv);

static uint64_t now_ms(struct supervisor *sv)
{
    return uv_now(sv->loop);
}

/*
 * Writes one captured line to the hub's log, prefixed by the instance name. A
 * journal priority "<N>" the worker put first (log.c) stays first.
 */
static void emit_line(const struct run *run, const char *line, size_t len)
{
    char out[LINE_MAX_BYTES + 100];
    size_t plen = 0;
    int n;

    if (len >= 3 && line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>')
        plen = 3;
    n = snprintf(out, sizeof(out), "%.*s%s | %.*s\n", (int)plen, line,
                 run->name, (int)(len - plen), line + plen);

    if (n > 0)
        (void)!write(STDERR_FILENO, out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
}

static void flush_lines(struct run *run, struct line_buf *lb, bool all)
{
    size_t start = 0;

    for (size_t i = 0; i < lb->len; i++) {
        if (lb->data[i] == '\n') {
            emit_line(run, lb->data + start, i - start);
            start = i + 1;
        }
    }
    if (all || (start == 0 && lb->len == sizeof(lb->data))) {
        if (lb->len > start)
            emit_line(run, lb->data + start, lb->len - start);
        start = lb->len;
    }
    memmove(lb->data, lb->data + start, lb->len - start);
    lb->len -= start;
}

static void on_run_handle_closed(uv_handle_t *h)
{
    struct run *run = h->data;

    if (--run->open_handles == 0) {
        if (run->inst && run->inst->run == run)
            run->inst->run = NULL;
        free(run);
    }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct run *run = h->data;
    struct line_buf *lb = (uv_pipe_t *)h == &run->out ? &run->out_buf : &run->err_buf;

    buf->base = lb->data + lb->len;
    buf->len = sizeof(lb->data) - lb->len;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct run *run = s->data;
    struct line_buf *lb = (uv_pipe_t *)s == &run->out ? &run->out_buf : &run->err_buf;

    if (nread > 0) {
        lb->len += (size_t)nread;
        flush_lines(run, lb, false);
        return;
    }
    if (nread < 0) {
        flush_lines(run, lb, true);
        uv_close((uv_handle_t *)s, on_run_handle_closed);
    }
}

static void handle_gone(struct supervisor *sv)
{
    if (--sv->open_handles == 0 && sv->stopped)
        sv->stopped(sv->stopped_data);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct instance *inst = h->data;
    struct supervisor *sv = inst->sv;

    free(inst);
    handle_gone(sv);
}

static void on_kill_timer_closed(uv_handle_t *h)
{
    handle_gone(h->data);
}

/* Unlinks and frees a retired instance whose process has exited. */
static void remove_instance(struct instance *inst)
{
    struct supervisor *sv = inst->sv;

    for (struct instance **p = &sv->instances; *p; p = &(*p)->next) {
        if (*p == inst) {
            *p = inst->next;
            break;
        }
    }
    if (inst->run)
        inst->run->inst = NULL;
    uv_timer_stop(&inst->restart_timer);
    uv_close((uv_handle_t *)&inst->restart_timer, on_timer_closed);
}

static void on_restart_timer(uv_timer_t *t)
{
    struct instance *inst = t->data;

    if (inst->state == WORKER_BACKOFF && !inst->sv->stopping) {
        inst->restarts++;
        start_run(inst);
    }
}

static void on_exit_cb(uv_process_t *proc, int64_t status, int term_signal)
{
    struct run *run = proc->data;
    struct instance *inst = run->inst;
    struct supervisor *sv;
    uint64_t ran;

    run->exited = true;
    uv_close((uv_handle_t *)&run->proc, on_run_handle_closed);
    uv_close((uv_handle_t *)&run->in, on_run_handle_closed);
    if (!inst)
        return;
    sv = inst->sv;
    if (term_signal)
        log_warn("supervisor", "%s ended by signal %d (%s)", inst->name, term_signal,
                 strsignal(term_signal));
    else
        log_info("supervisor", "%s exited with status %lld", inst->name, (long long)status);
    if (sv->stopping || inst->retire) {
        inst->state = WORKER_STOPPED;
        if (inst->retire)
            remove_instance(inst);
        maybe_stopped(sv);
        return;
    }
    if (inst->restart_now) {
        inst->restart_now = false;
        inst->quick_failures = 0;
        inst->backoff_ms = 0;
        inst->restarts++;
        start_run(inst);
        return;
    }
    ran = now_ms(sv) - inst->started_ms;
    if (ran >= HEALTHY_RUN_MS) {
        inst->quick_failures = 0;
        inst->backoff_ms = 0;
    } else {
        inst->quick_failures++;
    }
    if (inst->quick_failures >= QUICK_FAILURES_MAX) {
        inst->state = WORKER_FAILED;
        log_error("supervisor", "%s failed %d times within %d s of starting; no more restarts "
                  "(fix it and send the hub SIGHUP)", inst->name, inst->quick_failures,
                  HEALTHY_RUN_MS / 1000);
        return;
    }
    inst->backoff_ms = inst->backoff_ms ? inst->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (inst->backoff_ms > BACKOFF_MAX_MS)
        inst->backoff_ms = BACKOFF_MAX_MS;
    inst->state = WORKER_BACKOFF;
    log_info("supervisor", "restarting %s in %u ms", inst->name, inst->backoff_ms);
    uv_timer_start(&inst->restart_timer, on_restart_timer, inst->backoff_ms, 0);
}

/*
 * Starts a process for inst, which has none alive. The last run may still be closing
 * its pipes (a child of the worker can hold them open): it is let go, and frees
 * itself when they are closed. When the process cannot be made, the instance goes
 * to backoff (its restart timer armed) or, after repeated failures, to failed.
 */
static void start_run(struct instance *inst)
{
    struct supervisor *sv = inst->sv;
    struct run *run = calloc(1, sizeof(*run));
    char *argv[CONFIG_LIST_MAX + 4];
    char instance_env[64], kind_env[96], dash_c[] = "-c";
    char **env = NULL;
    size_t n_env = 0;
    uv_stdio_container_t stdio[3];
    uv_process_options_t opts;
    int argc = 0, r;

    assert(!inst->run || inst->run->exited);
    if (!run) {
        log_error("supervisor", "out of memory starting %s; trying again in %d ms", inst->name,
                  BACKOFF_MAX_MS);
        inst->state = WORKER_BACKOFF;
        uv_timer_start(&inst->restart_timer, on_restart_timer, BACKOFF_MAX_MS, 0);
        return;
    }
    if (inst->run)
        inst->run->inst = NULL;
    run->inst = inst;
    snprintf(run->name, sizeof(run->name), "%s", inst->name);
    uv_pipe_init(sv->loop, &run->in, 0);
    uv_pipe_init(sv->loop, &run->out, 0);
    uv_pipe_init(sv->loop, &run->err, 0);
    run->proc.data = run->in.data = run->out.data = run->err.data = run;
    run->open_handles = 4;

    argv[argc++] = inst->command;
    for (int i = 0; i < inst->n_args; i++)
        argv[argc++] = inst->args[i];
    argv[argc++] = dash_c;
    argv[argc++] = sv->config_path;
    argv[argc] = NULL;

    while (environ[n_env])
        n_env++;
    env = calloc(n_env + 3, sizeof(*env));
    if (env) {
        size_t k = 0;
        for (size_t i = 0; i < n_env; i++)
            if (strncmp(environ[i], "RHEINHUB_WORKER_", 16) != 0)
                env[k++] = environ[i];
        snprintf(instance_env, sizeof(instance_env), "RHEINHUB_WORKER_INSTANCE=%d", inst->index);
        snprintf(kind_env, sizeof(kind_env), "RHEINHUB_WORKER_KIND=%s", inst->kind);
        env[k++] = instance_env;
        env[k++] = kind_env;
        env[k] = NULL;
    }

    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&run->in;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&run->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&run->err;
    memset(&opts, 0, sizeof(opts));
    opts.file = inst->command;
    opts.args = argv;
    opts.env = env;
    opts.stdio = stdio;
    opts.stdio_count = 3;
    opts.exit_cb = on_exit_cb;

    inst->run = run;
    inst->started_ms = now_ms(sv);
    r = uv_spawn(sv->loop, &run->proc, &opts);
    free(env);
    if (r < 0) {
        log_error("supervisor", "cannot start %s (%s): %s", inst->name, inst->command,
                  uv_strerror(r));
        /* Treated as an exit at once: counts as a quick failure. */
        uv_close((uv_handle_t *)&run->out, on_run_handle_closed);
        uv_close((uv_handle_t *)&run->err, on_run_handle_closed);
        on_exit_cb(&run->proc, 127, 0);
        return;
    }
    inst->state = WORKER_RUNNING;
    log_info("supervisor", "started %s (pid %d)", inst->name, run->proc.pid);
    uv_read_start((uv_stream_t *)&run->out, alloc_cb, read_cb);
    uv_read_start((uv_stream_t *)&run->err, alloc_cb, read_cb);
}

static struct instance *find(struct supervisor *sv, const char *kind, int index)
{
    for (struct instance *i = sv->instances; i; i = i->next)
        if (i->index == index && strcmp(i->kind, kind) == 0 && !i->retire)
            return i;
    return NULL;
}

static bool same_command(const struct instance *inst, const struct worker_config *w)
{
    if (strcmp(inst->command, w->command) != 0 || inst->n_args != w->n_args)
        return false;
    for (int i = 0; i < w->n_args; i++)
        if (strcmp(inst->args[i], w->args[i]) != 0)
            return false;
    return true;
}

static void set_command(struct instance *inst, const struct worker_config *w)
{
    snprintf(inst->command, sizeof(inst->command), "%s", w->command);
    memcpy(inst->args, w->args, sizeof(inst->args));
    inst->n_args = w->n_args;
}

static void terminate(struct instance *inst)
{
    if (inst->run && !inst->run->exited)
        uv_process_kill(&inst->run->proc, SIGTERM);
}

struct supervisor *supervisor_new(uv_loop_t *loop, const char *config_path)
{
    struct supervisor *sv = calloc(1, sizeof(*sv));

    if (!sv)
        return NULL;
    sv->loop = loop;
    if (!realpath(config_path, sv->config_path))
        snprintf(sv->config_path, sizeof(sv->config_path), "%s", config_path);
    uv_timer_init(loop, &sv->kill_timer);
    sv->kill_timer.data = sv;
    sv->open_handles = 1;
    return sv;
}

void supervisor_apply(struct supervisor *sv, const struct hub_config *cfg)
{
    if (sv->stopping)
        return;
    /* Retire what is no longer wanted. */
    for (struct instance *inst = sv->instances, *next; inst; inst = next) {
        const struct worker_config *w = NULL;
        next = inst->next;
        for (int k = 0; k < cfg->n_workers; k++)
            if (strcmp(cfg->workers[k].name, inst->kind) == 0)
                w = &cfg->workers[k];
        if (w && w->command[0] && inst->index <= w->instances)
            continue;
        log_info("supervisor", "stopping %s: no longer configured", inst->name);
        inst->retire = true;
        if (inst->run && !inst->run->exited)
            terminate(inst);
        else
            remove_instance(inst);
    }
    for (int k = 0; k < cfg->n_workers; k++) {
        const struct worker_config *w = &cfg->workers[k];
        if (!w->command[0])
            continue; /* route only: its workers run elsewhere */
        for (int i = 1; i <= w->instances; i++) {
            struct instance *inst = find(sv, w->name, i);
            if (inst) {
                bool changed = !same_command(inst, w);
                set_command(inst, w);
                if (changed && inst->state == WORKER_RUNNING) {
                    log_info("supervisor", "restarting %s: its command changed", inst->name);
                    inst->restart_now = true;
                    terminate(inst);
                } else if (inst->state == WORKER_FAILED || inst->state == WORKER_BACKOFF) {
                    /* A reload is the operator's word to try again, at once: the
                     * process has exited, even if its pipes are still closing. */
                    uv_timer_stop(&inst->restart_timer);
                    inst->quick_failures = 0;
                    inst->backoff_ms = 0;
                    start_run(inst);
                }
                continue;
            }
            if (!(inst = calloc(1, sizeof(*inst)))) {
                log_error("supervisor", "out of memory for %s-%d", w->name, i);
                continue;
            }
            inst->sv = sv;
            snprintf(inst->kind, sizeof(inst->kind), "%s", w->name);
            inst->index = i;
            snprintf(inst->name, sizeof(inst->name), "%s-%d", w->name, i);
            set_command(inst, w);
            uv_timer_init(sv->loop, &inst->restart_timer);
            inst->restart_timer.data = inst;
            sv->open_handles++;
            inst->next = sv->instances;
            sv->instances = inst;
            start_run(inst);
        }
    }
}

static void on_kill_timer(uv_timer_t *t)
{
    struct supervisor *sv = t->data;

    for (struct instance *inst = sv->instances; inst; inst = inst->next) {
        if (inst->run && !inst->run->exited) {
            log_warn("supervisor", "%s did not stop in time: SIGKILL", inst->name);
            uv_process_kill(&inst->run->proc, SIGKILL);
        }
    }
}

static void maybe_stopped(struct supervisor *sv)
{
    if (!sv->stopping)
        return;
    for (struct instance *inst = sv->instances; inst; inst = inst->next)
        if (inst->run && !inst->run->exited)
            return;
    while (sv->instances)
        remove_instance(sv->instances);
    if (!uv_is_closing((uv_handle_t *)&sv->kill_timer))
        uv_close((uv_handle_t *)&sv->kill_timer, on_kill_timer_closed);
}

void supervisor_stop(struct supervisor *sv, unsigned timeout_ms, supervisor_stopped_cb stopped,
                     void *data)
{
    if (sv->stopping)
        return;
    sv->stopping = true;
    sv->stopped = stopped;
    sv->stopped_data = data;
    for (struct instance *inst = sv->instances; inst; inst = inst->next) {
        uv_timer_stop(&inst->restart_timer);
        terminate(inst);
    }
    uv_timer_start(&sv->kill_timer, on_kill_timer, timeout_ms, 0);
    maybe_stopped(sv);
}

void supervisor_free(struct supervisor *sv)
{
    free(sv);
}

int supervisor_failed(const struct supervisor *sv)
{
    int n = 0;

    for (const struct instance *inst = sv->instances; inst; inst = inst->next)
        n += inst->state == WORKER_FAILED;
    return n;
}

void supervisor_render_health(const struct supervisor *sv, FILE *out)
{
    bool first = true;

    fputc('{', out);
    for (const struct instance *inst = sv->instances; inst; inst = inst->next) {
        fprintf(out, "%s\"%s\":\"%s\"", first ? "" : ",", inst->name, state_names[inst->state]);
        first = false;
    }
    fputc('}', out);
}

void supervisor_render_metrics(const struct supervisor *sv, FILE *out)
{
    fprintf(out, "# HELP rheinhub_worker_state 1 for the state a worker instance is in.\n"
                 "# TYPE rheinhub_worker_state gauge\n");
    for (const struct instance *inst = sv->instances; inst; inst = inst->next)
        for (int s = 0; s < (int)(sizeof(state_names) / sizeof(state_names[0])); s++)
            fprintf(out, "rheinhub_worker_state{worker=\"%s\",state=\"%s\"} %d\n", inst->name,
                    state_names[s], inst->state == (enum worker_state)s);
    fprintf(out, "# HELP rheinhub_worker_restarts_total Restarts of a worker instance.\n"
                 "# TYPE rheinhub_worker_restarts_total counter\n");
    for (const struct instance *inst = sv->instances; inst; inst = inst->next)
        fprintf(out, "rheinhub_worker_restarts_total{worker=\"%s\"} %llu\n", inst->name,
                (unsigned long long)inst->restarts);
}
