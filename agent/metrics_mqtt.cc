// SPDX-License-Identifier: Apache-2.0
#include "agent/metrics_mqtt.h"

#include "agent/prometheus_text.h"

namespace tidegate::agent {

void AppendMqttMetrics(const MqttSource& source, std::string* page) {
  Metric(page, "tidegate_mqtt_connected", "gauge",
         "1 while the MQTT source is connected to the broker", source.connected() ? 1 : 0);
  Metric(page, "tidegate_mqtt_connects_total", "counter", "Connections to the broker accepted",
         static_cast<double>(source.connects()));
  Metric(page, "tidegate_mqtt_connect_failures_total", "counter",
         "Connection attempts to the broker that failed (refused, TLS, CONNACK refusal, "
         "timeout); each is retried",
         static_cast<double>(source.connect_failures()));
}

}  // namespace tidegate::agent
