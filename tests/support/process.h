// Running the agent and the workload from tests: spawn with output to
// files, wait for a line, signal, reap with a timeout.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace memscope::test {

class Child {
 public:
  // Starts argv with stdout and stderr captured in files under a temp dir.
  explicit Child(const std::vector<std::string>& argv);
  ~Child();  // kills and reaps a child still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  std::string out() const;
  std::string err() const;

  // True once `text` appears on stderr (or stdout when `on_stdout`).
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout, bool on_stdout = false) const;
  void signal(int sig) const;
  // Exit status as from waitpid, or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string out_path_, err_path_;
};

struct Result {
  int exit_code = -1;  // -1: did not exit normally
  std::string out, err;
};

Result run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = std::chrono::seconds(120));

std::string temp_path(const std::string& name);
std::string slurp(const std::string& path);

}  // namespace memscope::test
