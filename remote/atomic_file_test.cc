// SPDX-License-Identifier: Apache-2.0
#include "remote/atomic_file.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace tidegate::remote {
namespace {

size_t FilesIn(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_CASE("an atomic write replaces the file with the given mode", "[remote]") {
  testing::TempDir dir("atomic");
  const std::string path = dir.path() + "/c.yaml";
  REQUIRE(WriteFileAtomically(path, "old\n", 0644).ok());
  REQUIRE(WriteFileAtomically(path, "new\n", 0600).ok());
  CHECK(testing::ReadFile(path) == "new\n");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(FilesIn(dir.path()) == 1);
}

TEST_CASE("a write stopped before the rename leaves the old file and no temp", "[remote]") {
  testing::TempDir dir("atomic");
  const std::string path = dir.path() + "/c.yaml";
  REQUIRE(WriteFileAtomically(path, "old\n", 0600).ok());
  const Status stopped = WriteFileAtomically(path, "new\n", 0600, [](AtomicWriteStep step) {
    return step == AtomicWriteStep::kTempWritten ? IOError("stopped by the test") : Status::Ok();
  });
  CHECK_FALSE(stopped.ok());
  CHECK(testing::ReadFile(path) == "old\n");
  CHECK(FilesIn(dir.path()) == 1);
}

TEST_CASE("a write stopped after the rename has the whole new file", "[remote]") {
  testing::TempDir dir("atomic");
  const std::string path = dir.path() + "/c.yaml";
  REQUIRE(WriteFileAtomically(path, "old\n", 0600).ok());
  const std::string big(1 << 20, 'n');
  const Status stopped = WriteFileAtomically(path, big, 0600, [](AtomicWriteStep step) {
    return step == AtomicWriteStep::kRenamed ? IOError("stopped by the test") : Status::Ok();
  });
  CHECK_FALSE(stopped.ok());
  CHECK(testing::ReadFile(path) == big);
  CHECK(FilesIn(dir.path()) == 1);
}

TEST_CASE("ReadWholeFile bounds the size and tells a missing file apart", "[remote]") {
  testing::TempDir dir("atomic");
  const std::string path = dir.path() + "/f";
  CHECK(ReadWholeFile(path, 10).status().code() == StatusCode::kNotFound);
  REQUIRE(testing::WriteFile(path, std::string(11, 'x')).ok());
  CHECK(ReadWholeFile(path, 10).status().code() == StatusCode::kResourceExhausted);
  CHECK(ReadWholeFile(path, 11).value() == std::string(11, 'x'));
}

}  // namespace tidegate::remote
