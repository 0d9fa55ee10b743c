// Names of the allocator entry points: as the report shows them, and the
// symbols that define each.
#pragma once
#include <optional>
#include <string_view>
#include <vector>

#include "memscope/record.h"

namespace memscope {

std::string_view api_name(unsigned api);  // "malloc", "operator new[]"
std::optional<unsigned> api_from_name(std::string_view name);
bool api_allocates(unsigned api);  // everything but free and the deletes
// The symbols bound to `api`: C's by their name, C++'s operators by every
// mangled variant (plain, sized, nothrow, align_val_t).
const std::vector<std::string_view>& api_symbols(unsigned api);
// The argument registers the entry point reads (what probe placement must
// find intact).
unsigned api_argument_count(unsigned api);

}  // namespace memscope
