// The table of passes and the default pipeline, spelled out in one place.
#include "passes/pass.h"

namespace kiln {

std::unique_ptr<Pass> createRemoveNoops();
std::unique_ptr<Pass> createConstantFold();
std::unique_ptr<Pass> createCse();
std::unique_ptr<Pass> createFoldBatchNorm();
std::unique_ptr<Pass> createFuseResidualAdd();
std::unique_ptr<Pass> createFuseActivation();
std::unique_ptr<Pass> createDeadCode();

namespace {

struct PassEntry {
  const char *name;
  std::unique_ptr<Pass> (*create)();
};

const PassEntry kPasses[] = {
    {"remove-noops", createRemoveNoops},
    {"constant-fold", createConstantFold},
    {"cse", createCse},
    {"fold-batchnorm", createFoldBatchNorm},
    {"fuse-residual-add", createFuseResidualAdd},
    {"fuse-activation", createFuseActivation},
    {"dce", createDeadCode},
};

} // namespace

std::unique_ptr<Pass> createPass(const std::string &name) {
  for (const PassEntry &e : kPasses)
    if (name == e.name)
      return e.create();
  return nullptr;
}

std::vector<std::string> allPassNames() {
  std::vector<std::string> names;
  for (const PassEntry &e : kPasses)
    names.push_back(e.name);
  return names;
}

std::vector<std::string> defaultPipeline() {
  // BatchNorm folds before the residual add fuses (bn(conv) + x), and the
  // residual add before the activation (relu(conv + x)).
  return {"remove-noops",      "constant-fold",   "cse", "fold-batchnorm",
          "fuse-residual-add", "fuse-activation", "dce"};
}

} // namespace kiln
