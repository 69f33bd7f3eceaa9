// SPDX-License-Identifier: Apache-2.0
#include "tools/sim/fake_identity.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <string_view>

namespace tidegate::sim {
namespace {

constexpr std::array<std::string_view, 32> kFirstNames = {
    "Maria",  "James", "Aisha",  "Chen",   "Olivia", "Mateo",  "Priya", "Lukas",
    "Sofia",  "Noah",  "Fatima", "Ethan",  "Yuki",   "Liam",   "Amara", "Oscar",
    "Elena",  "Tomas", "Zara",   "Daniel", "Ingrid", "Kwame",  "Lucia", "Arjun",
    "Hannah", "Omar",  "Freya",  "Diego",  "Mei",    "Samuel", "Nadia", "Victor"};

constexpr std::array<std::string_view, 32> kLastNames = {
    "Garcia",  "Smith",  "Khan",    "Wang",     "Johnson", "Rossi",  "Patel",  "Muller",
    "Silva",   "Brown",  "Hassan",  "Taylor",   "Sato",    "Murphy", "Okafor", "Larsen",
    "Novak",   "Dubois", "Ahmed",   "Kowalski", "Berg",    "Mensah", "Romero", "Sharma",
    "Fischer", "Haddad", "Nilsson", "Torres",   "Lin",     "Walker", "Petrov", "Moreau"};

constexpr std::array<std::string_view, 8> kDomains = {
    "example.com", "mail.example.com", "example.org",      "home.example.org",
    "example.net", "iot.example.net",  "corp.example.com", "eu.mail.example.net"};

constexpr std::array<std::string_view, 6> kTags = {"alerts", "iot", "home",
                                                   "garden", "dev", "sensors"};

constexpr std::array<uint32_t, 6> kUsAreaCodes = {415, 212, 312, 617, 206, 303};

// Notes without personal data; the rest of MakeNote's choices embed some.
constexpr std::array<std::string_view, 8> kPlainNotes = {"routine reading",
                                                         "door sensor recalibrated",
                                                         "firmware 2.4.1 applied",
                                                         "battery swapped",
                                                         "température stable près de la fenêtre",
                                                         "Grüße aus der Garage",
                                                         "customer said \"fine\" on the phone",
                                                         ""};

template <typename T, size_t N>
const T& Pick(const std::array<T, N>& items, Rng& rng) {
  // Below N, so it fits size_t (32 bits on armhf).
  return items[static_cast<size_t>(rng.Uniform(N))];
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string MakeIp(Rng& rng) {
  if (rng.Uniform(2) == 0) {
    return fmt::format("10.{}.{}.{}", rng.Uniform(256), rng.Uniform(256), 2 + rng.Uniform(253));
  }
  return fmt::format("192.168.{}.{}", rng.Uniform(256), 2 + rng.Uniform(253));
}

}  // namespace

Identity MakeIdentity(Rng& rng) {
  Identity who;
  who.first = std::string(Pick(kFirstNames, rng));
  who.last = std::string(Pick(kLastNames, rng));
  who.mailbox = Lower(who.first) + "." + Lower(who.last);
  // A number makes same-named owners distinct, as mail providers force people to do.
  if (uint64_t n = rng.Uniform(100); n < 60) who.mailbox += std::to_string(n);
  who.domain = std::string(Pick(kDomains, rng));
  who.uk = rng.Uniform(2) == 0;
  who.area = Pick(kUsAreaCodes, rng);
  who.line = static_cast<uint32_t>(who.uk ? rng.Uniform(1000) : rng.Uniform(100));
  who.ip = MakeIp(rng);
  return who;
}

std::string MakeEmail(const Identity& who, Rng& rng) {
  const uint64_t roll = rng.Uniform(4);
  if (roll == 0) return fmt::format("{}+{}@{}", who.mailbox, Pick(kTags, rng), who.domain);
  return fmt::format("{}@{}", who.mailbox, who.domain);
}

std::string MakePhone(const Identity& who, Rng& rng) {
  const uint64_t form = rng.Uniform(3);
  if (who.uk) {
    if (form == 0) return fmt::format("+44 20 7946 0{:03}", who.line);
    if (form == 1) return fmt::format("020 7946 0{:03}", who.line);
    return fmt::format("+442079460{:03}", who.line);
  }
  if (form == 0) return fmt::format("+1 {} 555 01{:02}", who.area, who.line);
  if (form == 1) return fmt::format("({}) 555-01{:02}", who.area, who.line);
  return fmt::format("{}-555-01{:02}", who.area, who.line);
}

std::string MakeNote(const Identity& who, Rng& rng) {
  switch (rng.Uniform(16)) {
    case 0:
    case 1:
      return fmt::format("call me at {} after 5", MakePhone(who, rng));
    case 2:
      return fmt::format("contact {} if this goes offline", MakeEmail(who, rng));
    case 3:
      return fmt::format("installed by {} {}, ring {}", who.first, who.last, MakePhone(who, rng));
    case 4:
      return fmt::format("gateway at {} rebooted", who.ip);
    case 5:
      return fmt::format("uplink via 2001:db8::{:x} flapping", 1 + rng.Uniform(0xfffe));
    case 6:
      return "paid with card 4111 1111 1111 1111, receipt to " + MakeEmail(who, rng);
    case 7:
      return fmt::format("neighbour {}.{}@example.org reported noise",
                         Lower(Pick(kFirstNames, rng)), Lower(Pick(kLastNames, rng)));
    default:
      return std::string(Pick(kPlainNotes, rng));
  }
}

}  // namespace tidegate::sim
