/* daemon.h — what every daemon's main() does once its config is loaded, before it starts a
 * thread: allocator settings (memory.h), the log level from the config, and the stop
 * signals (SIGINT, SIGTERM) blocked, so that threads created afterwards inherit the mask
 * and only the main thread's sigwait/sigtimedwait on *stop_signals ever sees them.
 */
#ifndef NFX_LIB_BASE_DAEMON_H
#define NFX_LIB_BASE_DAEMON_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* log_level: the config's text ("debug", "info", "warn", "error"; anything else keeps
 * info — config validation has refused it already). Fills *stop_signals. */
void nf_daemon_begin(const char *log_level, sigset_t *stop_signals);

/* A worker thread's pause: waits up to ms on cv (with mu, which guards *stop) unless *stop
 * is set or becomes set (whoever sets it broadcasts cv). Returns *stop. */
bool nf_nap_unless_stopped(pthread_mutex_t *mu, pthread_cond_t *cv, const bool *stop,
                           uint64_t ms);

/* *stop read under mu (which guards it): a worker's "was stop requested?". */
bool nf_stop_requested(pthread_mutex_t *mu, const bool *stop);

#endif
