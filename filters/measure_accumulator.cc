// SPDX-License-Identifier: Apache-2.0
#include "filters/measure_accumulator.h"

#include <array>
#include <cmath>
#include <string_view>

namespace tidegate::filters {
namespace {

constexpr std::array<const char*, 9> kStatNames = {"count", "sum", "min", "max", "avg",
                                                   "last",  "p50", "p95", "p99"};
constexpr uint32_t kMaxPartials = 64;  // far above the ~40 any finite doubles need

double QuantileOf(Stat s) {
  switch (s) {
    case Stat::kP50:
      return 0.50;
    case Stat::kP95:
      return 0.95;
    default:
      return 0.99;
  }
}

}  // namespace

bool ParseStat(std::string_view name, Stat* stat) {
  for (size_t i = 0; i < kStatNames.size(); ++i) {
    if (name == kStatNames[i]) {
      *stat = static_cast<Stat>(i);
      return true;
    }
  }
  return false;
}

const char* StatName(Stat stat) { return kStatNames[static_cast<size_t>(stat)]; }

MeasureAccumulator::MeasureAccumulator(bool with_sketch) {
  if (with_sketch) sketch_ = std::make_unique<QuantileSketch>();
}

void MeasureAccumulator::Add(double value, int64_t event_time) {
  ++count_;
  sum_.Add(value);
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  if (event_time >= last_time_) {
    last_time_ = event_time;
    last_ = value;
  }
  if (sketch_) sketch_->Add(value);
}

std::vector<std::pair<std::string, double>> MeasureAccumulator::Results(
    const std::vector<Stat>& stats) const {
  std::vector<std::pair<std::string, double>> out;
  out.reserve(stats.size());
  for (Stat s : stats) {
    if (s != Stat::kCount && count_ == 0) continue;
    double v = 0;
    switch (s) {
      case Stat::kCount:
        v = static_cast<double>(count_);
        break;
      case Stat::kSum:
        v = sum_.Value();
        break;
      case Stat::kMin:
        v = min_;
        break;
      case Stat::kMax:
        v = max_;
        break;
      case Stat::kAvg:
        v = sum_.Value() / static_cast<double>(count_);
        break;
      case Stat::kLast:
        v = last_;
        break;
      default: {
        std::optional<double> q = sketch_ ? sketch_->Quantile(QuantileOf(s)) : std::nullopt;
        if (!q) continue;
        v = *q;
      }
    }
    out.emplace_back(StatName(s), v);
  }
  return out;
}

size_t MeasureAccumulator::MemoryBytes() const {
  return sizeof(*this) + sum_.partials().capacity() * sizeof(double) +
         (sketch_ ? sketch_->MemoryBytes() : 0);
}

void MeasureAccumulator::Encode(ByteWriter& out) const {
  out.Put<uint64_t>(count_);
  out.Put<uint32_t>(static_cast<uint32_t>(sum_.partials().size()));
  for (double p : sum_.partials()) out.Put<double>(p);
  out.Put<double>(min_);
  out.Put<double>(max_);
  out.Put<double>(last_);
  out.Put<int64_t>(last_time_);
  out.PutStringWith([this](std::string* s) {
    if (sketch_) sketch_->EncodeTo(s);
  });
}

size_t MeasureAccumulator::EncodedBytesBound() const {
  return sizeof(count_) + sizeof(uint32_t) + sum_.partials().size() * sizeof(double) +
         sizeof(min_) + sizeof(max_) + sizeof(last_) + sizeof(last_time_) + sizeof(uint32_t) +
         (sketch_ ? sketch_->EncodedBytesBound() : 0);
}

bool MeasureAccumulator::Decode(ByteReader& in) {
  uint32_t n = 0;
  if (!in.Get(&count_) || !in.Get(&n) || n > kMaxPartials) return false;
  std::vector<double> partials(n);
  for (double& p : partials) {
    if (!in.Get(&p) || !std::isfinite(p)) return false;
  }
  sum_ = ExactSum::FromPartials(partials);
  std::string_view sketch;
  if (!in.Get(&min_) || !in.Get(&max_) || !in.Get(&last_) || !in.Get(&last_time_) ||
      !in.GetView(&sketch)) {
    return false;
  }
  if (sketch.empty() != (sketch_ == nullptr)) return false;  // the spec changed its stats
  if (sketch_) {
    Result<QuantileSketch> decoded = QuantileSketch::Decode(sketch);
    if (!decoded.ok()) return false;
    *sketch_ = std::move(*decoded);
  }
  return true;
}

}  // namespace tidegate::filters
