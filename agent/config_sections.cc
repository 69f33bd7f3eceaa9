// SPDX-License-Identifier: Apache-2.0
// The config loader's readers for privacy, dedup, aggregate, buffer, uplink and
// remote_config (kept apart from config_loader.cc to keep each file small).
#include <set>

#include "agent/yaml_reader.h"
#include "common/config.h"
#include "uplink/mqtt_url.h"

namespace tidegate::agent {
namespace {

void CheckPointers(MapReader& r, const std::string& key, const std::vector<std::string>& paths) {
  for (const auto& p : paths) r.CheckPointer(key, p);
}

PrivacyRule ReadRule(const YAML::Node& node, const std::string& path, ConfigErrors* errors) {
  MapReader r(node, path, errors);
  PrivacyRule rule;
  r.Str("match", &rule.match);
  r.CheckTopicFilter("match", rule.match);
  for (auto [key, list] : {std::pair{"tokenize", &rule.tokenize},
                           {"encrypt", &rule.encrypt},
                           {"drop", &rule.drop},
                           {"scrub", &rule.scrub}}) {
    r.StrList(key, list);
    CheckPointers(r, key, *list);
  }
  // node["mask"] of an absent key is an invalid node whose IsMap() throws.
  const YAML::Node mask_node = r.Child("mask");
  MapReader mask(mask_node, path + ".mask", errors);
  if (mask_node.IsDefined() && mask_node.IsMap()) {
    for (const auto& pair : mask_node) {
      std::string field = pair.first.Scalar();
      int kind = 0;
      mask.Enum(field, &kind);
      CheckPointers(mask, field, {field});
      rule.mask[field] = static_cast<MaskKind>(kind);
    }
  }
  mask.Finish();
  r.Finish();
  return rule;
}

constexpr int64_t kMaxWindowsPerEvent = 100;  // 1h windows every 1m is 60

void ReadMeasures(MapReader& r, AggregateSpec* spec) {
  YAML::Node node = r.Child("measures");
  if (!node.IsDefined() || !node.IsMap() || node.size() == 0) {
    r.errors()->Add(r.MarkOf("measures"), r.KeyPath("measures"),
                    "expected a mapping of field: [count, sum, ...]");
    return;
  }
  MapReader measures(node, r.KeyPath("measures"), r.errors());
  for (const auto& pair : node) {
    std::string field = pair.first.Scalar();
    std::vector<std::string> kinds;
    measures.EnumList(field, &kinds);
    if (field != "count") CheckPointers(measures, field, {field});
    spec->measures.emplace_back(field, kinds);
  }
  measures.Finish();
}

void ReadWindow(MapReader& r, AggregateSpec* spec) {
  MapReader window(r.Child("window"), r.KeyPath("window"), r.errors());
  if (window.Has("tumbling") == window.Has("hopping")) {
    r.errors()->Add(r.MarkOf("window"), r.KeyPath("window"),
                    "expected exactly one of tumbling: SIZE or hopping: {size, slide}");
  }
  if (window.Has("tumbling")) {
    window.Duration("tumbling", &spec->window_size);
    spec->window_slide = spec->window_size;
  }
  if (window.Has("hopping")) {
    spec->window_kind = WindowKind::kHopping;
    MapReader hop(window.Child("hopping"), window.KeyPath("hopping"), r.errors());
    hop.Duration("size", &spec->window_size);
    hop.Duration("slide", &spec->window_slide);
    hop.Finish();
    if (spec->window_slide.count() <= 0 || spec->window_slide > spec->window_size ||
        spec->window_size.count() % spec->window_slide.count() != 0) {
      r.errors()->Add(r.MarkOf("window"), r.KeyPath("window.hopping"),
                      "slide must be positive, at most size, and divide size");
    } else if (spec->window_size.count() / spec->window_slide.count() > kMaxWindowsPerEvent) {
      // Each event updates size/slide windows (and each emits a result).
      r.errors()->Add(r.MarkOf("window"), r.KeyPath("window.hopping"),
                      "size/slide must be at most " + std::to_string(kMaxWindowsPerEvent) +
                          " (each event updates that many windows)");
    }
  }
  window.Finish();
  if (spec->window_size.count() <= 0) {
    r.errors()->Add(r.MarkOf("window"), r.KeyPath("window"), "window size must be positive");
  }
}

AggregateSpec ReadAggregate(const YAML::Node& node, const std::string& path, ConfigErrors* errors) {
  MapReader r(node, path, errors);
  AggregateSpec spec;
  r.Str("name", &spec.name);
  if (spec.name.empty()) {
    errors->Add(r.MarkOf("name"), r.KeyPath("name"), "is required");
  } else if (!IsPlainName(spec.name)) {
    // It labels metrics, counters and every window result on the wire.
    errors->Add(r.MarkOf("name"), r.KeyPath("name"), kPlainNameRule);
  }
  r.Str("match", &spec.match);
  r.CheckTopicFilter("match", spec.match);
  r.StrList("group_by", &spec.group_by);
  for (const auto& g : spec.group_by) {
    if (g != "device_id") CheckPointers(r, "group_by", {g});
  }
  ReadWindow(r, &spec);
  ReadMeasures(r, &spec);
  MapReader watermark(r.Child("watermark"), r.KeyPath("watermark"), errors);
  watermark.Duration("max_out_of_order", &spec.max_out_of_order);
  watermark.Duration("idle_timeout", &spec.idle_timeout);
  watermark.Finish();
  r.Duration("allowed_lateness", &spec.allowed_lateness);
  int late = 0;
  r.Enum("late_events", &late);
  spec.late_events = static_cast<LatePolicy>(late);
  r.Bool("forward_raw", &spec.forward_raw);
  r.Finish();
  return spec;
}

}  // namespace

void ReadPrivacy(MapReader& root, PrivacySection* privacy) {
  MapReader r(root.Child("privacy"), "privacy", root.errors());
  r.Str("key_file", &privacy->key_file);
  r.Str("recipient_public_key", &privacy->recipient_public_key);
  r.Duration("key_epoch", &privacy->key_epoch_duration);
  auto epoch_values = static_cast<int64_t>(privacy->key_epoch_max_values);
  r.Int("key_epoch_max_values", &epoch_values);
  privacy->key_epoch_max_values = static_cast<uint64_t>(epoch_values);
  YAML::Node rules = r.Child("rules");
  if (rules.IsDefined() && !rules.IsNull()) {
    if (!rules.IsSequence()) {
      root.errors()->Add(r.MarkOf("rules"), "privacy.rules", "expected a list of rules");
    } else {
      for (size_t i = 0; i < rules.size(); ++i) {
        privacy->rules.push_back(
            ReadRule(rules[i], "privacy.rules[" + std::to_string(i) + "]", root.errors()));
      }
    }
  }
  r.Finish();
  bool tokenizes = false, encrypts = false;
  for (const auto& rule : privacy->rules) {
    tokenizes = tokenizes || !rule.tokenize.empty() || !rule.scrub.empty();
    encrypts = encrypts || !rule.encrypt.empty();
  }
  if (tokenizes && privacy->key_file.empty()) {
    root.errors()->Add(r.MarkOf("rules"), "privacy.key_file",
                       "is required when a rule tokenizes or scrubs");
  }
  if (encrypts && privacy->recipient_public_key.empty()) {
    root.errors()->Add(r.MarkOf("rules"), "privacy.recipient_public_key",
                       "is required when a rule encrypts");
  }
}

void ReadAggregates(MapReader& root, std::vector<AggregateSpec>* aggregates) {
  YAML::Node list = root.Child("aggregate");
  if (!list.IsDefined() || list.IsNull()) return;
  if (!list.IsSequence()) {
    root.errors()->Add(root.MarkOf("aggregate"), "aggregate", "expected a list");
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string path = "aggregate[" + std::to_string(i) + "]";
    aggregates->push_back(ReadAggregate(list[i], path, root.errors()));
    if (!names.insert(aggregates->back().name).second) {
      root.errors()->Add(list[i].Mark(), path + ".name", "duplicate aggregation name");
    }
  }
}

void ReadDedup(MapReader& root, DedupSection* dedup) {
  MapReader r(root.Child("dedup"), "dedup", root.errors());
  r.Duration("window", &dedup->window);
  r.Finish();
}

void ReadBuffer(MapReader& root, BufferSection* buffer) {
  MapReader r(root.Child("buffer"), "buffer", root.errors());
  r.Size("max_bytes", &buffer->max_bytes);
  auto max_events = static_cast<int64_t>(buffer->max_events);
  r.Int("max_events", &max_events);
  buffer->max_events = static_cast<uint64_t>(max_events);
  r.Duration("max_age", &buffer->max_age);
  int when_full = 0, sync = 0;
  r.Enum("when_full", &when_full);
  r.Enum("sync", &sync);
  buffer->when_full = static_cast<WhenFull>(when_full);
  buffer->sync = static_cast<SyncMode>(sync);
  r.Duration("commit_interval", &buffer->commit_interval);
  r.Duration("state_ttl", &buffer->state_ttl);
  r.Size("state_max_bytes", &buffer->state_max_bytes);
  r.Finish();
}

// transport https needs an https:// url; mqtt needs mqtts://HOST:PORT and a client
// certificate (the cloud broker knows gateways by certificate, and its ACL by CN).
void CheckUplinkTransport(MapReader& root, MapReader& r, const UplinkSection& uplink) {
  if (uplink.transport == Transport::kHttps) {
    if (uplink.url.rfind("https://", 0) != 0) {
      root.errors()->Add(r.MarkOf("url"), "uplink.url", "is required and must start with https://");
    }
    return;
  }
  auto address = uplink::ParseMqttsUrl(uplink.url);
  if (!address.ok()) {
    root.errors()->Add(r.MarkOf("url"), "uplink.url",
                       "with transport mqtt " + address.status().message());
  }
  if (uplink.tls.cert_file.empty() || uplink.tls.key_file.empty()) {
    root.errors()->Add(r.Has("tls") ? r.MarkOf("tls") : r.MarkOf("transport"),
                       "uplink.tls.cert_file",
                       "transport mqtt needs a client certificate (uplink.tls.cert_file and "
                       "key_file)");
  }
}

void ReadUplink(MapReader& root, UplinkSection* uplink) {
  MapReader r(root.Child("uplink"), "uplink", root.errors());
  int transport = 0;
  r.Enum("transport", &transport);
  uplink->transport = static_cast<Transport>(transport);
  r.Str("url", &uplink->url);
  if (r.Has("tls")) {
    MapReader tls(r.Child("tls"), "uplink.tls", root.errors());
    tls.Str("ca_file", &uplink->tls.ca_file);
    tls.Str("cert_file", &uplink->tls.cert_file);
    tls.Str("key_file", &uplink->tls.key_file);
    tls.Finish();
  }
  MapReader batch(r.Child("batch"), "uplink.batch", root.errors());
  auto max_events = static_cast<int64_t>(uplink->batch_max_events);
  batch.Int("max_events", &max_events);
  uplink->batch_max_events = static_cast<uint64_t>(max_events);
  batch.Size("max_bytes", &uplink->batch_max_bytes);
  batch.Duration("linger", &uplink->batch_linger);
  batch.Finish();
  MapReader compression(r.Child("compression"), "uplink.compression", root.errors());
  compression.Int("level", &uplink->compression_level);
  compression.Str("dictionary", &uplink->compression_dictionary);
  compression.Finish();
  MapReader retry(r.Child("retry"), "uplink.retry", root.errors());
  retry.Duration("initial", &uplink->retry_initial);
  retry.Duration("max", &uplink->retry_max);
  retry.Finish();
  r.Duration("connect_timeout", &uplink->connect_timeout);
  r.Duration("request_timeout", &uplink->request_timeout);
  r.Size("max_bytes_per_second", &uplink->max_bytes_per_second);
  if (r.Has("mqtt")) {
    MapReader mqtt(r.Child("mqtt"), "uplink.mqtt", root.errors());
    mqtt.Str("client_id", &uplink->mqtt_client_id);
    mqtt.Duration("keepalive", &uplink->mqtt_keepalive);
    auto max_inflight = static_cast<int64_t>(uplink->mqtt_max_inflight);
    mqtt.Int("max_inflight", &max_inflight);
    uplink->mqtt_max_inflight = static_cast<uint64_t>(max_inflight);
    mqtt.Duration("ack_timeout", &uplink->mqtt_ack_timeout);
    mqtt.Finish();
  }
  r.Finish();
  CheckUplinkTransport(root, r, *uplink);
  if (uplink->retry_initial.count() <= 0 || uplink->retry_max < uplink->retry_initial) {
    root.errors()->Add(r.MarkOf("retry"), "uplink.retry", "need 0 < initial <= max");
  }
}

void ReadRemoteConfig(MapReader& root, RemoteConfigSection* remote) {
  MapReader r(root.Child("remote_config"), "remote_config", root.errors());
  r.Bool("enabled", &remote->enabled);
  int channel = 0;
  r.Enum("channel", &channel);
  remote->channel = static_cast<RemoteChannel>(channel);
  r.Str("url", &remote->url);
  r.Duration("poll_interval", &remote->poll_interval);
  r.Str("signing_public_key", &remote->signing_public_key);
  r.Str("next_signing_public_key", &remote->next_signing_public_key);
  r.Duration("rollback_after", &remote->rollback_after);
  r.Finish();
  if (remote->enabled && remote->signing_public_key.empty()) {
    root.errors()->Add(r.MarkOf("signing_public_key"), "remote_config.signing_public_key",
                       "is required when remote_config is enabled");
  }
}

}  // namespace tidegate::agent
