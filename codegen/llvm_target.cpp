// The LLVM backend's targets.
#include "codegen/llvm_target.h"

#include "codegen/runtime_bitcode.h"
#include "support/error.h"
#include "support/strings.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/ARMTargetParser.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/Triple.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace kiln {
namespace {

[[noreturn]] void fail(const std::string &message) {
  throw Error("", "", message);
}

void initializeTargets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
  });
}

} // namespace

std::string llvmMicroKernelIsa(const llvm::TargetMachine &tm) {
  const llvm::MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  const llvm::Triple &t = tm.getTargetTriple();
  if (t.getArch() == llvm::Triple::x86_64) {
    if (sti->checkFeatures("+avx512f,+avx512vl,+avx512dq,+avx512bw,+fma"))
      return "avx512";
    if (sti->checkFeatures("+avx2,+fma"))
      return "avx2";
    return "portable";
  }
  if (t.getArch() == llvm::Triple::aarch64)
    return sti->checkFeatures("+neon") ? "neon" : "scalar";
  return "scalar";
}

namespace {

/// The embedded runtime bitcode for `tm`: its family (the triple it was
/// compiled for) shares the architecture, the byte order, and the kind of
/// OS (Linux or bare metal) whose ABI the kernels were compiled with; of
/// the family's ISA variants (FAMILY+ISA), the one of `tm`'s ISA.
const RuntimeBitcode &bitcodeFor(const llvm::TargetMachine &tm) {
  const llvm::Triple &t = tm.getTargetTriple();
  const char *family = nullptr;
  bool linuxOrNone = t.isOSLinux() || t.getOS() == llvm::Triple::UnknownOS;
  if (t.getArch() == llvm::Triple::x86_64 && linuxOrNone &&
      !t.isOSBinFormatMachO() && !t.isOSBinFormatCOFF())
    family = "x86_64-linux-gnu";
  else if (t.getArch() == llvm::Triple::aarch64 && linuxOrNone &&
           !t.isOSBinFormatMachO() && !t.isOSBinFormatCOFF())
    family = "aarch64-linux-gnu";
  else if ((t.getArch() == llvm::Triple::thumb ||
            t.getArch() == llvm::Triple::arm) &&
           t.getOS() == llvm::Triple::UnknownOS && t.isOSBinFormatELF())
    family = "thumbv7em-none-eabihf";
  std::string supported;
  if (family)
    for (const RuntimeBitcode &b : runtimeBitcodes())
      if (b.family == std::string(family) + "+" + llvmMicroKernelIsa(tm))
        return b;
  for (const RuntimeBitcode &b : runtimeBitcodes()) {
    if (b.family.find('+') == std::string::npos)
      supported += (supported.empty() ? "" : ", ") + b.family;
    if (family && b.family == family)
      return b;
  }
  fail("the LLVM backend has no runtime kernels for target \"" + t.str() +
       "\" (supported: " + supported +
       "; the last also serves other bare-metal 32-bit Arm triples such as "
       "thumbv7m-none-eabi)");
}

/// "+a,-b" of the host CPU's features.
std::string hostFeatures() {
  llvm::StringMap<bool> map;
  std::string s;
  if (!llvm::sys::getHostCPUFeatures(map))
    return s;
  for (const auto &f : map)
    s += (s.empty() ? "" : ",") + std::string(f.second ? "+" : "-") +
         f.first().str();
  return s;
}

/// The CPU that clang and GCC compile for when none is given: the x86-64
/// baseline (SSE2) on x86_64, the architecture's default core on 32-bit Arm
/// (cortex-m4 for thumbv7em, with its FPU; cortex-m3 for thumbv7m), and
/// LLVM's generic CPU elsewhere (AArch64: Armv8-A with NEON).
std::string defaultCpu(const llvm::Triple &t) {
  if (t.getArch() == llvm::Triple::x86_64)
    return "x86-64";
  if (t.isARM() || t.isThumb())
    return llvm::ARM::getARMCPUForArch(t).str();
  return "";
}

#if LLVM_VERSION_MAJOR < 17
// LLVM 16's MCSubtargetInfo keeps its table of features private (LLVM 17
// adds getAllProcessorFeatures()); it is read through a pointer to the
// member, which an explicit instantiation may name whatever its access.
using FeatureTable =
    llvm::ArrayRef<llvm::SubtargetFeatureKV> llvm::MCSubtargetInfo::*;
FeatureTable featureTableMember();
template <FeatureTable M> struct FeatureTableAccess {
  friend FeatureTable featureTableMember() { return M; }
};
template struct FeatureTableAccess<&llvm::MCSubtargetInfo::ProcFeatures>;
#endif

/// The names of the target features `sti` knows (`+name` / `-name`).
std::vector<std::string> featureNames(const llvm::MCSubtargetInfo &sti) {
#if LLVM_VERSION_MAJOR < 17
  llvm::ArrayRef<llvm::SubtargetFeatureKV> table = sti.*featureTableMember();
#else
  llvm::ArrayRef<llvm::SubtargetFeatureKV> table =
      sti.getAllProcessorFeatures();
#endif
  std::vector<std::string> names;
  for (const llvm::SubtargetFeatureKV &f : table)
    names.push_back(f.Key);
  return names;
}

/// The known names closest to `name` (at most five, nearest first; case
/// ignored), for an error message.
std::vector<std::string> closeMatches(const std::string &name,
                                      const std::vector<std::string> &known) {
  auto lower = [](std::string s) {
    for (char &c : s)
      c = char(std::tolower((unsigned char)c));
    return s;
  };
  std::string n = lower(name);
  size_t limit = n.size() <= 3 ? 1 : n.size() <= 6 ? 2 : 3;
  std::vector<std::pair<size_t, std::string>> scored;
  for (const std::string &k : known) {
    size_t d = editDistance(n, lower(k));
    if (d <= limit)
      scored.push_back({d, k});
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> r;
  for (size_t i = 0; i < scored.size() && i < 5; ++i)
    r.push_back(scored[i].second);
  return r;
}

/// Checks the user's --features: a comma-separated list of +name / -name,
/// each name a feature of the target (its MCSubtargetInfo's table).
void checkFeatures(const llvm::Target &target, const llvm::Triple &triple,
                   const std::string &features) {
  if (features.empty())
    return;
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target.createMCSubtargetInfo(triple.str(), "", ""));
  KILN_ASSERT(sti, "no subtarget information for " + triple.str());
  std::vector<std::string> known = featureNames(*sti);
  size_t start = 0;
  while (start <= features.size()) {
    size_t comma = features.find(',', start);
    std::string f = features.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    if (f.size() < 2 || (f[0] != '+' && f[0] != '-'))
      fail("--features expects a comma-separated list of +feature and "
           "-feature, found \"" +
           f + "\"");
    std::string name = f.substr(1);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::vector<std::string> close = closeMatches(name, known);
      std::string hint;
      for (const std::string &c : close)
        hint += (hint.empty() ? "" : ", ") + std::string(1, f[0]) + c;
      fail("unknown feature \"" + f + "\" for target \"" + triple.str() +
           "\" (--features; " +
           (hint.empty() ? "no close match" : "close matches: " + hint) +
           "; `llc -mtriple=" + triple.str() + " -mattr=help` lists them)");
    }
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
}

std::unique_ptr<llvm::TargetMachine> targetMachine(const LlvmOptions &o) {
  initializeTargets();
  std::string host = llvm::sys::getDefaultTargetTriple();
  llvm::Triple triple =
      llvm::Triple(llvm::Triple::normalize(o.triple.empty() ? host : o.triple));
  std::string err;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple.str(), err);
  if (!target)
    fail("unknown target triple \"" + o.triple + "\" (--target): " + err);
  if (!triple.isLittleEndian())
    fail("target \"" + triple.str() +
         "\" is big-endian; the LLVM backend supports little-endian targets "
         "only");
  checkFeatures(*target, triple, o.features);
  std::string cpu = o.cpu, features = o.features;
  if (cpu.empty()) {
    cpu = defaultCpu(triple);
  } else if (cpu == "native") {
    if (triple.getArch() != llvm::Triple(host).getArch())
      fail("--cpu=native needs the host's architecture, but the target is \"" +
           triple.str() + "\"");
    cpu = llvm::sys::getHostCPUName().str();
    std::string hf = hostFeatures();
    features = hf + (hf.empty() || features.empty() ? "" : ",") + features;
  }
  if (!cpu.empty()) {
    std::unique_ptr<llvm::MCSubtargetInfo> sti(
        target->createMCSubtargetInfo(triple.str(), "", ""));
    if (!sti || !sti->isCPUStringValid(cpu))
      fail("unknown CPU \"" + cpu + "\" for target \"" + triple.str() +
           "\" (--cpu; `llc -mtriple=" + triple.str() +
           " -mcpu=help` lists them)");
  }
  llvm::TargetOptions to;
  // Linux objects go into position-independent executables and shared
  // libraries alike; bare-metal code is placed by its linker script.
  std::optional<llvm::Reloc::Model> rm =
      triple.isOSLinux() ? llvm::Reloc::PIC_ : llvm::Reloc::Static;
  // -Os and -Oz generate code at the default level, as clang does.
  llvm::CodeGenOpt::Level level = o.optLevel <= 0   ? llvm::CodeGenOpt::None
                                  : o.optLevel == 1 ? llvm::CodeGenOpt::Less
                                  : o.optLevel == 2 || o.sizeLevel > 0
                                      ? llvm::CodeGenOpt::Default
                                      : llvm::CodeGenOpt::Aggressive;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple.str(), cpu, features, to, rm, std::nullopt, level));
  if (!tm)
    fail("cannot create a target machine for \"" + triple.str() + "\"");
  return tm;
}

/// Parses the embedded runtime bitcode into a module of `ctx`.
std::unique_ptr<llvm::Module> runtimeModule(const RuntimeBitcode &bc,
                                            llvm::LLVMContext &ctx) {
  llvm::MemoryBufferRef buf(
      llvm::StringRef(bc.bitcode.data(), bc.bitcode.size()),
      "kiln-runtime-" + bc.family + ".bc");
  llvm::Expected<std::unique_ptr<llvm::Module>> m =
      llvm::parseBitcodeFile(buf, ctx);
  if (!m) {
    std::string msg = llvm::toString(m.takeError());
    KILN_ASSERT(false, "the embedded runtime bitcode for " + bc.family +
                           " does not load: " + msg);
  }
  return std::move(*m);
}

} // namespace

std::vector<std::string> llvmTargetFamilies() {
  std::vector<std::string> r;
  for (const RuntimeBitcode &b : runtimeBitcodes())
    r.push_back(b.family);
  return r;
}

std::unique_ptr<llvm::TargetMachine> llvmTargetMachine(const LlvmOptions &o) {
  return targetMachine(o);
}

std::string microKernelIsa(const LlvmOptions &o) {
  return llvmMicroKernelIsa(*targetMachine(o));
}

std::string llvmTuneCpu(const LlvmOptions &o, const llvm::TargetMachine &tm) {
  return o.cpu.empty() && tm.getTargetTriple().isX86() ? "generic" : "";
}

std::unique_ptr<llvm::Module> llvmRuntimeModule(const llvm::TargetMachine &tm,
                                                llvm::LLVMContext &ctx) {
  const llvm::Triple &triple = tm.getTargetTriple();
  const RuntimeBitcode &bc = bitcodeFor(tm);
  std::unique_ptr<llvm::Module> m = runtimeModule(bc, ctx);
  llvm::DataLayout layout = tm.createDataLayout();
  KILN_ASSERT(m->getDataLayout().getPointerSizeInBits() ==
                      layout.getPointerSizeInBits() &&
                  m->getDataLayout().isLittleEndian(),
              "the runtime bitcode for " + bc.family +
                  " does not match the data layout of " + triple.str());
  m->setTargetTriple(triple.str());
  m->setDataLayout(layout);
  return m;
}

} // namespace kiln
