/* fuzz_prom.c — libFuzzer target for lib/metrics' Prometheus text reader (parse.h): what
 * serviceradar-core reads from every daemon's /metrics for /api/netflow/status.
 *
 * Properties checked beyond "no crash, no sanitizer report": every delivered sample lies
 * inside the input; its name is a valid metric name; a label look-up never overruns. The
 * input is copied into an exactly sized heap buffer so ASan sees any read past its end.
 *
 * Built twice from this file: the fuzzer, and with FUZZ_PROM_SEEDS a seed writer
 * (`fuzz_prom_seeds OUT_DIR`) that renders metrics with lib/metrics' own writer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "metrics/parse.h"

#ifndef FUZZ_PROM_SEEDS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct span {
    const char *lo, *hi;
} span;

static void
check_sample(void *ctx, const nf_prom_sample *s)
{
    const span *in = ctx;
    if (s->name < in->lo || s->name + s->name_len > in->hi || s->name_len == 0)
        abort();
    if (s->labels < in->lo || s->labels + s->labels_len > in->hi)
        abort();
    char v[16];
    (void)nf_prom_label(s, "reason", v, sizeof(v));
    (void)nf_prom_label(s, "a", v, 1);
    (void)nf_prom_is(s, "a");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    span in = {buf, buf + size};
    nf_err err = {0};
    (void)nf_prom_parse(buf, size, check_sample, &in, &err);
    free(buf);
    return 0;
}

#else

static void
write_seed(const char *dir, int k, const char *text, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/seed-%02d", dir, k);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    nf_metrics m = {0};
    char esc[64];
    nf_metrics_escape("edge \"1\"\\\n", esc, sizeof(esc));
    char labels[128];
    snprintf(labels, sizeof(labels), "agent=\"%s\",reason=\"bad_length\"", esc);
    nf_metrics_counter(&m, "serviceradar_poller_records_published_total", "help", 12345);
    nf_metrics_family(&m, "netflow_checker_decode_errors_total", "counter", "by reason");
    nf_metrics_sample(&m, "netflow_checker_decode_errors_total", labels, UINT64_MAX);
    nf_metrics_gauge(&m, "serviceradar_netflow_parquet_catalog_up", "up", 1.0);
    nf_metrics_sample_double(&m, "x", "a=\"b\"", 0.125);
    if (m.failed)
        return 1;
    write_seed(argv[1], 0, m.buf, m.len);
    static const char *const texts[] = {"a 1\r\nb{c=\"d\",} NaN 17\n# c\n", "z +Inf -1\n",
                                        "w{a=\"\\\\\\\"\\n\"} 0\n"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        write_seed(argv[1], (int)i + 1, texts[i], strlen(texts[i]));
    nf_metrics_reset(&m);
    return 0;
}

#endif
