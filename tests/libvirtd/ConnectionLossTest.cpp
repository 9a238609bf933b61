// LibvirtHypervisor losing its libvirtd and finding it again. Not a unit test: it starts a libvirtd of its own (with
// no driver modules, so it starts in a moment and serves only the built-in test driver, on a socket in a temporary
// directory) and kills it. Its own binary, hangar_libvirtd_tests (ctest label libvirtd); skipped where libvirtd is
// missing.
#include "support/TempDir.h"
#include "unit/LibvirtHypervisorFixture.h"

#include <fcntl.h>
#include <filesystem>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hangar::virt {
namespace {

class TestDriverLibvirtd
{
public:
    static constexpr const char* kBinary = "/usr/sbin/libvirtd";

    explicit TestDriverLibvirtd(const std::filesystem::path& dir) : m_dir(dir)
    {
        std::filesystem::create_directories(m_dir / "run");
        std::filesystem::create_directories(m_dir / "drivers");
        std::ofstream(m_dir / "libvirtd.conf") << "unix_sock_dir = \"" << (m_dir / "run").string() << "\"\n"
                                               << "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n";
    }
    ~TestDriverLibvirtd() { stop(); }

    std::string uri() const { return "test+unix:///default?socket=" + socket().string(); }

    // Starts it and waits until it accepts connections. False if it does not within the deadline.
    bool start()
    {
        std::filesystem::remove(socket());
        const std::string conf = (m_dir / "libvirtd.conf").string();
        const std::string pidFile = (m_dir / "run" / "libvirtd.pid").string();
        const std::string driverDir = "LIBVIRT_DRIVER_DIR=" + (m_dir / "drivers").string();
        const std::string log = (m_dir / "libvirtd.log").string();
        std::vector<std::string> args = {kBinary, "-f", conf, "--pid-file", pidFile};
        std::vector<char*> argv;
        argv.reserve(args.size() + 1);
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<std::string> env = {driverDir, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
        std::vector<char*> envp;
        envp.reserve(env.size() + 1);
        for (auto& e : env)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        const int rc = posix_spawn(&m_pid, kBinary, &actions, nullptr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            m_pid = -1;
            return false;
        }
        // Poll the condition itself (a connection succeeds), with a deadline.
        const auto deadline = std::chrono::steady_clock::now() + kDeadline;
        while (std::chrono::steady_clock::now() < deadline) {
            if (virConnectPtr probe = virConnectOpen(uri().c_str())) {
                virConnectClose(probe);
                return true;
            }
            if (waitpid(m_pid, nullptr, WNOHANG) == m_pid) {
                m_pid = -1;
                return false;
            }
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    // As a crash would: no goodbye to the clients.
    void kill()
    {
        if (m_pid > 0) {
            ::kill(m_pid, SIGKILL);
            waitpid(m_pid, nullptr, 0);
            m_pid = -1;
        }
    }

    void stop()
    {
        if (m_pid > 0) {
            ::kill(m_pid, SIGTERM);
            waitpid(m_pid, nullptr, 0);
            m_pid = -1;
        }
    }

private:
    std::filesystem::path socket() const { return m_dir / "run" / "libvirt-sock"; }

    std::filesystem::path m_dir;
    pid_t m_pid = -1;
};

TEST_F(LibvirtHypervisorTest, ConnectionLost_PostsLostThenReconnectsAndRestoresEvents)
{
    if (access(TestDriverLibvirtd::kBinary, X_OK) != 0)
        GTEST_SKIP() << TestDriverLibvirtd::kBinary << " is not installed";
    const support::TempDir dir("hangar-libvirt-");
    TestDriverLibvirtd libvirtd(dir.path());
    if (!libvirtd.start())
        GTEST_SKIP() << "libvirtd did not start here; see "
                     << (std::filesystem::path(dir.path()) / "libvirtd.log").string();

    auto hypervisor = makeHypervisor(libvirtd.uri());
    ASSERT_TRUE(hypervisor->connected());
    const auto before = record("web-1");
    hypervisor->define(before);

    libvirtd.kill();
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::ConnectionLost));
    EXPECT_FALSE(hypervisor->connected());
    const auto error = errorOf([&] { hypervisor->listDomains(); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::BackendFailure);
    EXPECT_EQ(std::string(error->what()).rfind("not connected to " + libvirtd.uri(), 0), 0U) << error->what();

    ASSERT_TRUE(libvirtd.start());
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::ConnectionRestored));
    EXPECT_TRUE(hypervisor->connected());
    // A new libvirtd has a fresh test driver: the domain is gone, which is what reconciliation is for.
    EXPECT_EQ(errorOf([&] { hypervisor->state(before.uuid); })->code(), ErrorCode::NotFound);

    // Events flow again: the callbacks were registered on the new connection.
    const auto after = record("web-2");
    hypervisor->define(after);
    hypervisor->start(after.uuid);
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::StateChanged, after.uuid, DomainState::Running));
    hypervisor->destroy(after.uuid);
    hypervisor->undefine(after.uuid);
}

} // namespace
} // namespace hangar::virt
