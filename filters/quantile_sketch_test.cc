// SPDX-License-Identifier: Apache-2.0
#include "filters/quantile_sketch.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "common/byte_codec.h"
#include "common/clock.h"

using namespace std::string_literals;
using tidegate::Rng;
using tidegate::StatusCode;
using tidegate::filters::QuantileSketch;

namespace {

constexpr double kA = QuantileSketch::kRelativeAccuracy;
constexpr double kMaxDouble = std::numeric_limits<double>::max();
const double kQs[] = {0, 0.01, 0.25, 0.5, 0.75, 0.95, 0.99, 1};

// Fixed seeds, plus Catch's --rng-seed when one is given.
std::vector<uint64_t> Seeds() {
  std::vector<uint64_t> seeds = {1, 42, 20240601};
  if (Catch::rngSeed() != 0) seeds.push_back(Catch::rngSeed());
  return seeds;
}

double Normal(Rng& rng) {  // Box-Muller
  const double u = 1 - rng.NextDouble();
  return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * rng.NextDouble());
}

using Draw = std::function<double(Rng&)>;

std::vector<double> Sample(uint64_t seed, size_t n, const Draw& draw) {
  Rng rng(seed);
  std::vector<double> values(n);
  for (double& v : values) v = draw(rng);
  return values;
}

QuantileSketch SketchOf(const std::vector<double>& values, double a = kA) {
  QuantileSketch sketch(a);
  for (double v : values) REQUIRE(sketch.Add(v));
  return sketch;
}

// The exact lower-rank quantile the header defines.
double Exact(const std::vector<double>& sorted, double q) {
  return sorted[static_cast<size_t>(std::floor(q * static_cast<double>(sorted.size() - 1)))];
}

// An estimate of a value too small to index is 0; any other is within a relative a.
void CheckEstimate(double estimate, double exact, double a) {
  if (std::fabs(exact) < QuantileSketch::kMinIndexableValue) {
    CHECK(estimate == 0);
  } else {
    CHECK(std::fabs(estimate - exact) <= a * std::fabs(exact));
  }
}

// Checks the documented bound at every q of kQs and on a grid of 101 more.
void CheckBound(const QuantileSketch& sketch, std::vector<double> values, double a = kA) {
  std::sort(values.begin(), values.end());
  std::vector<double> qs(std::begin(kQs), std::end(kQs));
  for (int i = 0; i <= 100; ++i) qs.push_back(i / 100.0);
  for (double q : qs) {
    const double exact = Exact(values, q);
    const std::optional<double> estimate = sketch.Quantile(q);
    INFO("q=" << q << " exact=" << exact << " n=" << values.size());
    REQUIRE(estimate.has_value());
    CheckEstimate(*estimate, exact, a);
  }
}

}  // namespace

TEST_CASE("quantiles stay within the relative accuracy on many distributions", "[sketch]") {
  const std::vector<std::pair<const char*, Draw>> distributions = {
      {"uniform", [](Rng& r) { return 100 * r.NextDouble(); }},
      {"temperature", [](Rng& r) { return 21 + 4 * Normal(r); }},
      {"lognormal", [](Rng& r) { return std::exp(2 * Normal(r)); }},
      {"pareto", [](Rng& r) { return std::pow(1 - r.NextDouble(), -1 / 1.1); }},
      {"negative lognormal", [](Rng& r) { return -std::exp(3 * Normal(r)); }},
      {"mixed sign", [](Rng& r) { return 50 * Normal(r); }},
      {"mixed sign with zeros",
       [](Rng& r) {
         // About 1600 buckets: 2^-15..2^15 times a normal's spread, within kMaxBuckets.
         return r.Uniform(4) == 0 ? 0.0 : std::ldexp(Normal(r), -15 + int(r.Uniform(30)));
       }},
  };
  for (uint64_t seed : Seeds()) {
    for (const auto& [name, draw] : distributions) {
      for (size_t n : {1, 2, 3, 10, 1000, 20000}) {
        INFO("distribution=" << name << " seed=" << seed << " n=" << n);
        const std::vector<double> values = Sample(seed, n, draw);
        const QuantileSketch sketch = SketchOf(values);
        CHECK(sketch.count() == n);
        CHECK_FALSE(sketch.collapsed());
        CheckBound(sketch, values);
      }
    }
  }
}

TEST_CASE("other accuracies keep their own bound", "[sketch]") {
  // Finer accuracies need narrower data to stay within kMaxBuckets (a = 1e-4 spans a factor
  // of 1.5 in 2048 buckets).
  const Draw narrow = [](Rng& r) { return 100 + 20 * r.NextDouble(); };
  const Draw wide = [](Rng& r) { return std::exp(2 * Normal(r)); };
  const std::vector<std::pair<double, Draw>> cases = {
      {QuantileSketch::kMinRelativeAccuracy, narrow}, {0.001, narrow}, {0.05, wide}, {0.5, wide}};
  for (uint64_t seed : Seeds()) {
    for (const auto& [a, draw] : cases) {
      INFO("a=" << a << " seed=" << seed);
      const std::vector<double> values = Sample(seed, 5000, draw);
      const QuantileSketch sketch = SketchOf(values, a);
      CHECK_FALSE(sketch.collapsed());
      CheckBound(sketch, values, a);
    }
  }
}

TEST_CASE("constant, zero and extreme values are within bound", "[sketch]") {
  const double denormal = std::numeric_limits<double>::denorm_min();
  const double tiny = QuantileSketch::kMinIndexableValue;
  const std::vector<std::vector<double>> cases = {
      std::vector<double>(1000, 42.5),
      std::vector<double>(999, -3.25),
      {0.0, -0.0, 0.0},
      {0.0, denormal, -denormal, 1.0},
      // The ends of the double range: each case spans under kMaxBuckets buckets.
      {kMaxDouble, -kMaxDouble, 1e300, -1e299, 0.0},
      {tiny, -tiny, 1e-300, -1e-299, 0.0, denormal},
      {kMaxDouble / 1.0201, kMaxDouble / 1.02, kMaxDouble * 0.999},
      {1.0, 1.0 + 1e-15, 1.0 - 1e-16, 1.0201, 1.0202},
  };
  for (const std::vector<double>& values : cases) {
    INFO("first=" << values.front() << " n=" << values.size());
    CheckBound(SketchOf(values), values);
  }
}

TEST_CASE("non-finite values are rejected and not counted", "[sketch]") {
  QuantileSketch sketch;
  CHECK_FALSE(sketch.Add(std::numeric_limits<double>::quiet_NaN()));
  CHECK_FALSE(sketch.Add(std::numeric_limits<double>::infinity()));
  CHECK_FALSE(sketch.Add(-std::numeric_limits<double>::infinity()));
  CHECK(sketch.count() == 0);
  CHECK_FALSE(sketch.Quantile(0.5).has_value());  // empty
  CHECK(sketch.Add(5));
  CHECK(sketch.count() == 1);
  CHECK_FALSE(sketch.Quantile(-0.1).has_value());
  CHECK_FALSE(sketch.Quantile(1.1).has_value());
  CHECK_FALSE(sketch.Quantile(std::numeric_limits<double>::quiet_NaN()).has_value());
}

TEST_CASE("merging two sketches equals the sketch of the union", "[sketch]") {
  for (uint64_t seed : Seeds()) {
    INFO("seed=" << seed);
    const std::vector<double> values = Sample(seed, 4000, [](Rng& r) {
      return r.Uniform(10) == 0 ? 0.0 : std::exp(3 * Normal(r)) * (r.Uniform(3) == 0 ? -1 : 1);
    });
    const size_t split = Rng(seed).Uniform(values.size());
    const std::vector<double> left(values.begin(), values.begin() + long(split));
    const std::vector<double> right(values.begin() + long(split), values.end());
    QuantileSketch merged = SketchOf(left);
    REQUIRE(merged.Merge(SketchOf(right)).ok());
    const QuantileSketch whole = SketchOf(values);
    CHECK(merged == whole);
    CHECK(merged.Encode() == whole.Encode());
    CheckBound(merged, values);

    QuantileSketch reversed = SketchOf(right);
    REQUIRE(reversed.Merge(SketchOf(left)).ok());
    CHECK(reversed == whole);
  }
}

TEST_CASE("merge with itself doubles, with an empty sketch changes nothing", "[sketch]") {
  const std::vector<double> values = {-2, 0, 1, 5, 5, 900};
  QuantileSketch sketch = SketchOf(values);
  REQUIRE(sketch.Merge(QuantileSketch()).ok());
  CHECK(sketch == SketchOf(values));
  REQUIRE(sketch.Merge(sketch).ok());
  std::vector<double> doubled = values;
  doubled.insert(doubled.end(), values.begin(), values.end());
  CHECK(sketch == SketchOf(doubled));
}

TEST_CASE("merging sketches of different accuracy fails and changes nothing", "[sketch]") {
  QuantileSketch sketch = SketchOf({1, 2, 3});
  const tidegate::Status status = sketch.Merge(SketchOf({4}, 0.02));
  CHECK(status.code() == StatusCode::kInvalidArgument);
  CHECK(sketch == SketchOf({1, 2, 3}));
}

TEST_CASE("encode and decode round trip", "[sketch]") {
  std::vector<QuantileSketch> sketches = {
      QuantileSketch(),
      QuantileSketch(0.05),
      SketchOf({0.0, -0.0}),
      SketchOf({kMaxDouble, -kMaxDouble, QuantileSketch::kMinIndexableValue, 0.0}),
      SketchOf(Sample(3, 5000, [](Rng& r) { return 20 * Normal(r); })),
      SketchOf(Sample(
          4, 5000,
          [](Rng& r) { return std::ldexp(1 - r.NextDouble(), -900 + int(r.Uniform(1800))); })),
  };
  for (const QuantileSketch& sketch : sketches) {
    const std::string encoded = sketch.Encode();
    INFO("count=" << sketch.count() << " bytes=" << encoded.size());
    CHECK(encoded[0] == char{QuantileSketch::kEncodingVersion});
    auto decoded = QuantileSketch::Decode(encoded);
    REQUIRE(decoded.ok());
    CHECK(*decoded == sketch);
    CHECK(decoded->Encode() == encoded);
    CHECK(decoded->collapsed() == sketch.collapsed());
    for (double q : kQs) CHECK(decoded->Quantile(q) == sketch.Quantile(q));
  }
  CHECK(sketches.back().collapsed());
}

TEST_CASE("decoding any truncation of a valid encoding fails", "[sketch]") {
  const QuantileSketch sketch = SketchOf(Sample(5, 300, [](Rng& r) { return 1e6 * Normal(r); }));
  const std::string encoded = sketch.Encode();
  for (size_t len = 0; len < encoded.size(); ++len) {
    INFO("len=" << len);
    auto decoded = QuantileSketch::Decode(std::string_view(encoded).substr(0, len));
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().code() == StatusCode::kCorruption);
  }
}

namespace {

// Up to 64 random bytes, half the time starting with the current encoding version.
std::string RandomBytes(Rng& rng) {
  std::string bytes(rng.Uniform(64), '\0');
  for (char& c : bytes) c = static_cast<char>(rng.Uniform(256));
  if (!bytes.empty() && rng.Uniform(2) == 0) bytes[0] = char{QuantileSketch::kEncodingVersion};
  return bytes;
}

// bytes with one to three of them overwritten at random.
std::string Mutated(Rng& rng, std::string bytes) {
  for (uint64_t m = 1 + rng.Uniform(3); m > 0; --m) {
    bytes[rng.Uniform(bytes.size())] = static_cast<char>(rng.Uniform(256));
  }
  return bytes;
}

// Decoding either fails as corruption or gives a sketch that encodes back to the same bytes.
void CheckDecodeOf(const std::string& bytes) {
  auto decoded = QuantileSketch::Decode(bytes);
  if (!decoded.ok()) {
    CHECK(decoded.status().code() == StatusCode::kCorruption);
    return;
  }
  CHECK(decoded->Encode() == bytes);  // the encoding is canonical
  if (decoded->count() > 0) CHECK(decoded->Quantile(0.5).has_value());
}

}  // namespace

TEST_CASE("decoding random garbage or mutated encodings never crashes", "[sketch]") {
  const std::string valid = SketchOf({-4, 0, 1, 2, 300}).Encode();
  for (uint64_t seed : Seeds()) {
    INFO("seed=" << seed);
    Rng rng(seed);
    for (int i = 0; i < 20000; ++i) {
      CheckDecodeOf(i % 2 == 0 ? RandomBytes(rng) : Mutated(rng, valid));
    }
  }
}

TEST_CASE("decoding rejects hostile headers and counts", "[sketch]") {
  const std::string valid = SketchOf({1, 2}).Encode();
  auto with = [&](size_t pos, std::string_view replacement, size_t erase = 1) {
    std::string bytes = valid;
    bytes.replace(pos, erase, replacement);
    return bytes;
  };
  const size_t stores = 11;  // version, flags, 8 accuracy bytes, zero count
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"version 2", with(0, "\x02"s)},
      {"unknown flag", with(1, "\x02"s)},
      {"NaN accuracy", with(2, std::string("\x00\x00\x00\x00\x00\x00\xf8\x7f", 8), 8)},
      {"trailing byte", valid + '\0'},
      {"overlong zero count", with(10, "\x80\x00"s)},
      {"too many buckets", with(stores + 1, "\x81\x10"s)},  // 2049
      {"more buckets than bytes", with(stores + 1, "\x80\x10"s)},
      {"index past the largest double", with(stores, "\xfe\xff\xff\xff\x0f"s)},
      {"empty last bucket", with(valid.size() - 3, "\x00"s)},
      {"empty store with offset", with(valid.size() - 2, "\x02"s)},
      {"counts overflow", std::string(valid, 0, stores) +
                              "\x00\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x01\x00\x00"s},
  };
  for (const auto& [name, bytes] : cases) {
    INFO(name);
    auto decoded = QuantileSketch::Decode(bytes);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().code() == StatusCode::kCorruption);
  }
}

TEST_CASE("a decoded count near 2^64 is refused, not cast past uint64 in Quantile",
          "[sketch][issue-9]") {
  // Found by the quantile_sketch fuzzer (fuzz/corpus/quantile_sketch/crash-rank-float-cast-
  // overflow): two buckets whose counts add up to about 2^64 made Quantile convert a double
  // past the range of uint64_t (UBSan float-cast-overflow).
  const std::string found =
      "\x01\x00\x7b\x14\x00\x00\xe1\x80\x84\x3f\x00\xce\x01\x01\x11"
      "\x04\x01\x97\xff\xff\xff\xff\xff\xff\xff\xff\x01"s;
  auto decoded = QuantileSketch::Decode(found);
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.status().code() == StatusCode::kCorruption);

  const std::string valid = SketchOf({1, 2}).Encode();
  const size_t stores = 11;  // version, flags, 8 accuracy bytes, zero count
  auto zero_count_of = [&](std::string_view varint) {
    return std::string(valid, 0, stores - 1) + std::string(varint) + std::string(valid, stores);
  };
  SECTION("a zero count of 2^53 + 1 alone") {
    CHECK_FALSE(QuantileSketch::Decode(zero_count_of("\x81\x80\x80\x80\x80\x80\x80\x10"s)).ok());
  }
  SECTION("a zero count of 2^53 - 2 plus the two values is exactly the maximum") {
    auto at_max = QuantileSketch::Decode(zero_count_of("\xfe\xff\xff\xff\xff\xff\xff\x0f"s));
    REQUIRE(at_max.ok());
    CHECK(at_max->count() == QuantileSketch::kMaxCount);
    for (double q : kQs) CHECK(at_max->Quantile(q).has_value());
    CHECK(*at_max->Quantile(1) == Approx(2).epsilon(kA));
    QuantileSketch full = *at_max;
    CHECK_FALSE(full.Add(5));  // refused past kMaxCount, nothing counted
    CHECK(full.count() == QuantileSketch::kMaxCount);
    CHECK(full.Merge(SketchOf({1})).code() == StatusCode::kResourceExhausted);
  }
}

TEST_CASE("collapsing low buckets keeps the count exact and high quantiles in bound", "[sketch]") {
  for (uint64_t seed : Seeds()) {
    INFO("seed=" << seed);
    // 5000 values over 1e-30..1e-10 and 5000 over 100..1000: about 3800 buckets.
    Rng rng(seed);
    std::vector<double> values;
    values.reserve(10000);
    for (int i = 0; i < 5000; ++i) values.push_back(std::pow(10, -30 + 20 * rng.NextDouble()));
    for (int i = 0; i < 5000; ++i) values.push_back(100 + 900 * rng.NextDouble());
    for (double sign : {1.0, -1.0}) {
      std::vector<double> signed_values = values;
      for (double& v : signed_values) v *= sign;
      const QuantileSketch sketch = SketchOf(signed_values);
      CHECK(sketch.collapsed());
      CHECK(sketch.count() == values.size());
      CHECK(sketch.MemoryBytes() <= sizeof(QuantileSketch) + QuantileSketch::kMaxBuckets * 8);
      std::sort(signed_values.begin(), signed_values.end());
      // The large magnitudes: the top for positives, the bottom for negatives.
      for (double q : {0.5, 0.95, 0.99, 1.0}) {
        const double q_signed = sign > 0 ? q : 1 - q;
        const double exact = Exact(signed_values, q_signed);
        INFO("q=" << q_signed << " exact=" << exact);
        CHECK(std::fabs(*sketch.Quantile(q_signed) - exact) <= kA * std::fabs(exact));
      }
      // A collapsed magnitude is overestimated, never under.
      const double smallest = Exact(signed_values, sign > 0 ? 0 : 1);
      CHECK(std::fabs(*sketch.Quantile(sign > 0 ? 0 : 1)) >= std::fabs(smallest));
    }
  }
}

TEST_CASE("a merge that passes the bucket bound collapses and keeps the count", "[sketch]") {
  QuantileSketch low = SketchOf({1e-30, 2e-30, 1e-20});
  const QuantileSketch high = SketchOf({1e3, 2e3, 5e3});
  REQUIRE(low.Merge(high).ok());
  CHECK(low.collapsed());
  CHECK(low.count() == 6);
  CHECK(std::fabs(*low.Quantile(1) - 5e3) <= kA * 5e3);
  auto decoded = QuantileSketch::Decode(low.Encode());
  REQUIRE(decoded.ok());
  CHECK(decoded->collapsed());
  CHECK(*decoded == low);
}

TEST_CASE("memory stays bounded over the whole double range", "[sketch]") {
  QuantileSketch sketch;
  Rng rng(11);
  for (int i = 0; i < 100000; ++i) {
    const double v = std::ldexp(1 - rng.NextDouble(), -1020 + int(rng.Uniform(2040)));
    REQUIRE(sketch.Add(rng.Uniform(2) == 0 ? v : -v));
  }
  CHECK(sketch.count() == 100000);
  CHECK(sketch.MemoryBytes() <= sizeof(QuantileSketch) + 2 * QuantileSketch::kMaxBuckets * 8);
  CHECK(sketch.Encode().size() <= 32 + 2 * QuantileSketch::kMaxBuckets * 10);
}

TEST_CASE("EncodedBytesBound is at least the encoding's size", "[sketch]") {
  const uint64_t seed = 23;
  INFO("seed " << seed);
  Rng rng(seed);
  QuantileSketch sketch;
  CHECK(sketch.Encode().size() <= sketch.EncodedBytesBound());
  for (int i = 0; i < 200000; ++i) {
    // Counts past 127 and 16,383 in a bucket (2- and 3-byte varints), and both signs.
    const double v = std::ldexp(1 - rng.NextDouble(), -8 + int(rng.Uniform(16)));
    REQUIRE(sketch.Add(rng.Uniform(4) == 0 ? -v : v));
    if (i % 997 == 0) REQUIRE(sketch.Encode().size() <= sketch.EncodedBytesBound());
  }
  CHECK(sketch.Encode().size() <= sketch.EncodedBytesBound());
}

TEST_CASE("a sketch written in place has the bytes of PutString(Encode())", "[sketch]") {
  const QuantileSketch sketch = SketchOf({-4, 0, 1, 2, 300});
  std::string copied, in_place;
  tidegate::ByteWriter(&copied).PutString(sketch.Encode());
  tidegate::ByteWriter(&in_place).PutStringWith([&](std::string* out) { sketch.EncodeTo(out); });
  CHECK(in_place == copied);
}
