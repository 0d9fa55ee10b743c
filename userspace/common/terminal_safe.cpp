#include "common/terminal_safe.h"

#include <cstdint>

namespace memscope {
namespace {

// The length of the valid UTF-8 sequence at s[i] (1 to 4), or 0 when the
// bytes there are not one: overlong forms, surrogates and code points past
// U+10FFFF are not valid (RFC 3629).
size_t utf8_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const uint8_t c = b(0);
  size_t n = 0;
  uint8_t lo = 0x80, hi = 0xbf;  // the second byte's range
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;  // overlong
    if (c == 0xed) hi = 0x9f;  // surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;  // overlong
    if (c == 0xf4) hi = 0x8f;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size() || b(1) < lo || b(1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (b(k) < 0x80 || b(k) > 0xbf) return 0;
  return n;
}

void escape_byte(std::string& out, uint8_t c) {
  static const char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

}  // namespace

std::string terminal_safe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    const size_t n = utf8_length(s, i);
    // C1 controls (U+0080 to U+009F) are C2 80 to C2 9F: 0x9b alone is CSI
    // to a terminal that takes 8-bit controls.
    const bool c1 = n == 2 && c == 0xc2 && static_cast<uint8_t>(s[i + 1]) <= 0x9f;
    if (n == 0 || c < 0x20 || c == 0x7f || c1) {
      for (size_t k = 0; k < (c1 ? 2 : 1); ++k) escape_byte(out, static_cast<uint8_t>(s[i + k]));
      i += c1 ? 2 : 1;
    } else if (c == '\\') {
      out += "\\\\";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

}  // namespace memscope
