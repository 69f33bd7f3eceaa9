// SPDX-License-Identifier: Apache-2.0
#define CATCH_CONFIG_MAIN  // NOLINT(readability-identifier-naming): Catch2's switch
#include <catch2/catch.hpp>
