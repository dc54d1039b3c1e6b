// The table of passes and the default pipeline, spelled out in one place.
#include "passes/pass.h"

#include "support/error.h"

namespace kiln {

std::unique_ptr<Pass> createRemoveNoops();
std::unique_ptr<Pass> createConstantFold();
std::unique_ptr<Pass> createCse();
std::unique_ptr<Pass> createFoldBatchNorm();
std::unique_ptr<Pass> createFuseResidualAdd();
std::unique_ptr<Pass> createFuseActivation();
std::unique_ptr<Pass> createDeadCode();
std::unique_ptr<Pass> createPackWeights(const std::string &params);

namespace {

struct PassEntry {
  const char *name;
  std::unique_ptr<Pass> (*create)();
  /// For passes that take parameters (`name<k=v,...>`) instead of create.
  std::unique_ptr<Pass> (*createWithParams)(const std::string &) = nullptr;
};

const PassEntry kPasses[] = {
    {"remove-noops", createRemoveNoops},
    {"constant-fold", createConstantFold},
    {"cse", createCse},
    {"fold-batchnorm", createFoldBatchNorm},
    {"fuse-residual-add", createFuseResidualAdd},
    {"fuse-activation", createFuseActivation},
    {"dce", createDeadCode},
    {"pack-weights", nullptr, createPackWeights},
};

} // namespace

std::unique_ptr<Pass> createPass(const std::string &spec) {
  std::string name = spec, params;
  size_t lt = spec.find('<');
  if (lt != std::string::npos && spec.back() == '>') {
    name = spec.substr(0, lt);
    params = spec.substr(lt + 1, spec.size() - lt - 2);
  }
  for (const PassEntry &e : kPasses) {
    if (name != e.name)
      continue;
    if (e.createWithParams)
      return e.createWithParams(params);
    if (lt != std::string::npos)
      throw Error("kiln", "--passes",
                  "pass \"" + name + "\" takes no parameters, found \"" + spec +
                      "\"");
    return e.create();
  }
  return nullptr;
}

std::vector<std::string> allPassNames() {
  std::vector<std::string> names;
  for (const PassEntry &e : kPasses)
    names.push_back(e.name);
  return names;
}

std::vector<std::string> codegenPipeline(const std::string &isa) {
  std::vector<std::string> p = defaultPipeline();
  p.push_back("pack-weights<isa=" + isa + ">");
  return p;
}

std::vector<std::string> defaultPipeline() {
  // BatchNorm folds before the residual add fuses (bn(conv) + x), and the
  // residual add before the activation (relu(conv + x)).
  return {"remove-noops",      "constant-fold",   "cse", "fold-batchnorm",
          "fuse-residual-add", "fuse-activation", "dce"};
}

} // namespace kiln
