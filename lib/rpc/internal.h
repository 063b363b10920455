/* internal.h — what the server and client halves of lib/rpc share: PEM loading and checks,
 * credential construction, byte-buffer conversion and the grpc.health.v1 wire format.
 * Not installed; include only from the .c files of lib/rpc.
 */
#ifndef NFX_LIB_RPC_INTERNAL_H
#define NFX_LIB_RPC_INTERNAL_H

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

#define RPC_HEALTH_CHECK_METHOD "/grpc.health.v1.Health/Check"
#define RPC_HEALTH_SERVING 1
#define RPC_HEALTH_NOT_SERVING 2

/* Builds credentials from sec (NULL or mode "none": insecure). *tls_out tells which.
 * Returned-owned: release with grpc_server_credentials_release. */
nf_status rpc_server_creds(const nf_security_config *sec, grpc_server_credentials **out,
                           bool *tls_out, nf_err *err);

/* Same for a client. *server_name_out receives a malloc'd copy of the name to check in the
 * server's certificate ("" = the target host) when TLS is on, NULL otherwise. */
nf_status rpc_channel_creds(const nf_security_config *sec, grpc_channel_credentials **out,
                            char **server_name_out, nf_err *err);

/* Copies the payload of bb into a malloc'd buffer (*out, free with free(); never NULL on
 * success, even for 0 bytes). Errors: NF_ENOMEM, NF_EPROTO (undecodable buffer), NF_EINVAL
 * (larger than NF_RPC_MAX_MSG). */
nf_status rpc_bb_read(grpc_byte_buffer *bb, uint8_t **out, size_t *len, nf_err *err);

/* A byte buffer holding a copy of data (borrowed). NULL when out of memory. */
grpc_byte_buffer *rpc_bb_copy(const uint8_t *data, size_t len);

/* grpc.health.v1 messages. The request encoder writes at most 6 + strlen(service) bytes. */
size_t rpc_health_req_encode(const char *service, uint8_t *out, size_t cap);
bool rpc_health_req_decode(const uint8_t *p, size_t len, char *service, size_t cap);
size_t rpc_health_resp_encode(int status, uint8_t out[8]);
bool rpc_health_resp_decode(const uint8_t *p, size_t len, int *status);

/* gpr deadline for "timeout_ms from now" on the monotonic clock; 0 = infinite. */
gpr_timespec rpc_deadline_in(uint64_t timeout_ms);

#endif
