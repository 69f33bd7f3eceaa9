// SPDX-License-Identifier: Apache-2.0
#include "tests/support/faketime.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "tests/support/files.h"

namespace tidegate::testing {

Result<std::string> LibFaketimePath() {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const fs::path dir : {"/usr/lib", "/usr/local/lib", "/usr/lib64"}) {
    if (fs::exists(dir / "faketime/libfaketimeMT.so.1", ec)) {
      return (dir / "faketime/libfaketimeMT.so.1").string();
    }
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      fs::path candidate = entry.path() / "faketime/libfaketimeMT.so.1";
      if (fs::exists(candidate, ec)) return candidate.string();
    }
  }
  return NotFound(
      "libfaketimeMT.so.1 not found: install the Debian package faketime "
      "(scripts/install-deps.sh)");
}

Result<std::vector<std::pair<std::string, std::string>>> FaketimeEnv(
    const std::string& offset_file) {
  TG_ASSIGN_OR_RETURN(std::string lib, LibFaketimePath());
  // Under ASan the allocator reads the clock while it holds a size class's lock (to time its
  // release of memory to the OS); libfaketime's clock_gettime, on its first call, looks up
  // symbols with dlsym, which allocates: the child deadlocks at start. Never releasing memory
  // to the OS takes the allocator's clock read away. Without ASan the variable is unused.
  std::string asan_options = "allocator_release_to_os_interval_ms=-1";
  // NOLINTNEXTLINE(concurrency-mt-unsafe): tests do not setenv
  if (const char* inherited = std::getenv("ASAN_OPTIONS"); inherited && *inherited) {
    asan_options = std::string(inherited) + ":" + asan_options;
  }
  return std::vector<std::pair<std::string, std::string>>{
      {"LD_PRELOAD", lib},
      {"ASAN_OPTIONS", asan_options},
      {"FAKETIME_TIMESTAMP_FILE", offset_file},
      // Re-read the file about once a second instead of every 10 s.
      {"FAKETIME_CACHE_DURATION", "1"},
      // Only the wall clock steps; timeouts and the agent's age line stay real.
      {"FAKETIME_DONT_FAKE_MONOTONIC", "1"},
      // No shared memory segments left behind by a child the test kills.
      {"FAKETIME_DISABLE_SHM", "1"},
  };
}

Status SetFaketimeOffset(const std::string& offset_file, const std::string& offset) {
  const std::string temp = offset_file + ".tmp";
  TG_RETURN_IF_ERROR(WriteFile(temp, offset + "\n"));
  if (std::rename(temp.c_str(), offset_file.c_str()) != 0) {
    return IOError("rename " + temp + " to " + offset_file);
  }
  return Status::Ok();
}

}  // namespace tidegate::testing
