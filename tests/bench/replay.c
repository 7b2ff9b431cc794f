// SPDX-License-Identifier: MIT
/*
 * rheinhub-replay: publishes the messages of a file, one "topic<TAB>payload" per line,
 * with QoS 1 as fast as the broker acknowledges them, at most MAX_UNACKED on their
 * way, over TCP or TLS with an account. bench_sources uses the same tool for the
 * canonical events it publishes to our broker and for the uplinks it publishes to the
 * stand-in network server, so both rates are measured with the same publisher. It
 * exits 0 only when every message was acknowledged.
 *
 *   rheinhub-replay -p PORT [-h HOST] [--cafile CA] [-u USER -P PASSWORD] FILE
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

#define MAX_UNACKED 1000
#define STALL_S 30

struct replay {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    long unacked;
    long acked;
    bool connected;
    int connect_rc;
};

static void on_connect(struct mosquitto *mosq, void *data, int rc)
{
    struct replay *r = data;

    pthread_mutex_lock(&r->lock);
    r->connected = rc == 0;
    r->connect_rc = rc;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void on_publish(struct mosquitto *mosq, void *data, int mid)
{
    struct replay *r = data;

    pthread_mutex_lock(&r->lock);
    r->unacked--;
    r->acked++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* Waits on r->cond up to STALL_S; false on a stall. Called with the lock held. */
static bool wait_cond(struct replay *r)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += STALL_S;
    return pthread_cond_timedwait(&r->cond, &r->lock, &ts) == 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: rheinhub-replay -p PORT [-h HOST] [--cafile CA] [-u USER -P PASSWORD] "
                    "FILE\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *cafile = NULL, *user = NULL, *pass = NULL, *path = NULL;
    struct replay r = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    struct mosquitto *mosq;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int port = 0, rc, status = 0;
    long sent = 0;
    FILE *f;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "-h") == 0 && i + 1 < argc)
            host = argv[++i];
        else if (strcmp(argv[i], "--cafile") == 0 && i + 1 < argc)
            cafile = argv[++i];
        else if (strcmp(argv[i], "-u") == 0 && i + 1 < argc)
            user = argv[++i];
        else if (strcmp(argv[i], "-P") == 0 && i + 1 < argc)
            pass = argv[++i];
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else
            return usage();
    }
    if (!port || !path)
        return usage();
    if (!(f = fopen(path, "r"))) {
        perror(path);
        return 1;
    }
    mosquitto_lib_init();
    if (!(mosq = mosquitto_new(NULL, true, &r))) {
        fprintf(stderr, "rheinhub-replay: out of memory\n");
        return 1;
    }
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(mosq, MAX_UNACKED);
    if (user)
        mosquitto_username_pw_set(mosq, user, pass);
    if (cafile && mosquitto_tls_set(mosq, cafile, NULL, NULL, NULL, NULL) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "rheinhub-replay: TLS setup failed\n");
        return 1;
    }
    mosquitto_connect_callback_set(mosq, on_connect);
    mosquitto_publish_callback_set(mosq, on_publish);
    if ((rc = mosquitto_connect(mosq, host, port, 60)) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "rheinhub-replay: cannot connect to %s:%d: %s\n", host, port,
                mosquitto_strerror(rc));
        return 1;
    }
    mosquitto_loop_start(mosq);
    pthread_mutex_lock(&r.lock);
    while (!r.connected && r.connect_rc == 0)
        if (!wait_cond(&r))
            break;
    pthread_mutex_unlock(&r.lock);
    if (!r.connected) {
        fprintf(stderr, "rheinhub-replay: no CONNACK (%s)\n", mosquitto_connack_string(r.connect_rc));
        return 1;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        pthread_mutex_lock(&r.lock);
        while (r.unacked >= MAX_UNACKED)
            if (!wait_cond(&r)) {
                fprintf(stderr, "rheinhub-replay: no PUBACK for %d s\n", STALL_S);
                pthread_mutex_unlock(&r.lock);
                status = 1;
                goto out;
            }
        r.unacked++;
        pthread_mutex_unlock(&r.lock);
        rc = mosquitto_publish(mosq, NULL, line, (int)(n - (tab + 1 - line)), tab + 1, 1, false);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "rheinhub-replay: publish failed: %s\n", mosquitto_strerror(rc));
            status = 1;
            goto out;
        }
        sent++;
    }
    pthread_mutex_lock(&r.lock);
    while (r.unacked > 0)
        if (!wait_cond(&r)) {
            status = 1;
            break;
        }
    pthread_mutex_unlock(&r.lock);
out:
    printf("sent %ld acknowledged %ld\n", sent, r.acked);
    mosquitto_disconnect(mosq);
    mosquitto_loop_stop(mosq, false);
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    free(line);
    fclose(f);
    return status;
}
