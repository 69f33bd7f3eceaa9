// SPDX-License-Identifier: Apache-2.0
#include "filters/token_keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <system_error>

namespace tidegate::filters {
namespace {

bool ValidKeyId(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  }
  return true;
}

// "cannot open '/x/token.keys': No such file or directory": one wording for every file the
// agent reads, in `run` and `config check` alike.
std::string CannotOpen(const std::string& path, int error) {
  return "cannot open '" + path + "': " + std::generic_category().message(error);
}

std::string Hex(const std::array<uint8_t, 32>& key) {
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, key.data(), key.size());
  return hex;
}

std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

}  // namespace

Result<TokenKeySet> TokenKeySet::Parse(std::string_view text, const std::string& source) {
  if (sodium_init() < 0) return Internal("libsodium failed to initialize");
  TokenKeySet set;
  int line_no = 0;
  size_t currents = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    auto words = Words(line);
    if (words.empty()) continue;
    std::string where = source + ":" + std::to_string(line_no) + ": ";
    if (words.size() != 3 || (words[2] != "current" && words[2] != "retired")) {
      return InvalidArgument(where + "expected '<key_id> <64 hex chars> current|retired'");
    }
    TokenKey key;
    key.id = std::string(words[0]);
    if (!ValidKeyId(key.id)) return InvalidArgument(where + "bad key id (1-32 of A-Z a-z 0-9 - _)");
    size_t bin_len = 0;
    if (words[1].size() != 64 ||
        sodium_hex2bin(key.key.data(), key.key.size(), words[1].data(), words[1].size(), nullptr,
                       &bin_len, nullptr) != 0 ||
        bin_len != 32) {
      return InvalidArgument(where + "key of '" + key.id + "' must be 64 hex characters");
    }
    if (set.Find(key.id)) return InvalidArgument(where + "duplicate key id '" + key.id + "'");
    key.current = words[2] == "current";
    if (key.current) {
      ++currents;
      set.current_ = set.keys_.size();
    }
    set.keys_.push_back(std::move(key));
  }
  if (currents != 1) {
    return InvalidArgument(source + ": exactly one key must be current (found " +
                           std::to_string(currents) + ")");
  }
  return set;
}

Result<TokenKeySet> TokenKeySet::Load(const std::string& path) {
  TG_RETURN_IF_ERROR(CheckPrivateFileMode(path));
  TG_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  return Parse(text, path);
}

const TokenKey* TokenKeySet::Find(std::string_view id) const {
  for (const TokenKey& k : keys_) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

std::string TokenKeySet::Serialize() const {
  std::string out =
      "# tidegate token keys: <key_id> <32-byte key as hex> current|retired\n"
      "# Keep this file secret (mode 0600). Retired keys stay so old tokens keep their id.\n";
  for (const TokenKey& k : keys_) {
    out += k.id + " " + Hex(k.key) + (k.current ? " current\n" : " retired\n");
  }
  return out;
}

Status TokenKeySet::Rotate(const std::string& new_id) {
  if (!ValidKeyId(new_id)) return InvalidArgument("bad key id '" + new_id + "'");
  if (Find(new_id)) return InvalidArgument("key id '" + new_id + "' already exists");
  TokenKey key;
  key.id = new_id;
  randombytes_buf(key.key.data(), key.key.size());
  key.current = true;
  for (TokenKey& k : keys_) k.current = false;
  current_ = keys_.size();
  keys_.push_back(std::move(key));
  return Status::Ok();
}

TokenKeySet TokenKeySet::Generate(const std::string& id) {
  if (sodium_init() < 0) std::abort();  // no usable randomness: nothing safe to do
  TokenKeySet set;
  TokenKey key;
  key.id = id;
  randombytes_buf(key.key.data(), key.key.size());
  key.current = true;
  set.keys_.push_back(std::move(key));
  return set;
}

Status CheckPrivateFileMode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return NotFound(CannotOpen(path, errno));
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return InvalidArgument("key file " + path + " has mode " + mode +
                           ": it must not be readable by group or others (chmod 600 " + path + ")");
  }
  return Status::Ok();
}

Status CheckReadableFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound(CannotOpen(path, errno));
  struct stat st {};
  int error = ::fstat(fd, &st) != 0 ? errno : 0;
  if (error == 0 && S_ISDIR(st.st_mode)) error = EISDIR;
  ::close(fd);
  if (error != 0) return IOError(CannotOpen(path, error));
  return Status::Ok();
}

Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  TG_RETURN_IF_ERROR(CheckReadableFile(path));
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return NotFound(CannotOpen(path, errno));
  std::string text;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > max_bytes) {
      std::fclose(f);
      return InvalidArgument(path + " is too large");
    }
  }
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return IOError("error reading " + path);
  return text;
}

Status WritePrivateFile(const std::string& path, std::string_view text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IOError("cannot create " + tmp);
  bool ok = ::fchmod(fd, 0600) == 0;
  size_t done = 0;
  while (ok && done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return IOError("cannot write " + path);
  }
  return Status::Ok();
}

}  // namespace tidegate::filters
