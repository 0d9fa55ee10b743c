// Names a traced program chose, printed on a terminal (common/terminal_safe.h).
#include <catch2/catch.hpp>

#include "common/terminal_safe.h"

using namespace memscope;

TEST_CASE("terminal_safe: control characters and bytes that are not UTF-8 are escaped, UTF-8 text is kept") {
  CHECK(terminal_safe("server") == "server");
  CHECK(terminal_safe("/srv/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80") ==
        "/srv/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
  // A comm that clears the screen and retitles the window (ESC, BEL).
  CHECK(terminal_safe("\x1b[2J\x1b]0;pwned\x07") == "\\x1b[2J\\x1b]0;pwned\\x07");
  CHECK(terminal_safe(std::string("a\0b\n\r\t\x7f", 7)) == "a\\x00b\\x0a\\x0d\\x09\\x7f");
  // C1 controls: CSI (U+009B) and NEL (U+0085) as UTF-8.
  CHECK(terminal_safe("x\xc2\x9b"
                      "2Jy\xc2\x85") == "x\\xc2\\x9b2Jy\\xc2\\x85");
  CHECK(terminal_safe("\xc2\xa0") == "\xc2\xa0");  // U+00A0 is text
  // Not UTF-8: a lone byte, a cut sequence, overlong forms, a surrogate,
  // past U+10FFFF, a raw 8-bit CSI.
  CHECK(terminal_safe("bad\xff") == "bad\\xff");
  CHECK(terminal_safe("\xe6\x97") == "\\xe6\\x97");
  CHECK(terminal_safe("\xc0\xaf \xe0\x80\xaf") == "\\xc0\\xaf \\xe0\\x80\\xaf");
  CHECK(terminal_safe("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(terminal_safe("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");
  CHECK(terminal_safe("\x9b"
                      "2J") == "\\x9b2J");
  // The escape character itself, so that an escaped name reads back as one.
  CHECK(terminal_safe("a\\x1b") == "a\\\\x1b");
}
