nf_unit_test(duck_test SOURCES duck_test.c LIBS nf_duck nf_flowgen)
