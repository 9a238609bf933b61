// LibvirtHypervisor against libvirt's built-in test driver. test:///default keeps its state per process for as long
// as one connection to it is open, so each test holds its own raw connection (for checks the Hypervisor interface
// does not offer) and uses fresh UUIDs; what a test defines it undefines. The connection-loss test serves the test
// driver from a private libvirtd, so that the connection can really be cut; it is skipped where libvirtd is missing.
#include "virt/LibvirtHypervisor.h"

#include "core/Error.h"
#include "virt/LibvirtConnection.h"
#include "virt/LibvirtSupport.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <mutex>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace hangar::virt {
namespace {

using namespace std::chrono_literals;
constexpr auto kDeadline = 10s;
constexpr const char* kTestUri = "test:///default";
constexpr const char* kTestPool = "default-pool"; // test:///default comes with it

std::string freshUuid()
{
    std::ifstream in("/proc/sys/kernel/random/uuid");
    std::string uuid;
    in >> uuid;
    return uuid;
}

// Stands in for the daemon's loop: closures posted from any thread wait in a queue and run only when the test
// thread drains it, so the test thread plays the loop thread.
class FakeLoop
{
public:
    std::function<void(std::function<void()>)> poster()
    {
        return [this](std::function<void()> fn) {
            {
                const std::lock_guard lock(m_mutex);
                m_queue.push_back(std::move(fn));
            }
            m_posted.notify_all();
        };
    }

    // Runs posted closures on this thread until done() holds. False if the deadline passes first.
    bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = kDeadline)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done()) {
            std::function<void()> fn;
            {
                std::unique_lock lock(m_mutex);
                if (!m_posted.wait_until(lock, deadline, [this] { return !m_queue.empty(); }))
                    return done();
                fn = std::move(m_queue.front());
                m_queue.pop_front();
            }
            fn();
        }
        return true;
    }

    // Waits (without running anything) until at least n closures are queued.
    bool waitForPending(std::size_t n)
    {
        std::unique_lock lock(m_mutex);
        return m_posted.wait_for(lock, kDeadline, [&] { return m_queue.size() >= n; });
    }

    void runPending()
    {
        std::deque<std::function<void()>> queue;
        {
            const std::lock_guard lock(m_mutex);
            queue.swap(m_queue);
        }
        for (auto& fn : queue)
            fn();
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_posted;
    std::deque<std::function<void()>> m_queue;
};

struct ConnectCloser
{
    void operator()(virConnectPtr conn) const { virConnectClose(conn); }
};
struct DomainFreer
{
    void operator()(virDomainPtr dom) const { virDomainFree(dom); }
};

template <typename F> std::optional<Error> errorOf(F&& fn)
{
    try {
        fn();
    } catch (const Error& e) {
        return e;
    }
    return std::nullopt;
}

class LibvirtHypervisorTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        m_raw.reset(virConnectOpen(kTestUri));
        ASSERT_TRUE(m_raw);
        m_hypervisor = makeHypervisor();
        ASSERT_TRUE(m_hypervisor->connected());
    }

    void TearDown() override
    {
        if (!m_hypervisor)
            m_hypervisor = makeHypervisor();
        for (const auto& uuid : m_defined) {
            try {
                if (m_hypervisor->state(uuid) != DomainState::Stopped)
                    m_hypervisor->destroy(uuid);
                m_hypervisor->undefine(uuid);
            } catch (const Error&) {
                // undefined by the test itself
            }
        }
        m_hypervisor.reset();
        m_raw.reset();
    }

    std::unique_ptr<LibvirtHypervisor> makeHypervisor(const std::string& uri = kTestUri)
    {
        auto hypervisor =
            std::make_unique<LibvirtHypervisor>(uri, m_loop.poster(), LibvirtOptions{"auto", "", kTestPool});
        hypervisor->subscribe([this](const HypervisorEvent& event) {
            m_events.push_back(event);
            m_sinkThreads.push_back(std::this_thread::get_id());
        });
        return hypervisor;
    }

    VmRecord record(const std::string& name)
    {
        VmRecord vm;
        vm.uuid = freshUuid();
        vm.name = name;
        vm.owner = 1000;
        vm.spec = VmSpec{2, 256, 10, "a test VM", {}, {}, {}};
        vm.createdAtUsec = 1700000000123456;
        vm.host = "local";
        vm.phase = VmPhase::Ready;
        return vm;
    }

    VmRecord withDisk(const std::string& name)
    {
        auto vm = record(name);
        vm.diskVolume = "vm-" + vm.uuid + ".qcow2";
        return vm;
    }

    VmRecord defineVm(const std::string& name) { return defineVm(record(name)); }

    VmRecord defineVm(VmRecord vm)
    {
        m_hypervisor->define(vm);
        m_defined.push_back(vm.uuid);
        return vm;
    }

    std::optional<DomainInfo> listed(const std::string& uuid)
    {
        for (auto& info : m_hypervisor->listDomains())
            if (info.uuid == uuid)
                return info;
        return std::nullopt;
    }

    bool waitForEvent(HypervisorEvent::Kind kind, const std::string& uuid = {},
                      std::optional<DomainState> state = std::nullopt)
    {
        const auto seen = [&] {
            return std::any_of(m_events.begin() + static_cast<std::ptrdiff_t>(m_consumed), m_events.end(),
                               [&](const HypervisorEvent& e) {
                                   return e.kind == kind && e.uuid == uuid && (!state || e.state == *state);
                               });
        };
        const bool found = m_loop.runUntil(seen);
        m_consumed = m_events.size();
        return found;
    }

    std::string rawMetadata(const std::string& uuid, int type, unsigned flags = 0)
    {
        const std::unique_ptr<virDomain, DomainFreer> dom(virDomainLookupByUUIDString(m_raw.get(), uuid.c_str()));
        if (!dom)
            return "(no domain)";
        const CString text(virDomainGetMetadata(dom.get(), type, nullptr, flags));
        return text ? text.get() : "(none)";
    }

    std::vector<std::string> snapshotNames(const std::string& uuid)
    {
        std::vector<std::string> names;
        for (const auto& snapshot : m_hypervisor->listSnapshots(uuid))
            names.push_back(snapshot.name);
        return names;
    }

    std::string rawXml(const std::string& uuid)
    {
        const std::unique_ptr<virDomain, DomainFreer> dom(virDomainLookupByUUIDString(m_raw.get(), uuid.c_str()));
        const CString text(dom ? virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE) : nullptr);
        return text ? text.get() : "(none)";
    }

    FakeLoop m_loop; // before the hypervisor, which posts to it
    std::vector<HypervisorEvent> m_events;
    std::vector<std::thread::id> m_sinkThreads;
    std::size_t m_consumed = 0;
    std::unique_ptr<virConnect, ConnectCloser> m_raw;
    std::unique_ptr<LibvirtHypervisor> m_hypervisor;
    std::vector<std::string> m_defined;
};

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

TEST_F(LibvirtHypervisorTest, Events_ReachSinkOnlyThroughPostToLoop)
{
    const auto uuid = defineVm("web-1").uuid;
    m_hypervisor->start(uuid);
    // Whatever libvirt's thread did meanwhile, nothing reached the sink: it runs only in closures we run.
    ASSERT_TRUE(m_loop.waitForPending(1));
    EXPECT_TRUE(m_events.empty());

    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::StateChanged, uuid, DomainState::Running));
    m_hypervisor->suspend(uuid);
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::StateChanged, uuid, DomainState::Paused));
    m_hypervisor->resume(uuid);
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::StateChanged, uuid, DomainState::Running));
    m_hypervisor->destroy(uuid);
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::StateChanged, uuid, DomainState::Stopped));
    m_hypervisor->undefine(uuid);
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::Undefined, uuid));

    ASSERT_FALSE(m_sinkThreads.empty());
    for (const auto& id : m_sinkThreads)
        EXPECT_EQ(id, std::this_thread::get_id());
}

TEST_F(LibvirtHypervisorTest, Events_ChangesMadeOutsideHangarAreReported)
{
    const auto uuid = defineVm("web-1").uuid;
    const std::unique_ptr<virDomain, DomainFreer> dom(virDomainLookupByUUIDString(m_raw.get(), uuid.c_str()));
    ASSERT_TRUE(dom);
    ASSERT_EQ(virDomainCreate(dom.get()), 0); // as another tool would, on its own connection
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::StateChanged, uuid, DomainState::Running));
}

TEST_F(LibvirtHypervisorTest, Events_AfterDestructionNothingIsDelivered)
{
    const auto uuid = defineVm("web-1").uuid;
    m_hypervisor->start(uuid);
    ASSERT_TRUE(m_loop.waitForPending(1));
    m_hypervisor.reset();
    m_loop.runPending();
    EXPECT_TRUE(m_events.empty());
}

TEST_F(LibvirtHypervisorTest, Subscribe_LateSubscriberGetsEventsPostedBefore)
{
    const auto uuid = defineVm("web-1").uuid;
    std::vector<HypervisorEvent> seen;
    m_hypervisor->subscribe(nullptr);
    m_hypervisor->start(uuid);
    ASSERT_TRUE(m_loop.waitForPending(1));
    m_hypervisor->subscribe([&](const HypervisorEvent& e) { seen.push_back(e); });
    EXPECT_TRUE(m_loop.runUntil(
        [&] { return std::any_of(seen.begin(), seen.end(), [&](const auto& e) { return e.uuid == uuid; }); }));
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

TEST(LibvirtConnection, RetryDelay_DoublesFromOneSecondUpToThirty)
{
    std::vector<long> delays;
    auto delay = LibvirtConnection::kFirstRetry;
    for (int i = 0; i < 8; ++i) {
        delays.push_back(static_cast<long>(delay.count()));
        delay = LibvirtConnection::nextRetryDelay(delay);
    }
    EXPECT_EQ(delays, (std::vector<long>{1, 2, 4, 8, 16, 30, 30, 30}));
}

TEST(LibvirtHypervisor, UnsupportedDriver_ThrowsNotSupported)
{
    try {
        LibvirtHypervisor hypervisor("lxc:///system", [](const std::function<void()>&) {});
        FAIL() << "constructed";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotSupported);
    }
}

class TempDir
{
public:
    TempDir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "hangar-libvirt-XXXXXX").string();
        if (!mkdtemp(pattern.data()))
            throw std::runtime_error("mkdtemp failed");
        m_path = pattern;
    }
    ~TempDir() { std::filesystem::remove_all(m_path); }
    const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

TEST_F(LibvirtHypervisorTest, Unreachable_CallsThrowNotConnectedAndConnectionLostIsPosted)
{
    const TempDir dir;
    const std::string uri = "test://" + (dir.path() / "missing-node.xml").string();
    auto hypervisor = makeHypervisor(uri);
    EXPECT_FALSE(hypervisor->connected());
    const auto error = errorOf([&] { hypervisor->state(freshUuid()); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::BackendFailure);
    EXPECT_EQ(std::string(error->what()).rfind("not connected to " + uri + ": ", 0), 0U) << error->what();
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::ConnectionLost));
}

TEST_F(LibvirtHypervisorTest, Unreachable_ReconnectsWhenHostAppears)
{
    const TempDir dir;
    const auto node = dir.path() / "node.xml";
    const std::string uri = "test://" + node.string();
    auto hypervisor = makeHypervisor(uri);
    ASSERT_TRUE(waitForEvent(HypervisorEvent::Kind::ConnectionLost));

    const auto uuid = freshUuid();
    std::ofstream(node) << "<node><domain type='test'><name>from-file</name><uuid>" << uuid
                        << "</uuid><memory unit='MiB'>128</memory><os><type>hvm</type></os></domain></node>";
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::ConnectionRestored));
    EXPECT_TRUE(hypervisor->connected());
    EXPECT_EQ(hypervisor->state(uuid), DomainState::Running); // node-file domains start running
}

// A libvirtd of this test's own, with no driver modules (LIBVIRT_DRIVER_DIR points at an empty directory), so it
// starts in a moment and serves only the built-in test driver, on a socket in a temporary directory.
class PrivateLibvirtd
{
public:
    static constexpr const char* kBinary = "/usr/sbin/libvirtd";

    explicit PrivateLibvirtd(const std::filesystem::path& dir) : m_dir(dir)
    {
        std::filesystem::create_directories(m_dir / "run");
        std::filesystem::create_directories(m_dir / "drivers");
        std::ofstream(m_dir / "libvirtd.conf") << "unix_sock_dir = \"" << (m_dir / "run").string() << "\"\n"
                                               << "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n";
    }
    ~PrivateLibvirtd() { stop(); }

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
    if (access(PrivateLibvirtd::kBinary, X_OK) != 0)
        GTEST_SKIP() << PrivateLibvirtd::kBinary << " is not installed";
    const TempDir dir;
    PrivateLibvirtd libvirtd(dir.path());
    if (!libvirtd.start())
        GTEST_SKIP() << "libvirtd did not start here; see " << (dir.path() / "libvirtd.log").string();

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

// ---- real guests: devices, kernel boot, consoles and graphics, as far as the test driver goes -------------------

TEST_F(LibvirtHypervisorTest, Define_GivesTheGuestConsoleGraphicsAndTheDefaultNetwork)
{
    const auto vm = defineVm("devices");
    const auto xml = rawXml(vm.uuid);
    EXPECT_NE(xml.find("<serial type='pty'>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<console type='pty'>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<graphics type='vnc'"), std::string::npos) << xml;
    EXPECT_NE(xml.find("listen='127.0.0.1'"), std::string::npos) << xml;
    // The test driver has an active network "default", so the guest is put on it rather than on user-mode.
    EXPECT_NE(xml.find("<source network='default'/>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<model type='virtio'/>"), std::string::npos) << xml;
}

TEST_F(LibvirtHypervisorTest, Define_BootsTheKernelFromTheConfiguredBootDirectory)
{
    LibvirtHypervisor hypervisor(kTestUri, m_loop.poster(), LibvirtOptions{"kvm", "/srv/hangar/boot"});
    auto vm = record("kernel-boot");
    vm.spec.kernel = "vmlinuz";
    vm.spec.initrd = "initrd.img";
    vm.spec.cmdline = "console=ttyS0 a<b";
    hypervisor.define(vm);
    m_defined.push_back(vm.uuid);
    const auto xml = rawXml(vm.uuid);
    EXPECT_NE(xml.find("<domain type='test'"), std::string::npos) << "domain_type does not apply to the test driver";
    EXPECT_NE(xml.find("<kernel>/srv/hangar/boot/vmlinuz</kernel>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<initrd>/srv/hangar/boot/initrd.img</initrd>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<cmdline>console=ttyS0 a&lt;b</cmdline>"), std::string::npos) << xml;
    const auto info = listed(vm.uuid);
    ASSERT_TRUE(info && info->record);
    EXPECT_EQ(info->record->spec.kernel, "vmlinuz") << "the metadata block carries the kernel boot fields";
    EXPECT_EQ(info->record->spec.cmdline, "console=ttyS0 a<b");
}

TEST_F(LibvirtHypervisorTest, Constructor_RefusesAnUnknownDomainType)
{
    const auto error = errorOf([&] { LibvirtHypervisor(kTestUri, m_loop.poster(), LibvirtOptions{"xen", "/b"}); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::InvalidArgument);
}

TEST_F(LibvirtHypervisorTest, OpenGraphics_IsNotSupportedByTheTestDriver)
{
    const auto vm = defineVm("vnc");
    m_hypervisor->start(vm.uuid);
    const auto error = errorOf([&] { m_hypervisor->openGraphics(vm.uuid); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::NotSupported) << error->what();
}

TEST_F(LibvirtHypervisorTest, OpenConsole_IsNotSupportedByTheTestDriverAndLeavesTheConsoleFree)
{
    const auto vm = defineVm("console");
    m_hypervisor->start(vm.uuid);
    for (int attempt = 0; attempt < 2; ++attempt) { // the failed open must not count as an open console
        const auto error = errorOf([&] { m_hypervisor->openConsole(vm.uuid, false); });
        ASSERT_TRUE(error);
        EXPECT_EQ(error->code(), ErrorCode::NotSupported) << error->what();
    }
}

TEST_F(LibvirtHypervisorTest, GraphicsAddress_IsEmptyWhereNoPortIsAllocated)
{
    const auto vm = defineVm("address");
    EXPECT_EQ(m_hypervisor->graphicsAddress(vm.uuid), "");
    m_hypervisor->start(vm.uuid);
    EXPECT_EQ(m_hypervisor->graphicsAddress(vm.uuid), "") << "the test driver reports port -1";
    EXPECT_EQ(errorOf([&] { m_hypervisor->graphicsAddress(freshUuid()); })->code(), ErrorCode::NotFound);
}

// ---- disks and snapshots ----------------------------------------------------------------------------------------

TEST_F(LibvirtHypervisorTest, Define_AttachesDiskAndCdromAsVolumesOfThePool)
{
    auto vm = withDisk("from-iso");
    vm.image = "0b5a3c1e-7d2f-4e6a-8b9c-1d2e3f4a5b6c";
    vm.cdromVolume = "img-0b5a3c1e-7d2f-4e6a-8b9c-1d2e3f4a5b6c.iso";
    defineVm(vm);
    const auto xml = rawXml(vm.uuid);
    EXPECT_NE(xml.find("<source pool='default-pool' volume='" + vm.diskVolume + "'/>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<source pool='default-pool' volume='" + vm.cdromVolume + "'/>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<target dev='vda' bus='virtio'/>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<target dev='hdc' bus='ide'/>"), std::string::npos) << xml;
    const auto info = listed(vm.uuid);
    ASSERT_TRUE(info && info->record);
    EXPECT_EQ(*info->record, vm) << "the metadata block carries the image and the volumes";
}

TEST_F(LibvirtHypervisorTest, Define_VolumeWithoutAPool_ThrowsInvalidArgumentAndDefinesNothing)
{
    LibvirtHypervisor hypervisor(kTestUri, m_loop.poster());
    const auto vm = withDisk("no-pool");
    const auto error = errorOf([&] { hypervisor.define(vm); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::InvalidArgument) << error->what();
    EXPECT_FALSE(listed(vm.uuid).has_value());
}

TEST_F(LibvirtHypervisorTest, Snapshots_CreateListRevertDeleteStoppedAndRunning)
{
    const auto uuid = defineVm(withDisk("snap")).uuid;
    EXPECT_TRUE(m_hypervisor->listSnapshots(uuid).empty());

    m_hypervisor->createSnapshot(uuid, "stopped-1", "taken while stopped");
    m_hypervisor->start(uuid);
    m_hypervisor->createSnapshot(uuid, "running-1", "");
    auto snapshots = m_hypervisor->listSnapshots(uuid);
    ASSERT_EQ(snapshots.size(), 2U);
    EXPECT_EQ(snapshots[0].name, "stopped-1");
    EXPECT_EQ(snapshots[0].description, "taken while stopped");
    EXPECT_EQ(snapshots[0].state, "stopped");
    EXPECT_FALSE(snapshots[0].current);
    EXPECT_EQ(snapshots[1].name, "running-1");
    EXPECT_EQ(snapshots[1].state, "running");
    EXPECT_TRUE(snapshots[1].current);
    EXPECT_LE(snapshots[0].createdAtUsec, snapshots[1].createdAtUsec);
    EXPECT_GT(snapshots[0].createdAtUsec, 1600000000LL * 1000000) << "microseconds since the epoch";

    EXPECT_EQ(m_hypervisor->revertToSnapshot(uuid, "stopped-1"), DomainState::Stopped);
    EXPECT_EQ(m_hypervisor->state(uuid), DomainState::Stopped);
    EXPECT_TRUE(m_hypervisor->listSnapshots(uuid)[0].current);
    EXPECT_EQ(m_hypervisor->revertToSnapshot(uuid, "running-1"), DomainState::Running);
    EXPECT_EQ(m_hypervisor->state(uuid), DomainState::Running);

    m_hypervisor->deleteSnapshot(uuid, "stopped-1");
    snapshots = m_hypervisor->listSnapshots(uuid);
    ASSERT_EQ(snapshots.size(), 1U);
    EXPECT_EQ(snapshots[0].name, "running-1");
    EXPECT_TRUE(snapshots[0].current);
    m_hypervisor->deleteSnapshot(uuid, "running-1");
    EXPECT_TRUE(m_hypervisor->listSnapshots(uuid).empty());
}

TEST_F(LibvirtHypervisorTest, CreateSnapshot_IsInternalForTheDiskAndLeavesOutTheCdrom)
{
    auto vm = withDisk("with-cdrom");
    vm.cdromVolume = "installer.iso";
    defineVm(vm);
    m_hypervisor->createSnapshot(vm.uuid, "s1", "a <b> & c");
    const std::unique_ptr<virDomain, DomainFreer> dom(virDomainLookupByUUIDString(m_raw.get(), vm.uuid.c_str()));
    ASSERT_TRUE(dom);
    const std::unique_ptr<virDomainSnapshot, decltype(&virDomainSnapshotFree)> snapshot(
        virDomainSnapshotLookupByName(dom.get(), "s1", 0), virDomainSnapshotFree);
    ASSERT_TRUE(snapshot);
    const CString xml(virDomainSnapshotGetXMLDesc(snapshot.get(), 0));
    ASSERT_TRUE(xml);
    const std::string text = xml.get();
    EXPECT_NE(text.find("<disk name='vda' snapshot='internal'/>"), std::string::npos) << text;
    EXPECT_NE(text.find("<disk name='hdc' snapshot='no'/>"), std::string::npos) << text;
    EXPECT_NE(text.find("<description>a &lt;b&gt; &amp; c</description>"), std::string::npos) << text;
}

TEST_F(LibvirtHypervisorTest, CreateSnapshot_TakenName_ThrowsAlreadyExistsAndKeepsTheFirst)
{
    const auto uuid = defineVm(withDisk("dup")).uuid;
    m_hypervisor->createSnapshot(uuid, "s1", "first");
    const auto error = errorOf([&] { m_hypervisor->createSnapshot(uuid, "s1", "second"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::AlreadyExists) << error->what();
    const auto snapshots = m_hypervisor->listSnapshots(uuid);
    ASSERT_EQ(snapshots.size(), 1U);
    EXPECT_EQ(snapshots[0].description, "first");
}

TEST_F(LibvirtHypervisorTest, CreateSnapshot_WithoutADisk_ThrowsNotSupported)
{
    const auto uuid = defineVm("diskless").uuid;
    const auto error = errorOf([&] { m_hypervisor->createSnapshot(uuid, "s1", ""); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::NotSupported) << error->what();
    EXPECT_TRUE(m_hypervisor->listSnapshots(uuid).empty());
}

TEST_F(LibvirtHypervisorTest, CreateSnapshot_InvalidName_ThrowsInvalidArgument)
{
    const auto uuid = defineVm(withDisk("names")).uuid;
    for (const char* bad : {"", "Upper", "a/b", "-dash", "a b", "<x>"}) {
        const auto error = errorOf([&] { m_hypervisor->createSnapshot(uuid, bad, ""); });
        ASSERT_TRUE(error) << bad;
        EXPECT_EQ(error->code(), ErrorCode::InvalidArgument) << bad;
    }
    EXPECT_TRUE(m_hypervisor->listSnapshots(uuid).empty());
}

TEST_F(LibvirtHypervisorTest, Snapshots_UnknownSnapshotOrDomain_ThrowNotFound)
{
    const auto uuid = defineVm(withDisk("missing")).uuid;
    m_hypervisor->createSnapshot(uuid, "s1", "");
    for (const auto& call : std::vector<std::function<void()>>{[&] { m_hypervisor->revertToSnapshot(uuid, "nope"); },
                                                               [&] { m_hypervisor->deleteSnapshot(uuid, "nope"); }}) {
        const auto error = errorOf(call);
        ASSERT_TRUE(error);
        EXPECT_EQ(error->code(), ErrorCode::NotFound) << error->what();
        EXPECT_EQ(std::string(error->what()), "domain " + uuid + " has no snapshot 'nope'");
    }
    const auto other = freshUuid();
    for (const auto& call : std::vector<std::function<void()>>{[&] { m_hypervisor->createSnapshot(other, "s1", ""); },
                                                               [&] { m_hypervisor->listSnapshots(other); },
                                                               [&] { m_hypervisor->revertToSnapshot(other, "s1"); },
                                                               [&] { m_hypervisor->deleteSnapshot(other, "s1"); }}) {
        const auto error = errorOf(call);
        ASSERT_TRUE(error);
        EXPECT_EQ(error->code(), ErrorCode::NotFound) << error->what();
    }
    EXPECT_EQ(snapshotNames(uuid), std::vector<std::string>{"s1"});
}

TEST_F(LibvirtHypervisorTest, ListDomains_ReportsSnapshotNamesOldestFirstLikeListSnapshots)
{
    const auto uuid = defineVm(withDisk("listed")).uuid;
    EXPECT_TRUE(listed(uuid)->snapshots.empty());
    m_hypervisor->createSnapshot(uuid, "first", "");
    EXPECT_EQ(listed(uuid)->snapshots, std::vector<std::string>{"first"});
    m_hypervisor->createSnapshot(uuid, "second", "");
    m_hypervisor->createSnapshot(uuid, "third", "");
    // All three fall within one second of creation time here: the order is the tree's, parents first.
    const std::vector<std::string> expected{"first", "second", "third"};
    EXPECT_EQ(snapshotNames(uuid), expected);
    EXPECT_EQ(listed(uuid)->snapshots, expected);
    m_hypervisor->deleteSnapshot(uuid, "second");
    EXPECT_EQ(listed(uuid)->snapshots, (std::vector<std::string>{"first", "third"}));
}

TEST_F(LibvirtHypervisorTest, Undefine_RemovesDomainWithSnapshotsTakenThroughHangar)
{
    const auto uuid = defineVm(withDisk("gone")).uuid;
    m_hypervisor->createSnapshot(uuid, "s1", "");
    m_hypervisor->start(uuid);
    m_hypervisor->createSnapshot(uuid, "s2", "");
    m_hypervisor->destroy(uuid);
    m_hypervisor->undefine(uuid);
    EXPECT_FALSE(listed(uuid).has_value());
}

} // namespace
} // namespace hangar::virt
