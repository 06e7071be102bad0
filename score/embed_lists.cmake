# Writes OUT, a C file holding the shipped domain lists (FREEMAIL, DISPOSABLE) as byte arrays,
# so that leadedge has them built in (identity.*_domains unset). Run by score/CMakeLists.txt.
function(embed var file out)
  file(READ ${file} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  file(APPEND ${out} "const char ${var}[] = {${bytes} 0};\n")
  file(APPEND ${out} "const unsigned long ${var}_len = sizeof(${var}) - 1;\n")
endfunction()
file(WRITE ${OUT} "/* Generated from the config folder's domain lists by score/embed_lists.cmake. */\n")
file(APPEND ${OUT} "#include \"lists.h\"\n")
embed(le_builtin_freemail ${FREEMAIL} ${OUT})
embed(le_builtin_disposable ${DISPOSABLE} ${OUT})
