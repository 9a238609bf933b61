// Provisioning (cloud-init seed) through the real hangard on libvirt's test driver: CreateVM's provisioning keys,
// GetProvisioning, the summary properties, refusals that leave nothing behind, clones, and what survives a restart.
// Who may read GetProvisioning is asked of the real polkitd in polkit/ProvisioningPermissionsTest.cpp; the seed
// volume's content and its reaching a guest are proven by the e2e suite (the test driver keeps no volume data).
#include "DaemonFixture.h"

#include <fstream>
#include <gtest/gtest.h>

namespace hangar::it {
namespace {

constexpr const char* kInvalid = "org.hangar.Hangar1.Error.InvalidArgument";
const std::string kKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJqwpr9K2Tqh2ylR2zXUpWFH3oR+3aFUJv/IHTVTCIcv alice@laptop";
const std::string kHash = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7";

using Strings = std::vector<std::string>;
using Dicts = std::vector<Dict>;

Dict spec()
{
    Dict alice{{"name", sdbus::Variant(std::string("alice"))},
               {"ssh_authorized_keys", sdbus::Variant(Strings{kKey})},
               {"sudo", sdbus::Variant(true)},
               {"passwd", sdbus::Variant(kHash)}};
    Dict bob{{"name", sdbus::Variant(std::string("bob"))}};
    Dict motd{{"path", sdbus::Variant(std::string("/etc/motd"))},
              {"content", sdbus::Variant(std::string("hello\n"))},
              {"permissions", sdbus::Variant(std::string("0600"))}};
    return {{"hostname", sdbus::Variant(std::string("web-1"))},
            {"users", sdbus::Variant(Dicts{alice, bob})},
            {"packages", sdbus::Variant(Strings{"nginx", "git"})},
            {"runcmd", sdbus::Variant(Strings{"echo hi"})},
            {"write_files", sdbus::Variant(Dicts{motd})}};
}

class ProvisioningTest : public ConnectedDaemonFixture
{
protected:
    void restartDaemon()
    {
        disconnect();
        ASSERT_EQ(daemon->stop(), 0) << "SIGTERM must stop hangard cleanly";
        daemon.reset();
        startDaemon();
    }

    void expectSample(const Dict& got)
    {
        EXPECT_EQ(got.at("hostname").get<std::string>(), "web-1");
        const auto users = got.at("users").get<Dicts>();
        ASSERT_EQ(users.size(), 2U);
        EXPECT_EQ(users[0].at("name").get<std::string>(), "alice");
        EXPECT_EQ(users[0].at("ssh_authorized_keys").get<Strings>(), Strings{kKey});
        EXPECT_TRUE(users[0].at("sudo").get<bool>());
        EXPECT_EQ(users[0].at("passwd").get<std::string>(), kHash);
        EXPECT_EQ(users[1].at("name").get<std::string>(), "bob");
        EXPECT_FALSE(users[1].at("sudo").get<bool>());
        EXPECT_EQ(users[1].at("passwd").get<std::string>(), "");
        EXPECT_EQ(got.at("packages").get<Strings>(), (Strings{"nginx", "git"}));
        EXPECT_EQ(got.at("runcmd").get<Strings>(), Strings{"echo hi"});
        const auto files = got.at("write_files").get<Dicts>();
        ASSERT_EQ(files.size(), 1U);
        EXPECT_EQ(files[0].at("path").get<std::string>(), "/etc/motd");
        EXPECT_EQ(files[0].at("content").get<std::string>(), "hello\n");
        EXPECT_EQ(files[0].at("permissions").get<std::string>(), "0600");
    }
};

TEST_F(ProvisioningTest, CreateVm_WithProvisioningShowsTheSummaryAndGivesItBack)
{
    const std::string path = create("web", spec());
    EXPECT_EQ(vm(path).ProvisionedUsers(), (Strings{"alice", "bob"}));
    EXPECT_EQ(vm(path).ProvisionedPackages(), (Strings{"nginx", "git"}));
    expectSample(vm(path).GetProvisioning());

    // The audit log names users and packages, never keys or hashes.
    for (const auto& row : manager->GetEvents({})) {
        EXPECT_EQ(row.get<7>().find("AAAAC3"), std::string::npos) << row.get<7>();
        EXPECT_EQ(row.get<7>().find(kHash), std::string::npos) << row.get<7>();
    }

    // It is stored with the VM: a restarted hangard gives it back.
    restartDaemon();
    const std::string again = manager->GetVM("web");
    EXPECT_EQ(again, path);
    expectSample(vm(again).GetProvisioning());
    EXPECT_EQ(vm(again).ProvisionedUsers(), (Strings{"alice", "bob"}));
}

TEST_F(ProvisioningTest, CreateVm_WithoutProvisioningHasAnEmptyOne)
{
    const std::string path = create("plain");
    EXPECT_TRUE(vm(path).ProvisionedUsers().empty());
    EXPECT_TRUE(vm(path).ProvisionedPackages().empty());
    const Dict got = vm(path).GetProvisioning();
    EXPECT_EQ(got.at("hostname").get<std::string>(), "");
    EXPECT_TRUE(got.at("users").get<Dicts>().empty());
}

TEST_F(ProvisioningTest, CreateVm_RefusesBadProvisioningNamingTheFieldAndMakesNothing)
{
    struct Case
    {
        std::string key;
        sdbus::Variant value;
        std::string message;
    };
    const Dict badKeyUser{{"name", sdbus::Variant(std::string("alice"))},
                          {"ssh_authorized_keys", sdbus::Variant(Strings{kKey, "ssh-rsa AAAA"})}};
    const Dict plainPassword{{"name", sdbus::Variant(std::string("alice"))},
                             {"passwd", sdbus::Variant(std::string("hunter2"))}};
    const Dict unknownKey{{"name", sdbus::Variant(std::string("alice"))}, {"groups", sdbus::Variant(true)}};
    const Dict noPath{{"content", sdbus::Variant(std::string("x"))}};
    const std::vector<Case> cases{
        {"users", sdbus::Variant(Dicts{Dict{{"name", sdbus::Variant(std::string("ok"))}}, badKeyUser}),
         "users[1].ssh_authorized_keys[1]: not an OpenSSH public key"},
        {"users", sdbus::Variant(Dicts{plainPassword}), "users[0].passwd: not a crypt(3) password hash"},
        {"users", sdbus::Variant(Dicts{Dict{{"name", sdbus::Variant(std::string("root"))}}}),
         "users[0].name: 'root' is a system account"},
        {"users", sdbus::Variant(Dicts{unknownKey}), "unknown users[0] key 'groups'"},
        {"users", sdbus::Variant(Strings{"alice"}), "spec key 'users' must be of type"},
        {"packages", sdbus::Variant(Strings{"nginx; reboot"}), "packages[0]: a Debian or RPM package name"},
        {"hostname", sdbus::Variant(std::string("-x")), "hostname: an RFC 1123 host name"},
        {"write_files", sdbus::Variant(Dicts{noPath}), "write_files[0]: the key 'path' is required"},
        {"runcmd", sdbus::Variant(Strings(33, "true")), "runcmd: at most 32 entries, got 33"},
    };
    for (const auto& c : cases) {
        std::string message;
        EXPECT_EQ(errorOf([&] { create("bad", Dict{{c.key, c.value}}); }, &message), kInvalid) << c.message;
        EXPECT_NE(message.find(c.message), std::string::npos) << message;
    }
    EXPECT_EQ(vmCount(), 0U);
}

TEST_F(ProvisioningTest, Clone_KeepsTheProvisioning)
{
    const std::string source = create("web", spec());
    const std::string copy = vm(source).Clone("web-2", {});
    EXPECT_NE(copy, source);
    expectSample(vm(copy).GetProvisioning());
    EXPECT_EQ(vm(copy).ProvisionedUsers(), (Strings{"alice", "bob"}));
    vm(source).Delete({});
    expectSample(vm(copy).GetProvisioning()); // its own seed and record, not the source's
}

TEST_F(ProvisioningTest, Hangarctl_CreatesWithProvisioningAndShowsIt)
{
    const std::string keys = dir.path() + "/id.pub";
    const std::string motd = dir.path() + "/motd";
    std::ofstream(keys) << "# my keys\n" << kKey << "\n\n";
    std::ofstream(motd) << "welcome\n";
    const auto created = ctl({"create", "web", "--user", "alice:sudo", "--ssh-key", keys, "--user", "bob",
                              "--password-hash", "alice=" + kHash, "--package", "nginx,git", "--runcmd", "echo hi",
                              "--write-file", "/etc/motd=" + motd, "--hostname", "web-1"});
    ASSERT_EQ(created.exitCode, 0) << created.out << created.err;
    const auto got = ctlJson({"provisioning", "web"});
    EXPECT_EQ(got["hostname"], "web-1");
    EXPECT_EQ(got["users"][0]["name"], "alice");
    EXPECT_EQ(got["users"][0]["sudo"], true);
    EXPECT_EQ(got["users"][0]["ssh_authorized_keys"], nlohmann::json({kKey}));
    EXPECT_EQ(got["users"][0]["passwd"], kHash);
    EXPECT_EQ(got["users"][1]["name"], "bob");
    EXPECT_EQ(got["users"][1]["sudo"], false);
    EXPECT_EQ(got["packages"], nlohmann::json({"nginx", "git"}));
    EXPECT_EQ(got["runcmd"], nlohmann::json({"echo hi"}));
    EXPECT_EQ(got["write_files"][0]["content"], "welcome\n");

    const auto text = ctl({"provisioning", "web"});
    ASSERT_EQ(text.exitCode, 0) << text.err;
    EXPECT_NE(text.out.find("alice (sudo), password set"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find(kKey), std::string::npos) << text.out;

    // Refused by hangard, naming the field; a usage error for what the command line itself gets wrong.
    const auto badKey = ctl({"create", "bad", "--user", "carol", "--ssh-key", motd});
    EXPECT_NE(badKey.exitCode, 0);
    EXPECT_NE(badKey.err.find("users[0].ssh_authorized_keys[0]: not an OpenSSH public key"), std::string::npos)
        << badKey.err;
    const auto keyWithoutUser = ctl({"create", "bad", "--ssh-key", keys});
    EXPECT_NE(keyWithoutUser.exitCode, 0);
    EXPECT_NE(keyWithoutUser.err.find("--ssh-key needs a --user before it"), std::string::npos) << keyWithoutUser.err;
    EXPECT_EQ(vmCount(), 1U);
}

TEST_F(ProvisioningTest, Introspection_DeclaresGetProvisioningAndTheSummary)
{
    auto proxy = sdbus::createProxy(*connection, "org.hangar.Hangar1", create("web"));
    std::string xml;
    proxy->callMethod("Introspect").onInterface("org.freedesktop.DBus.Introspectable").storeResultsTo(xml);
    EXPECT_NE(xml.find("<method name=\"GetProvisioning\">"), std::string::npos);
    EXPECT_NE(xml.find("<property name=\"ProvisionedUsers\" type=\"as\" access=\"read\">"), std::string::npos);
    EXPECT_NE(xml.find("<property name=\"ProvisionedPackages\" type=\"as\" access=\"read\">"), std::string::npos);
}

} // namespace
} // namespace hangar::it
