# Sources of the mp-slt test runner, relative to the repository root.
set(MP_SLT_SOURCES
  tools/slt/slt.c
  tools/slt/slt_complete.c
  tools/slt/slt_md5.c
  tools/slt/slt_parse.c
  tools/slt/slt_result.c
  tools/slt/slt_run.c
  tools/slt/slt_util.c
)
