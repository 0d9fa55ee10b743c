#include "report/metrics_endpoint.h"

#include <CivetServer.h>
#include <prometheus/text_serializer.h>

#include <exception>
#include <mutex>
#include <regex>

#include "common/error.h"
#include "report/metrics_families.h"
#include "report/openmetrics_text.h"

namespace memscope {

// The page at /metrics: the last snapshot published, written in the format
// the client asked for.
class MetricsPage : public CivetHandler {
 public:
  bool handleGet(CivetServer*, mg_connection* conn) override {
    const char* accept = mg_get_header(conn, "Accept");
    const bool om = accept && accepts_openmetrics(accept);
    std::vector<prometheus::MetricFamily> families;
    {
      std::lock_guard<std::mutex> g(lock_);
      families = metric_families(snapshot_);
    }
    const std::string body = om ? openmetrics_text(families) : prometheus::TextSerializer().Serialize(families);
    mg_printf(conn, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
              om ? kOpenMetricsContentType : kPrometheusTextContentType, body.size());
    mg_write(conn, body.data(), body.size());
    return true;
  }
  void set(MetricsSnapshot s) {
    std::lock_guard<std::mutex> g(lock_);
    snapshot_ = std::move(s);
  }

 private:
  std::mutex lock_;  // the server's thread reads while the run loop writes
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

MetricsEndpoint::MetricsEndpoint(const std::string& addr) : page_(std::make_unique<MetricsPage>()) {
  const std::string listen = metrics_listen_address(addr);
  try {
    server_ = std::make_unique<CivetServer>(std::vector<std::string>{"listening_ports", listen, "num_threads", "1"});
  } catch (const std::exception& e) {
    throw Error("--metrics-addr " + addr + ": cannot listen on " + listen + " (" + e.what() + ")");
  }
  server_->addHandler("/metrics", page_.get());
}

MetricsEndpoint::~MetricsEndpoint() {
  if (server_) server_->close();  // no request may reach the page once it is gone
}

void MetricsEndpoint::publish(MetricsSnapshot snapshot) { page_->set(std::move(snapshot)); }

int MetricsEndpoint::port() const {
  const auto ports = server_->getListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace memscope
