// The LLVM backend.
#include "codegen/llvm_backend.h"

#include "codegen/buffer_plan.h"
#include "codegen/cpp_backend.h"
#include "codegen/llvm_target.h"
#include "ir/op_def.h"
#include "support/error.h"

#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Triple.h>
#include <llvm/Transforms/IPO/GlobalDCE.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <utility>

namespace kiln {
namespace {

/// Where the runtime wrappers and their parameter sizes are found.
const char *kWrapperPrefix = "kiln_rt_";
const char *kParamsBytesSuffix = "_params_bytes";

[[noreturn]] void fail(const std::string &message) {
  throw Error("", "", message);
}

/// The KernelParam tree as 4-byte words: ints as i32, floats as float.
void flatten(const KernelParam &p, llvm::LLVMContext &ctx,
             std::vector<llvm::Constant *> &words) {
  auto integer = [&](int64_t v) {
    KILN_ASSERT(v >= std::numeric_limits<int32_t>::min() &&
                    v <= std::numeric_limits<int32_t>::max(),
                "kernel parameter " + p.name + " = " + std::to_string(v) +
                    " does not fit 32 bits");
    words.push_back(
        llvm::ConstantInt::get(llvm::Type::getInt32Ty(ctx), uint64_t(v), true));
  };
  switch (p.kind) {
  case KernelParam::Kind::Int:
    integer(p.i);
    return;
  case KernelParam::Kind::Float:
    words.push_back(
        llvm::ConstantFP::get(llvm::Type::getFloatTy(ctx), double(float(p.f))));
    return;
  case KernelParam::Kind::Ints:
    for (int64_t v : p.ints)
      integer(v);
    return;
  case KernelParam::Kind::Struct:
    for (const KernelParam &f : p.fields)
      flatten(f, ctx, words);
    return;
  }
}

/// Compiles `f` for the target machine's CPU, tuning and features
/// (replacing those the runtime bitcode was compiled with), and for size at
/// -Os / -Oz.
void setTargetAttributes(llvm::Function &f, const llvm::TargetMachine &tm,
                         const LlvmOptions &o) {
  f.removeFnAttr("target-cpu");
  f.removeFnAttr("target-features");
  f.removeFnAttr("tune-cpu");
  if (!tm.getTargetCPU().empty())
    f.addFnAttr("target-cpu", tm.getTargetCPU());
  std::string tune = llvmTuneCpu(o, tm);
  if (!tune.empty())
    f.addFnAttr("tune-cpu", tune);
  if (!tm.getTargetFeatureString().empty())
    f.addFnAttr("target-features", tm.getTargetFeatureString());
  if (o.optLevel > 0 && o.sizeLevel > 0)
    f.addFnAttr(llvm::Attribute::OptimizeForSize);
  if (o.optLevel > 0 && o.sizeLevel > 1)
    f.addFnAttr(llvm::Attribute::MinSize);
}

/// The runtime module made ready for one model: the sizes of the parameter
/// structs read (and their globals dropped); every runtime function internal,
/// compiled for the chosen CPU and features, and if `specialise` always
/// inlined so that the kernels are specialised on their constant parameters.
std::map<std::string, uint64_t> prepareRuntime(llvm::Module &m,
                                               const llvm::TargetMachine &tm,
                                               const LlvmOptions &o,
                                               bool specialise) {
  std::map<std::string, uint64_t> paramsBytes;
  std::vector<llvm::GlobalVariable *> drop;
  for (llvm::GlobalVariable &gv : m.globals()) {
    llvm::StringRef name = gv.getName();
    if (name.startswith(kWrapperPrefix) && name.endswith(kParamsBytesSuffix)) {
      auto *c = llvm::dyn_cast_or_null<llvm::ConstantInt>(
          gv.hasInitializer() ? gv.getInitializer() : nullptr);
      KILN_ASSERT(c, "runtime bitcode: " + name.str() + " is not a constant");
      paramsBytes[name.drop_back(std::strlen(kParamsBytesSuffix)).str()] =
          c->getZExtValue();
      drop.push_back(&gv);
    }
  }
  for (llvm::GlobalVariable *gv : drop)
    gv->eraseFromParent();
  for (llvm::Function &f : m.functions()) {
    if (f.isDeclaration())
      continue;
    f.setLinkage(llvm::GlobalValue::InternalLinkage);
    f.setComdat(nullptr);
    setTargetAttributes(f, tm, o);
    if (specialise && !f.hasFnAttribute(llvm::Attribute::NoInline))
      f.addFnAttr(llvm::Attribute::AlwaysInline);
  }
  m.getComdatSymbolTable().clear();
  // External functions (expf, memset...) may come from a shared library.
  for (llvm::Function &f : m.functions())
    if (f.isDeclaration() && !f.isIntrinsic())
      f.setDSOLocal(false);
  // Flags of the bitcode's compilation that need not hold for the object:
  // PIE only (it may go into a shared library), and a 32-bit enum ABI on Arm
  // (NAME_run's interface has no enum; GCC's bare-metal default differs).
  if (llvm::NamedMDNode *flags = m.getModuleFlagsMetadata()) {
    std::vector<llvm::MDNode *> keep;
    for (llvm::MDNode *flag : flags->operands()) {
      auto *key = flag->getNumOperands() > 1
                      ? llvm::dyn_cast<llvm::MDString>(flag->getOperand(1))
                      : nullptr;
      if (!key || (key->getString() != "PIE Level" &&
                   key->getString() != "min_enum_size"))
        keep.push_back(flag);
    }
    flags->clearOperands();
    for (llvm::MDNode *flag : keep)
      flags->addOperand(flag);
  }
  return paramsBytes;
}

/// Runs LLVM's pipeline for the options' level (O0: only the always-inliner,
/// and the unused runtime functions dropped). The vectorisers run as clang
/// runs them: both from -O2 and at -Os, only SLP at -Oz.
void optimize(llvm::Module &m, llvm::TargetMachine &tm, const LlvmOptions &o) {
  int level = o.optLevel;
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = level >= 2 && o.sizeLevel < 2;
  pto.SLPVectorization = level >= 2;
  llvm::PassBuilder pb(&tm, pto);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm;
  if (level <= 0) {
    mpm = pb.buildO0DefaultPipeline(llvm::OptimizationLevel::O0);
    mpm.addPass(llvm::GlobalDCEPass());
  } else {
    mpm = pb.buildPerModuleDefaultPipeline(
        o.sizeLevel == 1   ? llvm::OptimizationLevel::Os
        : o.sizeLevel == 2 ? llvm::OptimizationLevel::Oz
        : level == 1       ? llvm::OptimizationLevel::O1
        : level == 2       ? llvm::OptimizationLevel::O2
                           : llvm::OptimizationLevel::O3);
  }
  mpm.run(m, mam);
}

void verify(const llvm::Module &m, const char *when) {
  std::string msg;
  llvm::raw_string_ostream os(msg);
  KILN_ASSERT(!llvm::verifyModule(m, &os),
              std::string("the LLVM module is invalid ") + when + ": " + msg);
}

/// Builds NAME_run in `m`, with the weights and parameter constants.
void buildRun(const Graph &g, const BufferPlan &plan, const LlvmOptions &o,
              llvm::Module &m, const llvm::TargetMachine &tm,
              const std::map<std::string, uint64_t> &paramsBytes) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *i8 = llvm::Type::getInt8Ty(ctx);
  llvm::Type *i32 = llvm::Type::getInt32Ty(ctx);
  llvm::PointerType *ptr = llvm::PointerType::get(ctx, 0);
  llvm::IntegerType *intptr = m.getDataLayout().getIntPtrType(ctx);

  llvm::GlobalVariable *weights = nullptr;
  if (plan.weightBytes > 0) {
    std::string blob = weightBlob(g, plan);
    weights = new llvm::GlobalVariable(
        m, llvm::ArrayType::get(i8, blob.size()), true,
        llvm::GlobalValue::InternalLinkage,
        llvm::ConstantDataArray::getRaw(blob, blob.size(), i8),
        "kiln_" + g.name + "_weights");
    weights->setAlignment(llvm::Align(kBufferAlign));
    weights->setSection(o.weightsSection.empty() ? ".rodata.kiln." + g.name
                                                 : o.weightsSection);
  }

  std::vector<std::string> names = runParameterNames(g);
  size_t numIn = g.inputs.size();
  std::vector<llvm::Type *> argTypes(names.size() + 1, ptr);
  auto *fnType = llvm::FunctionType::get(i32, argTypes, false);
  llvm::Function *fn = llvm::Function::Create(
      fnType, llvm::GlobalValue::ExternalLinkage, g.name + "_run", m);
  KILN_ASSERT(fn->getName() == g.name + "_run",
              "the runtime bitcode already defines " + g.name + "_run");
  for (size_t i = 0; i < names.size(); ++i)
    fn->getArg(unsigned(i))->setName(names[i]);
  llvm::Argument *arena = fn->getArg(unsigned(names.size()));
  arena->setName("arena");
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  setTargetAttributes(*fn, tm, o);
  if (llvm::Triple(m.getTargetTriple()).isOSLinux())
    fn->setUWTableKind(llvm::UWTableKind::Async);

  llvm::BasicBlock *entry = llvm::BasicBlock::Create(ctx, "entry", fn);
  llvm::BasicBlock *nullBB = llvm::BasicBlock::Create(ctx, "null_pointer", fn);
  llvm::BasicBlock *alignBB = llvm::BasicBlock::Create(ctx, "check_align", fn);
  llvm::BasicBlock *misBB = llvm::BasicBlock::Create(ctx, "misaligned", fn);
  llvm::BasicBlock *body = llvm::BasicBlock::Create(ctx, "run", fn);
  llvm::IRBuilder<> b(entry);
  // As the C++ backend: 1 if a pointer is null (the arena only when the
  // model needs one), 2 if the arena is not aligned to kBufferAlign.
  llvm::Value *anyNull = nullptr;
  for (size_t i = 0; i < names.size() + (plan.arenaBytes ? 1 : 0); ++i) {
    llvm::Value *isNull = b.CreateIsNull(fn->getArg(unsigned(i)));
    anyNull = anyNull ? b.CreateOr(anyNull, isNull) : isNull;
  }
  if (!anyNull)
    anyNull = b.getFalse();
  b.CreateCondBr(anyNull, nullBB, alignBB);
  b.SetInsertPoint(nullBB);
  b.CreateRet(b.getInt32(1));
  b.SetInsertPoint(alignBB);
  llvm::Value *low =
      b.CreateAnd(b.CreatePtrToInt(arena, intptr),
                  llvm::ConstantInt::get(intptr, kBufferAlign - 1));
  b.CreateCondBr(b.CreateIsNotNull(low), misBB, body);
  b.SetInsertPoint(misBB);
  b.CreateRet(b.getInt32(2));
  b.SetInsertPoint(body);
  // From here on the arena is aligned: the kernels may use aligned accesses.
  b.CreateAlignmentAssumption(m.getDataLayout(), arena, kBufferAlign);

  auto ref = [&](const Value *v) -> llvm::Value * {
    const Storage &s = plan.storage.at(v);
    switch (s.kind) {
    case Storage::Kind::Input:
      return fn->getArg(unsigned(s.index));
    case Storage::Kind::Output:
      return fn->getArg(unsigned(numIn + size_t(s.index)));
    case Storage::Kind::Weight:
      return b.CreateConstInBoundsGEP1_64(i8, weights, uint64_t(s.offset));
    case Storage::Kind::Arena:
      return b.CreateConstInBoundsGEP1_64(i8, arena, uint64_t(s.offset));
    }
    return nullptr;
  };
  auto wrapper = [&](const std::string &kernel, size_t numArgs) {
    llvm::Function *f = m.getFunction(kWrapperPrefix + kernel);
    if (!f || f->isDeclaration())
      fail("the LLVM backend's runtime has no kernel \"" + kernel +
           "\" (add its wrapper " + kWrapperPrefix + kernel +
           " to runtime/llvm/kernels.cpp)");
    KILN_ASSERT(f->arg_size() == numArgs,
                std::string(kWrapperPrefix) + kernel + " takes " +
                    std::to_string(f->arg_size()) + " arguments, the call " +
                    std::to_string(numArgs));
    return f;
  };

  // One named struct type per runtime parameter struct (readable IR).
  auto paramsStruct = [&](const std::string &name,
                          const std::vector<llvm::Constant *> &words) {
    std::vector<llvm::Type *> fields;
    for (llvm::Constant *w : words)
      fields.push_back(w->getType());
    std::string typeName = "kiln_rt." + name;
    llvm::StructType *t = llvm::StructType::getTypeByName(ctx, typeName);
    if (!t)
      return llvm::StructType::create(ctx, fields, typeName);
    KILN_ASSERT(t->elements() == llvm::ArrayRef<llvm::Type *>(fields),
                "two layouts of kernel parameter struct " + name);
    return t;
  };

  // The run's floating-point mode (kernels/fp_mode.h), as in the C++ backend.
  llvm::Value *fpMode = b.CreateCall(wrapper("fp_mode_enter", 0), {});

  int n = 0;
  for (const auto &op : g.ops) {
    if (op->def->isView)
      continue;
    KILN_ASSERT(op->def->lower, std::string(op->name()) + " has no lowering");
    for (const KernelCall &kc : op->def->lower(*op)) {
      std::vector<int> args = kernelArgs(*op, kc);
      llvm::Function *f = wrapper(kc.kernel, args.size() + 1);
      std::vector<llvm::Constant *> words;
      flatten(kc.params, ctx, words);
      auto bytes = paramsBytes.find(kWrapperPrefix + kc.kernel);
      KILN_ASSERT(bytes != paramsBytes.end(),
                  "no parameter size for kernel " + kc.kernel);
      KILN_ASSERT(words.size() * 4 <= bytes->second,
                  kc.paramsType + " of " + kc.kernel + " has " +
                      std::to_string(bytes->second) + " bytes, the call " +
                      std::to_string(words.size()) + " words");
      // Fields left out are zero, as in the C++ backend's initialiser.
      while (words.size() * 4 < bytes->second)
        words.push_back(llvm::ConstantInt::get(i32, 0));
      llvm::Constant *init =
          llvm::ConstantStruct::get(paramsStruct(kc.paramsType, words), words);
      auto *pg = new llvm::GlobalVariable(
          m, init->getType(), true, llvm::GlobalValue::InternalLinkage, init,
          g.name + ".p" + std::to_string(n++));
      pg->setAlignment(llvm::Align(4));
      pg->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
      std::vector<llvm::Value *> callArgs = {pg};
      for (int a : args) {
        if (a == KernelCall::kScratchArg) {
          callArgs.push_back(b.CreateConstInBoundsGEP1_64(
              i8, arena, uint64_t(plan.scratch.at(op.get()))));
          continue;
        }
        const Value *v = a == KernelCall::kNullArg ? nullptr
                         : a >= 0                  ? op->operand(size_t(a))
                                                   : op->result(size_t(-1 - a));
        callArgs.push_back(v ? ref(v) : llvm::ConstantPointerNull::get(ptr));
      }
      b.CreateCall(f, callArgs);
    }
  }
  for (const auto &[idx, v] : plan.outputCopies) {
    llvm::Function *f = wrapper("copy", 3);
    llvm::Type *countType = f->getFunctionType()->getParamType(0);
    b.CreateCall(f, {llvm::ConstantInt::get(countType, v->numElements()),
                     ref(v), fn->getArg(unsigned(numIn + size_t(idx)))});
  }
  b.CreateCall(wrapper("fp_mode_leave", 1), {fpMode});
  b.CreateRet(b.getInt32(0));
}

/// A module and the context that owns it.
struct Candidate {
  std::unique_ptr<llvm::LLVMContext> ctx;
  std::unique_ptr<llvm::Module> module;
};

/// The optimised module of `g`: the runtime bitcode, NAME_run, LLVM's
/// pipeline; the kernels specialised on each call or not (`specialise`).
Candidate buildModule(const Graph &g, const BufferPlan &plan,
                      const LlvmOptions &o, llvm::TargetMachine &tm,
                      bool specialise) {
  Candidate c;
  c.ctx = std::make_unique<llvm::LLVMContext>();
  c.module = llvmRuntimeModule(tm, *c.ctx);
  llvm::Module &m = *c.module;
  m.setModuleIdentifier(g.name);
  m.setSourceFileName(o.sourceName.empty() ? g.name : o.sourceName);
  std::map<std::string, uint64_t> paramsBytes =
      prepareRuntime(m, tm, o, specialise);
  buildRun(g, plan, o, m, tm, paramsBytes);
  verify(m, "before optimisation");
  optimize(m, tm, o);
  verify(m, "after optimisation");
  return c;
}

/// The object file or assembly of `m` (code generation changes its IR).
std::string codegen(llvm::Module &m, llvm::TargetMachine &tm, LlvmEmit emit) {
  llvm::SmallVector<char, 0> buf;
  llvm::raw_svector_ostream os(buf);
  llvm::legacy::PassManager pm;
  bool object = emit == LlvmEmit::Object;
  if (tm.addPassesToEmitFile(pm, os, nullptr,
                             object ? llvm::CGFT_ObjectFile
                                    : llvm::CGFT_AssemblyFile))
    fail("target \"" + tm.getTargetTriple().str() + "\" cannot emit " +
         (object ? "an object file" : "assembly"));
  pm.run(m);
  return std::string(buf.begin(), buf.end());
}

/// Bytes of code (executable sections) in the object file of a copy of `m`.
uint64_t codeBytes(const llvm::Module &m, llvm::TargetMachine &tm) {
  std::unique_ptr<llvm::Module> copy = llvm::CloneModule(m);
  std::string bytes = codegen(*copy, tm, LlvmEmit::Object);
  auto obj = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(bytes, "candidate"));
  if (!obj) {
    std::string msg = llvm::toString(obj.takeError());
    KILN_ASSERT(false, "the object file LLVM made does not read back: " + msg);
  }
  uint64_t n = 0;
  for (const llvm::object::SectionRef &s : (*obj)->sections())
    if (s.isText())
      n += s.getSize();
  return n;
}

} // namespace

const char *llvmEmitExtension(LlvmEmit emit) {
  switch (emit) {
  case LlvmEmit::IR:
    return "ll";
  case LlvmEmit::Bitcode:
    return "bc";
  case LlvmEmit::Object:
    return "o";
  case LlvmEmit::Assembly:
    return "s";
  }
  return "";
}

GeneratedFiles generateLlvm(const Graph &g, const LlvmOptions &o) {
  std::unique_ptr<llvm::TargetMachine> tm = llvmTargetMachine(o);
  BufferPlan plan = planBuffers(g);
  // From -O2 the kernels are specialised on each call. At -Os / -Oz that is
  // the smaller code for a model of a few layers, one shared copy of each
  // kernel for a model of many: both are compiled, the one with less code
  // kept.
  Candidate c = buildModule(g, plan, o, *tm, o.optLevel >= 2);
  if (o.optLevel > 0 && o.sizeLevel > 0) {
    Candidate shared = buildModule(g, plan, o, *tm, false);
    if (codeBytes(*shared.module, *tm) < codeBytes(*c.module, *tm))
      std::swap(c, shared); // (not assigned: a module goes before its context)
  }
  llvm::Module &m = *c.module;

  GeneratedFiles files;
  files.push_back(
      {g.name + ".h",
       generateHeader(g, plan, llvmMicroKernelIsa(*tm), o.sourceName)});
  std::string out;
  std::string path = g.name + "." + llvmEmitExtension(o.emit);
  if (o.emit == LlvmEmit::IR) {
    llvm::raw_string_ostream os(out);
    m.print(os, nullptr);
  } else if (o.emit == LlvmEmit::Bitcode) {
    llvm::raw_string_ostream os(out);
    llvm::WriteBitcodeToFile(m, os);
  } else {
    out = codegen(m, *tm, o.emit);
  }
  files.push_back({path, std::move(out)});
  return files;
}

} // namespace kiln
