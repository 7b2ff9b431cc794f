// SPDX-License-Identifier: MIT
/*
 * A lane of worker threads for the API's requests (jobs.c). Requests that wait on
 * something else (the broker's answer to a login or an acknowledgement, the storage
 * database, Redis) run here, so that the HTTP server's own thread never waits: the
 * page, the live streams and the other requests are served meanwhile. The lane's
 * queue is the list of submitted jobs; each job is embedded in its owner (the HTTP
 * request), so a job costs no allocation and the queue is bounded by the connections.
 */
#ifndef RHEINHUB_CONSOLE_JOBS_H
#define RHEINHUB_CONSOLE_JOBS_H

#define JOBS_THREADS_MAX 8

struct job;
typedef void (*job_cb)(struct job *job);

struct job {
    struct job *next; /* the lane's queue */
    job_cb run;
};

struct jobs;

/* A lane of threads (1..JOBS_THREADS_MAX). NULL with errno set. */
struct jobs *jobs_new(int threads);

/*
 * Queues job; one of the lane's threads calls job->run(job) once. Returns 0, or
 * -ESHUTDOWN when the lane is stopping (then run is never called).
 */
int jobs_submit(struct jobs *j, struct job *job);

/*
 * Refuses new jobs (jobs_submit says -ESHUTDOWN), runs those queued and joins the
 * threads. The lane stays valid for jobs_submit until jobs_free. Accepts NULL.
 */
void jobs_stop(struct jobs *j);

/* Stops the lane if it runs, then frees it. Accepts NULL. */
void jobs_free(struct jobs *j);

#endif
