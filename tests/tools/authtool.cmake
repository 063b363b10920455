# authtool: bcrypt hashes, HS256 tokens and API key hashes for core.json and for tests.
pkg_check_modules(AUTHTOOL_CRYPTO REQUIRED IMPORTED_TARGET libcrypto)
add_executable(authtool authtool.c)
target_link_libraries(authtool PRIVATE nf_auth nf_base PkgConfig::AUTHTOOL_CRYPTO)
