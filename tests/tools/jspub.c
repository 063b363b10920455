/* jspub.c — publishes bytes to JetStream, for tests that need a message no poller would
 * send (a poison message for the writer's dead-letter path).
 *
 *   jspub --url URL [--certs DIR] --subject S [--msg-id ID] (--file F | --hex HEX)
 *
 * Prints {"stream_seq": N, "duplicate": false} on success; exits 1 with the reason on
 * failure. With --certs, connects with mTLS as "poller" (DIR/poller.pem).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "test_security.h"

#define MAX_BYTES (8u << 20)

static size_t
from_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; hex[0] && hex[1] && n < cap; hex += 2) {
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
    }
    return n;
}

int
main(int argc, char **argv)
{
    const char *url = NULL, *certs = NULL, *subject = NULL, *msg_id = NULL, *file = NULL,
               *hex = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            fprintf(stderr, "jspub: %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--url") == 0) url = v;
        else if (strcmp(argv[i], "--certs") == 0) certs = v;
        else if (strcmp(argv[i], "--subject") == 0) subject = v;
        else if (strcmp(argv[i], "--msg-id") == 0) msg_id = v;
        else if (strcmp(argv[i], "--file") == 0) file = v;
        else if (strcmp(argv[i], "--hex") == 0) hex = v;
        else {
            fprintf(stderr, "jspub: bad argument %s\n", argv[i]);
            return 2;
        }
        i++;
    }
    if (url == NULL || subject == NULL || (file == NULL) == (hex == NULL)) {
        fprintf(stderr, "usage: jspub --url URL [--certs DIR] --subject S [--msg-id ID] "
                        "(--file F | --hex HEX)\n");
        return 2;
    }
    uint8_t *data = malloc(MAX_BYTES);
    size_t len = 0;
    if (data == NULL)
        return 1;
    if (hex != NULL) {
        len = from_hex(hex, data, MAX_BYTES);
    } else {
        FILE *fp = fopen(file, "rb");
        if (fp == NULL) {
            perror(file);
            free(data);
            return 1;
        }
        len = fread(data, 1, MAX_BYTES, fp);
        fclose(fp);
    }
    char cert_dir[4096];
    nf_security_config sec = {0};
    if (certs != NULL)
        test_security(&sec, certs, cert_dir, sizeof(cert_dir));
    nf_bus_config bc = {.url = url, .security = certs ? &sec : NULL, .name = "jspub"};
    nf_bus *bus = NULL;
    nf_err err = {0};
    nf_pub_ack ack = {0};
    int rc = 0;
    if (nf_bus_connect(&bc, &bus, &err) != NF_OK ||
        nf_bus_publish(bus, subject, data, len, msg_id, 5000, &ack, &err) != NF_OK) {
        fprintf(stderr, "jspub: %s\n", err.msg);
        rc = 1;
    } else {
        printf("{\"stream_seq\": %" PRIu64 ", \"duplicate\": %s}\n", ack.stream_seq,
               ack.duplicate ? "true" : "false");
    }
    nf_bus_close(bus);
    nf_bus_global_cleanup(2000);
    free(data);
    return rc;
}
