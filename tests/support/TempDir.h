// Files for the test and benchmark harnesses: a temporary directory removed with its contents when the object goes,
// and whole files read and written at once.
#pragma once

#include <string>

namespace hangar::support {

class TempDir
{
public:
    // A fresh directory (mode 0755) in the system's temporary directory, named prefix + six random characters.
    explicit TempDir(const std::string& prefix = "hangar-it-");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return m_path; }

private:
    std::string m_path;
};

// The file's contents; "" when it cannot be read.
std::string readFile(const std::string& path);
// Replaces the file's contents with text; throws when it cannot.
void writeText(const std::string& path, const std::string& text);

} // namespace hangar::support
