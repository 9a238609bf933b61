// An import source that stops answering (issue 17, defect 4), made real with a FUSE file whose reads hang
// (stall-fs.py): a file that does not even answer the probe is refused after [Images] stall_timeout_sec, and VM calls
// never wait behind it. On the test driver no upload runs (it has no virStorageVolUpload), so the rest (the hang in
// the middle of the copy, the copy thread replaced, SIGTERM while a read is stuck) is in tests/e2e/
// StalledSourceE2eTest.cpp against the real libvirtd. Needs /dev/fuse and python3-fusepy (scripts/install-deps.sh),
// and root (allow_other: hangard may run as another user).
#include "DaemonFixture.h"

#include <chrono>
#include <filesystem>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hangar::it {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kSize = 64ULL << 20;

class StalledSourceTest : public DaemonFixture
{
protected:
    void SetUp() override
    {
        if (::geteuid() != 0 || ::access("/dev/fuse", R_OK | W_OK) != 0)
            GTEST_SKIP() << "needs root and /dev/fuse to mount the stalling file system";
        DaemonFixture::SetUp();
    }
    void TearDown() override
    {
        // The file system first: a thread stuck in a read keeps even an exited hangard from being reaped.
        unmount();
        DaemonFixture::TearDown();
    }

    // Ends stall-fs; the kernel then fails the reads hanging in it (ENOTCONN) and the threads stuck there go on.
    void unmount()
    {
        if (m_fs)
            m_fs->stop(SIGKILL, 2s);
        m_fs.reset();
        if (m_mounted)
            run({"fusermount", "-u", "-z", mountpoint()});
        m_mounted = false;
    }

    bool stalling(const std::string& log) const { return log.find("stalling a read") != std::string::npos; }

    void startDaemon() override
    {
        daemon = std::make_unique<Hangard>(bus->address(), state(), log(), std::vector<std::string>{},
                                           "[Images]\nstall_timeout_sec = " + std::to_string(m_stallSec) +
                                               "\ncopy_workers = 1\n");
    }

    unsigned m_stallSec = 2;

    std::string mountpoint() const { return dir.path() + "/stall"; }
    std::string file() const { return mountpoint() + "/image.raw"; }
    std::string fsLog() const { return readFile(dir.path() + "/stall-fs.log"); }

    // Mounts stall-fs with reads hanging from byte stallAt on.
    void mountStallFs(std::uint64_t stallAt)
    {
        std::filesystem::create_directories(mountpoint());
        m_fs = std::make_unique<Child>(
            std::vector<std::string>{"/usr/bin/python3", HANGAR_SOURCE_DIR "/tests/integration/stall-fs.py",
                                     mountpoint(), std::to_string(kSize), std::to_string(stallAt)},
            std::map<std::string, std::string>{}, dir.path() + "/stall-fs.log");
        m_mounted = true;
        ASSERT_TRUE(waitFor(
            [&] {
                struct stat st
                {
                };
                return ::stat(file().c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) == kSize;
            },
            10s))
            << "stall-fs did not mount: " << readFile(dir.path() + "/stall-fs.log");
    }

    std::unique_ptr<Child> m_fs;
    bool m_mounted = false;
};

TEST_F(StalledSourceTest, AFileThatNeverAnswersTheProbeIsRefusedAfterTheStallTimeout)
{
    mountStallFs(0); // not even the header comes
    const auto before = std::chrono::steady_clock::now();
    const RunResult r = ctl({"image", "import", file(), "--name", "stuck"});
    const auto took = std::chrono::steady_clock::now() - before;
    EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("reading the file stopped: no data from the file for 2 s"), std::string::npos) << r.err;
    EXPECT_LT(took, 20s);
    // The probe's thread is still stuck in its read: VM calls do not wait for it, and nothing of the image stays.
    EXPECT_EQ(ctl({"create", "meanwhile"}).exitCode, 0);
    EXPECT_EQ(ctlJson({"image", "list"}).size(), 0U);
}

// A thread in a read that a FUSE file system never answers sleeps uninterruptibly: not even SIGKILL ends it, and a
// process with such a thread cannot finish exiting. hangard gives its bus name and its database back before it
// exits on SIGTERM, so a new hangard can start while the old one waits for that read.
TEST_F(StalledSourceTest, SigtermGivesTheBusNameAndDatabaseBackWhileAReadIsStuck)
{
    m_stallSec = 600; // no giving up on the read before the stop
    daemon.reset();
    startDaemon();
    mountStallFs(0);
    Child import(ctlArgv({"image", "import", file(), "--name", "stuck"}), {}, dir.path() + "/import.log");
    ASSERT_TRUE(waitFor([&] { return stalling(fsLog()); }, 20s)) << "no read reached stall-fs";

    const pid_t pid = daemon->process().pid();
    const auto before = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(pid, SIGTERM), 0);
    const auto nameGone = [&] {
        return run({"busctl", "--address=" + bus->address(), "status", "org.hangar.Hangar1"}).exitCode != 0;
    };
    EXPECT_TRUE(waitFor(nameGone, 15s)) << "hangard kept its bus name";
    EXPECT_LT(std::chrono::steady_clock::now() - before, 15s);
    EXPECT_TRUE(waitFor(
        [&] { return readFile(log()).find("1 image copy is stuck in reads of a file") != std::string::npos; }, 5s))
        << readFile(log());

    // A new hangard on the same state directory and bus starts while the old one still waits for the read.
    Hangard second(bus->address(), state(), dir.path() + "/second.log");
    EXPECT_EQ(ctl({"create", "after-restart"}).exitCode, 0);
    EXPECT_EQ(second.stop(), 0);

    // Once the read fails (the file system gone), the old process ends, with the status it chose.
    unmount();
    EXPECT_EQ(daemon->stop(), 0);
    import.stop(SIGTERM, 5s);
}

} // namespace
} // namespace hangar::it
