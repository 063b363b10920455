/* serviceradar-core — the NetFlow API server: ClickHouse for recent flows, Iceberg for
 * history, stitched answers in between, with ServiceRadar's login and API keys (see
 * lib/core/core.h and docs/core.md).
 *
 *   serviceradar-core [-c FILE] [--help-config]
 *   serviceradar-core --hash-password < FILE   the bcrypt hash of the password on the first
 *                                              line of stdin, for auth.local_users
 *
 * Wiring only: config (bad config → exit 1 naming file and key) → server → wait for
 * SIGINT/SIGTERM → stop.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/daemon.h"
#include "base/log.h"
#include "core/core.h"

#define COMP "core"

/* --hash-password: the password is read from stdin, never from argv (ps would show it). */
static int
hash_password(void)
{
    char line[NF_AUTH_PASSWORD_MAX + 2];
    if (fgets(line, sizeof(line), stdin) == NULL) {
        fprintf(stderr, "serviceradar-core: --hash-password reads the password from stdin\n");
        return 2;
    }
    line[strcspn(line, "\r\n")] = '\0';
    char hash[NF_AUTH_BCRYPT_LEN + 1];
    nf_err err = {0};
    if (nf_auth_hash_password(line, 10, hash, &err) != NF_OK) {
        fprintf(stderr, "serviceradar-core: %s\n", err.msg);
        return 1;
    }
    explicit_bzero(line, sizeof(line));
    printf("%s\n", hash);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *path = NF_CORE_CONFIG_PATH;
    bool path_given;
    if (argc == 2 && strcmp(argv[1], "--hash-password") == 0)
        return hash_password();
    int args = nf_cfg_daemon_args(argc, argv, "serviceradar-core", nf_core_config_table, &path,
                                  &path_given);
    if (args >= 0)
        return args;
    nf_core_config cfg;
    nf_err err = {0};
    if (nf_core_config_load(path, !path_given, &cfg, nf_cfg_log_unknown_key, (void *)COMP,
                            &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        return 1;
    }
    sigset_t stop;
    nf_daemon_begin(cfg.log_level, &stop);
    nf_core *core = NULL;
    int rc = 1;
    if (nf_core_start(&cfg, &core, &err) != NF_OK) {
        nf_log_error(COMP, "%s (config %s)", err.msg, path);
        goto out;
    }
    nf_log_info(COMP, "listening on %s tls=%s auth=%s clickhouse=%s iceberg=%s table=%s",
                cfg.listen_addr,
                cfg.security.tls.cert_file[0] != '\0' ? "on" : "off",
                cfg.auth.enabled ? "on" : "off", cfg.netflow.clickhouse_url,
                cfg.netflow.iceberg_catalog, cfg.netflow.iceberg_table);
    int sig = 0;
    sigwait(&stop, &sig);
    nf_log_info(COMP, "signal %d: stopping", sig);
    rc = 0;
out:
    nf_core_stop(core);
    nf_core_config_free(&cfg);
    return rc;
}
