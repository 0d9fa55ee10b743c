// A plain HTTP/1.0 GET on loopback for tests of the metrics endpoint (and of
// the Prometheus server the tests start), without a client library.
#pragma once
#include <string>

namespace memscope::test {

struct HttpReply {
  int status = 0;  // 0: no HTTP reply at all
  std::string content_type, body;
};

// GET http://127.0.0.1:PORT/PATH, with an Accept header when one is given.
HttpReply http_fetch(int port, const std::string& path, const std::string& accept = "");

// The body of http://127.0.0.1:PORT/PATH, or "" when the request fails or
// the status is not 200.
std::string http_get(int port, const std::string& path);

// A TCP port on 127.0.0.1 free now (the kernel's pick, closed again).
int free_port();

}  // namespace memscope::test
