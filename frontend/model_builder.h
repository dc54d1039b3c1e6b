// Builds the IR of a model: validates the module tree, then inlines the
// root's forward pass (calls into child modules, functional ops) into a flat
// graph, looking parameters up in the weights file.
#pragma once

#include "frontend/build_context.h"
#include "frontend/init_rules.h"
#include "frontend/json_node.h"
#include "frontend/model_loader.h"
#include "frontend/safetensors.h"

#include <deque>
#include <map>
#include <optional>
#include <set>

namespace kiln {

/// One model load; see loadModel.
class ModelBuilder {
public:
  ModelBuilder(const std::string &file, const Json &root,
               const LoadOptions &options);

  /// Builds and returns the graph; appends warnings.
  std::unique_ptr<Graph> build(std::vector<std::string> *warnings);

  Graph &graph() { return *graph_; }

  /// The weight value for `name` (a state_dict key) of `shape`, made once
  /// and shared by every use: from the weights file, or by `init` when the
  /// model allows it. `where` locates shape errors.
  Value *parameter(const std::string &name, const Shape &shape,
                   DefaultInit init, const JsonNode &where);

  /// A parameter declared in a user module's "parameters" (`where` is the
  /// declaration): like parameter(), but PyTorch has no default
  /// initialisation for it, so only the weights file or an "initializers"
  /// rule of the module provides it (the top-level "init" does not).
  Value *ownParameter(const std::string &name, const Shape &shape,
                      const JsonNode &where);

  /// A 0-d constant (a number operand).
  Value *scalarConstant(double v);

  /// Marks a tensor of the weights file as known and unused (a buffer that
  /// Kiln ignores, such as `num_batches_tracked`).
  void ignoreTensor(const std::string &name) { used_.insert(name); }

private:
  struct Module {
    enum class Kind { Layer, Sequential, ModuleList, ModuleDict, User } kind;
    JsonNode node;
    std::string path; ///< module path (state_dict prefix), "" for the root
    const OpSpec *spec = nullptr;
    std::unique_ptr<Args> args;
    std::vector<std::pair<std::string, Module *>> children;
    std::vector<std::string> inputs = {"x"};
    /// A user module's own parameters ("parameters"): name, shape, and the
    /// JSON node declaring it.
    struct OwnParam {
      std::string name;
      Shape shape;
      JsonNode node;
    };
    std::vector<OwnParam> params;
  };

  Module *parseModule(const JsonNode &node, const std::string &path,
                      bool inSequence);
  void parseTop();
  std::vector<Value *> call(Module &m, const std::vector<Operand> &inputs,
                            const JsonNode &site, const JsonNode *step);
  std::vector<Value *> runForward(Module &m,
                                  const std::vector<Operand> &inputs);
  Module *resolve(Module &from, const JsonNode &pathNode);
  /// Reads a user module's "parameters" object into `m.params`.
  void parseOwnParameters(Module &m, const JsonNode &node);

  std::string file_;
  JsonNode root_;
  LoadOptions options_;
  std::unique_ptr<Graph> graph_;
  std::deque<Module> modules_;
  Module *rootModule_ = nullptr;
  std::optional<SafetensorsFile> weights_;
  bool initAllowed_ = false;
  uint64_t seed_ = 0;
  std::map<std::string, Value *> params_;
  /// `initializers` rules by state_dict name, with their JSON node.
  struct RuleAt {
    InitRule rule;
    JsonNode node;
  };
  std::map<std::string, RuleAt> rules_;
  std::set<std::string> used_;
  struct Option {
    std::vector<std::string> values;
    std::string value;
    bool used = false;
  };
  std::map<std::string, Option> optionValues_;
};

} // namespace kiln
