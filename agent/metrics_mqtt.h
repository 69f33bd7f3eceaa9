// SPDX-License-Identifier: Apache-2.0
// The MQTT source's lines of the metrics page: whether it is connected and how many
// connection attempts failed. Called on the metrics server's thread.
#pragma once

#include <string>

#include "agent/mqtt_source.h"

namespace tidegate::agent {

// Appends tidegate_mqtt_connected, tidegate_mqtt_connects_total and
// tidegate_mqtt_connect_failures_total to *page.
void AppendMqttMetrics(const MqttSource& source, std::string* page);

}  // namespace tidegate::agent
