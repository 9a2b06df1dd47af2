# SPDX-License-Identifier: MIT
# Turns sql/NNN_*.sql into a C header: one string per migration, in order.
# Usage: cmake -DOUT=header.h -DSQL_DIR=sql -P embed_sql.cmake
file(GLOB FILES "${SQL_DIR}/*.sql")
list(SORT FILES)
set(body "/* Generated from the files in sql/ by cmake/embed_sql.cmake. Do not edit. */\n")
string(APPEND body "static const char *const mpMigrations[] = {\n")
foreach(f IN LISTS FILES)
  file(READ "${f}" text)
  string(REPLACE "\\" "\\\\" text "${text}")
  string(REPLACE "\"" "\\\"" text "${text}")
  # "??" would start a trigraph in C11: write every ? as \?.
  string(REPLACE "?" "\\?" text "${text}")
  string(REPLACE "\n" "\\n\"\n  \"" text "${text}")
  get_filename_component(name "${f}" NAME)
  string(APPEND body "  /* ${name} */\n  \"${text}\",\n")
endforeach()
string(APPEND body "};\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
