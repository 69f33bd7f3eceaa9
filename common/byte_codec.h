// SPDX-License-Identifier: Apache-2.0
// Little helpers for the agent's own fixed-layout binary records (window results, window
// checkpoints): fixed-width little-endian integers and doubles, and u32-length-prefixed
// strings. ByteReader checks every length against the bytes left before reading, so a
// truncated or corrupt record fails cleanly instead of reading out of bounds.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace tidegate {

class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}
  template <typename T>
  void Put(T value) {
    static_assert(std::is_arithmetic_v<T>);
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out_->append(bytes, sizeof(T));
  }
  void PutString(std::string_view s) {
    Put<uint32_t>(static_cast<uint32_t>(s.size()));
    out_->append(s);
  }
  // The same layout as PutString, for a string that append(std::string*) writes in place.
  template <typename Append>
  void PutStringWith(const Append& append) {
    const size_t at = out_->size();
    Put<uint32_t>(0);
    append(out_);
    const auto size = static_cast<uint32_t>(out_->size() - at - sizeof(uint32_t));
    std::memcpy(out_->data() + at, &size, sizeof size);
  }

 private:
  std::string* out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : rest_(bytes) {}
  template <typename T>
  bool Get(T* value) {
    static_assert(std::is_arithmetic_v<T>);
    if (rest_.size() < sizeof(T)) return false;
    std::memcpy(value, rest_.data(), sizeof(T));
    rest_.remove_prefix(sizeof(T));
    return true;
  }
  bool GetString(std::string* s) {
    std::string_view view;
    if (!GetView(&view)) return false;
    s->assign(view);
    return true;
  }
  bool GetView(std::string_view* s) {
    uint32_t n = 0;
    if (!Get(&n) || rest_.size() < n) return false;
    *s = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return true;
  }
  size_t left() const { return rest_.size(); }

 private:
  std::string_view rest_;
};

}  // namespace tidegate
