// SPDX-License-Identifier: Apache-2.0
// Where tests find the project's executables (tidegate, tidegate-collector, tidegate-sim,
// all in <build>/bin) and its source files (configs, schema, tests/data). The directories
// are the ones of the CMake build that compiled tg_test_support. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace tidegate::testing {

// <build dir>/bin/<name>, e.g. BinaryPath("tidegate-collector").
std::string BinaryPath(std::string_view name);

// <source dir>/<relative>, e.g. SourcePath("configs/tidegate.yaml").
std::string SourcePath(std::string_view relative);

// <build dir>/<relative>, e.g. for files flatc generated.
std::string BuildPath(std::string_view relative);

}  // namespace tidegate::testing
