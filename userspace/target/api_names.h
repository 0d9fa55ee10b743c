// Names of the allocator entry points, as in C.
#pragma once
#include <optional>
#include <string_view>

#include "memscope/record.h"

namespace memscope {

std::string_view api_name(unsigned api);
std::optional<unsigned> api_from_name(std::string_view name);
bool api_allocates(unsigned api);  // everything but free

}  // namespace memscope
