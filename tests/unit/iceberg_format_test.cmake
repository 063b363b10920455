# lib/iceberg's Avro half: bounds, container framing, manifests, manifest lists, scan.
nf_unit_test(iceberg_format_test SOURCES iceberg_format_test.c LIBS nf_iceberg_format)
