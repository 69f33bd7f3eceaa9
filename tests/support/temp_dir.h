// SPDX-License-Identifier: Apache-2.0
// TempDir: a fresh directory for one test under $TMPDIR (or /tmp), named
// "tidegate-test-[LABEL-]XXXXXX", removed recursively with everything in it when the
// TempDir is destroyed. With TIDEGATE_KEEP_TEST_DIRS=1 in the environment the directory is
// kept and its path printed on stderr, for post-mortems. Not thread-safe; move-only.
#pragma once

#include <string>
#include <string_view>

namespace tidegate::testing {

class TempDir {
 public:
  // Creates the directory. Aborts the test binary if it cannot (no usable temp dir is an
  // environment failure, not a test result). `label` (letters, digits, '-', '_') makes a
  // kept directory easier to find.
  explicit TempDir(std::string_view label = {});
  ~TempDir();

  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Absolute path, without a trailing slash. Empty after being moved from.
  const std::string& path() const { return path_; }

  // path() + "/" + name. Creates nothing.
  std::string File(std::string_view name) const;

  // Creates path()/name (and missing parents) and returns its path. Aborts on failure.
  std::string MakeDir(std::string_view name) const;

 private:
  void Remove();

  std::string path_;
};

}  // namespace tidegate::testing
