// SPDX-License-Identifier: Apache-2.0
// QuantileSketch: a mergeable relative-error quantile sketch (DDSketch, Masson et al. 2019)
// for the p50/p95/p99 of event-time window measures. Values go into logarithmic buckets of
// ratio gamma = (1+a)/(1-a); there is one store for positive values, one for negative values
// (by magnitude) and a zero count. Memory is about 112 bytes plus 8 per bucket in use, at most
// kMaxBuckets per store. Encode/Decode checkpoint it into SQLite. Not thread-safe: each window
// owns its sketch and uses it from one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tidegate::filters {

class QuantileSketch {
 public:
  // The relative accuracy a used unless the caller asks for another.
  static constexpr double kRelativeAccuracy = 0.01;
  // The accepted range of a (the index of every finite double must fit an int32_t).
  static constexpr double kMinRelativeAccuracy = 1e-4;
  static constexpr double kMaxRelativeAccuracy = 0.5;
  // Values with |v| below this (the subnormals) are counted as zero.
  static constexpr double kMinIndexableValue = std::numeric_limits<double>::min();
  // The most buckets a store holds; past it the lowest-magnitude buckets collapse (below).
  static constexpr size_t kMaxBuckets = 2048;
  // The most values a sketch counts (2^53, exact in a double). Add refuses more, Merge and
  // Decode report a total above it.
  static constexpr uint64_t kMaxCount = uint64_t{1} << 53;
  // The first byte of every encoding (see Encode).
  static constexpr uint8_t kEncodingVersion = 1;

  // REQUIRES: kMinRelativeAccuracy <= relative_accuracy <= kMaxRelativeAccuracy (asserted;
  // a release build clamps a value outside the range into it).
  explicit QuantileSketch(double relative_accuracy = kRelativeAccuracy);

  // Counts v. Returns false, counting nothing, when v is NaN or infinite or the sketch already
  // holds kMaxCount values.
  bool Add(double v);

  // The value at lower rank q. Let x(0) <= ... <= x(n-1) be the n values added (also through
  // Merge), r = floor(q * (n - 1)) computed in double, and x = x(r). The estimate e satisfies
  //   |e - x| <= a * |x|   when |x| >= kMinIndexableValue (so e has the sign of x), and
  //   e == 0               when |x| <  kMinIndexableValue (x was counted as zero),
  // with a = relative_accuracy(); floating-point rounding is covered (buckets are built for a
  // slightly smaller accuracy). Once collapsed() is true, the bound still holds for every x
  // whose magnitude lies above the lower edge of the lowest bucket its sign's store kept; a
  // smaller x (a collapsed value: the lowest positive values, or the negative values nearest
  // zero) is reported as that lowest kept bucket's value, so its magnitude is overestimated.
  // Ranks are never disturbed: count() and the order of buckets stay exact. Returns nullopt
  // when the sketch is empty or q is NaN or outside [0, 1].
  std::optional<double> Quantile(double q) const;

  // Adds other's values to this sketch, as if each had been passed to Add. On error
  // (kInvalidArgument: other has a different relative accuracy; kResourceExhausted: the
  // total count would pass kMaxCount) this sketch is unchanged.
  Status Merge(const QuantileSketch& other);

  // Number of values counted.
  uint64_t count() const { return count_; }
  double relative_accuracy() const { return relative_accuracy_; }
  // True once a store went past kMaxBuckets and folded low-magnitude buckets together (also
  // when a merged or decoded sketch was collapsed): quantiles of the smallest magnitudes may
  // then be off the bound (see Quantile).
  bool collapsed() const { return collapsed_; }
  // Heap and inline bytes held by this sketch (vector capacity included).
  size_t MemoryBytes() const;

  // A compact, versioned encoding: byte kEncodingVersion; a flags byte (bit 0 = collapsed,
  // the others 0); the relative accuracy as an IEEE-754 double, little endian; the zero count
  // as a LEB128 varint; then the positive and then the negative store, each as its lowest
  // bucket index (zigzag varint), its bucket count (varint, 0 for an empty store, at most
  // kMaxBuckets) and one varint count per bucket, the first and last non-zero.
  // COMPATIBILITY: checkpoints outlive upgrades. A change of layout or meaning bumps
  // kEncodingVersion, and Decode keeps reading every earlier version.
  std::string Encode() const;
  // Appends what Encode returns to *out.
  void EncodeTo(std::string* out) const;
  // At least Encode().size(), for reserving.
  size_t EncodedBytesBound() const;
  // Parses an encoding made by Encode. Untrusted bytes: any malformed, truncated or
  // overlong input, an unknown version, an accuracy out of range, a bucket index no finite
  // double maps to, or counts that add up past kMaxCount give kCorruption. Never allocates more
  // than kMaxBuckets counts per store, nor more than the input could describe.
  static Result<QuantileSketch> Decode(std::string_view bytes);

  // Same accuracy and the same counts in the same buckets (Decode(Encode()) is equal).
  friend bool operator==(const QuantileSketch& a, const QuantileSketch& b);

 private:
  // Counts of contiguous bucket indices offset, offset+1, ...; empty or with non-zero ends.
  struct Store {
    int32_t offset = 0;
    std::vector<uint64_t> counts = {};

    bool operator==(const Store&) const = default;
    int64_t lowest() const { return offset; }
    int64_t highest() const { return offset + static_cast<int64_t>(counts.size()) - 1; }
    // Widens the store to cover [lo, hi] as well, folding the lowest buckets together if the
    // span would pass kMaxBuckets. Returns true if it folded. REQUIRES: lo <= hi.
    bool Cover(int64_t lo, int64_t hi);
    // The bucket counting index (the lowest bucket for a collapsed index).
    uint64_t& At(int64_t index);
  };

  // The bucket of a magnitude in [kMinIndexableValue, max double].
  int32_t IndexOf(double magnitude) const;
  // The magnitude reported for a bucket: within the accuracy of every magnitude it holds.
  double ValueOf(int64_t index) const;
  static bool MergeStore(const Store& from, Store* to);
  static void EncodeStore(const Store& store, std::string* out);
  // Reads a store from the front of *in, advancing it; buckets outside [min_index,
  // max_index] are an error. Adds its counts to *total.
  static Status DecodeStore(std::string_view* in, int64_t min_index, int64_t max_index,
                            Store* store, uint64_t* total);

  double relative_accuracy_;
  double log_gamma_;      // ln(gamma) of the internal, slightly tighter accuracy
  double inv_log_gamma_;  // 1 / log_gamma_
  uint64_t zero_count_ = 0;
  uint64_t count_ = 0;
  Store positive_;
  Store negative_;  // by magnitude: index of |v|
  bool collapsed_ = false;
};

}  // namespace tidegate::filters
