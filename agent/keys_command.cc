// SPDX-License-Identifier: Apache-2.0
#include "agent/keys_command.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <vector>

#include "filters/token_keys.h"

namespace tidegate::agent {
namespace {

std::string HexLine(const unsigned char* bytes, size_t n, const char* comment) {
  std::string hex(n * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, n);
  hex.pop_back();
  return std::string("# ") + comment + "\n" + hex + "\n";
}

}  // namespace

int KeysInit(const std::string& dir, const std::string& key_id, bool force) {
  if (sodium_init() < 0) {
    std::cerr << "libsodium failed to initialize\n";
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::cerr << "cannot create " << dir << ": " << ec.message() << "\n";
    return 1;
  }
  ::chmod(dir.c_str(), 0700);
  const std::vector<std::string> names = {"token.keys", "signing.key", "signing.pub",
                                          "recipient.key", "recipient.pub"};
  for (const auto& name : names) {
    if (!force && std::filesystem::exists(std::filesystem::path(dir) / name)) {
      std::cerr << dir << "/" << name << " exists; refusing to overwrite keys (use --force)\n";
      return 1;
    }
  }
  unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES], sign_sk[crypto_sign_SECRETKEYBYTES];
  unsigned char box_pk[crypto_box_PUBLICKEYBYTES], box_sk[crypto_box_SECRETKEYBYTES];
  crypto_sign_keypair(sign_pk, sign_sk);
  crypto_box_keypair(box_pk, box_sk);
  auto tokens = filters::TokenKeySet::Generate(key_id);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"token.keys", tokens.Serialize()},
      {"signing.key",
       HexLine(sign_sk, sizeof sign_sk, "tidegate config-signing secret key (Ed25519)")},
      {"signing.pub",
       HexLine(sign_pk, sizeof sign_pk, "tidegate config-signing public key (Ed25519)")},
      {"recipient.key", HexLine(box_sk, sizeof box_sk, "tidegate recipient secret key (X25519)")},
      {"recipient.pub", HexLine(box_pk, sizeof box_pk, "tidegate recipient public key (X25519)")},
  };
  sodium_memzero(sign_sk, sizeof sign_sk);
  sodium_memzero(box_sk, sizeof box_sk);
  for (const auto& [name, text] : files) {
    Status status = filters::WritePrivateFile((std::filesystem::path(dir) / name).string(), text);
    if (!status.ok()) {
      std::cerr << status.message() << "\n";
      return 1;
    }
  }
  std::cout << "created in " << dir << " (mode 0600):\n"
            << "  token.keys      token key '" << key_id << "' (privacy.key_file)\n"
            << "  signing.key     Ed25519 secret: signs config bundles; keep it off gateways\n"
            << "  signing.pub     Ed25519 public: remote_config.signing_public_key\n"
            << "  recipient.key   X25519 secret: for the receiver (--recipient-key)\n"
            << "  recipient.pub   X25519 public: privacy.recipient_public_key\n";
  return 0;
}

int KeysRotate(const std::string& key_file, const std::string& new_id) {
  auto keys = filters::TokenKeySet::Load(key_file);
  if (!keys.ok()) {
    std::cerr << keys.status().message() << "\n";
    return keys.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::string old_id = keys->current().id;
  Status status = keys->Rotate(new_id);
  if (status.ok()) status = filters::WritePrivateFile(key_file, keys->Serialize());
  if (!status.ok()) {
    std::cerr << status.message() << "\n";
    return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::cout << key_file << ": current token key is now '" << new_id << "'; '" << old_id
            << "' is retired (kept, so its tokens stay identifiable). Restart the agent.\n";
  return 0;
}

}  // namespace tidegate::agent
