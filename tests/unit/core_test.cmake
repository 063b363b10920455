if(TARGET nf_core)
  nf_unit_test(core_test SOURCES core_test.c LIBS nf_core)
endif()
