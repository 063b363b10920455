# histrun: one historical question asked N times through lib/histq in one process (catalog
# and DuckDB kept open, as serviceradar-core keeps them), for bench/core_bench.sh.
add_executable(histrun histrun.c)
target_link_libraries(histrun PRIVATE nf_histq nf_duck nf_iceberg nf_query nf_cold nf_base)
