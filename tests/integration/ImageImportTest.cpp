// ImportImage through D-Bus on the real hangard (libvirt's test driver). The test driver cannot upload into a volume,
// so a successful import is the e2e suite's business; here an import is refused before anything exists: bad input
// with InvalidArgument, a good file with NotSupported naming the driver that can. The fixture: ImageFixture.h.
#include "ImageFixture.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hangar::it {
namespace {

// ---- 5. ImportImage --------------------------------------------------------------------------------------------

TEST_F(ImageTest, ImportImage_RefusesWhatIsNotAnImageFileWithInvalidArgumentAndCreatesNothing)
{
    struct Case
    {
        std::string what;
        std::string name;
        int fd;
        Dict options;
        std::string expect; // part of the message
    };
    std::filesystem::create_directories(file("a-directory"));
    const Fd directory(open(file("a-directory").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    int pair[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    const Fd socketEnd(pair[0]);
    const Fd socketOther(pair[1]);
    int pipeEnds[2];
    ASSERT_EQ(pipe2(pipeEnds, O_CLOEXEC), 0);
    const Fd pipeRead(pipeEnds[0]);
    const Fd pipeWrite(pipeEnds[1]);
    const Fd empty(open(zeros("empty.raw", 0).c_str(), O_RDONLY | O_CLOEXEC));
    const Fd odd(open(zeros("odd.raw", 1000).c_str(), O_RDONLY | O_CLOEXEC));
    const Fd writeOnly(open(zeros("write-only.raw", 1 << 20).c_str(), O_WRONLY | O_CLOEXEC));

    // A qcow2 cut short of its L1 table (qemu-img puts it in the fourth 64 KiB cluster), an ISO cut after its
    // volume descriptor, a qcow2 with a backing file.
    const std::string cutQcow2 = qcow2("cut.qcow2");
    ASSERT_EQ(truncate(cutQcow2.c_str(), 2 * 65536), 0);
    const Fd truncatedQcow2(open(cutQcow2.c_str(), O_RDONLY | O_CLOEXEC));
    const std::string shortHeader = qcow2("header.qcow2");
    ASSERT_EQ(truncate(shortHeader.c_str(), 64), 0);
    const Fd headerOnly(open(shortHeader.c_str(), O_RDONLY | O_CLOEXEC));
    const std::string cutIso = iso("cut.iso");
    ASSERT_EQ(truncate(cutIso.c_str(), 18 * 2048), 0);
    const Fd truncatedIso(open(cutIso.c_str(), O_RDONLY | O_CLOEXEC));
    const std::string base = qcow2("base.qcow2");
    const Fd backed(open(qcow2("backed.qcow2", {"-F", "qcow2", "-b", base}).c_str(), O_RDONLY | O_CLOEXEC));

    const Fd raw(open(zeros("disk.raw", 1 << 20).c_str(), O_RDONLY | O_CLOEXEC));
    const Fd wholeQcow2(open(qcow2("whole.qcow2").c_str(), O_RDONLY | O_CLOEXEC));
    const Fd wholeIso(open(iso("whole.iso").c_str(), O_RDONLY | O_CLOEXEC));

    const std::vector<Case> cases{
        {"a directory", "dir", directory.get(), {}, "is a directory"},
        {"a socket", "sock", socketEnd.get(), {}, "is a socket"},
        {"a pipe", "pipe", pipeRead.get(), {}, "is a pipe"},
        {"a write-only fd", "wronly", writeOnly.get(), {}, "not open for reading"},
        {"an empty file", "empty", empty.get(), {}, "the file is empty"},
        {"a raw size not a multiple of 512", "odd", odd.get(), {}, "multiple of 512"},
        {"a truncated qcow2", "cutq", truncatedQcow2.get(), {}, "truncated"},
        {"a qcow2 header cut short", "headq", headerOnly.get(), {}, "truncated"},
        {"a truncated ISO", "cutiso", truncatedIso.get(), {}, "ISO image is truncated"},
        {"a qcow2 with a backing file", "backed", backed.get(), {}, "backing file"},
        {"raw content, format qcow2", "rawq", raw.get(), {{"format", text("qcow2")}}, "not qcow2"},
        {"qcow2 content, format raw", "qraw", wholeQcow2.get(), {{"format", text("raw")}}, "not raw"},
        {"ISO content, format qcow2", "isoq", wholeIso.get(), {{"format", text("qcow2")}}, "not qcow2"},
        {"an unknown format", "vmdk", raw.get(), {{"format", text("vmdk")}}, "qcow2, raw or iso"},
        {"an unknown option key", "colour", raw.get(), {{"colour", text("red")}}, "colour"},
        {"a format of the wrong type", "typed", raw.get(), {{"format", sdbus::Variant(true)}}, "format"},
        {"a bad name", "Not A Name", raw.get(), {}, "a-z, 0-9 and '-'"},
        {"an empty name", "", raw.get(), {}, "a-z, 0-9 and '-'"},
        {"a name with a slash", "../x", raw.get(), {}, "a-z, 0-9 and '-'"},
    };
    for (const auto& c : cases) {
        ASSERT_GE(c.fd, 0) << c.what;
        std::string message;
        EXPECT_EQ(importError(c.name, c.fd, c.options, &message), kInvalidArgument) << c.what << ": " << message;
        EXPECT_TRUE(contains(message, c.expect)) << c.what << ": " << message;
    }
    EXPECT_TRUE(manager->ListImages().empty());
    EXPECT_TRUE(managedPathsUnder("/org/hangar/Hangar1/image/").empty());
    EXPECT_TRUE(managedPathsUnder("/org/hangar/Hangar1/job/").empty());
    EXPECT_TRUE(signals->addedUnder("/org/hangar/Hangar1/image/").empty()) << "no Image object ever appeared";
    EXPECT_TRUE(signals->addedUnder("/org/hangar/Hangar1/job/").empty()) << "no job ever started";
}

TEST_F(ImageTest, ImportImage_OfAGoodFileIsRefusedUpFrontOnTheTestDriverSayingWhichDriverCan)
{
    const Fd raw(open(zeros("disk.raw", 1 << 20).c_str(), O_RDONLY | O_CLOEXEC));
    for (int attempt = 0; attempt < 2; ++attempt) { // the second finds the name free: nothing was left behind
        std::string message;
        EXPECT_EQ(
            importError("uploaded", raw.get(), {{"format", text("raw")}, {"description", text("zeros")}}, &message),
            "org.hangar.Hangar1.Error.NotSupported")
            << message;
        EXPECT_TRUE(contains(message, "the test driver (test:///default) cannot stream volume uploads")) << message;
        EXPECT_TRUE(contains(message, "use qemu:///system")) << message;
    }
    EXPECT_TRUE(manager->ListImages().empty());
    EXPECT_EQ(errorOf([&] { manager->GetImage("uploaded"); }), "org.hangar.Hangar1.Error.NotFound");
    EXPECT_TRUE(managedPathsUnder("/org/hangar/Hangar1/image/").empty());
    EXPECT_TRUE(signals->addedUnder("/org/hangar/Hangar1/image/").empty()) << "no Image object ever appeared";
    EXPECT_TRUE(signals->addedUnder("/org/hangar/Hangar1/job/").empty()) << "no job ever started";
}

} // namespace
} // namespace hangar::it
