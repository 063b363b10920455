/* openapi.c — GET /api/openapi.json: the OpenAPI 3.0.3 document of this API.
 *
 * Design: the document (docs/openapi.json) is compiled into the core as a byte array
 * (cmake/embed.cmake writes openapi_doc.c at build time, again whenever the document
 * changes). So the core serves exactly the document of its own version: there is no file to
 * install, find or keep in step, and a build with a document that is not a JSON object
 * fails. tests/it/core_openapi.sh checks that the served bytes equal the file and that the
 * document is true to the running server (enums and limits against /api/netflow/fields,
 * real answers against the documented schemas).
 *
 * The route is public (no credentials), like /healthz: the API's description is no secret.
 */
#include "core_int.h"

#include <stdlib.h>
#include <string.h>

/* openapi_doc.c (generated): the document's bytes, NUL-terminated; the length excludes the
 * NUL. */
extern const unsigned char core_openapi_doc[];
extern const size_t core_openapi_doc_len;

void
core_route_openapi(core_answer *a)
{
    /* The sender frees a->body: a copy (tens of KiB, once per request). */
    char *body = malloc(core_openapi_doc_len + 1);
    if (body == NULL) {
        core_fail(a, 500, NULL, "out of memory");
        return;
    }
    memcpy(body, core_openapi_doc, core_openapi_doc_len + 1);
    a->status = 200;
    a->body = body;
    a->len = core_openapi_doc_len;
    a->type = "application/json";
}
