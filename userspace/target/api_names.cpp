#include "target/api_names.h"

#include <array>

namespace memscope {
namespace {
constexpr std::array<std::string_view, MS_API_COUNT> kNames = {
    "malloc", "calloc", "realloc", "reallocarray", "free",
    "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc"};
}

std::string_view api_name(unsigned api) { return api < kNames.size() ? kNames[api] : "unknown"; }

std::optional<unsigned> api_from_name(std::string_view name) {
  for (unsigned i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return i;
  return std::nullopt;
}

bool api_allocates(unsigned api) { return api != MS_API_FREE; }

}  // namespace memscope
