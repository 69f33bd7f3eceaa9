// SPDX-License-Identifier: Apache-2.0
// NameThisThread: names the calling thread (what `top -H`, `ps -L` and /proc/PID/task/*/comm
// show), so an operator can tell the agent's threads apart and see what each one costs.
#pragma once

#include <string_view>

namespace tidegate {

// Linux keeps 15 bytes of a thread name; a longer name is cut there.
void NameThisThread(std::string_view name);

}  // namespace tidegate
