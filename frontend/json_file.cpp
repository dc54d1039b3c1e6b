// Strict JSON reading.
#include "frontend/json_file.h"

#include "support/error.h"

#include <filesystem>
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

/// nlohmann's DOM builder with duplicate-key callback, remembering where
/// the offending token starts when the parser reports an error (a number
/// out of range included).
struct ErrorPositionSax : nlohmann::detail::json_sax_dom_callback_parser<Json> {
  using Base = nlohmann::detail::json_sax_dom_callback_parser<Json>;
  ErrorPositionSax(Json &result, Json::parser_callback_t cb)
      : Base(result, std::move(cb), true) {}
  size_t tokenStart = 0;
  template <class Exception>
  bool parse_error(std::size_t position, const std::string &lastToken,
                   const Exception &ex) {
    // Point at the last character read, or at the start of a complete
    // string or number literal that is itself the problem.
    tokenStart = position > 0 ? position - 1 : 0;
    bool string = lastToken.size() >= 2 && lastToken.front() == '"' &&
                  lastToken.back() == '"' &&
                  lastToken.find('"', 1) == lastToken.size() - 1;
    bool number =
        !lastToken.empty() &&
        lastToken.find_first_not_of("0123456789+-.eE") == std::string::npos;
    bool atEnd =
        std::string(ex.what()).find("end of input") != std::string::npos;
    if ((string || number) && !atEnd && position >= lastToken.size())
      tokenStart = position - lastToken.size();
    return Base::parse_error(position, lastToken, ex);
  }
};

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
        throw Error(file, p.empty() ? k : p + "." + k,
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
  size_t nul = text.find('\0');
  if (nul != std::string::npos)
    throw Error(file, lineColumn(text, nul), "invalid JSON: a NUL byte");
  Json result;
  ErrorPositionSax sax(result, callback);
  try {
    Json::sax_parse(text, &sax);
  } catch (const Json::exception &e) {
    std::string what = e.what();
    // Keep nlohmann's explanation, drop its own position prefix.
    size_t colon = what.find(": ", what.find("error"));
    std::string detail =
        colon == std::string::npos ? what : what.substr(colon + 2);
    if (detail.rfind("[json.exception", 0) == 0 &&
        detail.find("] ") != std::string::npos)
      detail = detail.substr(detail.find("] ") + 2);
    throw Error(file, lineColumn(text, sax.tokenStart),
                "invalid JSON: " + detail);
  }
  return result;
}

Json readJsonFile(const std::string &path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(path, "", "expected a JSON file, found a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(path, "", "cannot open the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parseJsonText(ss.str(), path);
}

} // namespace kiln
