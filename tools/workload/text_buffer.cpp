#include "text_buffer.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace memscope::workload {

TextBuffer& TextBuffer::append(const char* s, std::size_t n) {
    if (overflow_) return *this;
    if (n > cap_ - len_) {
        overflow_ = true;
        return *this;
    }
    std::memcpy(buf_ + len_, s, n);
    len_ += n;
    return *this;
}

TextBuffer& TextBuffer::append(const char* s) { return append(s, std::strlen(s)); }

TextBuffer& TextBuffer::append_char(char c) { return append(&c, 1); }

TextBuffer& TextBuffer::append_u64(std::uint64_t v) {
    char tmp[24];
    int i = static_cast<int>(sizeof tmp);
    do {
        tmp[--i] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return append(tmp + i, sizeof tmp - static_cast<std::size_t>(i));
}

TextBuffer& TextBuffer::append_i64(std::int64_t v) {
    if (v < 0) {
        append_char('-');
        return append_u64(0 - static_cast<std::uint64_t>(v));
    }
    return append_u64(static_cast<std::uint64_t>(v));
}

TextBuffer& TextBuffer::append_hex16(std::uint64_t v) {
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    for (int i = 15; i >= 0; --i) {
        tmp[i] = digits[v & 0xf];
        v >>= 4;
    }
    return append(tmp, sizeof tmp);
}

TextBuffer& TextBuffer::append_json_string(const char* s) {
    static const char digits[] = "0123456789abcdef";
    append_char('"');
    for (const unsigned char* p = reinterpret_cast<const unsigned char*>(s); *p; ++p) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            append_char('\\');
            append_char(static_cast<char>(c));
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', digits[c >> 4], digits[c & 0xf]};
            append(esc, sizeof esc);
        } else {
            append_char(static_cast<char>(c));
        }
    }
    return append_char('"');
}

bool write_all(int fd, const char* data, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, data, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

}  // namespace memscope::workload
