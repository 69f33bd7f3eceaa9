// SPDX-License-Identifier: Apache-2.0
#include "filters/exact_sum.h"

#include <cmath>
#include <utility>

namespace tidegate::filters {

void ExactSum::Add(double x) {
  size_t kept = 0;
  for (double y : partials_) {
    if (std::fabs(x) < std::fabs(y)) std::swap(x, y);
    double hi = x + y;
    double lo = y - (hi - x);
    if (lo != 0.0) partials_[kept++] = lo;
    x = hi;
  }
  partials_.resize(kept);
  if (!std::isfinite(x)) {
    overflow_ = x;
    partials_.clear();
    return;
  }
  partials_.push_back(x);
}

double ExactSum::Value() const {
  if (overflow_ != 0) return overflow_;
  size_t n = partials_.size();
  if (n == 0) return 0.0;
  double hi = partials_[--n];
  double lo = 0.0;
  while (n > 0) {
    double x = hi;
    double y = partials_[--n];
    hi = x + y;
    double yr = hi - x;
    lo = y - yr;
    if (lo != 0.0) break;
  }
  // Round half to even correctly when the rest would tip the last bit.
  if (n > 0 && ((lo < 0 && partials_[n - 1] < 0) || (lo > 0 && partials_[n - 1] > 0))) {
    double y = lo * 2;
    double x = hi + y;
    double yr = x - hi;
    if (y == yr) hi = x;
  }
  return hi;
}

ExactSum ExactSum::FromPartials(const std::vector<double>& partials) {
  ExactSum sum;
  for (double p : partials) sum.Add(p);
  return sum;
}

}  // namespace tidegate::filters
