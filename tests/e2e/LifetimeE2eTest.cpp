// VMs that delete themselves, on the real libvirtd with the tiny guest (issue 13 item 4): an ephemeral VM goes once
// its guest powers itself off (nobody calls Stop: the guest runs `poweroff -f`, asked through its QEMU guest agent);
// a running VM created with a TTL of a few seconds is powered off and deleted by hangard's expiry timer; and an
// expiry that passes while hangard is down (SIGKILL) is carried out when it starts again. Each checks that nothing
// is left: no D-Bus object, no libvirt domain, no volume file naming the VM in the pool, and an audit line saying
// why. Its source is last in hangar_e2e_tests: the restart test kills hangard (ImageVmE2eTest's last test does too).
#include "E2eWorld.h"

#include <algorithm>
#include <chrono>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace hangar::e2e {
namespace {

using namespace std::chrono_literals;

class LifetimeE2e : public E2eFixture
{
protected:
    std::string uuidOf(const std::string& path) { return client().vmProperty(path, "UUID").get<std::string>(); }

    // The VM named name is gone from the bus, libvirt and the pool within deadline; a failed expectation says which.
    void expectGoneEverywhere(const std::string& name, const std::string& uuid, std::chrono::seconds deadline)
    {
        const bool gone = it::waitFor([&] { return !client().findVm(name); }, deadline);
        ASSERT_TRUE(gone) << name << " is still on the bus after " << deadline.count() << " s" << diagnostics(uuid);
        EXPECT_NE(libvirtd().virsh({"dominfo", uuid}).exitCode, 0) << "libvirt still has the domain";
        const auto files = m_world->poolFiles();
        EXPECT_TRUE(std::none_of(files.begin(), files.end(), [&](const std::string& f) {
            return f.find(uuid) != std::string::npos;
        })) << "a volume naming the VM is left in the pool";
    }

    // The audit log's delete line for the VM (by UUID: the name is gone), as hangarctl shows it.
    nlohmann::json deleteEvent(const std::string& uuid)
    {
        const auto r = m_world->hangarctl({"events", "--vm", uuid, "--json"});
        if (r.exitCode != 0)
            throw std::runtime_error("hangarctl events failed: " + r.err);
        for (const auto& event : nlohmann::json::parse(r.out))
            if (event.at("action") == "delete")
                return event;
        return nullptr;
    }

    static Dict with(Dict spec, const std::string& key, sdbus::Variant value)
    {
        spec[key] = std::move(value);
        return spec;
    }
};

TEST_F(LifetimeE2e, HangarctlCreatesEphemeralWithTtlListsItChangesExpiryAndResources)
{
    const auto created = m_world->hangarctl(
        {"create", "e2e-cli-life", "--cpus", "1", "--memory", "128M", "--disk", "1G", "--ephemeral", "--ttl", "2h"});
    ASSERT_EQ(created.exitCode, 0) << created.out << created.err;
    const auto path = client().findVm("e2e-cli-life");
    ASSERT_TRUE(path);
    own(*path);
    EXPECT_TRUE(client().vmProperty(*path, "Ephemeral").get<bool>());

    auto list = m_world->hangarctl({"list", "-o", "name,lifetime"});
    EXPECT_TRUE(list.out.find("ephemeral, expires in 2h") != std::string::npos ||
                list.out.find("ephemeral, expires in 1h 59m") != std::string::npos)
        << list.out;
    const auto never = m_world->hangarctl({"expire", "e2e-cli-life", "never"});
    EXPECT_EQ(never.exitCode, 0) << never.err;
    EXPECT_EQ(client().vmProperty(*path, "ExpiresAt").get<std::uint64_t>(), 0U);
    list = m_world->hangarctl({"list", "-q", "-o", "name,lifetime"});
    EXPECT_NE(list.out.find("e2e-cli-life  ephemeral"), std::string::npos) << list.out;
    EXPECT_EQ(list.out.find("expires"), std::string::npos) << list.out;

    // set: vCPUs, memory and a bigger disk on the real storage pool (the volume grows).
    const auto set = m_world->hangarctl({"set", "e2e-cli-life", "--cpus", "2", "--memory", "256M", "--disk", "2G"});
    ASSERT_EQ(set.exitCode, 0) << set.out << set.err;
    EXPECT_EQ(client().vmProperty(*path, "VCPUs").get<std::uint32_t>(), 2U);
    EXPECT_EQ(client().vmProperty(*path, "MemoryMiB").get<std::uint64_t>(), 256U);
    EXPECT_EQ(client().vmProperty(*path, "DiskGiB").get<std::uint64_t>(), 2U);
    const auto uuid = uuidOf(*path);
    const auto vol = libvirtd().virsh({"vol-info", "--pool", kPoolName, "vm-" + uuid + ".qcow2"});
    EXPECT_NE(vol.out.find("2.00 GiB"), std::string::npos) << vol.out << vol.err;
    const auto shrink = m_world->hangarctl({"set", "e2e-cli-life", "--disk", "1G"});
    EXPECT_NE(shrink.exitCode, 0);
    EXPECT_NE(shrink.err.find("--disk"), std::string::npos) << "the CLI names its flag: " << shrink.err;
}

TEST_F(LifetimeE2e, EphemeralVmIsDeletedAfterItsGuestPowersItselfOff)
{
    const std::string name = "e2e-ephemeral";
    const std::string path = bootVm(name, with(guestSpec(), "ephemeral", sdbus::Variant(true)));
    const std::string uuid = uuidOf(path);
    EXPECT_TRUE(client().vmProperty(path, "Ephemeral").get<bool>());
    ASSERT_TRUE(client().waitState(path, "agent:true", 0, 90s))
        << "the guest agent never connected; seen: " << client().statesSince(path, 0) << diagnostics(domainOf(path));

    // The guest powers itself off; the Exec job itself may end either way (the agent dies with the guest), and the
    // call may even fail when the guest goes before its agent answered guest-exec (BackendFailure, "End of file from
    // agent socket"): what counts is what follows.
    try {
        exec(path, {"/bin/poweroff", "-f"});
    } catch (const sdbus::Error& e) {
        EXPECT_NE(std::string(e.getMessage()).find("agent"), std::string::npos) << describe(e);
    }

    expectGoneEverywhere(name, uuid, 60s);
    const auto event = deleteEvent(uuid);
    ASSERT_FALSE(event.is_null()) << "no delete line in the audit log";
    EXPECT_EQ(event.at("uid"), 0) << "the deletion is the daemon's";
    EXPECT_NE(event.at("message").get<std::string>().find("ephemeral"), std::string::npos) << event.dump();
}

TEST_F(LifetimeE2e, TtlOfAFewSecondsPowersOffAndDeletesARunningVm)
{
    const std::string name = "e2e-ttl";
    const auto created = std::chrono::system_clock::now();
    const std::string path = bootVm(name, with(guestSpec(), "ttl_sec", sdbus::Variant(std::uint64_t{12})));
    const std::string uuid = uuidOf(path);
    const auto expiresAt = client().vmProperty(path, "ExpiresAt").get<std::uint64_t>();
    const auto createdSec = std::chrono::duration_cast<std::chrono::seconds>(created.time_since_epoch()).count();
    EXPECT_GE(static_cast<std::int64_t>(expiresAt), createdSec + 11);
    EXPECT_LE(static_cast<std::int64_t>(expiresAt), createdSec + 14);
    ASSERT_EQ(client().state(path), "running") << "the VM must be running before its TTL passes for this test";

    expectGoneEverywhere(name, uuid, 60s);
    const auto deletedAt = std::chrono::system_clock::now();
    EXPECT_GE(std::chrono::duration_cast<std::chrono::seconds>(deletedAt.time_since_epoch()).count(),
              static_cast<std::int64_t>(expiresAt))
        << "deleted before ExpiresAt";
    const auto event = deleteEvent(uuid);
    ASSERT_FALSE(event.is_null()) << "no delete line in the audit log";
    EXPECT_EQ(event.at("uid"), 0);
    EXPECT_NE(event.at("message").get<std::string>().find("expired"), std::string::npos) << event.dump();
}

TEST_F(LifetimeE2e, ExpiryThatPassesWhileHangardIsDownIsCarriedOutAtItsStart)
{
    const std::string name = "e2e-expires-offline";
    const std::string path = bootVm(name, guestSpec());
    const std::string uuid = uuidOf(path);
    const auto now = std::chrono::system_clock::now();
    const auto expiresAt = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + 3);
    client()
        .proxy(path)
        ->callMethod("SetExpiry")
        .onInterface(kVmIface)
        .withTimeout(30s)
        .withArguments(expiresAt, Dict{});
    ASSERT_EQ(client().vmProperty(path, "ExpiresAt").get<std::uint64_t>(), expiresAt);

    m_world->killHangard();
    // hangard is down until the expiry has passed (a wait on the clock, which is what the test is about).
    ASSERT_TRUE(it::waitFor(
        [&] {
            const auto t = std::chrono::system_clock::now().time_since_epoch();
            return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(t).count()) > expiresAt;
        },
        10s));
    EXPECT_EQ(libvirtd().virsh({"domstate", uuid}).out.find("running"), 0U)
        << "the guest keeps running while hangard is down";
    m_world->startHangard();

    expectGoneEverywhere(name, uuid, 60s);
    const auto event = deleteEvent(uuid);
    ASSERT_FALSE(event.is_null()) << "no delete line in the audit log";
    EXPECT_NE(event.at("message").get<std::string>().find("expired"), std::string::npos) << event.dump();
}

} // namespace
} // namespace hangar::e2e
