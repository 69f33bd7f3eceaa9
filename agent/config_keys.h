// SPDX-License-Identifier: Apache-2.0
// The key table: every key the config loader accepts, with its type, default, allowed range
// or choices, whether it is required, what it does and an example value. It is the one place
// each of those facts is written: MapReader refuses to read a key the table lacks (an
// internal error that fails any test loading a config), ranges and choices are checked from
// it, and `tidegate config reference` (docs/config-reference.md) is printed from it.
// Constant data; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tidegate::agent {

enum class KeyType {
  kSection,      // a mapping of the keys below it
  kSectionList,  // a list of such mappings; its items' keys are written "name[].key"
  kString,
  kFile,         // a path to a file the agent reads
  kPointer,      // a JSON Pointer into the event payload ("/user/email")
  kTopicFilter,  // an MQTT topic filter ("devices/+/telemetry")
  kBool,
  kInteger,
  kNumber,    // a decimal number, such as -40 or 12.5 (schema bounds)
  kDuration,  // "500ms", "30s", "5m", "2h", "7d"
  kSize,      // "512", "64KiB", "256MiB"
  kChoice,    // one of `choices`
  kStringList,
  kPointerList,
  kChoiceList,  // a list of `choices`
};

enum class Need {
  kOptional,
  kRequired,  // required whenever the section holding it is present
  kOneOf,     // exactly one of the keys sharing its `group` must be present
};

// One key. Built with Key() and the chained setters below, so an entry names only what it has.
struct ConfigKey {
  // Dotted path; list items are "[]" ("aggregate[].window"). A last part in angle brackets
  // ("privacy.rules[].mask.<pointer>") stands for any key of that mapping.
  std::string_view path;
  KeyType type = KeyType::kString;
  std::string_view doc;            // what it does and its trade-off, one to three sentences
  std::string_view example;        // a valid YAML value for it
  std::string_view example_key;    // for "<...>" keys: the key used with the example
  std::string_view default_value;  // as written in YAML; empty: none (doc says what then)
  int64_t min = 0;                 // kInteger, kDuration (ms), kSize (bytes)
  int64_t max = 0;
  bool zero_is_off = false;  // 0 is also allowed (it turns the feature off), below min
  std::string_view choices;  // kChoice, kChoiceList: "a, b, c", in the order of the C++ enum
  Need need = Need::kOptional;
  std::string_view group;  // keys that exclude each other: at most one (exactly one: kOneOf)
  std::string_view needs;  // the path of another key this one does not work without

  constexpr ConfigKey Doc(std::string_view text) const { return With(&ConfigKey::doc, text); }
  constexpr ConfigKey Example(std::string_view value) const {
    return With(&ConfigKey::example, value);
  }
  constexpr ConfigKey ExampleKey(std::string_view key) const {
    return With(&ConfigKey::example_key, key);
  }
  constexpr ConfigKey Default(std::string_view value) const {
    return With(&ConfigKey::default_value, value);
  }
  constexpr ConfigKey Range(int64_t lo, int64_t hi, bool zero_off = false) const {
    ConfigKey k = *this;
    k.min = lo;
    k.max = hi;
    k.zero_is_off = zero_off;
    return k;
  }
  constexpr ConfigKey Choices(std::string_view list) const {
    return With(&ConfigKey::choices, list);
  }
  constexpr ConfigKey Required() const {
    ConfigKey k = *this;
    k.need = Need::kRequired;
    return k;
  }
  // At most one of the keys of `name` (exactly one with one_required).
  constexpr ConfigKey Group(std::string_view name, bool one_required = false) const {
    ConfigKey k = With(&ConfigKey::group, name);
    if (one_required) k.need = Need::kOneOf;
    return k;
  }
  constexpr ConfigKey Needs(std::string_view other) const { return With(&ConfigKey::needs, other); }

 private:
  constexpr ConfigKey With(std::string_view ConfigKey::*field, std::string_view value) const {
    ConfigKey k = *this;
    k.*field = value;
    return k;
  }
};

constexpr ConfigKey Key(std::string_view path, KeyType type) {
  ConfigKey k;
  k.path = path;
  k.type = type;
  return k;
}

// Every key, sections before their keys, in the order of the reference.
std::span<const ConfigKey> AllConfigKeys();

// The entry of a table path ("aggregate[].window.tumbling"), or null.
const ConfigKey* FindConfigKey(std::string_view path);

// The entry of key inside the mapping at table path parent ("" for the top level): the key
// itself, else the "<...>" entry of that mapping; null if neither exists.
const ConfigKey* FindChildKey(std::string_view parent, std::string_view key);

// The entries directly inside the mapping at table path parent ("aggregate[]" for the items
// of aggregate).
std::vector<const ConfigKey*> ChildKeys(std::string_view parent);

// The table path of the mapping holding path ("a.b[].c" -> "a.b[]"); "" at the top level.
std::string_view ParentPath(std::string_view path);

// key.choices split: {"a", "b", "c"}.
std::vector<std::string> ChoiceList(const ConfigKey& key);

bool IsNumeric(KeyType type);

// True if value (ms, bytes or the integer) is allowed for a numeric key.
bool InRange(const ConfigKey& key, int64_t value);

// "0..1m", "1KiB..8MiB", "0 or 1KiB..1GiB", "1..65535": in the units the key is written in.
std::string RangeText(const ConfigKey& key);

// The number written as the key's type writes it: "1m", "8MiB", "42".
std::string NumberText(KeyType type, int64_t value);

// "aggregate[2].window" -> "aggregate[].window".
std::string TablePath(std::string_view path);

}  // namespace tidegate::agent
