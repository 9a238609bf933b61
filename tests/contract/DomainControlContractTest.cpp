// The DomainControl contract: what core relies on from define, the lifecycle, undefine, updateMetadata and
// listDomains, run against FakeHypervisor and LibvirtHypervisor on the test driver (HypervisorBackends.h).
//
// Covered elsewhere, because the test driver cannot show it: a graceful shutdown that takes time (the test driver
// stops at once, like the fake's default; FakeHypervisor::setGracefulShutdownCompletes(false) is the real guest,
// proven in tests/e2e/E2eTest.cpp), events (tests/unit/LibvirtEventsTest.cpp and tests/libvirtd/), and the domain
// XML itself (tests/unit/DomainXmlTest.cpp, LibvirtDomainTest.cpp).
#include "HypervisorBackends.h"
#include "unit/ErrorTestSupport.h"

#include <functional>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace hangar::contract {
namespace {

using testing::codeOf;

template <typename Backend> class DomainControlContract : public HypervisorContract<Backend>
{
};
TYPED_TEST_SUITE(DomainControlContract, HypervisorBackends, BackendName);

TYPED_TEST(DomainControlContract, Define_ListDomainsCarriesTheRecordAndStopped)
{
    auto vm = vmRecord("web-1", true);
    vm.image = "0b5a3c1e-7d2f-4e6a-8b9c-1d2e3f4a5b6c";
    vm.cdromVolume = "img-0b5a3c1e-7d2f-4e6a-8b9c-1d2e3f4a5b6c.iso";
    vm.spec.description = "<b>bold</b> & 'quotes' — ünïcødé\nline two";
    this->define(vm);

    const auto info = this->listed(vm.uuid);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->state, DomainState::Stopped);
    ASSERT_TRUE(info->record.has_value());
    EXPECT_EQ(*info->record, vm);
    EXPECT_TRUE(info->snapshots.empty());
    EXPECT_EQ(this->hv().state(vm.uuid), DomainState::Stopped);
}

TYPED_TEST(DomainControlContract, Define_RecordWrittenWhileCreatingIsListedReady)
{
    auto vm = vmRecord("half-made");
    vm.phase = VmPhase::Creating;
    this->define(vm);
    const auto info = this->listed(vm.uuid);
    ASSERT_TRUE(info && info->record);
    EXPECT_EQ(info->record->phase, VmPhase::Ready) << "the phase is the store's, not the hypervisor's";
}

TYPED_TEST(DomainControlContract, Define_TwiceIsAlreadyExistsAndKeepsTheFirst)
{
    const auto vm = this->define("web-1");
    auto again = vm;
    again.name = "web-2";
    EXPECT_EQ(codeOf([&] { this->hv().define(again); }), ErrorCode::AlreadyExists);
    EXPECT_EQ(this->listed(vm.uuid)->record->name, "web-1");
}

TYPED_TEST(DomainControlContract, Define_MalformedUuidIsInvalidArgumentAndDefinesNothing)
{
    auto vm = vmRecord("web-1");
    vm.uuid = "not-a-uuid";
    const auto before = this->hv().listDomains().size();
    EXPECT_EQ(codeOf([&] { this->hv().define(vm); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(this->hv().listDomains().size(), before);
}

TYPED_TEST(DomainControlContract, UnknownDomain_IsNotFound)
{
    const auto uuid = freshUuid();
    auto vm = vmRecord("ghost");
    vm.uuid = uuid;
    auto& hv = this->hv();
    const std::vector<std::pair<const char*, std::function<void()>>> calls{
        {"undefine", [&] { hv.undefine(uuid); }},
        {"start", [&] { hv.start(uuid); }},
        {"shutdown", [&] { hv.shutdown(uuid); }},
        {"destroy", [&] { hv.destroy(uuid); }},
        {"reboot", [&] { hv.reboot(uuid); }},
        {"suspend", [&] { hv.suspend(uuid); }},
        {"resume", [&] { hv.resume(uuid); }},
        {"state", [&] { hv.state(uuid); }},
        {"updateMetadata", [&] { hv.updateMetadata(vm); }},
    };
    for (const auto& [name, call] : calls)
        EXPECT_EQ(codeOf(call), ErrorCode::NotFound) << name;
    EXPECT_FALSE(this->listed(uuid).has_value());
}

TYPED_TEST(DomainControlContract, MalformedUuid_IsInvalidArgumentNotNotFound)
{
    const std::string uuid = "not-a-uuid";
    auto vm = vmRecord("bad");
    vm.uuid = uuid;
    auto& hv = this->hv();
    const std::vector<std::pair<const char*, std::function<void()>>> calls{
        {"undefine", [&] { hv.undefine(uuid); }},
        {"start", [&] { hv.start(uuid); }},
        {"shutdown", [&] { hv.shutdown(uuid); }},
        {"destroy", [&] { hv.destroy(uuid); }},
        {"reboot", [&] { hv.reboot(uuid); }},
        {"suspend", [&] { hv.suspend(uuid); }},
        {"resume", [&] { hv.resume(uuid); }},
        {"state", [&] { hv.state(uuid); }},
        {"updateMetadata", [&] { hv.updateMetadata(vm); }},
    };
    for (const auto& [name, call] : calls)
        EXPECT_EQ(codeOf(call), ErrorCode::InvalidArgument) << name;
}

TYPED_TEST(DomainControlContract, Lifecycle_EachStepLeavesTheStateCoreExpects)
{
    const auto uuid = this->define("life").uuid;
    auto& hv = this->hv();
    hv.start(uuid);
    EXPECT_EQ(hv.state(uuid), DomainState::Running);
    EXPECT_EQ(this->listed(uuid)->state, DomainState::Running);
    hv.suspend(uuid);
    EXPECT_EQ(hv.state(uuid), DomainState::Paused);
    hv.resume(uuid);
    EXPECT_EQ(hv.state(uuid), DomainState::Running);
    hv.reboot(uuid);
    EXPECT_EQ(hv.state(uuid), DomainState::Running);
    hv.destroy(uuid);
    EXPECT_EQ(hv.state(uuid), DomainState::Stopped);
    hv.start(uuid);
    hv.shutdown(uuid); // the test driver's guest (and the fake's, by default) goes off at once
    EXPECT_EQ(hv.state(uuid), DomainState::Stopped);
}

TYPED_TEST(DomainControlContract, Destroy_OfAPausedDomainStopsIt)
{
    const auto uuid = this->define("paused").uuid;
    this->hv().start(uuid);
    this->hv().suspend(uuid);
    this->hv().destroy(uuid);
    EXPECT_EQ(this->hv().state(uuid), DomainState::Stopped);
}

TYPED_TEST(DomainControlContract, StoppedDomain_RequestsThatNeedItRunningAreBusy)
{
    const auto uuid = this->define("stopped").uuid;
    auto& hv = this->hv();
    const std::vector<std::pair<const char*, std::function<void()>>> calls{
        {"shutdown", [&] { hv.shutdown(uuid); }}, {"destroy", [&] { hv.destroy(uuid); }},
        {"reboot", [&] { hv.reboot(uuid); }},     {"suspend", [&] { hv.suspend(uuid); }},
        {"resume", [&] { hv.resume(uuid); }},
    };
    for (const auto& [name, call] : calls)
        EXPECT_EQ(codeOf(call), ErrorCode::Busy) << name;
    EXPECT_EQ(hv.state(uuid), DomainState::Stopped);
}

TYPED_TEST(DomainControlContract, RunningDomain_StartAndResumeAreBusy)
{
    const auto uuid = this->define("running").uuid;
    auto& hv = this->hv();
    hv.start(uuid);
    EXPECT_EQ(codeOf([&] { hv.start(uuid); }), ErrorCode::Busy);
    EXPECT_EQ(codeOf([&] { hv.resume(uuid); }), ErrorCode::Busy);
    EXPECT_EQ(hv.state(uuid), DomainState::Running);
}

TYPED_TEST(DomainControlContract, PausedDomain_StartAndSuspendAreBusy)
{
    const auto uuid = this->define("paused").uuid;
    auto& hv = this->hv();
    hv.start(uuid);
    hv.suspend(uuid);
    EXPECT_EQ(codeOf([&] { hv.start(uuid); }), ErrorCode::Busy);
    EXPECT_EQ(codeOf([&] { hv.suspend(uuid); }), ErrorCode::Busy);
    EXPECT_EQ(hv.state(uuid), DomainState::Paused);
}

TYPED_TEST(DomainControlContract, Undefine_WhenRunningIsBusyAndKeepsTheDomain)
{
    const auto uuid = this->define("busy").uuid;
    this->hv().start(uuid);
    EXPECT_EQ(codeOf([&] { this->hv().undefine(uuid); }), ErrorCode::Busy);
    EXPECT_EQ(this->hv().state(uuid), DomainState::Running);
}

TYPED_TEST(DomainControlContract, Undefine_RemovesTheDomain)
{
    const auto uuid = this->define("gone").uuid;
    this->hv().undefine(uuid);
    EXPECT_FALSE(this->listed(uuid).has_value());
    EXPECT_EQ(codeOf([&] { this->hv().state(uuid); }), ErrorCode::NotFound);
}

TYPED_TEST(DomainControlContract, UpdateMetadata_ListDomainsShowsTheNewRecord)
{
    auto vm = this->define("old-name", true);
    vm.name = "new-name";
    vm.spec.description = "";
    this->hv().updateMetadata(vm);
    const auto info = this->listed(vm.uuid);
    ASSERT_TRUE(info && info->record);
    EXPECT_EQ(*info->record, vm);
    EXPECT_EQ(info->state, DomainState::Stopped);
}

TYPED_TEST(DomainControlContract, UpdateMetadata_WhileRunningKeepsItRunning)
{
    auto vm = this->define("live");
    this->hv().start(vm.uuid);
    vm.name = "renamed";
    this->hv().updateMetadata(vm);
    const auto info = this->listed(vm.uuid);
    ASSERT_TRUE(info && info->record);
    EXPECT_EQ(info->record->name, "renamed");
    EXPECT_EQ(info->state, DomainState::Running);
}

} // namespace
} // namespace hangar::contract
