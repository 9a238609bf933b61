// Direct kernel boot without images: which file names a spec may give, the command line's limits, and that
// CreateVM accepts only files that are really in the boot directory — checked after authorization, before anything
// is stored or defined.
#include "ErrorTestSupport.h"
#include "XmlTestSupport.h"
#include "core/BootDirectory.h"
#include "core/ImageManager.h"
#include "core/Jobs.h"
#include "core/Validation.h"
#include "core/VmManager.h"
#include "fakes/CoreFakes.h"
#include "fakes/FakeHypervisor.h"
#include "fakes/FakeStorage.h"
#include "store/SqliteStore.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace hangar {
namespace {

using testing::FakeAuthorizer;
using testing::FakeExecutor;
using testing::TempDir;

using testing::errorOf;

TEST(KernelBoot, BootFileName_AcceptsPlainFileNames)
{
    for (const char* good :
         {"vmlinuz", "vmlinuz-6.1.0-56-amd64", "initrd.img-6.1.0-56-amd64", "bzImage", "tiny_initrd.cpio.gz", "0", "A"})
        EXPECT_FALSE(errorOf([&] { validateBootFileName("kernel", good); })) << good;
    EXPECT_FALSE(errorOf([] { validateBootFileName("kernel", std::string(128, 'k')); }));
}

TEST(KernelBoot, BootFileName_RefusesPathsAndOddNames)
{
    for (const char* bad : {"", "../vmlinuz", "..", ".", "a/b", "/boot/vmlinuz", "x..y", ".hidden", "-v", "_x",
                            "sp ace", "tab\t", "new\nline", "ünï", "a\\b", "*"}) {
        const auto error = errorOf([&] { validateBootFileName("initrd", bad); });
        ASSERT_TRUE(error) << bad;
        EXPECT_EQ(error->code(), ErrorCode::InvalidArgument);
        EXPECT_NE(std::string(error->what()).find("initrd"), std::string::npos) << "names the key: " << error->what();
    }
    EXPECT_TRUE(errorOf([] { validateBootFileName("kernel", std::string(129, 'k')); }));
}

TEST(KernelBoot, Spec_CmdlineIsPrintableAsciiUpTo1024)
{
    VmSpecRequest request;
    request.kernel = "vmlinuz";
    request.cmdline = std::string(1024, 'c');
    EXPECT_EQ(validateSpec(request).cmdline.size(), 1024U);
    request.cmdline = std::string(1025, 'c');
    EXPECT_TRUE(errorOf([&] { validateSpec(request); }));
    for (const char* bad : {"a\nb", "tab\there", "bell\x07", "\x7f", "ünï"}) {
        request.cmdline = bad;
        EXPECT_TRUE(errorOf([&] { validateSpec(request); })) << bad;
    }
    request.cmdline = "console=ttyS0 init=/init quiet x=\"<&>\"";
    EXPECT_EQ(validateSpec(request).cmdline, *request.cmdline);
}

TEST(KernelBoot, Spec_InitrdAndCmdlineNeedAKernel)
{
    VmSpecRequest request;
    request.initrd = "initrd.img";
    EXPECT_TRUE(errorOf([&] { validateSpec(request); }));
    request = {};
    request.cmdline = "console=ttyS0";
    EXPECT_TRUE(errorOf([&] { validateSpec(request); }));
    request.kernel = "";
    EXPECT_TRUE(errorOf([&] { validateSpec(request); })) << "an empty kernel is no kernel";
    request = {};
    request.kernel = "";
    EXPECT_EQ(validateSpec(request).kernel, "");
}

TEST(KernelBoot, BootDirectory_RequiresRegularFilesInTheDirectory)
{
    const TempDir dir;
    dir.file("vmlinuz", "kernel");
    dir.file("initrd.img", "initrd");
    std::filesystem::create_directory(dir.path() / "subdir");
    const BootDirectory boot(dir.path().string());
    VmSpec spec;
    EXPECT_FALSE(errorOf([&] { boot.requireFiles(spec); })) << "no kernel, nothing to check";
    spec.kernel = "vmlinuz";
    spec.initrd = "initrd.img";
    EXPECT_FALSE(errorOf([&] { boot.requireFiles(spec); }));
    EXPECT_EQ(boot.path("vmlinuz"), (dir.path() / "vmlinuz").string());

    spec.initrd = "missing.img";
    auto error = errorOf([&] { boot.requireFiles(spec); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(error->what()).find("initrd 'missing.img'"), std::string::npos) << error->what();
    spec.initrd.clear();
    spec.kernel = "subdir";
    EXPECT_TRUE(errorOf([&] { boot.requireFiles(spec); })) << "a directory is not a kernel";
    spec.kernel = "../vmlinuz";
    EXPECT_TRUE(errorOf([&] { boot.requireFiles(spec); }));
    spec.kernel = "vmlinuz";
    EXPECT_TRUE(errorOf([&] { BootDirectory().requireFiles(spec); })) << "no boot directory configured";
}

class KernelBootCreateTest : public ::testing::Test
{
protected:
    KernelBootCreateTest()
    {
        m_dir.file("vmlinuz", "kernel");
        m_dir.file("initrd.img", "initrd");
    }

    Outcome<std::string> create(const std::string& name, VmSpecRequest spec)
    {
        Caller caller;
        caller.uid = 1001;
        caller.busName = ":1.1";
        std::optional<Outcome<std::string>> result;
        manager.create(caller, name, spec, [&](Outcome<std::string> o) { result.emplace(std::move(o)); });
        executor.drain();
        EXPECT_TRUE(result.has_value());
        return result ? *result : Outcome<std::string>(Error(ErrorCode::Cancelled, "no outcome"));
    }

    const TempDir m_dir;
    store::SqliteStore store{":memory:"};
    testing::FakeHypervisor hypervisor;
    FakeAuthorizer authorizer;
    FakeExecutor executor;
    Inventory inventory;
    AuditLog audit{store, executor};
    QuotaManager quotas{inventory, store, authorizer, audit, QuotaLimits{}};
    testing::FakeStorage storage;
    JobManager jobs{executor, authorizer};
    ImageManager images{inventory, store, storage, authorizer, executor, audit, jobs, quotas, 1ULL << 40U};
    VmManager manager{inventory,
                      store,
                      hypervisor,
                      storage,
                      images,
                      authorizer,
                      executor,
                      audit,
                      quotas,
                      "local",
                      BootDirectory(m_dir.path().string())};
};

TEST_F(KernelBootCreateTest, CreateVm_StoresAndDefinesTheKernelBootFields)
{
    VmSpecRequest spec;
    spec.kernel = "vmlinuz";
    spec.initrd = "initrd.img";
    spec.cmdline = "console=ttyS0";
    const auto outcome = create("tiny", spec);
    ASSERT_TRUE(outcome.ok()) << outcome.error().what();
    const auto rows = store.loadVms();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].spec.kernel, "vmlinuz");
    EXPECT_EQ(rows[0].spec.initrd, "initrd.img");
    EXPECT_EQ(rows[0].spec.cmdline, "console=ttyS0");
    const auto defined = hypervisor.metadata(outcome.value());
    ASSERT_TRUE(defined.has_value());
    EXPECT_EQ(defined->spec.kernel, "vmlinuz") << "the hypervisor is given the fields to build <os> from";
}

TEST_F(KernelBootCreateTest, CreateVm_MissingKernelIsInvalidArgumentNamingItAndChangesNothing)
{
    VmSpecRequest spec;
    spec.kernel = "vmlinuz-missing";
    const auto outcome = create("tiny", spec);
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.error().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(outcome.error().what()).find("vmlinuz-missing"), std::string::npos);
    EXPECT_NE(std::string(outcome.error().what()).find(m_dir.path().string()), std::string::npos)
        << "says where it looked: " << outcome.error().what();
    EXPECT_TRUE(store.loadVms().empty());
    EXPECT_EQ(hypervisor.calls("define"), 0);
    EXPECT_EQ(inventory.all().size(), 0U);
    const auto events = store.events(EventFilter{});
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].action, "create");
    EXPECT_EQ(events[0].outcome, "InvalidArgument");
}

TEST_F(KernelBootCreateTest, CreateVm_PathAsKernelIsRefusedBeforeAuthorization)
{
    VmSpecRequest spec;
    spec.kernel = "../../etc/shadow";
    const auto outcome = create("tiny", spec);
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.error().code(), ErrorCode::InvalidArgument);
    EXPECT_TRUE(authorizer.requests.empty()) << "a malformed spec is refused before polkit is asked";
}

TEST_F(KernelBootCreateTest, CreateVm_WhoMayNotCreateCannotProbeTheBootDirectory)
{
    authorizer.denied[Action::CreateVm] = true;
    VmSpecRequest spec;
    spec.kernel = "vmlinuz-missing";
    const auto missing = create("a", spec);
    spec.kernel = "vmlinuz";
    const auto present = create("b", spec);
    ASSERT_FALSE(missing.ok());
    ASSERT_FALSE(present.ok());
    EXPECT_EQ(missing.error().code(), ErrorCode::PermissionDenied);
    EXPECT_EQ(present.error().code(), ErrorCode::PermissionDenied);
}

} // namespace
} // namespace hangar
