// Serves the latest metrics snapshot over HTTP at /metrics in Prometheus'
// text format, from prometheus-cpp's exposer (its own threads), while the run
// loop publishes a new snapshot each second.
#pragma once
#include <memory>
#include <string>

#include "report/metrics_snapshot.h"

namespace prometheus {
class Exposer;
}

namespace memscope {

class SnapshotCollectable;

// "PORT" or ":PORT" -> "127.0.0.1:PORT" (loopback unless told otherwise);
// "HOST:PORT" and "[V6]:PORT" as given. Throws Error for anything else.
std::string metrics_listen_address(const std::string& addr);

class MetricsEndpoint {
 public:
  // Listens at once; throws Error when the address cannot be bound.
  explicit MetricsEndpoint(const std::string& addr);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  void publish(MetricsSnapshot snapshot);
  int port() const;  // the bound port (the one asked, or the kernel's pick for 0)

 private:
  std::shared_ptr<SnapshotCollectable> collectable_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace memscope
