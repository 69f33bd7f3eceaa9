// SPDX-License-Identifier: Apache-2.0
// Made-up personal data for the simulator's PII fields: each device gets an owner (name,
// email, phone, IPv4 address) and each event a free-text note that sometimes embeds an
// email, phone number, IP address or card-like number, so that the agent's tokenize, mask
// and scrub rules have something realistic to find. Only reserved ranges are used
// (example.com/.org/.net, UK 020 7946 0xxx and US 555-01xx drama numbers, 2001:db8::/32,
// Visa test cards). Pure functions of their Rng; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.h"

namespace tidegate::sim {

// The person a device belongs to; stable for a run.
struct Identity {
  std::string first;    // "Maria"
  std::string last;     // "Garcia"
  std::string mailbox;  // "maria.garcia" or "maria.garcia7": the email local part
  std::string domain;   // "mail.example.com"
  bool uk = false;      // UK (+44 20 7946 0xxx) or US (+1 <area> 555 01xx) phone
  uint32_t area = 0;    // US area code; unused for UK
  uint32_t line = 0;    // the fictional range's last digits: 0-999 (UK), 0-99 (US)
  std::string ip;       // "10.12.0.7" or "192.168.3.41"
};

// The owner of one device, drawn from rng.
Identity MakeIdentity(Rng& rng);

// The owner's address, sometimes with a +tag ("maria.garcia+alerts@mail.example.com").
std::string MakeEmail(const Identity& who, Rng& rng);

// The owner's phone number in one of its international or national written forms.
std::string MakePhone(const Identity& who, Rng& rng);

// A short note; about half of them carry some personal data. May contain non-ASCII text
// and double quotes.
std::string MakeNote(const Identity& who, Rng& rng);

}  // namespace tidegate::sim
