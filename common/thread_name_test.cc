// SPDX-License-Identifier: Apache-2.0
#include "common/thread_name.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <thread>

namespace {

std::string CommOfThisThread() {
  std::ifstream comm("/proc/self/task/" + std::to_string(syscall(SYS_gettid)) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

}  // namespace

TEST_CASE("a named thread shows its name in /proc, cut at 15 bytes", "[common]") {
  std::string short_name;
  std::string long_name;
  std::thread t([&] {
    tidegate::NameThisThread("tg-writer");
    short_name = CommOfThisThread();
    tidegate::NameThisThread("tg-a-name-longer-than-fifteen");
    long_name = CommOfThisThread();
  });
  t.join();
  CHECK(short_name == "tg-writer");
  CHECK(long_name == "tg-a-name-longe");
}
