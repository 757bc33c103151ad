// Tables as etcdctl prints them with `-w table` (olekukonko/tablewriter's
// look: +---+ borders, headers upper-cased and centred, one space of padding).
#ifndef KEEL_TOOLS_TABLE_H_
#define KEEL_TOOLS_TABLE_H_

#include <string>
#include <vector>

namespace keel::tools {

enum class CellAlign { kLeft, kRight };

// The table, with a trailing newline. Every row has as many cells as the
// header.
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        CellAlign align);

// go-humanize's Bytes: SI units, one decimal below 10 ("20 kB", "2.1 MB").
std::string HumanBytes(uint64_t bytes);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_TABLE_H_
