// SPDX-License-Identifier: Apache-2.0
#include "filters/state_budget.h"

#include <catch2/catch.hpp>

using tidegate::filters::StateAccount;
using tidegate::filters::StateBudget;

TEST_CASE("a state budget admits what fits and counts every account's charges", "[budget]") {
  StateBudget budget(1000);
  StateAccount a(&budget), b(&budget);
  uint64_t x = 0, y = 0;
  CHECK(budget.Admits(1000));
  CHECK_FALSE(budget.Admits(1001));
  a.Set(&x, 600);
  b.Set(&y, 300);
  CHECK(budget.used_bytes() == 900);
  CHECK(a.bytes() == 600);
  CHECK(budget.Admits(100));
  CHECK_FALSE(budget.Admits(101));
  a.Set(&x, 200);  // an object that shrank
  CHECK(x == 200);
  CHECK(budget.used_bytes() == 500);
  b.Release(&y);
  CHECK(y == 0);
  CHECK(budget.used_bytes() == 200);
}

TEST_CASE("a state budget past its limit admits nothing, not even zero bytes", "[budget]") {
  StateBudget budget(100);
  StateAccount a(&budget);
  uint64_t x = 0;
  a.Set(&x, 150);  // charges of kept state are never refused
  CHECK(budget.used_bytes() == 150);
  CHECK_FALSE(budget.Admits(0));
  CHECK_FALSE(budget.Admits(1));
}

TEST_CASE("a destroyed account returns what it still held to the budget", "[budget]") {
  StateBudget budget(100);
  {
    StateAccount a(&budget);
    uint64_t x = 0;
    a.Set(&x, 70);
    CHECK(budget.used_bytes() == 70);
  }
  CHECK(budget.used_bytes() == 0);
}
