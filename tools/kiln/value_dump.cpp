// `kiln run --dump-values DIR`: the interpreter's values as .npy files and
// their index (see value_dump.h).
#include "tools/kiln/value_dump.h"

#include "kiln/npy.h"
#include "support/error.h"

#include <cctype>
#include <filesystem>

namespace fs = std::filesystem;

namespace kiln::commands {

namespace {

/// `layers[3]` -> ("layers", 3); anything else -> ("", -1).
std::pair<std::string, int64_t> indexed(const std::string &token) {
  size_t open = token.find('[');
  if (open == std::string::npos || open == 0 || token.size() < open + 3 ||
      token.back() != ']')
    return {"", -1};
  std::string digits = token.substr(open + 1, token.size() - open - 2);
  for (char c : digits)
    if (!std::isdigit((unsigned char)c))
      return {"", -1};
  if (digits.size() > 9)
    return {"", -1};
  return {token.substr(0, open), std::stoll(digits)};
}

std::string joined(const std::string &a, const std::string &b) {
  return a.empty() ? b : a + "." + b;
}

} // namespace

ModuleOwner moduleOwner(const Json &root, const std::string &jsonPath) {
  ModuleOwner r;
  std::vector<std::string> tokens;
  size_t start = 0;
  while (true) {
    size_t dot = jsonPath.find('.', start);
    tokens.push_back(jsonPath.substr(
        start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos)
      break;
    start = dot + 1;
  }
  if (tokens[0] != "model" || !root.is_object() || !root.contains("model"))
    return r;
  const Json *cur = &root["model"];
  std::string path;
  for (size_t i = 1; i < tokens.size(); ++i) {
    if (!cur->is_object())
      return r;
    if (tokens[i] == "modules" && i + 1 < tokens.size()) {
      // Module names have no '.', so the next token is the whole key.
      const std::string &key = tokens[++i];
      if (!cur->contains("modules") || !(*cur)["modules"].is_object() ||
          !(*cur)["modules"].contains(key))
        return r;
      cur = &(*cur)["modules"][key];
      path = joined(path, key);
      continue;
    }
    auto [list, index] = indexed(tokens[i]);
    if (list.empty() || !cur->contains(list) || !(*cur)[list].is_array() ||
        index >= int64_t((*cur)[list].size()))
      return r;
    if (list == "forward") {
      if (i + 1 != tokens.size())
        return r;
      r.step = index;
      break;
    }
    if (list != "layers")
      return r;
    cur = &(*cur)["layers"][size_t(index)];
    path = joined(path, cur->is_object() && cur->contains("name") &&
                                (*cur)["name"].is_string()
                            ? (*cur)["name"].get<std::string>()
                            : std::to_string(index));
  }
  r.found = true;
  r.module = path;
  return r;
}

ValueDump::ValueDump(const Graph &g, const std::string &modelFile,
                     std::vector<std::string> passes)
    : g_(g), modelFile_(modelFile), model_(readJsonFile(modelFile)),
      passes_(std::move(passes)) {}

void ValueDump::prepare(const std::string &dir) {
  dir_ = dir;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec))
      throw Error(dir, "", "--dump-values: exists and is not a directory");
    return;
  }
  fs::create_directories(dir, ec);
  if (ec)
    throw Error(dir, "",
                "--dump-values: cannot create the directory: " + ec.message());
  createdDir_ = true;
}

std::string ValueDump::fileName(const std::string &valueName) {
  std::string base;
  for (char c : valueName)
    base += std::isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-'
                ? c
                : '_';
  if (base.empty() || base[0] == '.')
    base = "v" + base;
  // Unique even on a case-insensitive file system.
  std::string name = base + ".npy";
  for (int k = 1;; ++k) {
    std::string key;
    for (char c : name)
      key += char(std::tolower((unsigned char)c));
    if (usedFiles_.emplace(key, 0).second)
      return name;
    name = base + "_" + std::to_string(k) + ".npy";
  }
}

void ValueDump::add(const Value &v, const std::vector<float> &data) {
  bool i32 = v.elemType == ElemType::I32;
  std::string file = fileName(v.name);
  std::string bytes, err;
  if (!kiln_npy::encode(file.c_str(), i32 ? "<i4" : "<f4", v.shape, data.data(),
                        bytes, err))
    throw Error(dir_, "", err);
  files_.push_back({file, std::move(bytes)});

  Json e = Json::object();
  e["name"] = v.name;
  e["file"] = file;
  e["dtype"] = i32 ? "int32" : "float32";
  e["shape"] = v.shape;
  if (v.kind == Value::Kind::Input) {
    e["kind"] = "input";
  } else {
    const Op &op = *v.producer;
    e["kind"] = "result";
    e["op"] = op.name();
    if (op.results.size() > 1)
      e["result"] = v.resultIndex;
    Json operands = Json::array();
    for (const Value *in : op.operands)
      if (in)
        operands.push_back(in->isWeight() ? "@" + in->name : in->name);
    e["operands"] = operands;
    e["location"] = op.loc.path;
    ModuleOwner owner = moduleOwner(model_, op.loc.path);
    if (owner.found) {
      e["module"] = owner.module;
      if (owner.step >= 0)
        e["step"] = owner.step;
    }
  }
  entries_.push_back(std::move(e));
}

void ValueDump::write() {
  Json outputs = Json::array();
  for (const auto &[name, v] : g_.outputs)
    outputs.push_back({{"name", name}, {"value", v->name}});
  // One value per line: readable, and greppable by value name.
  std::string index =
      "{\n  \"kiln_values\": 1,\n  \"model\": " + Json(modelFile_).dump() +
      ",\n  \"passes\": " + Json(passes_).dump() +
      ",\n  \"outputs\": " + outputs.dump() + ",\n  \"values\": [\n";
  for (size_t i = 0; i < entries_.size(); ++i)
    index +=
        "    " + entries_[i].dump() + (i + 1 < entries_.size() ? ",\n" : "\n");
  index += "  ]\n}\n";
  GeneratedFiles files = std::move(files_);
  files.push_back({"index.json", std::move(index)});
  try {
    writeFiles(dir_, files);
  } catch (...) {
    std::error_code ec;
    if (createdDir_)
      fs::remove(dir_, ec); // only if still empty
    throw;
  }
}

} // namespace kiln::commands
