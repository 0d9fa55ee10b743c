// Non-allocating text formatting into a caller-provided buffer, plus a
// write(2) loop.  Used for everything that is printed while a tracer may be
// attached (truth file, stdout checksum line, ready/done lines, --verbose):
// no FILE*, no std::string, no printf, so no hidden malloc.
#pragma once

#include <cstddef>
#include <cstdint>

namespace memscope::workload {

class TextBuffer {
  public:
    TextBuffer(char* storage, std::size_t capacity) : buf_(storage), cap_(capacity) {}

    TextBuffer& append(const char* s);
    TextBuffer& append(const char* s, std::size_t n);
    TextBuffer& append_char(char c);
    TextBuffer& append_u64(std::uint64_t v);
    TextBuffer& append_i64(std::int64_t v);
    // Exactly 16 lower-case hex digits, zero padded.
    TextBuffer& append_hex16(std::uint64_t v);
    // A JSON string literal including the quotes (escapes ", \ and controls).
    TextBuffer& append_json_string(const char* s);

    const char* data() const { return buf_; }
    std::size_t size() const { return len_; }
    bool overflowed() const { return overflow_; }
    void clear() {
        len_ = 0;
        overflow_ = false;
    }

  private:
    char* buf_;
    std::size_t cap_;
    std::size_t len_ = 0;
    bool overflow_ = false;
};

// write(2) until everything is written (retries on EINTR / short writes).
bool write_all(int fd, const char* data, std::size_t n);

}  // namespace memscope::workload
