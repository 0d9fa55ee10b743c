#include "report/metrics_endpoint.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <exception>
#include <mutex>
#include <regex>

#include "common/error.h"
#include "report/metrics_families.h"

namespace memscope {

class SnapshotCollectable : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard<std::mutex> g(lock_);
    return metric_families(snapshot_);
  }
  void set(MetricsSnapshot s) {
    std::lock_guard<std::mutex> g(lock_);
    snapshot_ = std::move(s);
  }

 private:
  mutable std::mutex lock_;  // the exposer's threads read while the run loop writes
  MetricsSnapshot snapshot_;
};

std::string metrics_listen_address(const std::string& addr) {
  static const std::regex port_only(R"(:?(\d{1,5}))");
  static const std::regex host_port(R"(([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5}))");
  std::smatch m;
  std::string host, port;
  if (std::regex_match(addr, m, port_only)) {
    host = "127.0.0.1";
    port = m[1];
  } else if (std::regex_match(addr, m, host_port)) {
    host = m[1];
    port = m[2];
  } else {
    throw Error("--metrics-addr " + addr + ": expected HOST:PORT, [IPV6]:PORT or PORT");
  }
  if (std::stoul(port) > 65535) throw Error("--metrics-addr " + addr + ": port out of range");
  return host + ":" + port;
}

MetricsEndpoint::MetricsEndpoint(const std::string& addr) : collectable_(std::make_shared<SnapshotCollectable>()) {
  const std::string listen = metrics_listen_address(addr);
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(listen, 1);
  } catch (const std::exception& e) {
    throw Error("--metrics-addr " + addr + ": cannot listen on " + listen + " (" + e.what() + ")");
  }
  exposer_->RegisterCollectable(collectable_);
}

MetricsEndpoint::~MetricsEndpoint() = default;

void MetricsEndpoint::publish(MetricsSnapshot snapshot) { collectable_->set(std::move(snapshot)); }

int MetricsEndpoint::port() const {
  const auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace memscope
