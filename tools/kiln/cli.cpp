// Command-line parsing for the `kiln` driver.
#include "tools/kiln/cli.h"

#include "support/error.h"
#include "support/strings.h"

#include <cctype>

namespace kiln::cli {

const char *usage() {
  return R"(usage: kiln COMMAND MODEL.json [options]

commands:
  compile   compile to a standalone C++ folder (or print the IR)
  build     compile and link a static executable
  run       evaluate the model with the reference interpreter
  opt       parse a textual IR file (.kir), run passes, print the result
  info      print each layer's output shape, parameters and MACs, and the
            weight and arena bytes

options:
  -o PATH                 output folder (compile), executable (build), or
                          file (compile --emit=ir; default stdout)
  --emit=cpp|ir|dot       what compile writes (default cpp; dot: Graphviz)
  --emit=llvm|bc|obj|asm  compile with the LLVM backend: NAME.h and NAME.ll,
                          NAME.bc, NAME.o or NAME.s in the -o folder
  --target=TRIPLE         LLVM backend target (default: the host), e.g.
                          x86_64-linux-gnu, aarch64-linux-gnu,
                          thumbv7em-none-eabihf
  --cpu=CPU               the CPU to generate code for (native: the
                          host's; build's default), e.g. znver4,
                          skylake-avx512, haswell, cortex-m4, cortex-m7: the
                          LLVM backend's CPU, and for C++ the micro-kernel
                          ISA the weights are packed for (recorded in
                          NAME.h; build passes -march=CPU to the compiler)
  --features=+a,-b        LLVM backend target features
  -D NAME=VALUE           set a model option
  --weights FILE          weights file, instead of the JSON's "weights"
  --embed=incbin|array    how weights are embedded in C++ (default incbin;
                          --weights=incbin / --weights=array are aliases)
  --weights-section=NAME  section of the weights blob (incbin)
  --print-locations       print each op's JSON path in the IR

optimisation (compile, build, opt; run and info only when asked):
  -O0                     run no pass (the naive graph; LLVM backend: no
                          LLVM optimisation either)
  -O1, -O2, -O3           the default pipeline (the default; LLVM backend:
                          LLVM's O1/O2/O3 pipeline, default O2)
  -Os, -Oz                the default pipeline, code optimised for size
                          (LLVM backend: LLVM's Os/Oz pipeline; build: the
                          C++ compiler's -Os/-Oz instead of -O3)
  --passes=a,b,c          run these passes instead (see --list-passes);
                          parameters as in pack-weights<isa=avx2,l1=32768>
  --list-passes           list the passes and the default pipeline
  --print-ir-before=NAME  print the IR before pass NAME (repeatable)
  --print-ir-after=NAME   print the IR after pass NAME (repeatable)
  --print-ir-after-all    print the IR after every pass
  --print-ir-after-change print the IR after every pass that changed it
  --ir-dump-dir=DIR       write those dumps as DIR/NN-PASS.kir, not stderr
  --verify-each           run the IR verifier after every pass
  --input NAME=FILE.npy   run: an input (float32, C order)
  --output NAME=FILE.npy  run: where to write an output (default: print)
  --dump-values DIR       run: also write every intermediate value as
                          DIR/VALUE.npy and DIR/index.json (value, op,
                          module path, JSON location, shape); use -O0 (the
                          default) for one value per layer and step
  --backend=cpp|llvm      build: through the C++ backend and the C++
                          compiler (default), or an LLVM backend object
                          linked with the generated main
  --cxx=COMPILER          build: the C++ compiler (default $CXX, else c++)
  --cxxflag=FLAG          build: an extra compiler flag for every compile and
                          the link (repeatable)
  --keep-sources=DIR      build: also write the generated sources to DIR
)";
}

bool usesLlvm(const Options &o) {
  if (o.command == "build")
    return o.backend == "llvm";
  return o.command == "compile" && (o.emit == "llvm" || o.emit == "bc" ||
                                    o.emit == "obj" || o.emit == "asm");
}

static void usageError(const std::string &m) {
  throw Error("kiln", "", m + "\n" + usage());
}

static std::pair<std::string, std::string> splitAssign(const std::string &flag,
                                                       const std::string &v) {
  size_t eq = v.find('=');
  if (eq == std::string::npos || eq == 0)
    usageError(flag + " expects NAME=VALUE, found \"" + v + "\"");
  return {v.substr(0, eq), v.substr(eq + 1)};
}

Options parse(int argc, char **argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty())
    usageError("missing command");
  o.command = args[0];
  const std::vector<std::string> commands = {"compile", "build", "run", "info",
                                             "opt"};
  bool known = false;
  for (const auto &c : commands)
    known |= c == o.command;
  if (!known)
    usageError("unknown command \"" + o.command + "\"" +
               didYouMean(o.command, commands));
  const std::vector<std::string> valued = {"-o",
                                           "-D",
                                           "--emit",
                                           "--weights",
                                           "--embed",
                                           "--weights-section",
                                           "--input",
                                           "--output",
                                           "--dump-values",
                                           "--cxx",
                                           "--cxxflag",
                                           "--keep-sources",
                                           "--backend",
                                           "--target",
                                           "--cpu",
                                           "--features",
                                           "--passes",
                                           "--print-ir-before",
                                           "--print-ir-after",
                                           "--ir-dump-dir"};
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i], v;
    bool hasValue = false;
    if (a.size() > 2 && a[0] == '-' && a[1] == 'D') {
      v = a.substr(2);
      a = "-D";
      hasValue = true;
    } else if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      v = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      hasValue = true;
    }
    bool takesValue = false;
    for (const auto &f : valued)
      takesValue |= f == a;
    if (takesValue && !hasValue) {
      if (i + 1 >= args.size())
        usageError(a + " expects a value");
      v = args[++i];
    }
    if (a == "-o") {
      o.output = v;
    } else if (a == "-D") {
      auto [k, val] = splitAssign("-D", v);
      o.load.defines[k] = val;
    } else if (a == "--emit") {
      const std::vector<std::string> emits = {"cpp", "ir",  "dot", "llvm",
                                              "bc",  "obj", "asm"};
      bool ok = false;
      for (const auto &e : emits)
        ok |= e == v;
      if (!ok)
        usageError("--emit expects cpp, ir or dot, or llvm, bc, obj or asm "
                   "(LLVM backend), found \"" +
                   v + "\"" + didYouMean(v, emits));
      o.emit = v;
    } else if (a == "--backend") {
      if (v != "cpp" && v != "llvm")
        usageError("--backend expects cpp or llvm, found \"" + v + "\"");
      o.backend = v;
    } else if (a == "--target" || a == "--cpu") {
      if (v.empty())
        usageError(a + " expects a value");
      (a == "--target" ? o.target : o.cpu) = v;
    } else if (a == "--features") {
      o.features = v;
    } else if (a == "--embed" ||
               (a == "--weights" && (v == "array" || v == "incbin"))) {
      if (v != "array" && v != "incbin")
        usageError("--embed expects incbin or array, found \"" + v + "\"");
      o.embed = v == "array" ? WeightsEmbed::Array : WeightsEmbed::Incbin;
    } else if (a == "--weights") {
      o.load.weightsFile = v;
    } else if (a == "--weights-section") {
      bool ok = !v.empty();
      for (char c : v)
        ok &= std::isalnum((unsigned char)c) || c == '.' || c == '_';
      if (!ok)
        usageError("--weights-section expects a section name of letters, "
                   "digits, '.' and '_', found \"" +
                   v + "\"");
      o.weightsSection = v;
    } else if (a == "--print-locations") {
      o.printLocations = true;
      o.instr.print.locations = true;
    } else if (a == "-O0" || a == "-O1" || a == "-O2" || a == "-O3") {
      o.optLevel = a[2] - '0';
      o.sizeLevel = 0;
    } else if (a == "-Os" || a == "-Oz") {
      o.optLevel = 2;
      o.sizeLevel = a == "-Os" ? 1 : 2;
    } else if (a == "--passes") {
      // Commas separate passes, except inside a pass's <parameters>.
      std::vector<std::string> list;
      std::string item;
      int depth = 0;
      for (char c : v + ",") {
        if (c == ',' && depth == 0) {
          if (!item.empty())
            list.push_back(item);
          item.clear();
          continue;
        }
        depth += c == '<' ? 1 : c == '>' ? -1 : 0;
        item += c;
      }
      o.passes = list;
    } else if (a == "--list-passes") {
      o.command = "list-passes";
    } else if (a == "--print-ir-before") {
      o.instr.printBefore.insert(v);
    } else if (a == "--print-ir-after") {
      o.instr.printAfter.insert(v);
    } else if (a == "--print-ir-after-all") {
      o.instr.printAfterAll = true;
    } else if (a == "--print-ir-after-change") {
      o.instr.printAfterChange = true;
    } else if (a == "--ir-dump-dir") {
      o.instr.dumpDir = v;
    } else if (a == "--verify-each") {
      o.instr.verifyEach = true;
    } else if (a == "--input") {
      o.inputs.push_back(splitAssign("--input", v));
    } else if (a == "--output") {
      o.outputs.push_back(splitAssign("--output", v));
    } else if (a == "--dump-values") {
      if (v.empty())
        usageError("--dump-values expects a directory");
      o.dumpValues = v;
    } else if (a == "--cxx") {
      o.cxx = v;
    } else if (a == "--cxxflag") {
      o.cxxFlags.push_back(v);
    } else if (a == "--keep-sources") {
      o.keepSources = v;
    } else if (a == "-h" || a == "--help") {
      usageError("help");
    } else if (!a.empty() && a[0] == '-') {
      usageError("unknown option \"" + a + "\"");
    } else if (o.model.empty()) {
      o.model = a;
    } else {
      usageError("unexpected argument \"" + a + "\"");
    }
  }
  if (o.command == "list-passes")
    return o;
  if (o.model.empty())
    usageError(o.command == "opt" ? "missing FILE.kir" : "missing MODEL.json");
  if (!o.dumpValues.empty() && o.command != "run")
    usageError("--dump-values is an option of run");
  if (o.command == "build" && o.output.empty())
    usageError("build needs -o PROGRAM");
  bool llvm = usesLlvm(o);
  if (o.command == "compile" && (o.emit == "cpp" || llvm) && o.output.empty())
    usageError("compile needs -o DIR (or --emit=ir)");
  if (!llvm && (!o.target.empty() || !o.features.empty()))
    usageError("--target and --features are for the LLVM backend "
               "(compile --emit=llvm|bc|obj|asm, build --backend=llvm)");
  // build makes a program for this machine unless told otherwise.
  if (o.command == "build" && o.cpu.empty() && o.target.empty())
    o.cpu = "native";
  return o;
}

} // namespace kiln::cli
