// An import whose source stops answering in the middle of the copy (issue 17, defect 4), against the real libvirtd
// (the test driver has no upload): a FUSE file (tests/integration/stall-fs.py) gives its first MiB and then hangs
// every read. The job fails after [Images] stall_timeout_sec (5 s in this suite's hangard.conf) with a message
// saying so, nothing of the image stays, the one copy thread (copy_workers = 1) is replaced so the next import runs,
// and the half-made volume goes once the read returns (here: when the file system is unmounted). SIGTERM with a read
// still stuck is tested on the test driver (tests/integration/StalledSourceTest.cpp): it needs no upload.
#include "E2eWorld.h"

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace hangar::e2e {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kSize = 64ULL << 20;
constexpr std::uint64_t kStallAt = 1ULL << 20;

class StalledSourceE2e : public E2eFixture
{
protected:
    void SetUp() override
    {
        E2eFixture::SetUp();
        if (!m_world || HasFatalFailure())
            return;
        if (::access("/dev/fuse", R_OK | W_OK) != 0)
            GTEST_SKIP() << "no /dev/fuse";
        m_mountpoint = m_world->root.path() + "/stall";
        std::filesystem::create_directories(m_mountpoint);
        m_fs = std::make_unique<it::Child>(
            std::vector<std::string>{"/usr/bin/python3", HANGAR_SOURCE_DIR "/tests/integration/stall-fs.py",
                                     m_mountpoint, std::to_string(kSize), std::to_string(kStallAt)},
            std::map<std::string, std::string>{}, m_world->root.path() + "/stall-fs.log");
        ASSERT_TRUE(it::waitFor(
            [&] {
                struct stat st
                {
                };
                return ::stat(file().c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) == kSize;
            },
            10s))
            << "stall-fs did not mount: " << it::readFile(m_world->root.path() + "/stall-fs.log");
        m_poolBefore = m_world->poolFiles();
    }

    void TearDown() override
    {
        unmount();
        for (const char* name : {"e2e-stalled", "e2e-after-stall"})
            if (m_world && m_world->client)
                if (auto path = client().findImage(name)) {
                    try {
                        client().proxy(*path)->callMethod("Delete").onInterface(kImageIface).withArguments(Dict{});
                    } catch (const sdbus::Error& e) {
                        std::cout << "[          ] could not delete image " << name << ": " << describe(e) << "\n";
                    }
                }
        E2eFixture::TearDown();
    }

    // Ends stall-fs: the reads hanging in it fail (ENOTCONN) and the threads stuck in them go on.
    void unmount()
    {
        if (!m_fs)
            return;
        m_fs->stop(SIGKILL, 2s); // a hung request keeps SIGTERM from ending it
        m_fs.reset();
        it::run({"fusermount", "-u", "-z", m_mountpoint});
    }

    std::string file() const { return m_mountpoint + "/image.raw"; }

    std::string m_mountpoint;
    std::unique_ptr<it::Child> m_fs;
    std::vector<std::string> m_poolBefore;
};

TEST_F(StalledSourceE2e, ASourceThatHangsMidCopyFailsItsJobAndTheNextImportStillRuns)
{
    const auto before = Clock::now();
    const RunResult r = m_world->hangarctl({"image", "import", file(), "--name", "e2e-stalled"}, 60s);
    std::cout << "[          ] the stalled import ended after " << secondsSince(before) << " s\n";
    EXPECT_EQ(r.exitCode, 1) << r.out << r.err << diagnostics();
    EXPECT_NE(r.err.find("copying the file stopped: no data from the file for 5 s"), std::string::npos)
        << r.err << diagnostics();
    EXPECT_FALSE(client().findImage("e2e-stalled")) << "the failed image must be gone";

    // The one copy thread is stuck in its read; a new one took its place.
    const std::string ordinary = m_world->root.path() + "/ordinary.raw";
    std::ofstream(ordinary) << std::string(2 << 20, 'o');
    const RunResult next = m_world->hangarctl({"image", "import", ordinary, "--name", "e2e-after-stall"}, 60s);
    EXPECT_EQ(next.exitCode, 0) << next.err << diagnostics();

    // The stuck read returns once the file system is gone; the copy then discards its volume.
    unmount();
    std::vector<std::string> extra;
    const bool clean = it::waitFor(
        [&] {
            extra.clear();
            for (const auto& name : m_world->poolFiles())
                if (std::find(m_poolBefore.begin(), m_poolBefore.end(), name) == m_poolBefore.end())
                    extra.push_back(name);
            return extra.size() == 1; // the image imported after it
        },
        30s);
    EXPECT_TRUE(clean) << "volumes left in the pool: " << ::testing::PrintToString(extra) << diagnostics();
}

} // namespace
} // namespace hangar::e2e
