// The cloud-init seed on a real libvirtd and QEMU (issue 13): a VM created with a user, an SSH key and a package
// boots the tiny guest, whose /init finds the CD-ROM labelled cidata, mounts it and prints its meta-data and
// user-data on the serial console (make-guest.sh); the seed volume is a file of hangard's pool, a clone gets its own
// with its own instance-id, and Delete removes both. Runs before ImageE2eTest.cpp (whose last test restarts hangard).
#include "E2eWorld.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace hangar::e2e {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSeedEnd = "HANGAR-E2E-SEED-END";
const std::string kKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJqwpr9K2Tqh2ylR2zXUpWFH3oR+3aFUJv/IHTVTCIcv alice@laptop";

class ProvisioningE2e : public E2eFixture
{
protected:
    static Dict seededSpec()
    {
        Dict spec = guestSpec();
        Dict alice{{"name", sdbus::Variant(std::string("alice"))},
                   {"sudo", sdbus::Variant(true)},
                   {"ssh_authorized_keys", sdbus::Variant(std::vector<std::string>{kKey})}};
        spec["users"] = sdbus::Variant(std::vector<Dict>{alice});
        spec["packages"] = sdbus::Variant(std::vector<std::string>{"nginx"});
        return spec;
    }

    std::string fileText(const std::string& path)
    {
        std::ifstream in(path, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        return text.str();
    }
};

TEST_F(ProvisioningE2e, TheSeedReachesTheGuestAndGoesWithTheVm)
{
    const std::string name = "e2e-seeded";
    const std::string path = bootVm(name, seededSpec());
    const std::string uuid = client().vmProperty(path, "UUID").get<std::string>();
    const std::string seedFile = m_world->poolDir() + "/vm-" + uuid + "-seed.iso";
    ASSERT_TRUE(std::filesystem::exists(seedFile)) << "no seed volume " << seedFile;

    // The live definition has it as a read-only CD-ROM.
    const auto xml = libvirtd().virsh({"dumpxml", domainOf(path)});
    EXPECT_NE(xml.out.find("volume='vm-" + uuid + "-seed.iso'"), std::string::npos) << xml.out;

    int fd = -1;
    try {
        fd = client().openConsole(path, Dict{{"force", sdbus::Variant(true)}});
    } catch (const sdbus::Error& e) {
        FAIL() << "VM.OpenConsole failed: " << describe(e);
    }
    const auto start = Clock::now();
    // A whole round: from one end marker to the next.
    std::string seen = readUntil(fd, kSeedEnd, kMarkerDeadline);
    ASSERT_NE(seen.find(kSeedEnd), std::string::npos) << "the guest printed no seed within " << kMarkerDeadline.count()
                                                      << " s; read: " << seen << diagnostics(domainOf(path));
    seen = readUntil(fd, kSeedEnd, 20s);
    close(fd);
    std::cout << "[          ] seed on the console after " << secondsSince(start) << " s\n";
    EXPECT_NE(seen.find("HANGAR-E2E-SEED meta-data: instance-id: \"" + uuid + "\""), std::string::npos) << seen;
    EXPECT_NE(seen.find("HANGAR-E2E-SEED meta-data: local-hostname: \"" + name + "\""), std::string::npos) << seen;
    EXPECT_NE(seen.find("HANGAR-E2E-SEED user-data: #cloud-config"), std::string::npos) << seen;
    EXPECT_NE(seen.find("HANGAR-E2E-SEED user-data:   - name: \"alice\""), std::string::npos) << seen;
    EXPECT_NE(seen.find("\"" + kKey + "\""), std::string::npos) << seen;
    EXPECT_NE(seen.find("HANGAR-E2E-SEED user-data:   - \"nginx\""), std::string::npos) << seen;

    // A clone (of the stopped VM) has a seed of its own, with its own instance-id.
    client().vmCall(path, "Stop", Dict{{"force", sdbus::Variant(true)}});
    ASSERT_TRUE(it::waitFor([&] { return client().vmProperty(path, "State").get<std::string>() == "stopped"; }, 30s));
    const auto cloned = m_world->hangarctl({"clone", name, "e2e-seeded-copy"});
    ASSERT_EQ(cloned.exitCode, 0) << cloned.out << cloned.err;
    const auto found = client().findVm("e2e-seeded-copy");
    ASSERT_TRUE(found.has_value());
    const std::string copy = *found;
    own(copy);
    const std::string copyUuid = client().vmProperty(copy, "UUID").get<std::string>();
    const std::string copySeed = m_world->poolDir() + "/vm-" + copyUuid + "-seed.iso";
    ASSERT_TRUE(std::filesystem::exists(copySeed));
    EXPECT_NE(fileText(copySeed).find("instance-id: \"" + copyUuid + "\""), std::string::npos);
    EXPECT_EQ(fileText(copySeed).find(uuid), std::string::npos) << "the clone's seed names the source";
    EXPECT_NE(fileText(seedFile).find("instance-id: \"" + uuid + "\""), std::string::npos);

    // Delete takes each VM's seed with it.
    for (const auto& [vm, file] : {std::pair{path, seedFile}, std::pair{copy, copySeed}}) {
        client().vmCall(vm, "Delete", Dict{{"force", sdbus::Variant(true)}});
        EXPECT_FALSE(std::filesystem::exists(file)) << file << " is left behind";
    }
    m_ownVms.clear();
}

} // namespace
} // namespace hangar::e2e
