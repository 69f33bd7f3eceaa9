// SPDX-License-Identifier: Apache-2.0
// FieldDecryptor: with `serve --recipient-key F`, opens the values the agent encrypted
// (privacy `encrypt`) before they land. It opens each batch's sealed data keys with the
// recipient's X25519 key pair and replaces every "enc:<epoch>:<...>" string in an event
// payload with the JSON value it seals. A value that does not open (unknown epoch, wrong
// key, tampering) lands as it came, opaque, and is counted. Immutable after Load;
// thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "schema/batch_view.h"
#include "schema/sealed_value.h"

namespace tidegate::collector {

class FieldDecryptor {
 public:
  // Reads the recipient secret key file written by `tidegate keys init` (recipient.key,
  // must be mode 0600 or stricter).
  static Result<FieldDecryptor> Load(const std::string& secret_key_path);

  // Opens the encrypted values of every event of batch in place.
  void DecryptBatch(schema::DecodedBatch* batch) const;

  uint64_t opened() const { return opened_->load(); }
  uint64_t failed() const { return failed_->load(); }

 private:
  schema::PublicKey pk_{};
  schema::SecretKey sk_{};
  std::shared_ptr<std::atomic<uint64_t>> opened_ = std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<std::atomic<uint64_t>> failed_ = std::make_shared<std::atomic<uint64_t>>(0);
};

}  // namespace tidegate::collector
