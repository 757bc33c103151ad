// etcdctl's table and size formatting; see table.h.
#include "tools/table.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "runtime/assert.h"

namespace keel::tools {
namespace {

std::string Border(const std::vector<size_t>& widths) {
  std::string line = "+";
  for (size_t w : widths) line += std::string(w + 2, '-') + "+";
  return line + "\n";
}

}  // namespace

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        CellAlign align) {
  std::vector<size_t> widths;
  for (const std::string& h : header) widths.push_back(h.size());
  for (const auto& row : rows) {
    KEEL_ASSERT(row.size() == header.size());
    for (size_t i = 0; i < row.size(); i++) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out = Border(widths);
  out += "|";
  for (size_t i = 0; i < header.size(); i++) {
    const size_t pad = widths[i] - header[i].size();
    out += " " + std::string(pad / 2, ' ') + absl::AsciiStrToUpper(header[i]) +
           std::string(pad - pad / 2, ' ') + " |";
  }
  out += "\n" + Border(widths);
  for (const auto& row : rows) {
    out += "|";
    for (size_t i = 0; i < row.size(); i++) {
      const std::string fill(widths[i] - row[i].size(), ' ');
      out += " " + (align == CellAlign::kRight ? fill + row[i] : row[i] + fill) + " |";
    }
    out += "\n";
  }
  return out + Border(widths);
}

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 10) return absl::StrFormat("%d B", bytes);
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  const double value = static_cast<double>(bytes);
  const int exponent = static_cast<int>(std::floor(std::log(value) / std::log(1000.0)));
  const double scaled = std::floor(value / std::pow(1000.0, exponent) * 10 + 0.5) / 10;
  return absl::StrFormat(scaled < 10 ? "%.1f %s" : "%.0f %s", scaled, kUnits[exponent]);
}

}  // namespace keel::tools
