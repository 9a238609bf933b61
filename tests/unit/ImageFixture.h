// The common ground of core's image tests (ImageManagerTest, ImportStallTest): the fixture with images, jobs and VMs
// made from images; the files to import are ImageFiles.h's.
#pragma once

#include "CoreFixture.h"
#include "ImageFiles.h"

#include <fcntl.h>
#include <unistd.h>

namespace hangar::testing {

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
