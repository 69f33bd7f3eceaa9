// SPDX-License-Identifier: Apache-2.0
// ExactSum: the sum of doubles, correctly rounded once at the end (Shewchuk's exact partials,
// the algorithm of Python's math.fsum). The result does not depend on the order the values
// were added in, so a window's `sum` is identical whether its events arrived in order, out of
// order, or across a restart. About 2-4 partials for ordinary telemetry; at most ~40 for any
// finite doubles. Values must be finite; a sum that overflows reports +-inf.
#pragma once

#include <vector>

namespace tidegate::filters {

class ExactSum {
 public:
  void Add(double x);
  double Value() const;
  const std::vector<double>& partials() const { return partials_; }
  // Restores from partials() of an earlier ExactSum (the window checkpoint).
  static ExactSum FromPartials(const std::vector<double>& partials);

 private:
  std::vector<double> partials_;  // non-overlapping, increasing magnitude
  double overflow_ = 0;           // +-inf once an intermediate sum overflowed
};

}  // namespace tidegate::filters
