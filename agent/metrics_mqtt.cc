// SPDX-License-Identifier: Apache-2.0
#include "agent/metrics_mqtt.h"

#include <fmt/format.h>

#include <iterator>

namespace tidegate::agent {

void AppendMqttMetrics(const MqttSource& source, std::string* page) {
  fmt::format_to(std::back_inserter(*page),
                 "# HELP tidegate_mqtt_connected 1 while the MQTT source is connected to the "
                 "broker\n# TYPE tidegate_mqtt_connected gauge\ntidegate_mqtt_connected {}\n"
                 "# HELP tidegate_mqtt_connects_total Connections to the broker accepted\n"
                 "# TYPE tidegate_mqtt_connects_total counter\ntidegate_mqtt_connects_total {}\n"
                 "# HELP tidegate_mqtt_connect_failures_total Connection attempts to the broker "
                 "that failed (refused, TLS, CONNACK refusal, timeout); each is retried\n"
                 "# TYPE tidegate_mqtt_connect_failures_total counter\n"
                 "tidegate_mqtt_connect_failures_total {}\n",
                 source.connected() ? 1 : 0, source.connects(), source.connect_failures());
}

}  // namespace tidegate::agent
