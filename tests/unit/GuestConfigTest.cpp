// The configuration keys for real guests: [Daemon] domain_type and [Guest] boot_dir.
#include "XmlTestSupport.h"
#include "service/Config.h"

#include <gtest/gtest.h>
#include <stdexcept>

namespace hangar::service {
namespace {

using testing::TempDir;

// What loadConfig refuses the file with, "" when it loads.
std::string loadError(const std::string& path, const ConfigOverrides& overrides = {})
{
    try {
        loadConfig(path, overrides);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return {};
}

TEST(GuestConfig, Defaults_AutoDetectAndBootDirUnderTheStateDir)
{
    const Config config = loadConfig("/nonexistent/hangard.conf", {});
    EXPECT_EQ(config.domainType, "auto");
    EXPECT_EQ(config.bootDir, "/var/lib/hangar/boot");
    ConfigOverrides overrides;
    overrides.stateDir = "/tmp/hangar-state";
    EXPECT_EQ(loadConfig("", overrides).bootDir, "/tmp/hangar-state/boot") << "follows --state-dir";
}

TEST(GuestConfig, File_SetsDomainTypeAndBootDir)
{
    const TempDir dir;
    const auto file = dir.file("hangard.conf", "[Daemon]\ndomain_type = qemu\n[Guest]\nboot_dir = /srv/kernels\n");
    const Config config = loadConfig(file.string(), {});
    EXPECT_EQ(config.domainType, "qemu");
    EXPECT_EQ(config.bootDir, "/srv/kernels");
}

TEST(GuestConfig, File_RefusesBadValues)
{
    const TempDir dir;
    EXPECT_NE(loadError(dir.file("a.conf", "[Daemon]\ndomain_type = xen\n").string()).find("domain_type"),
              std::string::npos);
    EXPECT_NE(loadError(dir.file("b.conf", "[Guest]\nboot_dir = relative/boot\n").string()).find("boot_dir"),
              std::string::npos);
    EXPECT_NE(loadError(dir.file("c.conf", "[Guest]\nkernel_dir = /x\n").string()).find("unknown key"),
              std::string::npos);
}

} // namespace
} // namespace hangar::service
