// Builds the IR of a model from its JSON module tree and weights.
#include "frontend/model_builder.h"

#include "ir/op_registry.h"
#include "ir/verifier.h"
#include "support/error.h"
#include "support/strings.h"

#include <filesystem>
#include <map>

namespace kiln {

namespace {

const std::vector<std::string> kStepKeysCall = {"out", "call", "in",
                                                "output_size"};

} // namespace

ModelBuilder::ModelBuilder(const std::string &file, const Json &root,
                           const LoadOptions &options)
    : file_(file), root_(root, "", file_), options_(options),
      graph_(std::make_unique<Graph>()) {
  graph_->file = file;
}

void ModelBuilder::parseTop() {
  root_.expectObject();
  root_.checkKeys({"kiln", "name", "inputs", "weights", "init", "model"});
  JsonNode version = root_.at("kiln");
  if (!version.json().is_number_integer() || version.asInt() != 1)
    version.error("expected format version 1, found " + version.describe());
  JsonNode name = root_.at("name");
  graph_->name = name.asString();
  if (!isSafeIdentifier(graph_->name))
    name.error("the model name must be a C identifier that is not a C or C++ "
               "keyword, found " +
               name.describe());

  if (root_.has("init")) {
    JsonNode init = root_.at("init");
    init.checkKeys({"seed"});
    initAllowed_ = true;
    if (init.has("seed")) {
      int64_t s = init.at("seed").asInt();
      if (s < 0)
        init.at("seed").error("seed must be >= 0");
      seed_ = uint64_t(s);
    }
  }

  std::optional<std::string> weightsPath;
  if (options_.weightsFile)
    weightsPath = *options_.weightsFile;
  else if (root_.has("weights"))
    weightsPath = (std::filesystem::path(file_).parent_path() /
                   root_.at("weights").asString())
                      .string();
  if (weightsPath) {
    if (options_.beforeReadingWeights)
      options_.beforeReadingWeights(*weightsPath);
    weights_ = SafetensorsFile::open(*weightsPath);
  }

  JsonNode inputs = root_.at("inputs");
  inputs.expectArray();
  if (inputs.size() == 0)
    inputs.error("a model needs at least one input");
  for (size_t i = 0; i < inputs.size(); ++i) {
    JsonNode in = inputs[i];
    in.checkKeys({"name", "shape", "dtype"});
    std::string n = in.at("name").asName();
    if (in.has("dtype") && in.at("dtype").asString() != "float32")
      in.at("dtype").error("expected \"float32\", found " +
                           in.at("dtype").describe());
    JsonNode shapeNode = in.at("shape");
    Shape shape = shapeNode.asIntList();
    for (int64_t d : shape)
      if (d < 1)
        shapeNode.error("dimensions must be >= 1, found " +
                        shapeNode.json().dump());
    if (numElements(shape) > kMaxElements)
      shapeNode.error("more than 2^31 - 1 elements");
    for (Value *v : graph_->inputs)
      if (v->name == n)
        in.at("name").error("duplicate input name \"" + n + "\"");
    graph_->addInput(n, shape);
  }

  JsonNode model = root_.at("model");
  model.expectObject();
  if (model.has("options")) {
    JsonNode opts = model.at("options");
    opts.expectObject();
    for (const std::string &k : opts.keys()) {
      JsonNode o = opts.at(k);
      o.checkKeys({"values", "default"});
      Option opt;
      opt.values = o.at("values").asStringList();
      if (opt.values.empty())
        o.at("values").error("an option needs at least one value");
      opt.value = o.has("default") ? o.at("default").asString() : opt.values[0];
      if (std::find(opt.values.begin(), opt.values.end(), opt.value) ==
          opt.values.end())
        o.at("default").error("default \"" + opt.value +
                              "\" is not one of the values " +
                              joinQuoted(opt.values));
      optionValues_[k] = opt;
    }
  }
  for (const auto &[k, v] : options_.defines) {
    auto it = optionValues_.find(k);
    std::vector<std::string> declared;
    for (const auto &o : optionValues_)
      declared.push_back(o.first);
    if (it == optionValues_.end())
      throw Error(file_, "model.options",
                  "unknown option \"" + k + "\" given with -D; " +
                      (declared.empty() ? std::string("the model declares none")
                                        : "declared: " + joinQuoted(declared)));
    if (std::find(it->second.values.begin(), it->second.values.end(), v) ==
        it->second.values.end())
      throw Error(file_, "model.options." + k,
                  "invalid value \"" + v + "\" for option \"" + k +
                      "\"; allowed: " + joinQuoted(it->second.values));
    it->second.value = v;
  }
  rootModule_ = parseModule(model, "", false);
}

ModelBuilder::Module *ModelBuilder::parseModule(const JsonNode &node,
                                                const std::string &path,
                                                bool inSequence) {
  node.expectObject();
  JsonNode typeNode = node.at("type");
  std::string type = typeNode.asString();
  modules_.push_back(
      Module{Module::Kind::Layer, node, path, nullptr, {}, {}, {"x"}, {}});
  Module &m = modules_.back();
  std::vector<std::string> common = {"type"};
  if (inSequence)
    common.push_back("name");
  if (path.empty())
    common.push_back("options");
  auto childPath = [&](const std::string &n) {
    return path.empty() ? n : path + "." + n;
  };
  if (type == "Sequential" || type == "ModuleList") {
    m.kind = type == "Sequential" ? Module::Kind::Sequential
                                  : Module::Kind::ModuleList;
    common.push_back("layers");
    node.checkKeys(common);
    JsonNode layers = node.at("layers");
    layers.expectArray();
    for (size_t i = 0; i < layers.size(); ++i) {
      JsonNode l = layers[i];
      l.expectObject();
      std::string n = l.has("name") ? l.at("name").asName() : std::to_string(i);
      for (const auto &c : m.children)
        if (c.first == n)
          l.at("name").error("duplicate layer name \"" + n + "\"");
      m.children.push_back({n, parseModule(l, childPath(n), true)});
    }
    return &m;
  }
  if (type == "ModuleDict" || node.has("forward") ||
      (node.has("modules") && !findLayer(type))) {
    bool dict = type == "ModuleDict";
    m.kind = dict ? Module::Kind::ModuleDict : Module::Kind::User;
    common.push_back("modules");
    if (!dict) {
      for (const char *k : {"forward", "inputs", "parameters", "initializers"})
        common.push_back(k);
    }
    node.checkKeys(common);
    if (!dict && !node.has("forward"))
      node.error("user module \"" + type +
                 "\" has \"modules\" but no \"forward\" steps");
    if (node.has("parameters"))
      parseOwnParameters(m, node.at("parameters"));
    if (node.has("initializers")) {
      JsonNode inits = node.at("initializers");
      std::vector<std::string> allowed;
      for (const auto &p : m.params)
        allowed.push_back(p.name);
      for (auto &[p, r] : parseInitializers(inits, allowed))
        rules_.emplace(childPath(p), RuleAt{r, inits.at(p)});
    }
    if (node.has("modules")) {
      JsonNode mods = node.at("modules");
      mods.expectObject();
      for (const std::string &k : mods.keys()) {
        if (k.empty() || k.find('.') != std::string::npos || k[0] == '$')
          mods.at(k).error("module names must be non-empty, without '.' and "
                           "not starting with '$'");
        m.children.push_back({k, parseModule(mods.at(k), childPath(k), false)});
      }
    } else if (dict) {
      node.at("modules");
    }
    if (!dict) {
      if (node.has("inputs")) {
        JsonNode ins = node.at("inputs");
        ins.expectArray();
        m.inputs.clear();
        for (size_t i = 0; i < ins.size(); ++i)
          m.inputs.push_back(ins[i].asName());
      }
      node.at("forward").expectArray();
    }
    return &m;
  }
  m.spec = findLayer(type);
  if (!m.spec) {
    auto names = layerNames();
    names.insert(names.end(), {"Sequential", "ModuleList", "ModuleDict"});
    typeNode.error("unknown layer type \"" + type + "\"" +
                   didYouMean(type, names) +
                   "; a user module needs \"modules\" and \"forward\"");
  }
  common.push_back("initializers");
  m.args = std::make_unique<Args>(*m.spec, node, common);
  if (node.has("initializers")) {
    JsonNode inits = node.at("initializers");
    std::vector<std::string> allowed;
    if (m.spec->parameters)
      allowed = m.spec->parameters(*m.args);
    for (auto &[p, r] : parseInitializers(inits, allowed))
      rules_.emplace(childPath(p), RuleAt{r, inits.at(p)});
  }
  return &m;
}

void ModelBuilder::parseOwnParameters(Module &m, const JsonNode &node) {
  node.expectObject();
  for (const std::string &k : node.keys()) {
    JsonNode p = node.at(k);
    if (k.empty() || k.find('.') != std::string::npos || k[0] == '$')
      p.error("parameter names must be non-empty, without '.' and not "
              "starting with '$', found \"" +
              k + "\"");
    if (!p.isArray())
      p.error("expected the parameter's shape (a list of integers), found " +
              p.describe());
    Shape shape = p.asIntList();
    for (int64_t d : shape)
      if (d < 1)
        p.error("dimensions must be >= 1, found " + p.json().dump());
    if (numElements(shape) > kMaxElements)
      p.error("parameter \"" + k + "\" of shape " + shapeToString(shape) +
              " has more than 2^31 - 1 elements");
    m.params.push_back({k, shape, p});
  }
}

ModelBuilder::Module *ModelBuilder::resolve(Module &from,
                                            const JsonNode &pathNode) {
  std::string dotted = pathNode.asString();
  Module *cur = &from;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string seg = dotted.substr(
        start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!seg.empty() && seg[0] == '$') {
      std::string opt = seg.substr(1);
      auto it = optionValues_.find(opt);
      if (it == optionValues_.end()) {
        std::vector<std::string> declared;
        for (const auto &o : optionValues_)
          declared.push_back(o.first);
        pathNode.error("unknown option \"$" + opt + "\"; " +
                       (declared.empty()
                            ? std::string("the root declares no options")
                            : "declared: " + joinQuoted(declared)));
      }
      it->second.used = true;
      seg = it->second.value;
    }
    Module *next = nullptr;
    std::vector<std::string> names;
    for (auto &[n, c] : cur->children) {
      names.push_back(n);
      if (n == seg)
        next = c;
    }
    if (!next)
      pathNode.error(
          "no module \"" + seg + "\" in " +
          (cur->path.empty() ? "the root module" : "\"" + cur->path + "\"") +
          didYouMean(seg, names) +
          (names.empty() ? "" : "; it has " + joinQuoted(names)));
    cur = next;
    if (dot == std::string::npos)
      return cur;
    start = dot + 1;
  }
}

std::vector<Value *> ModelBuilder::call(Module &m,
                                        const std::vector<Operand> &inputs,
                                        const JsonNode &site,
                                        const JsonNode *step) {
  auto single = [&]() -> Value * {
    if (inputs.size() != 1 || !inputs[0].value)
      site.error("\"" + m.path + "\" takes one tensor input, found " +
                 std::to_string(inputs.size()) + " inputs");
    return inputs[0].value;
  };
  switch (m.kind) {
  case Module::Kind::Layer: {
    const OpSpec &spec = *m.spec;
    if (int(inputs.size()) < spec.minInputs ||
        int(inputs.size()) > spec.maxInputs)
      site.error(std::string(spec.name) + " \"" + m.path + "\" takes " +
                 std::to_string(spec.minInputs) +
                 (spec.maxInputs != spec.minInputs
                      ? " to " + std::to_string(spec.maxInputs)
                      : "") +
                 " input(s), found " + std::to_string(inputs.size()));
    if (step && step->has("output_size") &&
        spec.name.find("Transpose") == std::string::npos &&
        spec.name.find("Unpool") == std::string::npos)
      step->at("output_size")
          .error(std::string("output_size is taken only by ConvTranspose and "
                             "MaxUnpool layers, not by ") +
                 spec.name);
    BuildContext ctx{*this,  spec, *m.args, m.path,
                     m.node, step, inputs,  m.path};
    return spec.build(ctx);
  }
  case Module::Kind::Sequential:
  case Module::Kind::ModuleList: {
    Value *x = single();
    for (auto &[n, c] : m.children)
      x = call(*c, {{x}}, site, nullptr).at(0);
    return {x};
  }
  case Module::Kind::ModuleDict:
    site.error("\"" + m.path +
               "\" is a ModuleDict: call one entry by path (\"" + m.path +
               ".KEY\") or select it with an option (\"" + m.path +
               ".$option\")");
  case Module::Kind::User:
    if (inputs.size() != m.inputs.size())
      site.error("\"" + (m.path.empty() ? std::string("root") : m.path) +
                 "\" takes " + std::to_string(m.inputs.size()) + " input(s) (" +
                 joinQuoted(m.inputs) + "), found " +
                 std::to_string(inputs.size()));
    return runForward(m, inputs);
  }
  return {};
}

std::vector<Value *> ModelBuilder::runForward(Module &m,
                                              const std::vector<Operand> &in) {
  std::map<std::string, Value *> env;
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    if (!in[i].value)
      m.node.error("module input \"" + m.inputs[i] + "\" must be a tensor");
    env[m.inputs[i]] = in[i].value;
  }
  JsonNode steps = m.node.at("forward");
  auto prefixed = [&](const std::string &n) {
    return m.path.empty() ? n : m.path + "." + n;
  };
  // The module's own parameters share the value namespace with its inputs
  // and the steps' results.
  for (const auto &p : m.params) {
    if (env.count(p.name))
      p.node.error("parameter \"" + p.name +
                   "\" has the name of an input of the module; parameters "
                   "and values share one namespace");
    env[p.name] = ownParameter(prefixed(p.name), p.shape, p.node);
  }
  auto isParam = [&](const std::string &n) {
    for (const auto &p : m.params)
      if (p.name == n)
        return true;
    return false;
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    JsonNode step = steps[i];
    step.expectObject();
    if (step.has("return")) {
      step.checkKeys({"return"});
      if (i + 1 != steps.size())
        step.error("\"return\" must be the last step");
      std::vector<Value *> outs;
      JsonNode r = step.at("return");
      r.expectArray();
      if (r.size() == 0)
        r.error("return needs at least one value");
      for (size_t j = 0; j < r.size(); ++j) {
        std::string n = r[j].asString();
        auto it = env.find(n);
        if (it == env.end())
          r[j].error("return names \"" + n + "\", which is not defined");
        outs.push_back(it->second);
      }
      return outs;
    }
    // Inputs: value names or numbers.
    std::vector<Operand> operands;
    if (step.has("in")) {
      JsonNode ins = step.at("in");
      ins.expectArray();
      for (size_t j = 0; j < ins.size(); ++j) {
        JsonNode e = ins[j];
        if (e.json().is_number()) {
          operands.push_back({nullptr, e.asNumber()});
          continue;
        }
        std::string n = e.asString();
        auto it = env.find(n);
        if (it == env.end()) {
          std::vector<std::string> known;
          for (const auto &kv : env)
            known.push_back(kv.first);
          e.error("\"" + n +
                  "\" is not defined by an input or an earlier "
                  "step" +
                  didYouMean(n, known));
        }
        operands.push_back({it->second});
      }
    }
    std::vector<Value *> results;
    if (step.has("call")) {
      step.checkKeys(kStepKeysCall);
      Module *target = resolve(m, step.at("call"));
      for (const Operand &o : operands)
        if (!o.value)
          step.at("in").error("a module call takes tensors, found a number");
      results = call(*target, operands, step, &step);
    } else if (step.has("op")) {
      JsonNode opNode = step.at("op");
      std::string opName = opNode.asString();
      const OpSpec *spec = findFunctional(opName);
      if (!spec)
        opNode.error("unknown op \"" + opName + "\"" +
                     didYouMean(opName, functionalNames()));
      Args args(*spec, step, {"out", "op", "in"});
      if (int(operands.size()) < spec->minInputs ||
          int(operands.size()) > spec->maxInputs)
        step.error(opName + " takes " + std::to_string(spec->minInputs) +
                   (spec->maxInputs != spec->minInputs
                        ? " to " + std::to_string(spec->maxInputs)
                        : "") +
                   " input(s), found " + std::to_string(operands.size()));
      for (const Operand &o : operands)
        if (!o.value && !spec->scalarInputs)
          step.at("in").error(opName + " takes tensors, found a number");
      std::string outName = step.has("out") && step.at("out").isString()
                                ? step.at("out").asString()
                                : opName;
      BuildContext ctx{*this, *spec, args,     m.path,
                       step,  &step, operands, prefixed(outName)};
      results = spec->build(ctx);
    } else {
      step.checkKeys({"out", "call", "op", "in", "return", "output_size"});
      step.error("a step needs \"call\", \"op\" or \"return\"");
    }
    // Bind results.
    if (!step.has("out"))
      step.error("missing required key \"out\"");
    JsonNode out = step.at("out");
    std::vector<std::string> names;
    if (out.isArray()) {
      for (size_t j = 0; j < out.size(); ++j)
        names.push_back(out[j].asName());
    } else {
      names.push_back(out.asName());
    }
    if (names.size() != results.size())
      out.error("the step produces " + std::to_string(results.size()) +
                " value(s), found " + std::to_string(names.size()) +
                " name(s)");
    for (size_t j = 0; j < names.size(); ++j) {
      if (isParam(names[j]))
        (out.isArray() ? out[j] : out)
            .error("\"" + names[j] +
                   "\" is a parameter of this module (declared in "
                   "\"parameters\"); a step result cannot take its name, "
                   "as parameters and values share one namespace");
      env[names[j]] = results[j];
    }
  }
  steps.error("forward has no \"return\" step");
}

Value *ModelBuilder::ownParameter(const std::string &name, const Shape &shape,
                                  const JsonNode &where) {
  bool provided = params_.count(name) || rules_.count(name) ||
                  (weights_ && weights_->find(name));
  if (!provided && weights_)
    throw Error(weights_->path(), name,
                "missing (expected shape " + shapeToString(shape) + " for " +
                    where.path() +
                    "); a parameter declared in \"parameters\" has no "
                    "default initialisation, so it must be in the weights "
                    "file or have an \"initializers\" rule in its module");
  if (!provided)
    where.error("parameter \"" + name + "\" (shape " + shapeToString(shape) +
                ") has no weights file to come from and no \"initializers\" "
                "rule in its module; a parameter declared in \"parameters\" "
                "has no default initialisation (\"init\" does not cover it)");
  return parameter(name, shape, {0, 0}, where);
}

Value *ModelBuilder::scalarConstant(double v) {
  return graph_->addWeight("scalar", {},
                           std::make_shared<std::vector<float>>(1, float(v)));
}

Value *ModelBuilder::parameter(const std::string &name, const Shape &shape,
                               DefaultInit init, const JsonNode &where) {
  auto it = params_.find(name);
  if (it != params_.end())
    return it->second;
  if (numElements(shape) > kMaxElements)
    where.error("parameter \"" + name + "\" of shape " + shapeToString(shape) +
                " has more than 2^31 - 1 elements");
  std::shared_ptr<std::vector<float>> data;
  const TensorInfo *t = weights_ ? weights_->find(name) : nullptr;
  if (t) {
    if (t->shape != shape)
      throw Error(weights_->path(), name,
                  "expected shape " + shapeToString(shape) + " for " +
                      where.path() + ", found " + shapeToString(t->shape));
    if (!weights_->isFloating(*t))
      throw Error(weights_->path(), name,
                  "expected a floating-point tensor, found dtype " +
                      std::string(dtypeName(t->dtype)));
    data = std::make_shared<std::vector<float>>(weights_->readFloat32(*t));
    used_.insert(name);
  } else if (auto r = rules_.find(name); r != rules_.end()) {
    data = std::make_shared<std::vector<float>>();
    fillByRule(r->second.rule, shape, seed_, name, r->second.node, *data);
  } else if (initAllowed_) {
    // PyTorch's default for the layer: uniform(low, high) or a constant.
    InitRule d;
    if (init.low == init.high) {
      d.scheme = InitRule::Scheme::Constant;
      d.val = init.low;
    } else {
      d.a = init.low;
      d.b = init.high;
    }
    data = std::make_shared<std::vector<float>>();
    fillByRule(d, shape, seed_, name, where, *data);
  } else if (weights_) {
    throw Error(weights_->path(), name,
                "missing (expected shape " + shapeToString(shape) + " for " +
                    where.path() +
                    "); add \"init\" to the model or an \"initializers\" "
                    "rule to initialise missing parameters");
  } else {
    where.error("parameter \"" + name + "\" (shape " + shapeToString(shape) +
                ") needs a weights file (\"weights\" or --weights) or "
                "\"init\"");
  }
  Value *v = graph_->addWeight(name, shape, std::move(data));
  params_[name] = v;
  return v;
}

std::unique_ptr<Graph> ModelBuilder::build(std::vector<std::string> *warnings) {
  parseTop();
  std::vector<Operand> inputs;
  for (Value *v : graph_->inputs)
    inputs.push_back({v});
  Module &root = *rootModule_;
  if (root.kind == Module::Kind::User) {
    std::vector<std::string> names;
    for (Value *v : graph_->inputs)
      names.push_back(v->name);
    if (root.node.has("inputs") && root.inputs != names)
      root.node.at("inputs").error("the root's inputs must be the model "
                                   "inputs " +
                                   joinQuoted(names));
    root.inputs = names;
    std::vector<Value *> outs = runForward(root, inputs);
    JsonNode ret =
        root.node.at("forward")[root.node.at("forward").size() - 1].at(
            "return");
    for (size_t i = 0; i < outs.size(); ++i) {
      std::string n = ret[i].asString();
      for (const auto &o : graph_->outputs)
        if (o.first == n)
          ret[i].error("output \"" + n + "\" is returned twice");
      graph_->outputs.push_back({n, outs[i]});
    }
  } else {
    if (inputs.size() != 1)
      root.node.error("a root module without forward takes one input, the "
                      "model declares " +
                      std::to_string(inputs.size()));
    graph_->outputs.push_back(
        {"y", call(root, inputs, root.node, nullptr).at(0)});
  }
  // Indices returned by the model become float32 values (the program's
  // outputs are float32), exactly.
  for (auto &[name, v] : graph_->outputs)
    if (v->elemType != ElemType::F32)
      v = graph_
              ->addOp(getOp("indices_to_float"), {v}, {},
                      {file_, "model.forward"}, name + ".float")
              ->result();
  for (const auto &[k, o] : optionValues_)
    if (!o.used)
      throw Error(file_, "model.options." + k,
                  "option \"" + k +
                      "\" is not used by any call path "
                      "(\"$" +
                      k + "\")");
  // A tensor of a module that exists but is not called (an unselected
  // ModuleDict entry) is expected; one that matches no module is suspicious.
  std::set<std::string> modulePaths;
  for (const Module &m : modules_)
    modulePaths.insert(m.path);
  auto ownerKnown = [&](const std::string &tensor) {
    size_t dot = tensor.rfind('.');
    return modulePaths.count(dot == std::string::npos ? ""
                                                      : tensor.substr(0, dot));
  };
  if (weights_ && warnings)
    for (const TensorInfo &t : weights_->tensors())
      if (!used_.count(t.name) && !ownerKnown(t.name))
        warnings->push_back(weights_->path() + ": tensor \"" + t.name +
                            "\" is not used by any module");
  graph_->removeDeadOps();
  verifyGraph(*graph_);
  return std::move(graph_);
}

std::unique_ptr<Graph> loadModel(const std::string &jsonPath,
                                 const LoadOptions &options,
                                 std::vector<std::string> *warnings) {
  Json root = readJsonFile(jsonPath);
  ModelBuilder b(jsonPath, root, options);
  return b.build(warnings);
}

} // namespace kiln
