// SPDX-License-Identifier: MIT
/*
 * The worker's stop conditions and sleeps (worker_stop.h): the signal handler's flag,
 * the supervisor's stdin pipe (its end means the hub is gone), and waits that a
 * signal or stdin input cut short.
 */
#include "worker_stop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "worker_internal.h"

#define WAIT_SLICE_MS 250 /* longest sleep between checks of the stop flags */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int signo)
{
    stop_signal = signo;
}

int64_t worker_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A pipe or socket on stdin at start is the supervisor's: its end means the hub is
 * gone. A terminal, /dev/null or a file means no supervisor.
 */
void worker_stop_init(struct worker *w)
{
    struct sigaction sa;
    struct stat st;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal; /* no SA_RESTART: a sleep ends at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL); /* a dropped link is an error return, not a death */
    w->stdin_watched = fstat(STDIN_FILENO, &st) == 0 &&
                       (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

void worker_stop_check(struct worker *w)
{
    for (int round = 0; w->stdin_watched && round < 16; round++) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        char buf[512];
        ssize_t n;

        if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
            return;
        if (p.revents & POLLNVAL) {
            n = 0;
        } else {
            n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        }
        if (n <= 0) {
            log_info(w->component, "standard input closed (the hub is gone): stopping");
            w->stdin_watched = false;
            w->stop = true;
            return;
        }
    }
}

bool worker_stopping(const struct worker *w)
{
    return w->stop || stop_signal;
}

int worker_stop_signal(void)
{
    return (int)stop_signal;
}

void worker_wait_ms(struct worker *w, int64_t ms)
{
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};

    if (ms <= 0 || worker_stopping(w))
        return;
    if (ms > WAIT_SLICE_MS)
        ms = WAIT_SLICE_MS;
    poll(&p, w->stdin_watched ? 1 : 0, (int)ms);
}
