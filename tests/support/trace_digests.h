// Recorded trace digests of seeded runs: a test checks each run's SHA-256
// event-trace digest against the file, so that a change of behaviour anywhere
// in the engine shows. With TCPEMU_RECORD_TRACES set the test records instead,
// and the file is rewritten when the object goes (a change meant as one is
// re-recorded in the commit that names it).
#pragma once

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace tcpemu {

class TraceDigests {
 public:
  explicit TraceDigests(std::string path)
      : path_(std::move(path)),
        record_(std::getenv("TCPEMU_RECORD_TRACES") != nullptr) {
    std::ifstream in(path_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      std::string name, digest;
      fields >> name >> digest;
      recorded_[name] = digest;
    }
  }
  ~TraceDigests() {
    if (!record_) return;
    std::ofstream out(path_);
    out << "# run digest: recorded with TCPEMU_RECORD_TRACES=1\n";
    for (const auto& [name, digest] : seen_)
      out << name << " " << digest << "\n";
  }
  TraceDigests(const TraceDigests&) = delete;
  TraceDigests& operator=(const TraceDigests&) = delete;

  void Check(const std::string& name, const std::string& digest) {
    seen_[name] = digest;
    if (record_) return;
    auto it = recorded_.find(name);
    if (it == recorded_.end()) {
      ADD_FAILURE() << name << " has no recorded digest in " << path_;
      return;
    }
    EXPECT_EQ(digest, it->second) << name << ": the trace changed";
  }

 private:
  std::string path_;
  bool record_;
  std::map<std::string, std::string> recorded_;
  std::map<std::string, std::string> seen_;
};

}  // namespace tcpemu
