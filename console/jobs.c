// SPDX-License-Identifier: MIT
/*
 * The API's worker threads (jobs.h): a mutex, a condition variable and a FIFO of
 * jobs. A stopping lane still runs what was queued, so that every submitted job's
 * owner (a suspended HTTP connection) is answered and resumed before the server stops.
 */
#include "jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct jobs {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job *head, *tail;
    bool stopping;
    int n_threads;        /* running; 0 after jobs_stop */
    pthread_t threads[JOBS_THREADS_MAX];
};

static void *worker(void *arg)
{
    struct jobs *j = arg;

    for (;;) {
        struct job *job;

        pthread_mutex_lock(&j->lock);
        while (!j->head && !j->stopping)
            pthread_cond_wait(&j->cond, &j->lock);
        job = j->head;
        if (job) {
            j->head = job->next;
            if (!j->head)
                j->tail = NULL;
        }
        pthread_mutex_unlock(&j->lock);
        if (!job)
            return NULL; /* stopping, and nothing is left */
        job->next = NULL;
        job->run(job);
    }
}

struct jobs *jobs_new(int threads)
{
    struct jobs *j;

    if (threads < 1 || threads > JOBS_THREADS_MAX) {
        errno = EINVAL;
        return NULL;
    }
    if (!(j = calloc(1, sizeof(*j)))) {
        errno = ENOMEM;
        return NULL;
    }
    if (pthread_mutex_init(&j->lock, NULL) != 0) {
        free(j);
        errno = ENOMEM;
        return NULL;
    }
    if (pthread_cond_init(&j->cond, NULL) != 0) {
        pthread_mutex_destroy(&j->lock);
        free(j);
        errno = ENOMEM;
        return NULL;
    }
    for (int i = 0; i < threads; i++) {
        int r = pthread_create(&j->threads[i], NULL, worker, j);
        if (r != 0) {
            jobs_free(j); /* joins the n_threads already running */
            errno = r;
            return NULL;
        }
        j->n_threads++;
    }
    return j;
}

int jobs_submit(struct jobs *j, struct job *job)
{
    pthread_mutex_lock(&j->lock);
    if (j->stopping) {
        pthread_mutex_unlock(&j->lock);
        return -ESHUTDOWN;
    }
    job->next = NULL;
    if (j->tail)
        j->tail->next = job;
    else
        j->head = job;
    j->tail = job;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
    return 0;
}

void jobs_stop(struct jobs *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    j->stopping = true;
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->lock);
    for (int i = 0; i < j->n_threads; i++)
        pthread_join(j->threads[i], NULL);
    j->n_threads = 0;
}

void jobs_free(struct jobs *j)
{
    if (!j)
        return;
    jobs_stop(j);
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    free(j);
}
