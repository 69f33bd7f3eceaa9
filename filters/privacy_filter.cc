// SPDX-License-Identifier: Apache-2.0
#include "filters/privacy_filter.h"

#include <fmt/format.h>

#include <vector>

#include "common/json_escape.h"
#include "common/json_pointer.h"
#include "common/topic_filter.h"
#include "filters/masks.h"

namespace tidegate::filters {

using simdjson::ondemand::json_type;
using simdjson::ondemand::number_type;
using simdjson::ondemand::value;

// Actions in ascending precedence: a path named by several rules gets the strongest.
enum class Action { kNone, kScrub, kTokenize, kEncrypt, kMask, kDrop };

struct PrivacyFilter::PathNode {
  Action action = Action::kNone;
  MaskKind mask = MaskKind::kKeepLast4;
  std::vector<std::pair<std::string, std::unique_ptr<PathNode>>> children;

  const PathNode* Child(std::string_view key) const {
    for (const auto& [name, node] : children) {
      if (name == key) return node.get();
    }
    return nullptr;
  }
  PathNode* ChildOrAdd(const std::string& key) {
    for (auto& [name, node] : children) {
      if (name == key) return node.get();
    }
    children.emplace_back(key, std::make_unique<PathNode>());
    return children.back().second.get();
  }
  void Add(const std::string& pointer, Action a, MaskKind kind = MaskKind::kKeepLast4) {
    auto parsed = JsonPointer::Parse(pointer);
    if (!parsed.ok() || parsed->IsRoot()) return;  // the config loader refused these
    PathNode* node = this;
    for (const std::string& token : parsed->tokens()) node = node->ChildOrAdd(token);
    if (a > node->action) {
      node->action = a;
      node->mask = kind;
    }
  }
};

namespace {

constexpr size_t kMaxTopics = 4096;
constexpr size_t kMaxPlans = 256;

std::string_view TrimRight(std::string_view token) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' ||
                            token.back() == '\t')) {
    token.remove_suffix(1);
  }
  return token;
}

}  // namespace

// One rewrite of one payload: emits compact JSON into the output, applying the plan.
class PrivacyFilter::Rewriter {
 public:
  Rewriter(PrivacyFilter& filter, PrivacyResult* result) : f_(filter), result_(result) {}

  bool Object(simdjson::ondemand::object object, const PathNode* node, std::string* out) {
    out->push_back('{');
    bool first = true;
    for (auto field : object) {
      std::string_view key;
      value child_value;
      if (field.unescaped_key().get(key) || field.value().get(child_value)) return false;
      const PathNode* child = node ? node->Child(key) : nullptr;
      if (!Member(&key, child_value, child, &first, out)) return false;
    }
    out->push_back('}');
    return true;
  }

  bool Array(simdjson::ondemand::array array, const PathNode* node, std::string* out) {
    out->push_back('[');
    bool first = true;
    size_t index = 0;
    for (auto element : array) {
      value child_value;
      if (element.get(child_value)) return false;
      const PathNode* child = node ? node->Child(std::to_string(index++)) : nullptr;
      if (!Member(nullptr, child_value, child, &first, out)) return false;
    }
    out->push_back(']');
    return true;
  }

  // Compact copy of a value that no rule touches.
  bool Raw(value v, std::string* out) {
    json_type type;
    if (v.type().get(type)) return false;
    if (type == json_type::object) {
      simdjson::ondemand::object object;
      return !v.get_object().get(object) && Object(object, nullptr, out);
    }
    if (type == json_type::array) {
      simdjson::ondemand::array array;
      return !v.get_array().get(array) && Array(array, nullptr, out);
    }
    out->append(TrimRight(v.raw_json_token()));
    return true;
  }

 private:
  // Emits one object member (key given) or array element (key null), or nothing if dropped.
  bool Member(const std::string_view* key, value v, const PathNode* node, bool* first,
              std::string* out) {
    if (node && node->action == Action::kDrop) {
      f_.counters_.dropped.fetch_add(1, std::memory_order_relaxed);
      return true;  // On-Demand skips the unread value
    }
    size_t mark = out->size();
    if (!*first) out->push_back(',');
    if (key) {
      AppendJsonString(out, *key);
      out->push_back(':');
    }
    bool drop = false;
    if (!Value(v, node, out, &drop)) return false;
    if (drop) {
      out->resize(mark);
      return true;
    }
    *first = false;
    return true;
  }

  bool Value(value v, const PathNode* node, std::string* out, bool* drop) {
    if (!node) return Raw(v, out);
    switch (node->action) {
      case Action::kNone:
        return Descend(v, node, out);
      case Action::kScrub:
        return Scrub(v, out);
      case Action::kTokenize:
        return Tokenize(v, out);
      case Action::kEncrypt:
        return Encrypt(v, out);
      case Action::kMask:
        return Mask(v, node->mask, out, drop);
      case Action::kDrop:
        *drop = true;
        return true;
    }
    return false;
  }

  bool Descend(value v, const PathNode* node, std::string* out) {
    json_type type;
    if (v.type().get(type)) return false;
    if (type == json_type::object) {
      simdjson::ondemand::object object;
      return !v.get_object().get(object) && Object(object, node, out);
    }
    if (type == json_type::array) {
      simdjson::ondemand::array array;
      return !v.get_array().get(array) && Array(array, node, out);
    }
    return Raw(v, out);  // a rule path goes deeper than the payload: nothing to do here
  }

  // The value's canonical text: strings unescaped, numbers in shortest form, containers as
  // compact JSON. *is_null for JSON null.
  bool Canonical(value v, std::string* text, bool* is_null, bool* is_container) {
    json_type type;
    if (v.type().get(type)) return false;
    *is_null = type == json_type::null;
    *is_container = type == json_type::object || type == json_type::array;
    switch (type) {
      case json_type::string: {
        std::string_view s;
        if (v.get_string().get(s)) return false;
        text->assign(s);
        return true;
      }
      case json_type::number:
        return CanonicalNumber(v, text);
      case json_type::boolean: {
        bool b = false;
        if (v.get_bool().get(b)) return false;
        text->assign(b ? "true" : "false");
        return true;
      }
      case json_type::null:
        text->assign("null");
        return true;
      default:
        return Raw(v, text);
    }
  }

  static bool CanonicalNumber(value v, std::string* text) {
    number_type type;
    if (v.get_number_type().get(type)) return false;
    if (type == number_type::signed_integer) {
      int64_t i = 0;
      if (v.get_int64().get(i)) return false;
      *text = std::to_string(i);
    } else if (type == number_type::unsigned_integer) {
      uint64_t u = 0;
      if (v.get_uint64().get(u)) return false;
      *text = std::to_string(u);
    } else {
      double d = 0;
      if (v.get_double().get(d)) return false;
      *text = fmt::format("{}", d);
    }
    return true;
  }

  bool Tokenize(value v, std::string* out) {
    std::string& text = f_.scratch_;
    text.clear();
    bool is_null = false, is_container = false;
    if (!Canonical(v, &text, &is_null, &is_container)) return false;
    if (is_null) {
      out->append("null");
      return true;
    }
    out->push_back('"');
    f_.tokenizer_->AppendToken(text, out);
    out->push_back('"');
    f_.counters_.tokenized.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  bool Encrypt(value v, std::string* out) {
    std::string& json = f_.scratch_;
    json.clear();
    if (!Raw(v, &json)) return false;
    if (json == "null") {
      out->append(json);
      return true;
    }
    out->push_back('"');
    std::optional<KeyEpoch> started;
    f_.encryptor_->Seal(json, out, &started);
    out->push_back('"');
    if (started) result_->started_epoch = std::move(started);
    result_->key_epoch = f_.encryptor_->current_epoch();
    f_.counters_.encrypted.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  bool Mask(value v, MaskKind kind, std::string* out, bool* drop) {
    std::string text;
    bool is_null = false, is_container = false;
    if (!Canonical(v, &text, &is_null, &is_container)) return false;
    if (is_null) {
      out->append("null");
      return true;
    }
    std::optional<std::string> masked;
    if (!is_container) masked = ApplyMask(kind, text);
    if (!masked) {
      f_.counters_.mask_unfit.fetch_add(1, std::memory_order_relaxed);
      *drop = true;
      return true;
    }
    AppendJsonString(out, *masked);
    f_.counters_.masked.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  bool Scrub(value v, std::string* out) {
    json_type type;
    if (v.type().get(type)) return false;
    if (type == json_type::object) {
      simdjson::ondemand::object object;
      return !v.get_object().get(object) && ScrubObject(object, out);
    }
    if (type == json_type::array) {
      simdjson::ondemand::array array;
      if (v.get_array().get(array)) return false;
      out->push_back('[');
      bool first = true;
      for (auto element : array) {
        value child;
        if (element.get(child)) return false;
        if (!first) out->push_back(',');
        first = false;
        if (!Scrub(child, out)) return false;
      }
      out->push_back(']');
      return true;
    }
    if (type != json_type::string) return Raw(v, out);
    std::string_view text;
    if (v.get_string().get(text)) return false;
    std::string scrubbed = ScrubText(text, [this](std::string_view match, PiiKind) {
      f_.counters_.scrubbed.fetch_add(1, std::memory_order_relaxed);
      return f_.tokenizer_->Token(match);
    });
    AppendJsonString(out, scrubbed);
    return true;
  }

  bool ScrubObject(simdjson::ondemand::object object, std::string* out) {
    out->push_back('{');
    bool first = true;
    for (auto field : object) {
      std::string_view key;
      value child;
      if (field.unescaped_key().get(key) || field.value().get(child)) return false;
      if (!first) out->push_back(',');
      first = false;
      AppendJsonString(out, key);
      out->push_back(':');
      if (!Scrub(child, out)) return false;
    }
    out->push_back('}');
    return true;
  }

  PrivacyFilter& f_;
  PrivacyResult* result_;
};

PrivacyFilter::PrivacyFilter(const PrivacySection& config) : config_(config) {}

PrivacyFilter::~PrivacyFilter() = default;

Result<std::unique_ptr<PrivacyFilter>> PrivacyFilter::Create(
    const PrivacySection& config, const TokenKeySet* keys,
    const std::optional<schema::PublicKey>& recipient, Clock& clock) {
  std::unique_ptr<PrivacyFilter> filter(new PrivacyFilter(config));
  bool tokenizes = false, encrypts = false;
  for (const PrivacyRule& rule : config.rules) {
    tokenizes = tokenizes || !rule.tokenize.empty() || !rule.scrub.empty();
    encrypts = encrypts || !rule.encrypt.empty();
  }
  if (tokenizes && !keys)
    return InvalidArgument("privacy rules tokenize but no token key is loaded");
  if (encrypts && !recipient) {
    return InvalidArgument("privacy rules encrypt but no recipient public key is loaded");
  }
  if (keys) filter->tokenizer_.emplace(keys->current());
  if (recipient) {
    filter->encryptor_.emplace(*recipient, config.key_epoch_duration, config.key_epoch_max_values,
                               clock);
  }
  return filter;
}

const PrivacyFilter::PathNode* PrivacyFilter::PlanFor(std::string_view topic) {
  if (!last_topic_.empty() && topic == last_topic_) return last_plan_;
  last_topic_.assign(topic);
  auto it = topic_plans_.find(last_topic_);
  if (it != topic_plans_.end()) return last_plan_ = it->second;
  if (topic_plans_.size() >= kMaxTopics) topic_plans_.clear();
  last_plan_ = BuildPlan(topic);
  topic_plans_.emplace(last_topic_, last_plan_);
  return last_plan_;
}

// The plan of the rules that match topic, built if this set of rules has none yet; null if
// no rule matches.
const PrivacyFilter::PathNode* PrivacyFilter::BuildPlan(std::string_view topic) {
  const std::vector<PrivacyRule>& rules = config_.rules;
  matched_.assign((rules.size() + 7) / 8, '\0');
  bool any = false;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (!TopicMatches(rules[i].match, topic)) continue;
    matched_[i / 8] = static_cast<char>(matched_[i / 8] | (1 << (i % 8)));
    any = true;
  }
  if (!any) return nullptr;
  auto found = plans_.find(matched_);
  if (found != plans_.end()) return found->second.get();
  if (plans_.size() >= kMaxPlans) {
    plans_.clear();
    topic_plans_.clear();  // its pointers were into plans_
  }
  auto plan = std::make_unique<PathNode>();
  for (size_t i = 0; i < rules.size(); ++i) {
    if ((matched_[i / 8] & (1 << (i % 8))) == 0) continue;
    const PrivacyRule& rule = rules[i];
    for (const auto& p : rule.drop) plan->Add(p, Action::kDrop);
    for (const auto& [p, kind] : rule.mask) plan->Add(p, Action::kMask, kind);
    for (const auto& p : rule.encrypt) plan->Add(p, Action::kEncrypt);
    for (const auto& p : rule.tokenize) plan->Add(p, Action::kTokenize);
    for (const auto& p : rule.scrub) plan->Add(p, Action::kScrub);
  }
  return plans_.emplace(matched_, std::move(plan)).first->second.get();
}

PrivacyResult PrivacyFilter::Apply(std::string_view topic, std::string_view payload,
                                   std::string* out) {
  PrivacyResult result;
  const PathNode* plan = PlanFor(topic);
  if (!plan) return result;
  padded_.assign(payload);
  padded_.resize(payload.size() + simdjson::SIMDJSON_PADDING);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object root;
  out->clear();
  Rewriter rewriter(*this, &result);
  if (parser_.iterate(padded_.data(), payload.size(), padded_.size()).get(doc) ||
      doc.get_object().get(root) || !rewriter.Object(root, plan, out)) {
    counters_.failed.fetch_add(1, std::memory_order_relaxed);
    out->clear();
    result.failed = true;
    return result;
  }
  result.rewritten = true;
  return result;
}

}  // namespace tidegate::filters
