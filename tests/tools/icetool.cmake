# icetool: create/load/snapshots/commit-raw/drop through nf_ice_catalog (REST or filesystem).
add_executable(icetool icetool.c)
target_link_libraries(icetool PRIVATE nf_iceberg_meta nf_cold nf_base)
