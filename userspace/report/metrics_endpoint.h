// Serves the latest metrics snapshot over HTTP at /metrics while the run loop
// publishes a new one each second: OpenMetrics text to clients that ask for it
// (Prometheus does), Prometheus' text format 0.0.4 to the others (curl,
// promtool). civetweb (the HTTP server prometheus-cpp's own exposer is built
// on) runs the listener on its own thread; prometheus-cpp's exposer is not
// used because it can only answer in 0.0.4.
#pragma once
#include <memory>
#include <string>

#include "report/metrics_snapshot.h"

class CivetServer;

namespace memscope {

class MetricsPage;

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
  std::unique_ptr<MetricsPage> page_;
  std::unique_ptr<CivetServer> server_;
};

}  // namespace memscope
