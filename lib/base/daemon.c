/* daemon.c — see daemon.h. */
#include "daemon.h"

#include <time.h>

#include <pthread.h>

#include "log.h"
#include "memory.h"

void
nf_daemon_begin(const char *log_level, sigset_t *stop_signals)
{
    nf_memory_tune();
    nf_log_level level = NF_LOG_INFO;
    nf_log_parse_level(log_level, &level);
    nf_log_set_level(level);
    sigemptyset(stop_signals);
    sigaddset(stop_signals, SIGINT);
    sigaddset(stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, stop_signals, NULL);
}

bool
nf_nap_unless_stopped(pthread_mutex_t *mu, pthread_cond_t *cv, const bool *stop, uint64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until); /* pthread_cond_timedwait's default clock */
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(mu);
    while (!*stop && pthread_cond_timedwait(cv, mu, &until) == 0)
        ;
    bool stopped = *stop;
    pthread_mutex_unlock(mu);
    return stopped;
}

bool
nf_stop_requested(pthread_mutex_t *mu, const bool *stop)
{
    pthread_mutex_lock(mu);
    bool s = *stop;
    pthread_mutex_unlock(mu);
    return s;
}
