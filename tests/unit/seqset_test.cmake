# lib/pqwriter's sequence sets and config, lib/cold's table definition. Built from the
# sources directly so it does not wait for the whole writer library.
pkg_check_modules(JANSSON_T REQUIRED IMPORTED_TARGET jansson)
nf_unit_test(seqset_test SOURCES seqset_test.c ${CMAKE_SOURCE_DIR}/lib/pqwriter/seqset.c
             ${CMAKE_SOURCE_DIR}/lib/pqwriter/pqwriter_config.c
             LIBS nf_cold nf_config nf_base PkgConfig::JANSSON_T)
