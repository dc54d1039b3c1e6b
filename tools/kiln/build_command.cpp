// `kiln build`: a model to a static executable, through the C++ backend and
// the system C++ compiler, or (--backend=llvm) an object from the LLVM
// backend linked with the generated main by the system C++ compiler.
#include "codegen/cpp_backend.h"
#include "codegen/llvm_backend.h"
#include "codegen/runtime_sources.h"
#include "support/error.h"
#include "tools/kiln/commands.h"
#include "tools/kiln/subprocess.h"

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace kiln::commands {

namespace {

/// A temporary directory removed when it goes out of scope.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl =
        (fs::temp_directory_path() / "kiln-build-XXXXXX").string();
    if (!mkdtemp(tmpl.data()))
      throw Error(tmpl, "", "cannot create a temporary directory");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

/// Whether this compiler runs on Arm (GCC spells the CPU -mcpu there).
bool isArm() {
#if defined(__aarch64__) || defined(__arm__)
  return true;
#else
  return false;
#endif
}

} // namespace

int build(const cli::Options &o) {
  std::unique_ptr<Graph> g = load(o, true);
  bool llvm = o.backend == "llvm";
  GeneratedFiles files;
  if (llvm) {
    LlvmOptions lo = llvmOptions(o);
    lo.emit = LlvmEmit::Object;
    files = generateLlvm(*g, lo);
    // The runtime headers the generated main includes (kiln/program.h).
    for (const GeneratedFile &f : runtimeSources())
      files.push_back(f);
  } else {
    CppOptions co;
    co.embed = o.embed;
    co.sourceName = fs::path(o.model).filename().string();
    co.weightsSection = o.weightsSection;
    co.isa = microKernelIsa(o);
    files = generateCpp(*g, co);
  }
  files.push_back(generateProgramMain(*g));
  TempDir tmp;
  writeFiles(tmp.path.string(), files);
  if (!o.keepSources.empty())
    writeFiles(o.keepSources, files);

  std::string cxx = o.cxx;
  if (cxx.empty())
    cxx =
        std::getenv("CXX") && *std::getenv("CXX") ? std::getenv("CXX") : "c++";
  fs::path out = fs::absolute(o.output);
  fs::path staged = out;
  staged += ".kiln-tmp";
  // -Os / -Oz ask for small code from the C++ compiler too (the LLVM
  // backend's object is already optimised; this compiles the main).
  const char *cxxOpt = o.sizeLevel == 1   ? "-Os"
                       : o.sizeLevel == 2 ? "-Oz"
                                          : "-O3";
  std::vector<std::string> argv = {cxx,
                                   "-std=c++17",
                                   cxxOpt,
                                   "-static",
                                   "-I",
                                   ".",
                                   llvm ? g->name + ".o" : g->name + ".cpp",
                                   g->name + "_main.cpp"};
  // The C++ compiler makes code for the same CPU (the LLVM backend's object
  // already is; the main then checks at start-up that the CPU has its ISA).
  if (!o.cpu.empty() && o.cpu != "generic")
    argv.push_back((isArm() ? "-mcpu=" : "-march=") + o.cpu);
  for (const auto &f : o.cxxFlags)
    argv.push_back(f);
  argv.insert(argv.end(), {"-o", staged.string()});
  std::string log;
  int rc = runProgram(argv, tmp.path.string(), log);
  if (rc != 0) {
    std::error_code ec;
    fs::remove(staged, ec);
    std::string cmd;
    for (const auto &a : argv)
      cmd += a + " ";
    throw Error(o.output, "",
                "the C++ compiler failed (exit " + std::to_string(rc) +
                    "): " + cmd + "\n" + log);
  }
  std::error_code ec;
  fs::rename(staged, out, ec);
  if (ec)
    throw Error(o.output, "", "cannot write the program: " + ec.message());
  return 0;
}

} // namespace kiln::commands
