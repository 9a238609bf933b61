// Image files for core's unit tests: a consistent qcow2 v3 header, an ISO 9660 volume, or raw bytes, in an
// unlinked temporary file.
#pragma once

#include "core/Types.h"
#include "core/UniqueFd.h"

#include <algorithm>
#include <cstdint>
#include <gtest/gtest.h>
#include <memory>
#include <stdlib.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace hangar::testing {

inline void putBe(std::vector<unsigned char>& b, std::size_t at, std::uint64_t v, std::size_t bytes)
{
    for (std::size_t i = 0; i < bytes; ++i)
        b[at + i] = static_cast<unsigned char>(v >> (8 * (bytes - 1 - i)));
}

// A file with a consistent qcow2 v3 header of the given virtual size, or an ISO 9660 image, or raw bytes.
inline SharedFd makeFile(const std::string& kind, std::uint64_t virtualSize = 3 * kGiB)
{
    char path[] = "/tmp/hangar-image-XXXXXX";
    const int fd = ::mkstemp(path);
    ::unlink(path);
    std::vector<unsigned char> b;
    std::uint64_t size = 0;
    if (kind == "qcow2") {
        b.assign(104, 0);
        putBe(b, 0, 0x514649fb, 4);
        putBe(b, 4, 3, 4);
        putBe(b, 20, 16, 4);
        putBe(b, 24, virtualSize, 8);
        putBe(b, 36, 1, 4);
        putBe(b, 40, 0x30000, 8);
        putBe(b, 48, 0x10000, 8);
        putBe(b, 56, 1, 4);
        putBe(b, 100, 104, 4);
        size = 0x40000;
    } else if (kind == "iso") {
        b.assign(17 * 2048, 0);
        b[16 * 2048] = 1;
        std::copy_n("CD001", 5, b.begin() + 16 * 2048 + 1);
        b[16 * 2048 + 80] = 40; // 40 blocks of 2048
        b[16 * 2048 + 129] = 0x08;
        size = 40 * 2048;
    } else {
        b.assign(8192, 0x5a);
        size = 8192;
    }
    EXPECT_EQ(::pwrite(fd, b.data(), b.size(), 0), static_cast<ssize_t>(b.size()));
    EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
    return std::make_shared<UniqueFd>(fd);
}

} // namespace hangar::testing
