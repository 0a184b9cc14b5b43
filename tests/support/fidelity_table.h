// The table of measured numbers a fidelity test prints when it ends, and
// writes as Markdown to $TCPEMU_FIDELITY_TABLE when set (docs/fidelity.md
// quotes them).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tcpemu {

class FidelityTable {
 public:
  // `title` heads the first column, e.g. "BBR, 100 Mbit/s, 40 ms".
  explicit FidelityTable(std::string title) : title_(std::move(title)) {}

  void Add(std::string what, std::string measured, std::string expected) {
    absl::StrAppend(&rows_, "| ", what, " | ", measured, " | ", expected,
                    " |\n");
  }

  ~FidelityTable() {
    const std::string table = absl::StrCat(
        "| ", title_, " | measured | expected |\n|---|---|---|\n", rows_);
    std::printf("%s", table.c_str());
    if (const char* path = std::getenv("TCPEMU_FIDELITY_TABLE")) {
      if (std::FILE* f = std::fopen(path, "w")) {
        std::fputs(table.c_str(), f);
        std::fclose(f);
      }
    }
  }

 private:
  std::string title_;
  std::string rows_;
};

}  // namespace tcpemu
