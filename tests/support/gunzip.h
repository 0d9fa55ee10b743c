// Inflates a gzip stream (a pprof profile is one): the tests read back
// what the exporters wrote. Throws std::runtime_error on a bad stream.
#pragma once
#include <string>

namespace memscope::test {

std::string gunzip(const std::string& data);

}  // namespace memscope::test
