# histq_test: lib/query's DuckDB SQL checked by running it over Parquet files against an
# oracle in C; with lib/histq present, the whole historical path through an Iceberg table.
if(TARGET nf_histq)
  nf_unit_test(histq_test SOURCES histq_test.c LIBS nf_histq nf_query nf_duck)
  target_compile_definitions(histq_test PRIVATE HISTQ_TEST_FULL=1)
else()
  nf_unit_test(histq_test SOURCES histq_test.c LIBS nf_query nf_duck)
endif()
