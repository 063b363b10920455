if(TARGET nf_catalog)
  nf_unit_test(catalog_test SOURCES catalog_test.c LIBS nf_catalog)
endif()
