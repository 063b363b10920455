nf_unit_test(api_test SOURCES api_test.c LIBS nf_api m)
