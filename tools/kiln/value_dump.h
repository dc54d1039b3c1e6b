// `kiln run --dump-values DIR`: every value the reference interpreter
// computes (the model inputs and each op result), one .npy file per value,
// and DIR/index.json saying, per value and in execution order, its file, op,
// dtype, shape, operands, the JSON location of the layer or forward step it
// was built from, and that layer's module path (or the step's module and
// index). At -O0 the values map one to one to the layers and steps of the
// model file; after optimisation passes some are gone (folded, fused) and a
// fused op's value holds the activated result under the conv's name (the
// index lists the passes that ran).
#pragma once

#include "frontend/json_file.h"
#include "ir/graph.h"
#include "support/file_output.h"

#include <map>
#include <string>
#include <vector>

namespace kiln::commands {

/// Which module a JSON location (`model.modules.features.layers[0]`,
/// `model.modules.block.forward[2]`) belongs to.
struct ModuleOwner {
  /// Whether the location was found in the model file.
  bool found = false;
  /// The module path (`features.conv1`; "" for the root): the layer itself,
  /// or the module whose forward holds the step.
  std::string module;
  /// For a functional step, its index in that module's `forward`; else -1.
  int64_t step = -1;
};

/// The owner of the op location `jsonPath` in the model file `root`.
ModuleOwner moduleOwner(const Json &root, const std::string &jsonPath);

/// The values of one interpretation, held until they are all written.
class ValueDump {
public:
  /// `g` read from `modelFile` (whose JSON gives module paths), after
  /// `passes`.
  ValueDump(const Graph &g, const std::string &modelFile,
            std::vector<std::string> passes);

  /// Creates `dir` if needed (before the interpretation, so that a bad
  /// directory is reported before the work); throws kiln::Error.
  void prepare(const std::string &dir);

  /// Records a model input or an op result.
  void add(const Value &v, const std::vector<float> &data);

  /// Writes DIR/NAME.npy for every value and DIR/index.json (last), all or
  /// nothing (temporary names renamed at the end); a directory that
  /// prepare() created is removed again on failure.
  void write();

private:
  std::string fileName(const std::string &valueName);

  const Graph &g_;
  std::string modelFile_;
  Json model_;
  std::vector<std::string> passes_;
  std::string dir_;
  bool createdDir_ = false;
  GeneratedFiles files_;
  std::vector<Json> entries_;
  std::map<std::string, int> usedFiles_;
};

} // namespace kiln::commands
