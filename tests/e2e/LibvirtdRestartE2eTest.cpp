// The hypervisor going away under a running hangard (issue 17, "what must work" 2): libvirtd killed with SIGKILL, by
// PID, while hangard has a running guest, a guest whose QEMU will die while libvirtd is away, and a defined (stopped)
// VM. Every VM turns `unavailable` (PropertiesChanged), calls on them answer at once with a Hangar error that says
// why instead of hanging, the inventory can still be read, and once libvirtd is back hangard reconnects on its own
// (daemon/virt/LibvirtConnection: back-off 1, 2, 4 ... 30 s) and reconciles each VM to what the hypervisor says: the
// surviving guest `running`, the guest whose QEMU died and the defined VM `stopped`.
#include "E2eWorld.h"

#include <csignal>
#include <fstream>
#include <iostream>
#include <iterator>

namespace hangar::e2e {
namespace {

using namespace std::chrono_literals;

// How long a call on an unavailable VM may take before it counts as hanging: it is answered from the inventory (or
// fails on the missing connection) without waiting for anything.
constexpr auto kCallBound = 5s;
// Kill -> every VM unavailable: libvirt reports the closed socket at once.
constexpr auto kLostDeadline = 15s;
// libvirtd answering again -> every VM reconciled: the reconnect's back-off is at most the 4 s step here (libvirtd is
// away for ~1-3 s), plus the reconcile pass.
constexpr auto kReconcileDeadline = 60s;

class LibvirtdRestartE2e : public E2eFixture
{
protected:
    // The first Hangar error a VM method answers with, and how long the call took; "" when it succeeded.
    std::string callError(const std::string& path, const std::string& method, const Dict& options,
                          Clock::duration& took)
    {
        const auto start = Clock::now();
        std::string error;
        try {
            client().vmCall(path, method, options, std::chrono::seconds(30));
        } catch (const sdbus::Error& e) {
            error = describe(e);
        }
        took = Clock::now() - start;
        return error;
    }

    pid_t qemuPidOf(const std::string& domain)
    {
        std::ifstream in("/run/libvirt/qemu/" + domain + ".pid");
        pid_t pid = -1;
        in >> pid;
        return pid;
    }

    // Gone or a zombie (the run's PID 1 reaps it).
    static bool gone(pid_t pid)
    {
        if (::kill(pid, 0) != 0)
            return true;
        std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
        std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto close = stat.rfind(')');
        return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
    }

    std::string domstate(const std::string& domain)
    {
        auto r = libvirtd().virsh({"domstate", domain});
        return r.exitCode == 0 ? r.out : "virsh domstate failed: " + r.err;
    }
};

TEST_F(LibvirtdRestartE2e, VmsTurnUnavailableWhileLibvirtdIsDownNoCallHangsAndTheyAreReconciledAfter)
{
    const std::string kept = sharedVm(); // running across the restart (usually booted already by the E2e suite)
    const std::string lost = bootVm("e2e-qemu-dies", guestSpec());
    const std::string idle = createVm("e2e-defined", guestSpec());
    const std::string lostDomain = domainOf(lost);
    const pid_t lostQemu = qemuPidOf(lostDomain);
    ASSERT_GT(lostQemu, 1) << "no pid file for " << lostDomain;

    // The hypervisor goes away.
    const auto mark = client().mark();
    const auto killedAt = Clock::now();
    libvirtd().killDaemon();
    for (const auto& path : {kept, lost, idle}) {
        const auto at = client().waitState(path, "unavailable", mark, kLostDeadline);
        ASSERT_TRUE(at) << path
                        << " did not turn unavailable; states since the kill: " << client().statesSince(path, mark)
                        << diagnostics();
    }
    std::cout << "[          ] every VM unavailable " << secondsSince(killedAt) << " s after libvirtd's SIGKILL\n";

    // Calls on them: answered promptly, with an error that says what is wrong, never a hang. Start and Stop need a
    // settled VM (Busy: unavailable); Delete and GetStats reach for the hypervisor and fail on the missing
    // connection (BackendFailure naming it).
    struct Call
    {
        std::string path;
        std::string method;
        Dict options;
        std::string expected;
    };
    const std::vector<Call> calls = {
        {idle, "Start", {}, "org.hangar.Hangar1.Error.Busy: VM 'e2e-defined' is unavailable"},
        {kept, "Stop", {}, "org.hangar.Hangar1.Error.Busy: VM 'e2e-shared' is unavailable"},
        {kept, "Reboot", {}, "org.hangar.Hangar1.Error.Busy: VM 'e2e-shared' is unavailable"},
        {idle, "Delete", {}, "org.hangar.Hangar1.Error."},
    };
    for (const auto& call : calls) {
        Clock::duration took{};
        const std::string error = callError(call.path, call.method, call.options, took);
        EXPECT_EQ(error.rfind(call.expected, 0), 0u) << call.method << " on " << call.path << " answered \"" << error
                                                     << "\", expected \"" << call.expected << "...\"";
        EXPECT_LT(took, kCallBound) << call.method << " took " << std::chrono::duration<double>(took).count() << " s";
        std::cout << "[          ] " << call.method << " while libvirtd is away: " << error << " ("
                  << std::chrono::duration<double>(took).count() << " s)\n";
    }
    {
        const auto start = Clock::now();
        std::string error;
        try {
            client().getStats(kept);
        } catch (const sdbus::Error& e) {
            error = describe(e);
        }
        EXPECT_LT(Clock::now() - start, kCallBound) << "GetStats hung on an unavailable VM";
        if (!error.empty()) {
            EXPECT_EQ(error.rfind("org.hangar.Hangar1.Error.", 0), 0u) << error;
        }
    }
    // The inventory stays readable, and says the truth as far as hangard knows it.
    const auto list = m_world->hangarctl({"--json", "list", "--all"}, 30s);
    EXPECT_EQ(list.exitCode, 0) << list.out << list.err;
    EXPECT_NE(list.out.find("unavailable"), std::string::npos) << list.out;
    EXPECT_TRUE(client().findVm("e2e-defined")) << "a VM is not deleted because its hypervisor went away";

    // While libvirtd is away, one guest dies (its QEMU killed): the truth changes behind everyone's back.
    ASSERT_EQ(::kill(lostQemu, SIGKILL), 0);
    ASSERT_TRUE(it::waitFor([&] { return gone(lostQemu); }, 10s)) << "QEMU " << lostQemu << " lives on";

    // The hypervisor comes back; hangard reconnects by itself and reconciles.
    const auto restartAt = Clock::now();
    libvirtd().restart();
    const double restartSeconds = secondsSince(restartAt);
    const auto upAt = Clock::now();
    for (const auto& [path, truth] :
         std::vector<std::pair<std::string, std::string>>{{kept, "running"}, {lost, "stopped"}, {idle, "stopped"}}) {
        const bool reconciled = it::waitFor([&] { return client().state(path) == truth; }, kReconcileDeadline);
        EXPECT_TRUE(reconciled) << path << " is " << client().state(path) << ", the hypervisor says " << truth
                                << "; states since the kill: " << client().statesSince(path, mark) << diagnostics();
    }
    std::cout << "[          ] libvirtd restarted in " << restartSeconds << " s; every VM reconciled "
              << secondsSince(upAt) << " s after it answered (" << secondsSince(killedAt) << " s after the kill)\n";
    EXPECT_NE(domstate(domainOf(kept)).find("running"), std::string::npos) << domstate(domainOf(kept));
    EXPECT_NE(domstate(lostDomain).find("shut off"), std::string::npos) << domstate(lostDomain);

    // And the connection is a working one again: a call that needs the hypervisor succeeds.
    Clock::duration took{};
    EXPECT_EQ(callError(lost, "Delete", {}, took), "");
}

} // namespace
} // namespace hangar::e2e
