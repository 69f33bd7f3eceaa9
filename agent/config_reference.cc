// SPDX-License-Identifier: Apache-2.0
#include "agent/config_reference.h"

#include <string_view>
#include <vector>

#include "agent/config_keys.h"

namespace tidegate::agent {
namespace {

constexpr const char* kIntro = R"(# tidegate configuration reference

This is every key `tidegate` accepts in its YAML config file, printed from the table the
config loader itself checks against (`tidegate config reference` prints the same text).
`configs/tidegate.yaml` is a commented starting point.

- The loader is strict: an unknown key, a wrong type or a value out of range is an error
  naming the file, line and key (`tidegate.yaml:12: source.mqtt.tsl: unknown key (did you
  mean 'tls'?)`), and the agent does not start. `tidegate config check FILE` validates a
  file without running anything (exit 0 if valid, 2 if not).
- Keys are written as dotted paths here; in the file each part is a level of indentation
  (spaces, never tabs). `name[]` is a list of mappings: `aggregate[].name` is the `name` of
  each item of `aggregate`. A part in angle brackets (`<pointer>`) is a key you choose.
- Durations: `0`, `250ms`, `30s`, `5m`, `2h`, `7d`, or combined (`1h30m`). Sizes: bytes
  (`512`), binary (`64KiB`, `256MiB`, `1GiB`, `1TiB`) or decimal (`1KB`, `1MB`, `1GB`).
- Fields of a payload are named by JSON Pointers (RFC 6901): `/user/email` is the `email`
  member of the `user` object, `/tags/0` the first item of the `tags` array.
- A key that is absent takes its default; "required" keys must be present whenever the
  section holding them is.
)";

constexpr const char* kPrivacyGuide = R"(
## Privacy rules in practice

A rule acts on exactly the paths it names. `tokenize: [/user/email]` replaces the value of
`/user/email` and nothing else: the same address typed into a free-text field such as
`/note` passes unchanged. Name every free-text field under `scrub`, which finds emails,
phone numbers, IP addresses and card-like numbers inside the text and tokenizes each one.
An action on an object or array covers everything inside it, so `scrub: [/notes]` scrubs
every string below `/notes`. The root pointer `""` (the whole payload) is refused for
every action; to cover a whole payload, list each top-level field:

    privacy:
      key_file: /etc/tidegate/keys/token.keys
      rules:
        - match: "devices/#"
          tokenize: [/user/email]         # the field that is an email as a whole
          drop: [/user/ssn]
          scrub: [/note, /comments, /meta] # every field where people type text
        - match: "sensors/#"
          drop: [/humidity]               # a rule with a single action is fine

A field that is not listed is kept as sent; review the rules whenever devices add fields.
)";

std::string TypeText(const ConfigKey& key) {
  switch (key.type) {
    case KeyType::kSection:
      return "mapping";
    case KeyType::kSectionList:
      return "list of mappings";
    case KeyType::kString:
      return "string";
    case KeyType::kFile:
      return "file path";
    case KeyType::kPointer:
      return "JSON Pointer";
    case KeyType::kTopicFilter:
      return "MQTT topic filter";
    case KeyType::kBool:
      return "true or false";
    case KeyType::kInteger:
      return "integer " + RangeText(key);
    case KeyType::kNumber:
      return "number";
    case KeyType::kDuration:
      return "duration " + RangeText(key);
    case KeyType::kSize:
      return "size " + RangeText(key);
    case KeyType::kChoice:
      return "one of " + std::string(key.choices);
    case KeyType::kStringList:
      return "list of strings";
    case KeyType::kPointerList:
      return "list of JSON Pointers";
    case KeyType::kChoiceList:
      return "list of " + std::string(key.choices);
  }
  return "";
}

constexpr size_t kWidth = 92;

// The words of text; a `code span` with spaces stays one word.
std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t start = 0;
  bool in_code = false;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] == '`') in_code = !in_code;
    if (i == text.size() || (text[i] == ' ' && !in_code)) {
      if (i > start) words.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return words;
}

// text broken into lines of at most kWidth characters (a longer word stays whole), each
// line after the first starting with indent; first_used: characters already on the line.
std::string Wrap(std::string_view text, const std::string& indent, size_t first_used = 0) {
  std::string out;
  size_t used = first_used;
  bool first = true;
  for (std::string_view word : Words(text)) {
    if (!first && used + 1 + word.size() > kWidth) {
      out += "\n" + indent;
      used = indent.size();
    } else if (!first) {
      out += " ";
      ++used;
    }
    out += word;
    used += word.size();
    first = false;
  }
  return out;
}

std::string_view Leaf(std::string_view path) { return path.substr(path.rfind('.') + 1); }

// "not with `password`" / "exactly one of `tumbling`, `hopping`".
std::string GroupText(const ConfigKey& key) {
  std::string others;
  for (const ConfigKey* peer : ChildKeys(ParentPath(key.path))) {
    if (peer->group != key.group) continue;
    if (key.need != Need::kOneOf && peer == &key) continue;
    others += std::string(others.empty() ? "" : ", ") + "`" + std::string(Leaf(peer->path)) + "`";
  }
  return key.need == Need::kOneOf ? "exactly one of " + others : "not with " + others;
}

std::string KeyLine(const ConfigKey& key) {
  std::string line = "- `" + std::string(key.path) + "`: " + TypeText(key);
  if (key.need == Need::kRequired) line += ", required";
  if (!key.group.empty()) line += ", " + GroupText(key);
  if (!key.needs.empty()) line += ", needs `" + std::string(key.needs) + "`";
  if (!key.default_value.empty()) line += ", default `" + std::string(key.default_value) + "`";
  if (!key.example.empty()) {
    const std::string_view name = key.example_key.empty() ? Leaf(key.path) : key.example_key;
    line += ". Example: `" + std::string(name) + ": " + std::string(key.example) + "`";
  }
  return Wrap(line, "  ") + "\n  " + Wrap(key.doc, "  ", 2) + "\n";
}

bool IsSection(const ConfigKey& key) {
  return key.type == KeyType::kSection || key.type == KeyType::kSectionList;
}

// The heading and keys of one section, then its subsections.
void RenderSection(const ConfigKey& section, int depth, std::string* out) {
  const bool list = section.type == KeyType::kSectionList;
  *out += "\n" + std::string(depth == 1 ? "## " : "### ") + std::string(section.path) +
          (list ? "[]" : "") + "\n\n";
  std::string about = TypeText(section);
  if (section.need == Need::kRequired) about += ", required";
  if (!section.group.empty()) about += ", " + GroupText(section);
  *out += Wrap("(" + about + ") " + std::string(section.doc), "") + "\n";
  const std::string inside = std::string(section.path) + (list ? "[]" : "");
  const std::vector<const ConfigKey*> children = ChildKeys(inside);
  bool first = true;
  for (const ConfigKey* key : children) {
    if (IsSection(*key)) continue;
    *out += (first ? "\n" : "") + KeyLine(*key);
    first = false;
  }
  for (const ConfigKey* key : children) {
    if (IsSection(*key)) RenderSection(*key, depth + 1, out);
  }
}

}  // namespace

std::string ConfigReference() {
  std::string out = kIntro;
  for (const ConfigKey* section : ChildKeys("")) {
    RenderSection(*section, 1, &out);
    if (section->path == "privacy") out += kPrivacyGuide;
  }
  return out;
}

}  // namespace tidegate::agent
