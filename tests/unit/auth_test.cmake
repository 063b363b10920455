# auth_test: lib/auth — bcrypt users, HS256 JWT, API keys, the login limiter, the auth config
# section. Runs the authtool binary to check that its hashes and tokens are accepted.
pkg_check_modules(AUTH_T_CRYPTO REQUIRED IMPORTED_TARGET libcrypto)
nf_unit_test(auth_test SOURCES auth_test.c LIBS nf_auth nf_config nf_base
             PkgConfig::AUTH_T_CRYPTO Threads::Threads)
target_compile_definitions(auth_test PRIVATE AUTHTOOL_PATH="$<TARGET_FILE:authtool>")
add_dependencies(auth_test authtool)
