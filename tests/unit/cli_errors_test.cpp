// The `kiln` driver on bad input, run as a subprocess: a bad model or a bad
// command line gives a non-zero exit and one `kiln: error: FILE: PATH: ...`
// line on stderr (no crash, no stack trace), and leaves no output behind:
// no files in the `compile` folder, no program (nor its staging file) from
// `build`, also when the C++ compiler fails.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "test_files.h"
#include "tiny_model.h"

namespace {

namespace fs = std::filesystem;

/// A valid model: Conv2d, ReLU, MaxPool2d, flatten, Linear; parameters
/// from "init".
const char *const kTiny = kTinyModel;

/// kTiny with `from` (which must occur once) replaced by `to`; an empty
/// string if it does not occur exactly once.
std::string edited(const std::string &from, const std::string &to) {
  std::string s = kTiny;
  size_t at = s.find(from);
  if (at == std::string::npos || s.find(from, at + 1) != std::string::npos)
    return "";
  return s.replace(at, from.size(), to);
}

/// 8-byte little-endian header length, header, data.
std::string rawSafetensors(const std::string &header, const std::string &data) {
  uint64_t n = header.size();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[size_t(i)] = char((n >> (8 * i)) & 0xFF);
  return bytes + header + data;
}

/// F32 tensors of kTiny, zero-filled, in this order; `drop` left out.
std::string tinyWeights(const std::string &drop = "") {
  const std::vector<std::pair<std::string, std::vector<int>>> tensors = {
      {"features.conv1.weight", {4, 3, 3, 3}},
      {"features.conv1.bias", {4}},
      {"classifier.weight", {10, 36}},
      {"classifier.bias", {10}}};
  std::string header = "{";
  size_t size = 0;
  for (const auto &[name, shape] : tensors) {
    if (name == drop)
      continue;
    size_t n = 4;
    std::string dims;
    for (int d : shape) {
      n *= size_t(d);
      dims += (dims.empty() ? "" : ", ") + std::to_string(d);
    }
    header += std::string(header.size() > 1 ? ", " : "") + "\"" + name +
              "\": {\"dtype\": \"F32\", \"shape\": [" + dims +
              "], \"data_offsets\": [" + std::to_string(size) + ", " +
              std::to_string(size + n) + "]}";
    size += n;
  }
  return rawSafetensors(header + "}", std::string(size, '\0'));
}

using kiln::testing::writeFile;

/// A temporary directory for one test.
class TempDir : public kiln::testing::TempDir {
public:
  TempDir() : kiln::testing::TempDir("kiln-cli") {}
};

std::string readFile(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// `s` quoted for /bin/sh.
std::string quote(const std::string &s) {
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct KilnRun {
  /// Exit status, or -1 if the shell did not exit normally. A driver killed
  /// by a signal shows as 128 + the signal number.
  int code = -1;
  std::string out, err;
};

/// Runs the driver with `args` in `cwd` (core dumps off; `limits` are extra
/// `ulimit` commands), capturing stdout and stderr in `logDir`.
KilnRun runKiln(const std::vector<std::string> &args, const fs::path &cwd,
                const fs::path &logDir, const std::string &limits = "") {
  fs::path out = logDir / "stdout.txt", err = logDir / "stderr.txt";
  std::string cmd = "cd " + quote(cwd.string()) + " && (ulimit -c 0; " +
                    limits + " exec " + quote(KILN_BINARY);
  for (const std::string &a : args)
    cmd += " " + quote(a);
  cmd += ") >" + quote(out.string()) + " 2>" + quote(err.string());
  int status = std::system(cmd.c_str());
  KilnRun r;
  if (status != -1 && WIFEXITED(status))
    r.code = WEXITSTATUS(status);
  r.out = readFile(out);
  r.err = readFile(err);
  return r;
}

/// A clean failure: exit 1..125 (not a signal, not "cannot run"), and
/// stderr starts with `kiln: error: `, with no crash report.
::testing::AssertionResult failedCleanly(const KilnRun &r) {
  if (r.code < 1 || r.code > 125)
    return ::testing::AssertionFailure()
           << "exit status " << r.code << ", expected 1..125; stderr:\n"
           << r.err;
  if (r.err.rfind("kiln: error: ", 0) != 0)
    return ::testing::AssertionFailure()
           << "stderr does not start with \"kiln: error: \":\n"
           << r.err;
  for (const char *bad : {"terminate called", "Aborted", "internal error",
                          "Segmentation", "what():"})
    if (r.err.find(bad) != std::string::npos)
      return ::testing::AssertionFailure()
             << "stderr shows a crash (\"" << bad << "\"):\n"
             << r.err;
  return ::testing::AssertionSuccess();
}

/// failedCleanly, and stderr is exactly one line `kiln: error: FILE: ...`
/// that names `location` (exact locations are checked in
/// model_errors_test.cpp).
::testing::AssertionResult modelError(const KilnRun &r, const std::string &file,
                                      const std::string &location) {
  ::testing::AssertionResult clean = failedCleanly(r);
  if (!clean)
    return clean;
  std::string prefix = "kiln: error: " + file + ": ";
  if (r.err.rfind(prefix, 0) != 0)
    return ::testing::AssertionFailure()
           << "stderr does not start with \"" << prefix << "\":\n"
           << r.err;
  size_t newline = r.err.find('\n');
  if (newline + 1 != r.err.size())
    return ::testing::AssertionFailure() << "stderr is not exactly one line:\n"
                                         << r.err;
  if (r.err.find(location, prefix.size()) == std::string::npos)
    return ::testing::AssertionFailure()
           << "stderr does not name the location \"" << location << "\":\n"
           << r.err;
  if (!r.out.empty())
    return ::testing::AssertionFailure() << "stdout is not empty:\n" << r.out;
  return ::testing::AssertionSuccess();
}

/// The entries of `dir` (which must exist), for messages.
std::string listing(const fs::path &dir) {
  std::string s;
  for (const auto &e : fs::recursive_directory_iterator(dir))
    s += "  " + e.path().string() + "\n";
  return s;
}

// ---------------------------------------------------------------------------

TEST(ErrorsCli, CompileValidModelWritesHeaderAndSource) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  fs::path model = dir.path() / "model.json", out = dir.path() / "out";
  writeFile(model, kTiny);
  KilnRun r = runKiln({"compile", model.string(), "-o", out.string()},
                      dir.path(), dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(fs::is_regular_file(out / "tiny.h")) << listing(dir.path());
  EXPECT_TRUE(fs::is_regular_file(out / "tiny.cpp")) << listing(dir.path());
  EXPECT_GT(fs::file_size(out / "tiny.cpp"), 0u);
  for (const auto &e : fs::recursive_directory_iterator(out))
    EXPECT_EQ(e.path().string().find(".kiln-tmp"), std::string::npos)
        << "staging file left behind: " << e.path();
}

/// A bad model (and its weights), the file and location stderr must name.
struct BadModel {
  const char *name;
  std::string json;
  std::string weights; ///< weights.safetensors beside the model, if any
  std::vector<std::string> extraArgs;
  bool weightsAtFault;
  std::string location;
};

std::vector<BadModel> badModels() {
  const std::string useWeights = R"("weights": "weights.safetensors",)";
  const std::string init = R"("init": {"seed": 0},)";
  std::string truncated = tinyWeights();
  truncated.resize(truncated.size() - 4);
  return {
      {"unknown type",
       edited(R"("type": "Conv2d")", R"("type": "Conv2D")"),
       "",
       {},
       false,
       "model.modules.features.layers[0].type"},
      {"invalid JSON",
       "{\n  \"kiln\": 1,\n  \"name\": \"tiny\",\n}\n",
       "",
       {},
       false,
       "line 4, column 1"},
      {"shape below 1",
       edited(R"("kernel_size": 3})", R"("kernel_size": 9})"),
       "",
       {},
       false,
       "model.modules.features.layers[0]"},
      {"unknown -D option",
       kTiny,
       "",
       {"-D", "act=relu"},
       false,
       "model.options"},
      {"weight missing from the file",
       edited(init, useWeights),
       tinyWeights("classifier.bias"),
       {},
       true,
       // Documented as the bare key; today `tensor "classifier.bias"`.
       "classifier.bias"},
      {"truncated safetensors",
       edited(init, useWeights),
       truncated,
       {},
       true,
       "header.\"classifier.bias\".data_offsets"},
  };
}

/// Writes the case's model.json (and weights.safetensors) into `dir`;
/// returns the model's path and the path of the file the error names.
std::pair<fs::path, std::string> writeBadModel(const fs::path &dir,
                                               const BadModel &m) {
  fs::path model = dir / "model.json";
  fs::path weights = dir / "weights.safetensors";
  writeFile(model, m.json);
  if (!m.weights.empty())
    writeFile(weights, m.weights);
  return {model, (m.weightsAtFault ? weights : model).string()};
}

TEST(ErrorsCli, CompileBadModelReportsOneLineAndWritesNothing) {
  for (const BadModel &m : badModels()) {
    SCOPED_TRACE(m.name);
    ASSERT_FALSE(m.json.empty()) << "the case's edit does not apply";
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    auto [model, file] = writeBadModel(dir.path(), m);

    // An output folder that does not exist is not created.
    fs::path out = dir.path() / "out";
    std::vector<std::string> args = {"compile", model.string(), "-o",
                                     out.string()};
    args.insert(args.end(), m.extraArgs.begin(), m.extraArgs.end());
    KilnRun r = runKiln(args, dir.path(), dir.path());
    EXPECT_TRUE(modelError(r, file, m.location));
    EXPECT_FALSE(fs::exists(out)) << listing(dir.path());

    // An existing empty output folder stays empty.
    fs::create_directory(out);
    r = runKiln(args, dir.path(), dir.path());
    EXPECT_TRUE(modelError(r, file, m.location));
    EXPECT_TRUE(fs::is_empty(out)) << listing(out);

    // --emit=ir -o FILE writes no file either.
    fs::path ir = dir.path() / "model.kir";
    args[3] = ir.string();
    args.push_back("--emit=ir");
    r = runKiln(args, dir.path(), dir.path());
    EXPECT_TRUE(modelError(r, file, m.location));
    EXPECT_FALSE(fs::exists(ir));
  }
}

TEST(ErrorsCli, BuildBadModelLeavesNoProgram) {
  for (const BadModel &m : badModels()) {
    SCOPED_TRACE(m.name);
    ASSERT_FALSE(m.json.empty()) << "the case's edit does not apply";
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    auto [model, file] = writeBadModel(dir.path(), m);
    fs::path prog = dir.path() / "prog";
    std::vector<std::string> args = {"build", model.string(), "-o",
                                     prog.string()};
    args.insert(args.end(), m.extraArgs.begin(), m.extraArgs.end());
    KilnRun r = runKiln(args, dir.path(), dir.path());
    EXPECT_TRUE(modelError(r, file, m.location));
    EXPECT_FALSE(fs::exists(prog)) << listing(dir.path());
    EXPECT_FALSE(fs::exists(dir.path() / "prog.kiln-tmp"))
        << listing(dir.path());
  }
}

TEST(ErrorsCli, BuildWithFailingCompilerLeavesNoProgram) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  fs::path model = dir.path() / "model.json";
  writeFile(model, kTiny);
  // A compiler that writes its -o file, then fails.
  fs::path fake = dir.path() / "fake-cxx.sh";
  writeFile(fake, "#!/bin/sh\n"
                  "out=\n"
                  "while [ $# -gt 0 ]; do\n"
                  "  if [ \"$1\" = -o ]; then out=$2; fi\n"
                  "  shift\n"
                  "done\n"
                  "echo partial > \"$out\"\n"
                  "echo 'fake-cxx: error: something failed' >&2\n"
                  "exit 1\n");
  fs::permissions(fake, fs::perms::owner_all);
  // Compilers that fail at one step only (the others run the real c++):
  // the link (which writes its -o file first), or the generated main's
  // compile, which runs in a second process.
  const std::string realOrFail =
      "#!/bin/sh\n"
      "out=; fail=\n"
      "for a in \"$@\"; do\n"
      "  case \"$a\" in %s) fail=1 ;; esac\n"
      "done\n"
      "prev=\n"
      "for a in \"$@\"; do [ \"$prev\" = -o ] && out=$a; prev=$a; done\n"
      "if [ -n \"$fail\" ]; then echo partial > \"$out\";\n"
      "  echo 'fake-cxx: error: this step fails' >&2; exit 1; fi\n"
      "exec c++ \"$@\"\n";
  auto script = [&](const char *name, const char *pattern) {
    fs::path f = dir.path() / name;
    std::string text = realOrFail;
    text.replace(text.find("%s"), 2, pattern);
    writeFile(f, text);
    fs::permissions(f, fs::perms::owner_all);
    return f.string();
  };
  const std::string failLink = script("fail-link.sh", "-static");
  const std::string failMain = script("fail-main.sh", "*_main.cpp");
  struct Case {
    std::string cxx, step; // the step the message must name
  };
  for (const Case &c : {Case{"false", ""}, Case{fake.string(), ""},
                        Case{"/nonexistent/c++", ""}, Case{failLink, "-static"},
                        Case{failMain, "_main.cpp"}}) {
    const std::string &cxx = c.cxx;
    SCOPED_TRACE(cxx);
    fs::path prog = dir.path() / "prog";
    KilnRun r =
        runKiln({"build", model.string(), "-o", prog.string(), "--cxx=" + cxx},
                dir.path(), dir.path());
    EXPECT_TRUE(failedCleanly(r));
    EXPECT_NE(r.err.find("compiler failed"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(prog.string()), std::string::npos) << r.err;
    if (!c.step.empty()) {
      EXPECT_NE(r.err.find(c.step), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("this step fails"), std::string::npos) << r.err;
    }
    EXPECT_FALSE(fs::exists(prog)) << listing(dir.path());
    EXPECT_FALSE(fs::exists(dir.path() / "prog.kiln-tmp"))
        << listing(dir.path());
  }
}

TEST(ErrorsCli, BadCommandLines) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string model = (dir.path() / "model.json").string();
  writeFile(model, kTiny);
  std::string out = (dir.path() / "out").string();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "missing command"},
      {{"compil", model, "-o", out}, "did you mean \"compile\""},
      {{"compile", model}, "compile needs -o"},
      {{"build", model}, "build needs -o"},
      {{"compile", model, "-o"}, "-o expects a value"},
      {{"compile", model, "-o", out, "--frobnicate"},
       "unknown option \"--frobnicate\""},
      {{"compile", model, "-o", out, "-D", "act"}, "expects NAME=VALUE"},
      {{"compile", model, "-o", out, "--emit=wasm"},
       "--emit expects cpp, ir or dot"},
      {{"compile", model, "-o", out, "--embed=zip"},
       "--embed expects incbin or array"},
      {{"compile", model, "-o", out, "other.json"},
       "unexpected argument \"other.json\""},
      {{"run", model, "--input", "x"}, "--input expects NAME=VALUE"},
  };
  for (const auto &[args, fragment] : cases) {
    std::string joined;
    for (const auto &a : args)
      joined += " " + a;
    SCOPED_TRACE("kiln" + joined);
    KilnRun r = runKiln(args, dir.path(), dir.path());
    EXPECT_TRUE(failedCleanly(r));
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out));
  }
}

TEST(ErrorsCli, MissingModelFileIsNamed) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  fs::path model = dir.path() / "missing.json", out = dir.path() / "out";
  KilnRun r = runKiln({"compile", model.string(), "-o", out.string()},
                      dir.path(), dir.path());
  EXPECT_TRUE(failedCleanly(r));
  EXPECT_EQ(r.err.rfind("kiln: error: " + model.string() + ": ", 0), 0u)
      << r.err;
  EXPECT_FALSE(fs::exists(out));
}

// A number out of double's range in the model JSON is a located error, not
// an uncaught json::out_of_range.
TEST(ErrorsCli, JsonNumberOverflowIsAnErrorNotACrash) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  fs::path model = dir.path() / "model.json", out = dir.path() / "out";
  std::string json = edited(R"("kiln": 1,)", R"("kiln": 1e400,)");
  ASSERT_FALSE(json.empty());
  writeFile(model, json);
  KilnRun r = runKiln({"compile", model.string(), "-o", out.string()},
                      dir.path(), dir.path());
  EXPECT_TRUE(modelError(r, model.string(), "line 2, column 11"));
  EXPECT_FALSE(fs::exists(out));
}

// An absurd layer size is refused at the argument, not by
// std::length_error escaping main().
TEST(ErrorsCli, HugeParameterIsAnErrorNotACrash) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  fs::path model = dir.path() / "model.json", out = dir.path() / "out";
  std::string json =
      edited(R"("out_features": 10)", R"("out_features": 4611686018427387904)");
  ASSERT_FALSE(json.empty());
  writeFile(model, json);
  KilnRun r = runKiln({"compile", model.string(), "-o", out.string()},
                      dir.path(), dir.path());
  EXPECT_TRUE(modelError(r, model.string(), "model.modules.classifier"));
  EXPECT_FALSE(fs::exists(out));
}

// A parameter of 3.6e9 elements (over the limit, but not absurd) is refused
// before anything is allocated, naming the module, even under a 4 GB
// address-space limit.
TEST(ErrorsCli, ParameterOverLimitIsRefusedBeforeAllocating) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string limit = "ulimit -v 4000000;";
  fs::path model = dir.path() / "model.json", out = dir.path() / "out";
  // Control: the valid model compiles under the same limit.
  writeFile(model, kTiny);
  KilnRun ok = runKiln({"compile", model.string(), "-o", out.string()},
                       dir.path(), dir.path(), limit);
  ASSERT_EQ(ok.code, 0) << ok.err;
  fs::remove_all(out);
  std::string json =
      edited(R"("out_features": 10)", R"("out_features": 100000000)");
  ASSERT_FALSE(json.empty());
  writeFile(model, json);
  KilnRun r = runKiln({"compile", model.string(), "-o", out.string()},
                      dir.path(), dir.path(), limit);
  EXPECT_TRUE(modelError(r, model.string(), "model.modules.classifier"));
  EXPECT_FALSE(fs::exists(out));
}

} // namespace
