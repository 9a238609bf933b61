// hangarctl's layout of text on a terminal: aligned plain-text tables, "Label: value" fields and JSON documents,
// written to a stream. Every cell and value is sanitized (common/Format.h), so another user's VM description cannot
// smuggle terminal escape sequences onto the screen.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace hangar::client {

// A plain-text table: columns separated by two spaces, padded to the widest cell; the last column is not padded so
// lines carry no trailing blanks. Cells are sanitized.
class Table
{
public:
    // Applied to a cell (already sanitized) after the padding is measured, so terminal colours do not shift columns.
    using Decorate = std::function<std::string(std::size_t column, const std::string& cell)>;

    explicit Table(std::vector<std::string> headers);
    void decorate(Decorate decorate) { m_decorate = std::move(decorate); }
    void addRow(std::vector<std::string> cells);
    bool empty() const { return m_rows.empty(); }
    // Column widths after all rows so far; used by `events --follow` to keep live lines aligned with the history.
    std::vector<std::size_t> widths() const;
    // Column widths of the rows alone, for printRows.
    std::vector<std::size_t> rowWidths() const;
    void print(std::ostream& out) const;
    void print(std::ostream& out, const std::vector<std::size_t>& widths) const;
    static void printRow(std::ostream& out, const std::vector<std::string>& cells,
                         const std::vector<std::size_t>& widths, const Decorate& decorate = {});
    // The rows only, without the header line (-q/--no-legend).
    void printRows(std::ostream& out) const;

private:
    Decorate m_decorate;
    std::vector<std::string> m_headers;
    std::vector<std::vector<std::string>> m_rows;
};

// "Label: value" lines with the values aligned in one column, as `status` and `image show` print them. Sanitized.
void printFields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields);

// Writes one JSON document and a newline, then flushes: invalid UTF-8 is replaced rather than aborting the output.
void printJson(std::ostream& out, const nlohmann::json& value, bool pretty);

} // namespace hangar::client
