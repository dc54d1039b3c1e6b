// Strict JSON reading.
#include "frontend/json_file.h"

#include "support/error.h"

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

namespace kiln {
namespace {

/// Tracks where the parser is, to name the path of a duplicate key.
struct Frame {
  bool isArray = false;
  size_t index = 0;
  std::string key;
  std::set<std::string> keys;
};

std::string pathOf(const std::vector<Frame> &frames) {
  std::string p;
  for (size_t i = 0; i + 1 < frames.size(); ++i) {
    const Frame &f = frames[i];
    if (f.isArray)
      p += "[" + std::to_string(f.index) + "]";
    else
      p += (p.empty() ? "" : ".") + f.key;
  }
  return p;
}

void elementDone(std::vector<Frame> &frames) {
  if (!frames.empty() && frames.back().isArray)
    ++frames.back().index;
}

std::string lineColumn(const std::string &text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

} // namespace

Json parseJsonText(const std::string &text, const std::string &file) {
  std::vector<Frame> frames;
  auto callback = [&](int depth, Json::parse_event_t event, Json &parsed) {
    if (depth > kMaxJsonDepth)
      throw Error(file, pathOf(frames),
                  "JSON nesting deeper than " + std::to_string(kMaxJsonDepth) +
                      " levels");
    switch (event) {
    case Json::parse_event_t::object_start:
      frames.emplace_back();
      break;
    case Json::parse_event_t::array_start:
      frames.emplace_back();
      frames.back().isArray = true;
      break;
    case Json::parse_event_t::key: {
      std::string k = parsed.get<std::string>();
      Frame &f = frames.back();
      f.key = k;
      if (!f.keys.insert(k).second) {
        std::string p = pathOf(frames);
        throw Error(file, p.empty() ? "(top level)" : p,
                    "duplicate key \"" + k + "\"");
      }
      break;
    }
    case Json::parse_event_t::object_end:
    case Json::parse_event_t::array_end:
      frames.pop_back();
      elementDone(frames);
      break;
    case Json::parse_event_t::value:
      elementDone(frames);
      break;
    }
    return true;
  };
  try {
    return Json::parse(text, callback);
  } catch (const Json::parse_error &e) {
    std::string what = e.what();
    // Keep nlohmann's explanation, drop its own position prefix.
    size_t colon = what.find(": ", what.find("parse error"));
    std::string detail =
        colon == std::string::npos ? what : what.substr(colon + 2);
    throw Error(file, lineColumn(text, e.byte ? e.byte - 1 : 0),
                "invalid JSON: " + detail);
  }
}

Json readJsonFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(path, "", "cannot open the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parseJsonText(ss.str(), path);
}

} // namespace kiln
