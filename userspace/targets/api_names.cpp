#include "targets/api_names.h"

#include <array>

namespace memscope {
namespace {
constexpr std::array<std::string_view, MS_API_COUNT> kNames = {
    "malloc",   "calloc", "realloc", "reallocarray", "free",           "posix_memalign",  "aligned_alloc",
    "memalign", "valloc", "pvalloc", "operator new", "operator new[]", "operator delete", "operator delete[]"};

// x86-64 Itanium mangling: m is size_t, St11align_val_t the alignment,
// RKSt9nothrow_t the nothrow tag.
std::vector<std::string_view> cxx_variants(unsigned api) {
  switch (api) {
    case MS_API_NEW:
      return {"_Znwm", "_ZnwmRKSt9nothrow_t", "_ZnwmSt11align_val_t", "_ZnwmSt11align_val_tRKSt9nothrow_t"};
    case MS_API_NEW_ARRAY:
      return {"_Znam", "_ZnamRKSt9nothrow_t", "_ZnamSt11align_val_t", "_ZnamSt11align_val_tRKSt9nothrow_t"};
    case MS_API_DELETE:
      return {"_ZdlPv",
              "_ZdlPvm",
              "_ZdlPvRKSt9nothrow_t",
              "_ZdlPvSt11align_val_t",
              "_ZdlPvmSt11align_val_t",
              "_ZdlPvSt11align_val_tRKSt9nothrow_t"};
    case MS_API_DELETE_ARRAY:
      return {"_ZdaPv",
              "_ZdaPvm",
              "_ZdaPvRKSt9nothrow_t",
              "_ZdaPvSt11align_val_t",
              "_ZdaPvmSt11align_val_t",
              "_ZdaPvSt11align_val_tRKSt9nothrow_t"};
    default:
      return {kNames[api]};
  }
}
}  // namespace

std::string_view api_name(unsigned api) { return api < kNames.size() ? kNames[api] : "unknown"; }

std::optional<unsigned> api_from_name(std::string_view name) {
  for (unsigned i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return i;
  return std::nullopt;
}

bool api_allocates(unsigned api) { return !ms_api_frees(api); }

const std::vector<std::string_view>& api_symbols(unsigned api) {
  static const auto table = [] {
    std::array<std::vector<std::string_view>, MS_API_COUNT> t;
    for (unsigned a = 0; a < MS_API_COUNT; ++a) t[a] = cxx_variants(a);
    return t;
  }();
  static const std::vector<std::string_view> none;
  return api < MS_API_COUNT ? table[api] : none;
}

unsigned api_argument_count(unsigned api) {
  switch (api) {
    case MS_API_CALLOC:
    case MS_API_REALLOC:
    case MS_API_ALIGNED_ALLOC:
    case MS_API_MEMALIGN:
      return 2;
    case MS_API_REALLOCARRAY:
    case MS_API_POSIX_MEMALIGN:
      return 3;
    default:
      return 1;  // the size, or the pointer freed
  }
}

}  // namespace memscope
