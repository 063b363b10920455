# coldload: flowgen traffic into the cold tier's Iceberg table (the same flows as chload,
# through flowsrc.h) and historical queries over it (lib/histq), for it_histq_parity and
# bench/.
add_executable(coldload coldload.c)
target_link_libraries(coldload PRIVATE nf_histq nf_duck nf_iceberg nf_query nf_cold nf_flowgen
                      nf_base)
