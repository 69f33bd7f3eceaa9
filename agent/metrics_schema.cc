// SPDX-License-Identifier: Apache-2.0
#include "agent/metrics_schema.h"

#include "agent/prometheus_text.h"

namespace tidegate::agent {

void AppendSchemaMetrics(const IngestPipeline& pipeline, std::string* page) {
  if (pipeline.schema_names().empty()) return;
  FamilyHeader(page, "tidegate_schema_violations_total", "counter",
               "Events dead-lettered for breaking their payload schema, by schema and rule");
  for (size_t i = 0; i < pipeline.schema_names().size(); ++i) {
    const IngestPipeline::RuleCounters& counters = pipeline.schema_violations()[i];
    for (size_t r = 0; r < counters.size(); ++r) {
      const auto rule = static_cast<filters::SchemaRule>(r);
      Sample(page, "tidegate_schema_violations_total",
             static_cast<double>(counters[r].load(std::memory_order_relaxed)),
             "{" + Label("schema", pipeline.schema_names()[i]) + "," +
                 Label("rule", filters::SchemaRuleName(rule)) + "}");
    }
  }
}

}  // namespace tidegate::agent
