# Script mode: writes OUT, a C++ file holding DIR/kernels-T.bc for each T of
# TARGETS (a ;-list) as byte arrays, and kiln::runtimeBitcode().
set(body "// Generated at build time from runtime/llvm/kernels.cpp: do not edit.\n")
string(APPEND body "#include \"codegen/runtime_bitcode.h\"\n\nnamespace kiln {\nnamespace {\n\n")
set(table "")
set(i 0)
foreach(t ${TARGETS})
  file(READ ${DIR}/kernels-${t}.bc hex HEX)
  string(LENGTH "${hex}" n)
  math(EXPR bytes "${n} / 2")
  # 32 bytes a line.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(REGEX REPLACE "((0x..,){32})" "\\1\n" hex "${hex}")
  string(APPEND body "// kernels-${t}.bc, ${bytes} bytes.\nalignas(8) const unsigned char kBitcode${i}[] = {\n${hex}\n};\n\n")
  string(APPEND table "      {\"${t}\", std::string_view(reinterpret_cast<const char *>(kBitcode${i}), ${bytes})},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND body "} // namespace\n\n")
string(APPEND body "const std::vector<RuntimeBitcode> &runtimeBitcodes() {\n")
string(APPEND body "  static const std::vector<RuntimeBitcode> all = {\n${table}  };\n  return all;\n}\n\n")
string(APPEND body "} // namespace kiln\n")
# Written even when unchanged, so that it is newer than the .bc files (and
# the step does not run again on every build).
file(WRITE ${OUT} "${body}")
