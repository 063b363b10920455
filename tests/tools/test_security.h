/* test_security.h — the mTLS block the JetStream test tools connect with: the poller's
 * certificate from a scripts/certs.sh directory, expecting the server nats.serviceradar. */
#ifndef NFX_TESTS_TOOLS_TEST_SECURITY_H
#define NFX_TESTS_TOOLS_TEST_SECURITY_H

#include <stdio.h>

#include "config/config.h"

/* Fills *sec for certs (a directory; copied into dir_buf, which must outlive sec). */
static inline void
test_security(nf_security_config *sec, const char *certs, char *dir_buf, size_t dir_len)
{
    static char mtls[] = "mtls", cert[] = "poller.pem", key[] = "poller-key.pem",
                ca[] = "root.pem", empty[] = "", name[] = "nats.serviceradar";
    snprintf(dir_buf, dir_len, "%s", certs);
    *sec = (nf_security_config){0};
    sec->mode = mtls;
    sec->cert_dir = dir_buf;
    sec->server_name = name;
    sec->role = empty;
    sec->tls.cert_file = cert;
    sec->tls.key_file = key;
    sec->tls.ca_file = ca;
    sec->tls.client_ca_file = empty;
}

#endif
