# rollup_test: the cold tier's hourly rollups — definitions (lib/cold/rollup.c), maintenance
# (lib/pqwriter/rollup.c, compiled in with maintain.c as pqwriter_test does, so the runner
# does not need the daemon's parts of nf_pqwriter) and, with lib/histq, answers from rollups
# equal to raw-only answers.
set(_libs nf_iceberg nf_duck nf_cold nf_base)
if(TARGET nf_histq)
  list(PREPEND _libs nf_histq nf_query)
endif()
nf_unit_test(rollup_test SOURCES rollup_test.c ${CMAKE_SOURCE_DIR}/lib/pqwriter/maintain.c
             ${CMAKE_SOURCE_DIR}/lib/pqwriter/rollup.c
             ${CMAKE_SOURCE_DIR}/lib/pqwriter/snapcommit.c LIBS ${_libs})
if(TARGET nf_histq)
  target_compile_definitions(rollup_test PRIVATE ROLLUP_TEST_HISTQ=1)
endif()
