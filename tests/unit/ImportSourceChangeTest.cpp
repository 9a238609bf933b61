// An import whose source changes under it fails its job and leaves nothing: the caller's file is probed before the
// upload and again after it (core/ImageProbe's requireUnchanged), so a file truncated, grown or rewritten meanwhile
// never becomes a ready image. The upload is held half-way by the fake storage while the test changes the file.
#include "CoreFixture.h"

#include <thread>
#include <unistd.h>

namespace hangar::testing {
namespace {

std::string qcow2Bytes(std::uint64_t virtualSize)
{
    std::string b(0x40000, '\0');
    const auto put = [&b](std::size_t at, std::uint64_t v, std::size_t bytes) {
        for (std::size_t i = 0; i < bytes; ++i)
            b[at + i] = static_cast<char>(v >> (8 * (bytes - 1 - i)));
    };
    put(0, 0x514649fb, 4);
    put(4, 3, 4);
    put(20, 16, 4);
    put(24, virtualSize, 8);
    put(36, 1, 4);
    put(40, 0x30000, 8);
    put(48, 0x10000, 8);
    put(56, 1, 4);
    put(100, 104, 4);
    return b;
}

class ImportSourceChangeTest : public CoreFixture<>
{
protected:
    ImportSourceChangeTest() { jobs.setObserver(&jobLog); }

    // Starts importing fd, lets change() alter the file while the upload is held, and runs the rest.
    template <typename Change> void importWhile(const SharedFd& fd, Change change)
    {
        storage.hold("upload");
        Capture<std::uint64_t> r;
        images.importImage(caller(kAlice), ImportRequest{"pk", fd, std::nullopt, ""}, r.done());
        executor.drainOne(); // the probe
        ASSERT_TRUE(r.ok()) << r.message();
        std::thread worker(executor.takeWork()); // the upload; its completion runs here at drain()
        ASSERT_TRUE(storage.waitHeld("upload", 1, std::chrono::seconds(5)));
        change(fd->get());
        storage.release("upload");
        worker.join();
        executor.drain();
    }

    void expectFailedAndNothingLeft(const std::string& says)
    {
        ASSERT_EQ(jobLog.completed.size(), 1U);
        EXPECT_FALSE(jobLog.completed[0].first);
        EXPECT_NE(jobLog.completed[0].second.find(says), std::string::npos) << jobLog.completed[0].second;
        EXPECT_EQ(images.findByName("pk"), nullptr);
        EXPECT_TRUE(store.loadImages().empty());
        EXPECT_TRUE(storage.volumes().empty());
    }

    JobLog jobLog;
};

TEST_F(ImportSourceChangeTest, FileTruncatedDuringTheUpload_FailsTheJob)
{
    // One read of the fake's: the upload has all its bytes before the file shrinks.
    importWhile(tempFile(std::string(8192, 'x')), [](int fd) { ASSERT_EQ(::ftruncate(fd, 4096), 0); });
    expectFailedAndNothingLeft("the file changed during the import: it was a raw image of 8192 bytes (8192 bytes "
                               "virtual), it is now a raw image of 4096 bytes");
}

TEST_F(ImportSourceChangeTest, Qcow2HeaderRewrittenDuringTheUpload_FailsTheJob)
{
    importWhile(tempFile(qcow2Bytes(kGiB)), [](int fd) {
        const std::string absurd = qcow2Bytes(1ULL << 63U).substr(0, 104);
        ASSERT_EQ(::pwrite(fd, absurd.data(), absurd.size(), 0), 104);
    });
    expectFailedAndNothingLeft("the file changed during the import");
}

TEST_F(ImportSourceChangeTest, UnchangedFileBecomesReady)
{
    importWhile(tempFile(qcow2Bytes(kGiB)), [](int) {});
    ASSERT_EQ(jobLog.completed.size(), 1U);
    EXPECT_TRUE(jobLog.completed[0].first) << jobLog.completed[0].second;
    ASSERT_NE(images.findByName("pk"), nullptr);
    EXPECT_EQ(images.findByName("pk")->record.phase, ImagePhase::Ready);
}

} // namespace
} // namespace hangar::testing
