#include "ImageFiles.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <vector>

namespace hangar::bench::images {
namespace {

class OutputFile
{
public:
    OutputFile(const std::string& path, std::uint64_t size)
        : m_path(path), m_fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644))
    {
        if (m_fd < 0)
            throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
        if (ftruncate(m_fd, static_cast<off_t>(size)) != 0)
            throw std::runtime_error("cannot size " + path + ": " + std::strerror(errno));
    }
    ~OutputFile() { close(m_fd); }
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;

    void writeAt(const std::vector<std::uint64_t>& data, std::uint64_t offset)
    {
        const auto* bytes = reinterpret_cast<const char*>(data.data());
        const std::size_t n = data.size() * sizeof(std::uint64_t);
        for (std::size_t done = 0; done < n;) {
            const ssize_t wrote = pwrite(m_fd, bytes + done, n - done, static_cast<off_t>(offset + done));
            if (wrote < 0 && errno == EINTR)
                continue;
            if (wrote <= 0)
                throw std::runtime_error("cannot write " + m_path + ": " + std::strerror(errno));
            done += static_cast<std::size_t>(wrote);
        }
    }

private:
    std::string m_path;
    int m_fd;
};

// 1 MiB of pseudo-random words (xorshift64*), never zero: a different piece for every seed.
void fill(std::vector<std::uint64_t>& words, std::uint64_t seed)
{
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (auto& w : words) {
        x ^= x >> 12U;
        x ^= x << 25U;
        x ^= x >> 27U;
        w = (x * 0x2545F4914F6CDD1DULL) | 1U;
    }
}

} // namespace

void writeDenseFile(const std::string& path, std::uint64_t size)
{
    OutputFile out(path, size);
    std::vector<std::uint64_t> piece(kMiB / sizeof(std::uint64_t));
    for (std::uint64_t offset = 0; offset < size; offset += kMiB) {
        fill(piece, offset / kMiB);
        out.writeAt(piece, offset);
    }
}

void writeSparseFile(const std::string& path, std::uint64_t size, std::uint64_t dataBytes)
{
    OutputFile out(path, size);
    const std::uint64_t pieces = std::max<std::uint64_t>(1, dataBytes / kMiB);
    const std::uint64_t stride = size / pieces / kMiB * kMiB;
    std::vector<std::uint64_t> piece(kMiB / sizeof(std::uint64_t));
    for (std::uint64_t i = 0; i < pieces; ++i) {
        fill(piece, i);
        out.writeAt(piece, i * stride);
    }
}

std::uint64_t allocatedBytes(const std::string& path)
{
    struct stat st
    {
    };
    if (stat(path.c_str(), &st) != 0)
        throw std::runtime_error("cannot stat " + path + ": " + std::strerror(errno));
    return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

std::uint64_t freeBytes(const std::string& path)
{
    struct statvfs vfs
    {
    };
    if (statvfs(path.c_str(), &vfs) != 0)
        throw std::runtime_error("cannot statvfs " + path + ": " + std::strerror(errno));
    return static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

} // namespace hangar::bench::images
