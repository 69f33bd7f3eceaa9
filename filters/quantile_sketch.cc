// SPDX-License-Identifier: Apache-2.0
#include "filters/quantile_sketch.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "common/varint.h"

namespace tidegate::filters {
namespace {

// Buckets are built for a * (1 - kAccuracyMargin). The margin (1e-8 of a value at a = 0.01)
// dwarfs the rounding of log and exp (about 1e-13 relative even at the ends of the double
// range), so the documented bound holds for computed values, not only in exact arithmetic.
constexpr double kAccuracyMargin = 1e-6;
constexpr uint8_t kFlagCollapsed = 1;
// Counts stay exact in a double (2^53), so the rank arithmetic in Quantile is exact and its
// conversion back to an integer cannot overflow. A window never sees 9e15 values; a decoded
// checkpoint claiming more is corrupt.
constexpr uint64_t kMaxCount = QuantileSketch::kMaxCount;

size_t VarintBytes(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Adds add to *sum; false when it would overflow.
bool AddCount(uint64_t add, uint64_t* sum) {
  if (add > kMaxCount - *sum) return false;
  *sum += add;
  return true;
}

double ClampAccuracy(double a) {
  assert(a >= QuantileSketch::kMinRelativeAccuracy && a <= QuantileSketch::kMaxRelativeAccuracy);
  if (!(a >= QuantileSketch::kMinRelativeAccuracy)) return QuantileSketch::kMinRelativeAccuracy;
  return std::min(a, QuantileSketch::kMaxRelativeAccuracy);
}

}  // namespace

QuantileSketch::QuantileSketch(double relative_accuracy)
    : relative_accuracy_(ClampAccuracy(relative_accuracy)) {
  const double a = relative_accuracy_ * (1 - kAccuracyMargin);
  log_gamma_ = std::log1p(2 * a / (1 - a));  // gamma = (1 + a) / (1 - a)
  inv_log_gamma_ = 1 / log_gamma_;
}

int32_t QuantileSketch::IndexOf(double magnitude) const {
  // Bucket i holds (gamma^(i-1), gamma^i].
  return static_cast<int32_t>(std::ceil(std::log(magnitude) * inv_log_gamma_));
}

double QuantileSketch::ValueOf(int64_t index) const {
  // 2 gamma^i / (gamma + 1) = (1 - a) gamma^i: at most a away from both ends of the bucket.
  // Summed in log space so the top bucket does not overflow before the factor applies; if the
  // value itself passes the largest double, that double is still within a of the bucket's
  // values, which are all below it.
  const double log_factor = std::log(2 / (std::exp(log_gamma_) + 1));
  const double v = std::exp(static_cast<double>(index) * log_gamma_ + log_factor);
  return std::min(v, std::numeric_limits<double>::max());
}

bool QuantileSketch::Store::Cover(int64_t lo, int64_t hi) {
  assert(lo <= hi);
  if (!counts.empty() && lo >= lowest() && hi <= highest()) return false;
  int64_t new_lo = counts.empty() ? lo : std::min(lo, lowest());
  const int64_t new_hi = counts.empty() ? hi : std::max(hi, highest());
  const auto max_span = static_cast<int64_t>(kMaxBuckets);
  // Indices below new_lo hold counts (the store's ends and the caller's lo are non-zero), so
  // narrowing here always folds something.
  const bool fold = new_hi - new_lo + 1 > max_span;
  if (fold) new_lo = new_hi - max_span + 1;
  const auto size = static_cast<size_t>(new_hi - new_lo + 1);
  if (counts.empty() || new_lo == lowest()) {
    // Growth stays geometric for the amortized cost, but capped at the bucket bound.
    if (size > counts.capacity())
      counts.reserve(std::min(std::max(size, 2 * counts.size()), kMaxBuckets));
    offset = static_cast<int32_t>(new_lo);
    counts.resize(size);
    return fold;
  }
  std::vector<uint64_t> grown(size, 0);
  for (size_t k = 0; k < counts.size(); ++k) {
    const int64_t index = std::max(lowest() + static_cast<int64_t>(k), new_lo);
    grown[static_cast<size_t>(index - new_lo)] += counts[k];
  }
  counts.swap(grown);
  offset = static_cast<int32_t>(new_lo);
  return fold;
}

uint64_t& QuantileSketch::Store::At(int64_t index) {
  return counts[static_cast<size_t>(std::max(index, lowest()) - lowest())];
}

bool QuantileSketch::Add(double v) {
  if (!std::isfinite(v) || count_ >= kMaxCount) return false;
  const double magnitude = std::fabs(v);
  if (magnitude < kMinIndexableValue) {
    ++zero_count_;
  } else {
    Store& store = v > 0 ? positive_ : negative_;
    const int32_t index = IndexOf(magnitude);
    if (store.Cover(index, index)) collapsed_ = true;
    ++store.At(index);
  }
  ++count_;
  return true;
}

std::optional<double> QuantileSketch::Quantile(double q) const {
  if (count_ == 0 || !(q >= 0 && q <= 1)) return std::nullopt;
  // Exact: count_ <= kMaxCount = 2^53, so count_ - 1 is a double and the product is at most it.
  static_assert(kMaxCount <= (uint64_t{1} << std::numeric_limits<double>::digits));
  const auto last = static_cast<double>(count_ - 1);
  uint64_t rank = static_cast<uint64_t>(std::min(std::floor(q * last), last));
  for (size_t k = negative_.counts.size(); k-- > 0;) {
    if (rank < negative_.counts[k]) return -ValueOf(negative_.lowest() + static_cast<int64_t>(k));
    rank -= negative_.counts[k];
  }
  if (rank < zero_count_) return 0.0;
  rank -= zero_count_;
  for (size_t k = 0; k < positive_.counts.size(); ++k) {
    if (rank < positive_.counts[k]) return ValueOf(positive_.lowest() + static_cast<int64_t>(k));
    rank -= positive_.counts[k];
  }
  assert(false && "bucket counts sum to count_");
  return std::nullopt;
}

bool QuantileSketch::MergeStore(const Store& from, Store* to) {
  if (from.counts.empty()) return false;
  const bool folded = to->Cover(from.lowest(), from.highest());
  for (size_t k = 0; k < from.counts.size(); ++k) {
    to->At(from.lowest() + static_cast<int64_t>(k)) += from.counts[k];
  }
  return folded;
}

Status QuantileSketch::Merge(const QuantileSketch& other) {
  if (other.relative_accuracy_ != relative_accuracy_) {
    return InvalidArgument("quantile sketch merge: the relative accuracies differ");
  }
  if (other.count_ > kMaxCount - count_) {
    return ResourceExhausted("quantile sketch merge: the count would overflow");
  }
  std::optional<QuantileSketch> self_copy;  // merging into itself must not read what it writes
  const QuantileSketch& from = &other == this ? self_copy.emplace(other) : other;
  const bool folded_positive = MergeStore(from.positive_, &positive_);
  const bool folded_negative = MergeStore(from.negative_, &negative_);
  collapsed_ = collapsed_ || from.collapsed_ || folded_positive || folded_negative;
  zero_count_ += from.zero_count_;
  count_ += from.count_;
  return Status::Ok();
}

size_t QuantileSketch::MemoryBytes() const {
  return sizeof(*this) +
         (positive_.counts.capacity() + negative_.counts.capacity()) * sizeof(uint64_t);
}

void QuantileSketch::EncodeStore(const Store& store, std::string* out) {
  PutVarint(ZigZag(store.counts.empty() ? 0 : store.lowest()), out);
  PutVarint(store.counts.size(), out);
  for (uint64_t c : store.counts) PutVarint(c, out);
}

std::string QuantileSketch::Encode() const {
  std::string out;
  out.reserve(EncodedBytesBound());
  EncodeTo(&out);
  return out;
}

void QuantileSketch::EncodeTo(std::string* out) const {
  out->push_back(static_cast<char>(kEncodingVersion));
  out->push_back(static_cast<char>(collapsed_ ? kFlagCollapsed : 0));
  uint64_t bits = 0;
  std::memcpy(&bits, &relative_accuracy_, sizeof bits);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  PutVarint(zero_count_, out);
  EncodeStore(positive_, out);
  EncodeStore(negative_, out);
}

// No bucket counts more than count_, so none takes more varint bytes than count_ does.
size_t QuantileSketch::EncodedBytesBound() const {
  constexpr size_t kMaxVarint = 10;
  constexpr size_t kFixed = 2 + sizeof(double) + kMaxVarint + 2 * (2 * kMaxVarint);
  const size_t buckets = positive_.counts.size() + negative_.counts.size();
  return kFixed + buckets * VarintBytes(count_);
}

Status QuantileSketch::DecodeStore(std::string_view* in, int64_t min_index, int64_t max_index,
                                   Store* store, uint64_t* total) {
  uint64_t zigzag = 0;
  uint64_t size = 0;
  if (!GetVarint(in, &zigzag) || !GetVarint(in, &size)) {
    return Corruption("quantile sketch: truncated or malformed store header");
  }
  const int64_t lowest = UnZigZag(zigzag);
  if (size == 0) {
    if (lowest != 0) return Corruption("quantile sketch: empty store with an offset");
    return Status::Ok();
  }
  // Each count takes at least one byte, so size is also bounded by the input.
  if (size > kMaxBuckets || size > in->size()) {
    return Corruption("quantile sketch: bucket count out of range");
  }
  if (lowest < min_index || lowest > max_index - static_cast<int64_t>(size) + 1) {
    return Corruption("quantile sketch: bucket index out of range");
  }
  store->offset = static_cast<int32_t>(lowest);
  store->counts.resize(size);
  for (uint64_t& c : store->counts) {
    if (!GetVarint(in, &c)) return Corruption("quantile sketch: truncated or malformed count");
    if (!AddCount(c, total)) return Corruption("quantile sketch: counts overflow");
  }
  if (store->counts.front() == 0 || store->counts.back() == 0) {
    return Corruption("quantile sketch: store ends with an empty bucket");
  }
  return Status::Ok();
}

Result<QuantileSketch> QuantileSketch::Decode(std::string_view bytes) {
  constexpr size_t kFixedBytes = 2 + sizeof(double);
  if (bytes.empty()) return Corruption("quantile sketch: empty encoding");
  if (static_cast<uint8_t>(bytes[0]) != kEncodingVersion) {
    return Corruption("quantile sketch: unsupported encoding version " +
                      std::to_string(static_cast<uint8_t>(bytes[0])));
  }
  if (bytes.size() < kFixedBytes) return Corruption("quantile sketch: truncated header");
  const auto flags = static_cast<uint8_t>(bytes[1]);
  if ((flags & ~kFlagCollapsed) != 0) return Corruption("quantile sketch: unknown flags");
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) {
    bits |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[2 + i])) << (8 * i);
  }
  double accuracy = 0;
  std::memcpy(&accuracy, &bits, sizeof accuracy);
  if (!(accuracy >= kMinRelativeAccuracy && accuracy <= kMaxRelativeAccuracy)) {
    return Corruption("quantile sketch: relative accuracy out of range");
  }
  std::string_view in = bytes.substr(kFixedBytes);
  QuantileSketch sketch(accuracy);
  if (!GetVarint(&in, &sketch.zero_count_)) {
    return Corruption("quantile sketch: truncated or malformed zero count");
  }
  if (sketch.zero_count_ > kMaxCount) return Corruption("quantile sketch: counts overflow");
  uint64_t total = sketch.zero_count_;
  const int64_t min_index = sketch.IndexOf(kMinIndexableValue);
  const int64_t max_index = sketch.IndexOf(std::numeric_limits<double>::max());
  TG_RETURN_IF_ERROR(DecodeStore(&in, min_index, max_index, &sketch.positive_, &total));
  TG_RETURN_IF_ERROR(DecodeStore(&in, min_index, max_index, &sketch.negative_, &total));
  if (!in.empty()) return Corruption("quantile sketch: trailing bytes");
  sketch.count_ = total;
  sketch.collapsed_ = (flags & kFlagCollapsed) != 0;
  return sketch;
}

bool operator==(const QuantileSketch& a, const QuantileSketch& b) {
  return a.relative_accuracy_ == b.relative_accuracy_ && a.zero_count_ == b.zero_count_ &&
         a.count_ == b.count_ && a.positive_ == b.positive_ && a.negative_ == b.negative_ &&
         a.collapsed_ == b.collapsed_;
}

}  // namespace tidegate::filters
