// SPDX-License-Identifier: Apache-2.0
#include "tests/support/binaries.h"

#ifndef TG_SUPPORT_BINARY_DIR
#error "TG_SUPPORT_BINARY_DIR must be defined by tests/CMakeLists.txt"
#endif
#ifndef TG_SUPPORT_SOURCE_DIR
#error "TG_SUPPORT_SOURCE_DIR must be defined by tests/CMakeLists.txt"
#endif

namespace tidegate::testing {
namespace {

std::string Join(std::string_view dir, std::string_view relative) {
  std::string path(dir);
  path += '/';
  path += relative;
  return path;
}

}  // namespace

std::string BinaryPath(std::string_view name) { return Join(TG_SUPPORT_BINARY_DIR "/bin", name); }

std::string SourcePath(std::string_view relative) { return Join(TG_SUPPORT_SOURCE_DIR, relative); }

std::string BuildPath(std::string_view relative) { return Join(TG_SUPPORT_BINARY_DIR, relative); }

}  // namespace tidegate::testing
