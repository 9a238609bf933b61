// LibvirtHypervisor's domains on the test driver: define (what the XML and the metadata block carry), listDomains,
// the lifecycle and its errors, undefine, updateMetadata, and calls from many worker threads at once.
#include "LibvirtHypervisorFixture.h"

#include <atomic>
#include <libvirt/virterror.h>

namespace hangar::virt {
namespace {

TEST_F(LibvirtHypervisorTest, Uri_IsTheOneGiven)
{
    EXPECT_EQ(m_hypervisor->uri(), kTestUri);
}

TEST_F(LibvirtHypervisorTest, Define_ListDomainsShowsRecordFromMetadata)
{
    const auto vm = defineVm("web-1");
    const auto info = listed(vm.uuid);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->state, DomainState::Stopped);
    ASSERT_TRUE(info->record.has_value());
    EXPECT_EQ(*info->record, vm);
}

TEST_F(LibvirtHypervisorTest, Define_NamesDomainAfterUuidAndTitlesItWithName)
{
    const auto vm = defineVm("web-1");
    const std::unique_ptr<virDomain, DomainFreer> dom(virDomainLookupByUUIDString(m_raw.get(), vm.uuid.c_str()));
    ASSERT_TRUE(dom);
    EXPECT_EQ(std::string(virDomainGetName(dom.get())), "hangar-" + vm.uuid);
    EXPECT_NE(rawXml(vm.uuid).find("<hangar:name>web-1</hangar:name>"), std::string::npos) << rawXml(vm.uuid);
    EXPECT_EQ(rawMetadata(vm.uuid, VIR_DOMAIN_METADATA_TITLE), "web-1");
    EXPECT_EQ(rawMetadata(vm.uuid, VIR_DOMAIN_METADATA_DESCRIPTION), "a test VM");
}

TEST_F(LibvirtHypervisorTest, Define_KeepsAwkwardTextIntact)
{
    auto vm = record("x<y>&'\"z");
    vm.spec.description = "<b>bold</b> & 'quotes' \"too\" — ünïcødé 日本語\nline two";
    m_hypervisor->define(vm);
    m_defined.push_back(vm.uuid);
    const auto info = listed(vm.uuid);
    ASSERT_TRUE(info && info->record);
    EXPECT_EQ(info->record->name, vm.name);
    EXPECT_EQ(info->record->spec.description, vm.spec.description);
}

TEST_F(LibvirtHypervisorTest, ListDomains_ForeignDomainHasNoRecord)
{
    // test:///default comes with a running domain called "test" that Hangar did not create.
    const std::unique_ptr<virDomain, DomainFreer> foreign(virDomainLookupByName(m_raw.get(), "test"));
    ASSERT_TRUE(foreign);
    char uuid[VIR_UUID_STRING_BUFLEN];
    ASSERT_EQ(virDomainGetUUIDString(foreign.get(), uuid), 0);
    const auto info = listed(uuid);
    ASSERT_TRUE(info.has_value());
    EXPECT_FALSE(info->record.has_value());
    EXPECT_EQ(info->state, DomainState::Running);
}

TEST_F(LibvirtHypervisorTest, Define_DuplicateUuid_ThrowsAlreadyExists)
{
    const auto vm = defineVm("web-1");
    auto again = vm;
    again.name = "web-2";
    const auto error = errorOf([&] { m_hypervisor->define(again); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::AlreadyExists);
    EXPECT_EQ(listed(vm.uuid)->record->name, "web-1"); // not silently redefined
}

TEST_F(LibvirtHypervisorTest, Define_NameTakenByAnotherUuid_ThrowsAlreadyExists)
{
    const auto vm = record("web-1");
    const auto squatter = freshUuid();
    const std::string xml = "<domain type='test'><name>hangar-" + vm.uuid + "</name><uuid>" + squatter +
                            "</uuid><memory unit='MiB'>128</memory><os><type>hvm</type></os></domain>";
    const std::unique_ptr<virDomain, DomainFreer> dom(virDomainDefineXML(m_raw.get(), xml.c_str()));
    ASSERT_TRUE(dom);
    m_defined.push_back(squatter);
    const auto error = errorOf([&] { m_hypervisor->define(vm); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::AlreadyExists);
}

TEST_F(LibvirtHypervisorTest, Define_MalformedUuid_ThrowsInvalidArgument)
{
    auto vm = record("web-1");
    vm.uuid = "not-a-uuid";
    const auto error = errorOf([&] { m_hypervisor->define(vm); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::InvalidArgument);
}

TEST_F(LibvirtHypervisorTest, UnknownUuid_ThrowsNotFound)
{
    const auto uuid = freshUuid();
    for (const auto& call : std::vector<std::function<void()>>{
             [&] { m_hypervisor->undefine(uuid); }, [&] { m_hypervisor->start(uuid); },
             [&] { m_hypervisor->state(uuid); }, [&] { m_hypervisor->updateMetadata(record("x")); }}) {
        const auto error = errorOf(call);
        ASSERT_TRUE(error);
        EXPECT_EQ(error->code(), ErrorCode::NotFound) << error->what();
    }
    const auto error = errorOf([&] { m_hypervisor->undefine(uuid); });
    EXPECT_EQ(std::string(error->what()), "no domain with UUID " + uuid);
}

TEST_F(LibvirtHypervisorTest, Lifecycle_ChangesState)
{
    const auto uuid = defineVm("web-1").uuid;
    EXPECT_EQ(m_hypervisor->state(uuid), DomainState::Stopped);
    m_hypervisor->start(uuid);
    EXPECT_EQ(m_hypervisor->state(uuid), DomainState::Running);
    m_hypervisor->suspend(uuid);
    EXPECT_EQ(m_hypervisor->state(uuid), DomainState::Paused);
    m_hypervisor->resume(uuid);
    EXPECT_EQ(m_hypervisor->state(uuid), DomainState::Running);
    m_hypervisor->reboot(uuid);
    EXPECT_EQ(m_hypervisor->state(uuid), DomainState::Running);
    m_hypervisor->shutdown(uuid); // the test driver's guests obey at once
    EXPECT_EQ(m_hypervisor->state(uuid), DomainState::Stopped);
    m_hypervisor->start(uuid);
    m_hypervisor->destroy(uuid);
    EXPECT_EQ(m_hypervisor->state(uuid), DomainState::Stopped);
    m_hypervisor->undefine(uuid);
    EXPECT_FALSE(listed(uuid).has_value());
}

TEST_F(LibvirtHypervisorTest, Start_WhenRunning_ThrowsBusyWithLibvirtReason)
{
    const auto uuid = defineVm("web-1").uuid;
    m_hypervisor->start(uuid);
    const auto error = errorOf([&] { m_hypervisor->start(uuid); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::Busy);
    EXPECT_NE(std::string(error->what()).find("already running"), std::string::npos) << error->what();
    EXPECT_NE(std::string(error->what()).find(uuid), std::string::npos) << error->what();
}

TEST_F(LibvirtHypervisorTest, StoppedDomain_PauseAndShutdownThrowBusy)
{
    const auto uuid = defineVm("web-1").uuid;
    for (const auto& call :
         std::vector<std::function<void()>>{[&] { m_hypervisor->suspend(uuid); }, [&] { m_hypervisor->shutdown(uuid); },
                                            [&] { m_hypervisor->destroy(uuid); }}) {
        const auto error = errorOf(call);
        ASSERT_TRUE(error);
        EXPECT_EQ(error->code(), ErrorCode::Busy) << error->what();
    }
}

TEST_F(LibvirtHypervisorTest, Undefine_WhenRunning_ThrowsBusyAndKeepsDomain)
{
    const auto uuid = defineVm("web-1").uuid;
    m_hypervisor->start(uuid);
    const auto error = errorOf([&] { m_hypervisor->undefine(uuid); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::Busy);
    const std::unique_ptr<virDomain, DomainFreer> dom(virDomainLookupByUUIDString(m_raw.get(), uuid.c_str()));
    ASSERT_TRUE(dom);
    EXPECT_EQ(virDomainIsPersistent(dom.get()), 1);
}

TEST_F(LibvirtHypervisorTest, Undefine_RemovesDomainWithSnapshots)
{
    const auto uuid = defineVm("web-1").uuid;
    const std::unique_ptr<virDomain, DomainFreer> dom(virDomainLookupByUUIDString(m_raw.get(), uuid.c_str()));
    ASSERT_TRUE(dom);
    virDomainSnapshotPtr snapshot =
        virDomainSnapshotCreateXML(dom.get(), "<domainsnapshot><name>s1</name></domainsnapshot>", 0);
    ASSERT_NE(snapshot, nullptr);
    virDomainSnapshotFree(snapshot);
    m_hypervisor->undefine(uuid);
    EXPECT_FALSE(listed(uuid).has_value());
}
TEST_F(LibvirtHypervisorTest, UpdateMetadata_ListDomainsShowsNewName)
{
    auto vm = defineVm("web-1");
    vm.name = "frontend";
    vm.spec.description = "renamed & <described>";
    m_hypervisor->updateMetadata(vm);
    const auto info = listed(vm.uuid);
    ASSERT_TRUE(info && info->record);
    EXPECT_EQ(info->record->name, "frontend");
    EXPECT_EQ(info->record->spec.description, "renamed & <described>");
    EXPECT_EQ(rawMetadata(vm.uuid, VIR_DOMAIN_METADATA_TITLE), "frontend");
    EXPECT_EQ(rawMetadata(vm.uuid, VIR_DOMAIN_METADATA_DESCRIPTION), "renamed & <described>");
    // Stored bound to Hangar's namespace, as in the definition written at define time.
    EXPECT_NE(rawXml(vm.uuid).find("<hangar:name>frontend</hangar:name>"), std::string::npos) << rawXml(vm.uuid);
}

TEST_F(LibvirtHypervisorTest, UpdateMetadata_WhileRunning_ChangesLiveAndPersistentDefinition)
{
    auto vm = defineVm("web-1");
    m_hypervisor->start(vm.uuid);
    vm.name = "frontend";
    m_hypervisor->updateMetadata(vm);
    EXPECT_EQ(listed(vm.uuid)->record->name, "frontend");
    EXPECT_EQ(rawMetadata(vm.uuid, VIR_DOMAIN_METADATA_TITLE, VIR_DOMAIN_AFFECT_LIVE), "frontend");
    EXPECT_EQ(rawMetadata(vm.uuid, VIR_DOMAIN_METADATA_TITLE, VIR_DOMAIN_AFFECT_CONFIG), "frontend");
    m_hypervisor->destroy(vm.uuid);
    EXPECT_EQ(listed(vm.uuid)->record->name, "frontend");
}

TEST_F(LibvirtHypervisorTest, UpdateMetadata_EmptyDescriptionRemovesIt)
{
    auto vm = defineVm("web-1");
    vm.spec.description.clear();
    m_hypervisor->updateMetadata(vm);
    EXPECT_EQ(listed(vm.uuid)->record->spec.description, "");
    EXPECT_EQ(rawMetadata(vm.uuid, VIR_DOMAIN_METADATA_DESCRIPTION), "(none)");
}

TEST_F(LibvirtHypervisorTest, ConcurrentCallsFromWorkerThreads_AllSucceed)
{
    constexpr int kThreads = 4;
    std::vector<VmRecord> vms;
    vms.reserve(kThreads);
    for (int i = 0; i < kThreads; ++i)
        vms.push_back(record("vm-" + std::to_string(i)));
    std::atomic<int> failures = 0;
    std::vector<std::thread> threads;
    threads.reserve(vms.size());
    for (const auto& vm : vms) {
        threads.emplace_back([&, vm] {
            try {
                for (int round = 0; round < 5; ++round) {
                    m_hypervisor->define(vm);
                    m_hypervisor->start(vm.uuid);
                    m_hypervisor->listDomains();
                    m_hypervisor->destroy(vm.uuid);
                    m_hypervisor->undefine(vm.uuid);
                }
            } catch (const Error& e) {
                ADD_FAILURE() << e.what();
                ++failures;
            }
        });
    }
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(failures, 0);
}

} // namespace
} // namespace hangar::virt
