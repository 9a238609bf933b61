// A VM's hypervisor log and who is on its console and display, against a real libvirtd and QEMU (issue 14, items 5
// and 6): VM.OpenLog and `hangarctl logs` show libvirt's per-domain QEMU log (the command line libvirt started QEMU
// with), `logs -f` prints what libvirt appends when the guest stops and ends when the VM is deleted; ConsoleAttached
// follows an OpenConsole socket, and GraphicsClients a VNC client on an OpenGraphics socket, as QEMU reports it
// through libvirt's graphics events. The presence tests use the shared guest (no boot of their own); the log test
// boots its own, because it stops and deletes it. Its source sits after GuestAgentE2eTest.cpp, before the suites that
// restart libvirtd and hangard.
#include "E2eWorld.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hangar::e2e {
namespace {

using namespace std::chrono_literals;

class ObserveE2e : public E2eFixture
{
protected:
    // Waits for a presence change ("console:true", "graphics:1") of path after mark, failing with what was seen.
    void expectChange(const std::string& path, const std::string& change, std::size_t mark)
    {
        EXPECT_TRUE(client().waitState(path, change, mark, 15s))
            << "no PropertiesChanged " << change << " within 15 s; seen: " << client().statesSince(path, mark) << "\n"
            << diagnostics();
    }
};

TEST_F(ObserveE2e, LogsShowTheQemuCommandLineAndFollowWhatIsAppendedUntilTheVmIsDeleted)
{
    const std::string path = bootVm("e2e-logs", guestSpec());
    const std::string domain = domainOf(path);

    // Over D-Bus: a read-only regular file holding QEMU's command line as libvirt wrote it.
    int fd = -1;
    try {
        fd = client().openLog(path);
    } catch (const sdbus::Error& e) {
        FAIL() << "VM.OpenLog failed: " << describe(e) << diagnostics(domain);
    }
    struct stat st = {};
    ASSERT_EQ(fstat(fd, &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_LT(write(fd, "x", 1), 0) << "the fd is read-only";
    const std::string viaBus = readUntil(fd, "guest=" + domain, 5s);
    close(fd);
    EXPECT_NE(viaBus.find("qemu-system-x86_64"), std::string::npos) << viaBus;

    const RunResult all = m_world->hangarctl({"logs", "e2e-logs"});
    ASSERT_EQ(all.exitCode, 0) << all.err;
    EXPECT_NE(all.out.find("-name guest=" + domain), std::string::npos) << all.out;
    EXPECT_EQ(libvirtd().qemuLog(domain).rfind(all.out, 0), 0U) << "hangarctl logs prints the file as it is";
    const RunResult last = m_world->hangarctl({"logs", "-n", "1", "e2e-logs"});
    ASSERT_EQ(last.exitCode, 0) << last.err;
    EXPECT_EQ(std::count(last.out.begin(), last.out.end(), '\n'), 1) << last.out;
    std::cout << "[          ] the log's last line: " << last.out;

    // -f: libvirt appends "shutting down, reason=destroyed" when the guest is powered off; the VM's deletion ends it.
    const std::string output = m_world->root.path() + "/hangarctl-logs-f.log";
    it::Child follow(m_world->hangarctlArgv({"logs", "-f", "e2e-logs"}), {}, output);
    ASSERT_TRUE(it::waitFor([&] { return it::readFile(output).find("guest=" + domain) != std::string::npos; }, 15s))
        << it::readFile(output);
    const auto before = it::readFile(output).size();
    client().vmCall(path, "Stop", Dict{{"force", sdbus::Variant(true)}});
    EXPECT_TRUE(
        it::waitFor([&] { return it::readFile(output).find("shutting down", before) != std::string::npos; }, 15s))
        << "-f did not print the appended line; log now:\n"
        << libvirtd().qemuLog(domain) << "\nhangarctl printed:\n"
        << it::readFile(output);
    client().vmCall(path, "Delete");
    EXPECT_TRUE(it::waitFor([&] { return !follow.running(); }, 15s)) << "logs -f still runs after the VM was deleted";
    const int status = follow.stop(SIGKILL, 1s);
    EXPECT_EQ(status, 0) << it::readFile(output);
    EXPECT_NE(it::readFile(output).find("VM 'e2e-logs' was deleted."), std::string::npos) << it::readFile(output);
}

TEST_F(ObserveE2e, OpenConsoleMakesConsoleAttachedTrueUntilTheSocketIsClosed)
{
    const std::string path = sharedVm();
    EXPECT_FALSE(client().vmProperty(path, "ConsoleAttached").get<bool>());
    auto mark = client().mark();
    int fd = -1;
    try {
        fd = client().openConsole(path);
    } catch (const sdbus::Error& e) {
        FAIL() << "VM.OpenConsole failed: " << describe(e);
    }
    expectChange(path, "console:true", mark);
    EXPECT_TRUE(client().vmProperty(path, "ConsoleAttached").get<bool>());
    const RunResult info = m_world->hangarctl({"info", "e2e-shared"});
    EXPECT_NE(info.out.find("Console:     in use"), std::string::npos) << info.out;
    mark = client().mark();
    close(fd);
    expectChange(path, "console:false", mark);
    EXPECT_FALSE(client().vmProperty(path, "ConsoleAttached").get<bool>());
}

TEST_F(ObserveE2e, AVncClientOnAnOpenGraphicsSocketIsCountedUntilItCloses)
{
    const std::string path = sharedVm();
    const auto before = client().vmProperty(path, "GraphicsClients").get<std::uint32_t>();
    auto mark = client().mark();
    int fd = -1;
    try {
        fd = client().openGraphics(path);
    } catch (const sdbus::Error& e) {
        FAIL() << "VM.OpenGraphics failed: " << describe(e);
    }
    // The RFB handshake's first step: the server's version, answered with ours.
    const std::string greeting = readN(fd, 12, 15s);
    EXPECT_EQ(greeting.rfind("RFB 003.00", 0), 0U) << "greeting: '" << greeting << "'";
    ASSERT_EQ(write(fd, "RFB 003.008\n", 12), 12);
    expectChange(path, "graphics:" + std::to_string(before + 1), mark);
    const RunResult info = m_world->hangarctl({"info", "e2e-shared"});
    EXPECT_NE(info.out.find(std::to_string(before + 1) + " VNC client"), std::string::npos) << info.out;
    mark = client().mark();
    close(fd);
    expectChange(path, "graphics:" + std::to_string(before), mark);
    std::cout << "[          ] GraphicsClients " << before << " -> " << before + 1 << " -> " << before << "\n";
}

} // namespace
} // namespace hangar::e2e
