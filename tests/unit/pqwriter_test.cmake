# The unit runner of lib/pqwriter: table maintenance (maintain.c) against a filesystem Iceberg
# catalog and DuckDB. maintain.c (with snapcommit.c) is compiled in directly so the runner
# does not depend on the daemon's parts of nf_pqwriter (bus, metrics, …).
nf_unit_test(pqwriter_test SOURCES pqwriter_test.c ${CMAKE_SOURCE_DIR}/lib/pqwriter/maintain.c
             ${CMAKE_SOURCE_DIR}/lib/pqwriter/snapcommit.c
             LIBS nf_iceberg nf_duck nf_cold nf_base)
# The unknown-outcome test stalls a real REST catalog server (SIGSTOP) during a commit.
if(TARGET serviceradar-iceberg-catalog)
  add_dependencies(pqwriter_test serviceradar-iceberg-catalog)
  target_compile_definitions(pqwriter_test PRIVATE
    NF_CATALOG_BIN="$<TARGET_FILE:serviceradar-iceberg-catalog>")
  target_link_libraries(pqwriter_test PRIVATE Threads::Threads)
endif()
