// The common ground of core's image tests (ImageManagerTest, ImportStallTest): image files to import (a qcow2 header,
// an ISO 9660 volume descriptor, raw bytes) and the fixture with images, jobs and VMs made from images.
#pragma once

#include "CoreFixture.h"

#include <fcntl.h>
#include <unistd.h>

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

class ImageManagerTest : public CoreFixture<>
{
protected:
    ImageManagerTest() { jobs.setObserver(&jobLog); }

    Capture<std::uint64_t> startImport(const std::string& name, SharedFd fd, std::uint32_t uid = kAlice,
                                       std::optional<ImageFormat> expected = std::nullopt)
    {
        Capture<std::uint64_t> r;
        images.importImage(caller(uid), ImportRequest{name, std::move(fd), expected, "test image"}, r.done());
        return r;
    }

    // Imports to completion and returns the image's id.
    std::string import(const std::string& name, const std::string& kind = "qcow2")
    {
        auto r = startImport(name, makeFile(kind));
        executor.drain();
        EXPECT_TRUE(r.ok()) << (r.outcome ? r.message() : "no outcome");
        const Image* image = images.findByName(name);
        EXPECT_NE(image, nullptr);
        return image ? image->record.id : std::string();
    }

    Capture<std::string> createFrom(const std::string& name, const std::string& image,
                                    std::optional<std::uint64_t> diskGiB = std::nullopt)
    {
        VmSpecRequest spec;
        spec.image = image;
        spec.diskGiB = diskGiB;
        Capture<std::string> r;
        manager.create(caller(kAlice), name, spec, r.done());
        executor.drain();
        return r;
    }

    JobLog jobLog;
};

} // namespace hangar::testing
