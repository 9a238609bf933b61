// Where the hypervisor's per-domain log is found for each URI and how the daemon opens it (core/HypervisorLog.h):
// only a regular file under the name it builds, never through a symbolic link.
#include "core/HypervisorLog.h"

#include "ErrorTestSupport.h"
#include "core/Error.h"

#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hangar {
namespace {

using testing::codeOf;

const char* noEnv(const char*)
{
    return nullptr;
}

TEST(HypervisorLogDir, IsLibvirtsForLocalQemuUris)
{
    EXPECT_EQ(hypervisorLogDir("qemu:///system", "", noEnv), "/var/log/libvirt/qemu");
    EXPECT_EQ(hypervisorLogDir("qemu:///system?socket=/run/x/libvirt-sock", "", noEnv), "/var/log/libvirt/qemu");
    EXPECT_EQ(hypervisorLogDir("qemu+unix:///system", "", noEnv), "/var/log/libvirt/qemu");
    const auto env = [](const char* name) -> const char* {
        return std::string(name) == "HOME" ? "/home/alice" : nullptr;
    };
    EXPECT_EQ(hypervisorLogDir("qemu:///session", "", env), "/home/alice/.cache/libvirt/qemu/log");
    const auto xdg = [](const char* name) -> const char* {
        return std::string(name) == "XDG_CACHE_HOME" ? "/c" : "/home/alice";
    };
    EXPECT_EQ(hypervisorLogDir("qemu:///session", "", xdg), "/c/libvirt/qemu/log");
}

TEST(HypervisorLogDir, IsEmptyForRemoteHostsAndOtherDriversUnlessConfigured)
{
    EXPECT_EQ(hypervisorLogDir("qemu+ssh://node2/system", "", noEnv), "");
    EXPECT_EQ(hypervisorLogDir("qemu://node2/system", "", noEnv), "");
    EXPECT_EQ(hypervisorLogDir("test:///default", "", noEnv), "");
    EXPECT_EQ(hypervisorLogDir("qemu:///session", "", noEnv), "") << "no home to find the cache in";
    EXPECT_EQ(hypervisorLogDir("qemu+ssh://node2/system", "/mnt/node2-logs", noEnv), "/mnt/node2-logs");
}

class OpenLogFileTest : public ::testing::Test
{
protected:
    OpenLogFileTest()
    {
        char pattern[] = "/tmp/hangar-logdir-XXXXXX";
        m_dir = ::mkdtemp(pattern);
    }
    ~OpenLogFileTest() override { std::filesystem::remove_all(m_dir); }
    std::string m_dir;
};

TEST_F(OpenLogFileTest, OpensTheDomainsLogReadOnlyFromTheStart)
{
    std::ofstream(m_dir + "/hangar-1.log") << "LC_ALL=C qemu-system-x86_64\n";
    const UniqueFd fd = openLogFile(m_dir, "hangar-1");
    char buffer[64] = {};
    ASSERT_EQ(::read(fd.get(), buffer, sizeof buffer), 28);
    EXPECT_EQ(std::string(buffer), "LC_ALL=C qemu-system-x86_64\n");
    EXPECT_LT(::write(fd.get(), "x", 1), 0) << "read-only";
    EXPECT_EQ(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST_F(OpenLogFileTest, AMissingLogIsNotFound)
{
    EXPECT_EQ(codeOf([&] { openLogFile(m_dir, "hangar-none"); }), ErrorCode::NotFound);
}

TEST_F(OpenLogFileTest, ASymbolicLinkADirectoryAndAFifoAreRefused)
{
    std::ofstream(m_dir + "/secret") << "not a log\n";
    std::filesystem::create_symlink(m_dir + "/secret", m_dir + "/hangar-link.log");
    std::filesystem::create_directory(m_dir + "/hangar-dir.log");
    ASSERT_EQ(::mkfifo((m_dir + "/hangar-fifo.log").c_str(), 0600), 0);
    EXPECT_EQ(codeOf([&] { openLogFile(m_dir, "hangar-link"); }), ErrorCode::BackendFailure);
    EXPECT_EQ(codeOf([&] { openLogFile(m_dir, "hangar-dir"); }), ErrorCode::BackendFailure);
    EXPECT_EQ(codeOf([&] { openLogFile(m_dir, "hangar-fifo"); }), ErrorCode::BackendFailure) << "and does not hang";
}

} // namespace
} // namespace hangar
