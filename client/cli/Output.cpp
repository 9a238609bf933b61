#include "Output.h"

#include "common/Format.h"

#include <algorithm>
#include <ostream>

namespace hangar::client {
namespace {

// Display width of UTF-8 text, counting code points: good enough for names and messages, which are mostly ASCII.
std::size_t displayWidth(const std::string& text)
{
    std::size_t width = 0;
    for (unsigned char c : text) {
        if ((c & 0xC0) != 0x80)
            ++width;
    }
    return width;
}

} // namespace

Table::Table(std::vector<std::string> headers) : m_headers(std::move(headers)) {}

void Table::addRow(std::vector<std::string> cells)
{
    cells.resize(m_headers.size());
    for (auto& cell : cells)
        cell = sanitize(cell);
    m_rows.push_back(std::move(cells));
}

std::vector<std::size_t> Table::widths() const
{
    std::vector<std::size_t> widths;
    for (const auto& header : m_headers)
        widths.push_back(displayWidth(header));
    for (const auto& row : m_rows) {
        for (std::size_t i = 0; i < row.size(); ++i)
            widths[i] = std::max(widths[i], displayWidth(row[i]));
    }
    return widths;
}

void Table::print(std::ostream& out) const
{
    print(out, widths());
}

void Table::print(std::ostream& out, const std::vector<std::size_t>& columnWidths) const
{
    printRow(out, m_headers, columnWidths);
    for (const auto& row : m_rows)
        printRow(out, row, columnWidths, m_decorate);
}

std::vector<std::size_t> Table::rowWidths() const
{
    std::vector<std::size_t> widths(m_headers.size(), 0);
    for (const auto& row : m_rows) {
        for (std::size_t i = 0; i < row.size(); ++i)
            widths[i] = std::max(widths[i], displayWidth(row[i]));
    }
    return widths;
}

void Table::printRows(std::ostream& out) const
{
    const std::vector<std::size_t> columnWidths = rowWidths();
    for (const auto& row : m_rows)
        printRow(out, row, columnWidths, m_decorate);
}

void Table::printRow(std::ostream& out, const std::vector<std::string>& cells, const std::vector<std::size_t>& widths,
                     const Decorate& decorate)
{
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const std::string cell = sanitize(cells[i]);
        line += decorate ? decorate(i, cell) : cell;
        if (i + 1 < cells.size()) {
            std::size_t width = i < widths.size() ? widths[i] : 0;
            std::size_t used = displayWidth(cell);
            line.append((width > used ? width - used : 0) + 2, ' ');
        }
    }
    out << line << '\n';
}

void printFields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields)
{
    std::size_t width = 0;
    for (const auto& field : fields)
        width = std::max(width, displayWidth(field.first));
    for (const auto& [label, text] : fields)
        out << sanitize(label) << ':' << std::string(width - displayWidth(label) + 1, ' ') << sanitize(text) << '\n';
}

void printJson(std::ostream& out, const nlohmann::json& value, bool pretty)
{
    out << value.dump(pretty ? 2 : -1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

} // namespace hangar::client
