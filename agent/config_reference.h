// SPDX-License-Identifier: Apache-2.0
// The config reference, printed from the key table (agent/config_keys.h): every key with its
// type, allowed values, default, what it does and an example, grouped by section. Markdown
// that also reads as plain text. `tidegate config reference` prints it, and
// docs/config-reference.md is a copy a test keeps equal. Pure; thread-safe.
#pragma once

#include <string>

namespace tidegate::agent {

std::string ConfigReference();

}  // namespace tidegate::agent
