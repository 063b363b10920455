/* daemon.c — see daemon.h. */
#include "daemon.h"

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
