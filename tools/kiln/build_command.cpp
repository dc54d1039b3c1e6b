// `kiln build`: a model to a static executable, through the C++ backend and
// the system C++ compiler, or (--backend=llvm) an object from the LLVM
// backend linked with the generated main by the system C++ compiler.
#include "codegen/buffer_plan.h"
#include "codegen/cpp_backend.h"
#include "codegen/llvm_backend.h"
#include "codegen/runtime_sources.h"
#include "support/error.h"
#include "tools/kiln/commands.h"
#include "tools/kiln/subprocess.h"

#include <algorithm>
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

/// The C++ compiler's command line for one step of a build: compile
/// `inputs` with -c (`compile`), or link them into a static program.
std::vector<std::string> compilerArgs(const cli::Options &o,
                                      const std::string &cxx, bool compile,
                                      const std::vector<std::string> &inputs,
                                      const std::string &output) {
  // -Os / -Oz ask for small code from the C++ compiler too (the LLVM
  // backend's object is already optimised; this compiles the main).
  const char *cxxOpt = o.sizeLevel == 1   ? "-Os"
                       : o.sizeLevel == 2 ? "-Oz"
                                          : "-O3";
  std::vector<std::string> argv = {cxx, "-std=c++17", cxxOpt};
  if (compile)
    argv.insert(argv.end(), {"-I", ".", "-c"});
  else
    argv.push_back("-static");
  argv.insert(argv.end(), inputs.begin(), inputs.end());
  // The C++ compiler makes code for the same CPU (the LLVM backend's object
  // already is; the main then checks at start-up that the CPU has its ISA).
  if (!o.cpu.empty() && o.cpu != "generic")
    argv.push_back((isArm() ? "-mcpu=" : "-march=") + o.cpu);
  for (const auto &f : o.cxxFlags)
    argv.push_back(f);
  argv.insert(argv.end(), {"-o", output});
  return argv;
}

/// Throws the user error of a failed compiler step.
[[noreturn]] void compilerFailed(const cli::Options &o, int rc,
                                 const std::vector<std::string> &argv,
                                 const std::string &log) {
  std::string cmd;
  for (const auto &a : argv)
    cmd += a + " ";
  throw Error(o.output, "",
              "the C++ compiler failed (exit " + std::to_string(rc) +
                  "): " + cmd + "\n" + log);
}

/// `files` without those already written (same path): their contents must
/// be the same.
GeneratedFiles notYetWritten(GeneratedFiles files,
                             const GeneratedFiles &written) {
  GeneratedFiles rest;
  for (GeneratedFile &f : files) {
    auto same =
        std::find_if(written.begin(), written.end(),
                     [&](const GeneratedFile &w) { return w.path == f.path; });
    if (same == written.end()) {
      rest.push_back(std::move(f));
      continue;
    }
    KILN_ASSERT(same->contents == f.contents,
                f.path + " is generated the same for the main and the model");
  }
  return rest;
}

} // namespace

// The program's main (and the header and runtime headers it includes) is
// generated first and compiled by a second compiler process while the
// backend generates and compiles the model: AlexNet's build spends seconds
// in each.
int build(const cli::Options &o) {
  std::unique_ptr<Graph> g = load(o, true);
  const bool llvm = o.backend == "llvm";
  const std::string sourceName = fs::path(o.model).filename().string();
  const std::string isa = microKernelIsa(o);
  std::string cxx = o.cxx;
  if (cxx.empty())
    cxx =
        std::getenv("CXX") && *std::getenv("CXX") ? std::getenv("CXX") : "c++";

  TempDir tmp;
  const std::string dir = tmp.path.string();
  GeneratedFiles mainFiles = {
      generateProgramMain(*g),
      {g->name + ".h", generateHeader(*g, planBuffers(*g), isa, sourceName)}};
  for (const GeneratedFile &f : runtimeSources())
    mainFiles.push_back(f);
  writeFiles(dir, mainFiles);
  const std::string mainObj = g->name + "_main.o";
  const std::vector<std::string> mainArgs =
      compilerArgs(o, cxx, true, {g->name + "_main.cpp"}, mainObj);
  Program mainCompile =
      startProgram(mainArgs, dir, (tmp.path / "main.log").string());

  GeneratedFiles files;
  if (llvm) {
    LlvmOptions lo = llvmOptions(o);
    lo.emit = LlvmEmit::Object;
    files = generateLlvm(*g, lo);
  } else {
    CppOptions co;
    co.embed = o.embed;
    co.sourceName = sourceName;
    co.weightsSection = o.weightsSection;
    co.isa = isa;
    files = generateCpp(*g, co);
  }
  files = notYetWritten(std::move(files), mainFiles);
  writeFiles(dir, files);
  if (!o.keepSources.empty()) {
    GeneratedFiles all = mainFiles;
    all.insert(all.end(), files.begin(), files.end());
    writeFiles(o.keepSources, all);
  }

  if (!llvm) {
    std::string log;
    const std::vector<std::string> args =
        compilerArgs(o, cxx, true, {g->name + ".cpp"}, g->name + ".o");
    int rc = runProgram(args, dir, log);
    if (rc != 0)
      compilerFailed(o, rc, args, log);
  }
  std::string mainLog;
  int rc = mainCompile.wait(mainLog);
  if (rc != 0)
    compilerFailed(o, rc, mainArgs, mainLog);

  fs::path out = fs::absolute(o.output);
  fs::path staged = out;
  staged += ".kiln-tmp";
  const std::vector<std::string> linkArgs =
      compilerArgs(o, cxx, false, {g->name + ".o", mainObj}, staged.string());
  std::string linkLog;
  rc = runProgram(linkArgs, dir, linkLog);
  if (rc != 0) {
    std::error_code ec;
    fs::remove(staged, ec);
    compilerFailed(o, rc, linkArgs, linkLog);
  }
  std::error_code ec;
  fs::rename(staged, out, ec);
  if (ec)
    throw Error(o.output, "", "cannot write the program: " + ec.message());
  return 0;
}

} // namespace kiln::commands
