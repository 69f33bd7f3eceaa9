// SPDX-License-Identifier: Apache-2.0
#include "remote/bundle.h"

#include <simdjson.h>
#include <sodium.h>

#include <cctype>

#include "common/json_escape.h"

namespace tidegate::remote {
namespace {

constexpr std::string_view kDomain = "tidegate-config-bundle-v1\n";
constexpr size_t kMaxIdLength = 128;

void InitSodium() {
  // Idempotent and thread-safe; a failure means no usable randomness, which signing and
  // verifying do not need.
  if (sodium_init() < 0) return;
}

void PutBigEndian(std::string* out, uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

Status Malformed(const std::string& what) { return InvalidArgument("malformed: " + what); }

std::string Base64(const Signature& signature) {
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string text(sodium_base64_ENCODED_LEN(signature.size(), variant), '\0');
  sodium_bin2base64(text.data(), text.size(), signature.data(), signature.size(), variant);
  text.pop_back();  // the terminating NUL
  return text;
}

bool DecodeSignature(std::string_view text, Signature* signature) {
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(signature->data(), signature->size(), text.data(), text.size(), nullptr,
                        &length, &end, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return false;
  }
  return length == signature->size() && end == text.data() + text.size();
}

// The one line of hex in a key file, comments and blank lines skipped.
template <size_t N>
Result<std::array<uint8_t, N>> ParseHexKeyText(std::string_view text, const char* what) {
  std::string hex;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
      line.remove_suffix(1);
    }
    if (line.empty() || line.front() == '#') continue;
    if (!hex.empty()) return InvalidArgument(std::string("expected one line of hex for ") + what);
    hex = line;
  }
  std::array<uint8_t, N> key{};
  size_t length = 0;
  if (hex.size() != N * 2 ||
      sodium_hex2bin(key.data(), key.size(), hex.data(), hex.size(), nullptr, &length, nullptr) !=
          0 ||
      length != N) {
    return InvalidArgument(std::string("expected ") + std::to_string(N * 2) + " hex digits for " +
                           what);
  }
  return key;
}

// Reads the four members of a parsed object into *bundle, refusing any other or a repeat.
Status ReadMembers(simdjson::dom::object object, Bundle* bundle) {
  bool seen[4] = {false, false, false, false};
  std::string_view signature;
  for (auto [key, value] : object) {
    const std::string_view names[4] = {"agent_id", "version", "config", "signature"};
    int index = -1;
    for (int i = 0; i < 4; ++i) {
      if (key == names[i]) index = i;
    }
    if (index < 0) return Malformed("unknown member");
    if (seen[index]) return Malformed("repeated member " + std::string(names[index]));
    seen[index] = true;
    std::string_view text;
    if (index == 1) {
      int64_t version = 0;
      if (value.get_int64().get(version) != simdjson::SUCCESS || version < 1 ||
          version > kMaxBundleVersion) {
        return Malformed("version must be an integer from 1 to 2^53");
      }
      bundle->version = version;
    } else if (value.get_string().get(text) != simdjson::SUCCESS) {
      return Malformed(std::string(names[index]) + " must be a string");
    } else if (index == 0) {
      bundle->agent_id = text;
    } else if (index == 2) {
      bundle->config = text;
    } else {
      signature = text;
    }
  }
  for (bool s : seen) {
    if (!s) return Malformed("needs agent_id, version, config and signature");
  }
  if (!IsBundleAgentId(bundle->agent_id)) {
    return Malformed("agent_id must be '*' or 1-128 of letters, digits, '-', '_' or '.'");
  }
  if (!DecodeSignature(signature, &bundle->signature)) {
    return Malformed("signature must be base64 of 64 bytes");
  }
  return Status::Ok();
}

}  // namespace

bool IsBundleAgentId(std::string_view id) {
  if (id == kAnyAgent) return true;
  bool ok = !id.empty() && id.size() <= kMaxIdLength;
  for (char c : id) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  }
  return ok;
}

std::string CanonicalSigningBytes(std::string_view agent_id, int64_t version,
                                  std::string_view config) {
  std::string out(kDomain);
  out.reserve(kDomain.size() + 16 + agent_id.size() + config.size());
  PutBigEndian(&out, agent_id.size(), 4);
  out.append(agent_id);
  PutBigEndian(&out, static_cast<uint64_t>(version), 8);
  PutBigEndian(&out, config.size(), 4);
  out.append(config);
  return out;
}

Result<Bundle> ParseBundle(std::string_view json) {
  if (json.size() > kMaxBundleBytes) return ResourceExhausted("too_large");
  simdjson::dom::parser parser(kMaxBundleBytes);
  // A small fixed depth: a bundle is one flat object.
  simdjson::dom::element root;
  const simdjson::padded_string padded(json);
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) return Malformed("not valid JSON");
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) return Malformed("not a JSON object");
  Bundle bundle;
  TG_RETURN_IF_ERROR(ReadMembers(object, &bundle));
  return bundle;
}

std::string SerializeBundle(const Bundle& bundle) {
  std::string out = R"({"agent_id":)";
  AppendJsonString(&out, bundle.agent_id);
  out += R"(,"version":)" + std::to_string(bundle.version) + R"(,"config":)";
  AppendJsonString(&out, bundle.config);
  out += R"(,"signature":")" + Base64(bundle.signature) + R"("})";
  return out;
}

Bundle SignBundle(std::string agent_id, int64_t version, std::string config,
                  const SigningSecretKey& key) {
  InitSodium();
  Bundle bundle{.agent_id = std::move(agent_id), .version = version, .config = std::move(config)};
  const std::string message = CanonicalSigningBytes(bundle.agent_id, version, bundle.config);
  crypto_sign_detached(bundle.signature.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       key.data());
  return bundle;
}

bool VerifyBundleSignature(const Bundle& bundle, const SigningPublicKey& key) {
  InitSodium();
  const std::string message = CanonicalSigningBytes(bundle.agent_id, bundle.version, bundle.config);
  return crypto_sign_verify_detached(bundle.signature.data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), key.data()) == 0;
}

Result<SigningPublicKey> ParseSigningPublicKey(std::string_view text) {
  return ParseHexKeyText<32>(text, "an Ed25519 public key");
}

Result<SigningSecretKey> ParseSigningSecretKey(std::string_view text) {
  return ParseHexKeyText<64>(text, "an Ed25519 secret key");
}

}  // namespace tidegate::remote
