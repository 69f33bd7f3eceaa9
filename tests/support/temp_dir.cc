// SPDX-License-Identifier: Apache-2.0
#include "tests/support/temp_dir.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

namespace tidegate::testing {
namespace {

std::string TempRoot() {
  const char* tmpdir = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
  std::string root = (tmpdir != nullptr && tmpdir[0] != '\0') ? tmpdir : "/tmp";
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

bool KeepDirs() {
  const char* keep = std::getenv("TIDEGATE_KEEP_TEST_DIRS");  // NOLINT(concurrency-mt-unsafe)
  return keep != nullptr && std::strcmp(keep, "1") == 0;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "tidegate::testing::TempDir: %s\n", what.c_str());
  std::abort();
}

}  // namespace

TempDir::TempDir(std::string_view label) {
  std::string pattern = TempRoot() + "/tidegate-test-";
  if (!label.empty()) pattern.append(label).append("-");
  pattern += "XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    Die("mkdtemp " + pattern + ": " + std::generic_category().message(errno));
  }
  std::error_code ec;
  path_ = std::filesystem::canonical(buf.data(), ec).string();
  if (ec) path_ = buf.data();
}

TempDir::~TempDir() { Remove(); }

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

std::string TempDir::File(std::string_view name) const {
  std::string result = path_;
  result += '/';
  result += name;
  return result;
}

std::string TempDir::MakeDir(std::string_view name) const {
  std::string dir = File(name);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) Die("create_directories " + dir + ": " + ec.message());
  return dir;
}

void TempDir::Remove() {
  if (path_.empty()) return;
  if (KeepDirs()) {
    std::fprintf(stderr, "TIDEGATE_KEEP_TEST_DIRS=1: keeping %s\n", path_.c_str());
  } else {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (ec)
      std::fprintf(stderr, "TempDir: cannot remove %s: %s\n", path_.c_str(), ec.message().c_str());
  }
  path_.clear();
}

}  // namespace tidegate::testing
