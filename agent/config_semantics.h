// SPDX-License-Identifier: Apache-2.0
// Checks of a loaded config that look past single keys: the files it names (they exist and
// can be read; private keys are mode 0600), the config file's own mode when it holds a
// password, privacy rules and aggregations whose match can reach no subscribed topic, likely
// mistakes in topic filters, and features this build cannot run. `config check` prints the
// problems and `run` logs them, so both give one verdict. Stateless; thread-safe (it only
// reads the file system).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"

namespace tidegate::agent {

enum class Severity { kError, kWarning };

struct ConfigProblem {
  int line = 0;     // 1-based line of key in the config file; 0 if unknown
  std::string key;  // dotted key path, e.g. "privacy.rules[0].match"
  Severity severity = Severity::kError;
  std::string message;

  // "FILE:LINE: key: message", with "warning: " before the message of a warning: the form
  // of the loader's errors (agent/yaml_reader.h).
  std::string ToString(std::string_view file) const;
};

struct SemanticsOptions {
  // False skips what depends on the machine: the files the config names and the mode of the
  // config file itself (for checking a config away from the gateway that will run it).
  bool check_files = true;
};

// Every problem of config (loaded by LoadConfigFile or ParseConfig, whose key_lines give the
// lines), in line order. An error means `run` must not start: exit 2.
std::vector<ConfigProblem> CheckConfigSemantics(const Config& config,
                                                const SemanticsOptions& options = {});

bool HasErrors(const std::vector<ConfigProblem>& problems);

}  // namespace tidegate::agent
