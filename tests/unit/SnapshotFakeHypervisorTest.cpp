// FakeHypervisor's snapshots and volumes behave as LibvirtHypervisor's do, so that core's tests against the fake
// say something about the real thing.
#include "ErrorTestSupport.h"
#include "core/Error.h"
#include "fakes/FakeHypervisor.h"

#include <functional>
#include <gtest/gtest.h>

namespace hangar::testing {
namespace {

constexpr const char* kUuid = "3f2c9a7e-1b4d-4e8a-9c0f-5d6e7a8b9c0d";

VmRecord vm(const std::string& disk = "vm-disk.qcow2", const std::string& cdrom = "")
{
    VmRecord record;
    record.uuid = kUuid;
    record.name = "db";
    record.diskVolume = disk;
    record.cdromVolume = cdrom;
    return record;
}

using hangar::testing::codeOf;

std::vector<std::string> names(const std::vector<SnapshotInfo>& snapshots)
{
    std::vector<std::string> out;
    for (const auto& s : snapshots)
        out.push_back(s.name);
    return out;
}

std::string current(FakeHypervisor& hypervisor)
{
    for (const auto& s : hypervisor.listSnapshots(kUuid))
        if (s.current)
            return s.name;
    return {};
}

TEST(SnapshotFakeHypervisor, Define_RecordsTheVolumesApartFromTheMetadata)
{
    FakeHypervisor hypervisor;
    hypervisor.define(vm("disk.qcow2", "installer.iso"));
    EXPECT_EQ(hypervisor.diskVolume(kUuid), "disk.qcow2");
    EXPECT_EQ(hypervisor.cdromVolume(kUuid), "installer.iso");
    auto renamed = vm("other.qcow2", "");
    renamed.name = "renamed";
    hypervisor.updateMetadata(renamed);
    EXPECT_EQ(hypervisor.diskVolume(kUuid), "disk.qcow2") << "the devices stay what define attached";
    EXPECT_EQ(hypervisor.cdromVolume(kUuid), "installer.iso");
    EXPECT_EQ(codeOf([&] { hypervisor.diskVolume("no-such-domain"); }), ErrorCode::NotFound);
}

TEST(SnapshotFakeHypervisor, CreateAndList_OldestFirstNewestCurrentWithTheStateAtTheTime)
{
    FakeHypervisor hypervisor;
    hypervisor.define(vm());
    hypervisor.createSnapshot(kUuid, "off", "while stopped");
    hypervisor.start(kUuid);
    hypervisor.createSnapshot(kUuid, "on", "");
    const auto snapshots = hypervisor.listSnapshots(kUuid);
    ASSERT_EQ(snapshots.size(), 2U);
    EXPECT_EQ(snapshots[0].name, "off");
    EXPECT_EQ(snapshots[0].description, "while stopped");
    EXPECT_EQ(snapshots[0].state, "stopped");
    EXPECT_FALSE(snapshots[0].current);
    EXPECT_EQ(snapshots[1].state, "running");
    EXPECT_TRUE(snapshots[1].current);
    EXPECT_LT(snapshots[0].createdAtUsec, snapshots[1].createdAtUsec);
    EXPECT_EQ(hypervisor.listDomains().at(0).snapshots, (std::vector<std::string>{"off", "on"}));
}

TEST(SnapshotFakeHypervisor, Revert_RestoresTheRecordedStateAndMakesItCurrent)
{
    FakeHypervisor hypervisor;
    hypervisor.define(vm());
    hypervisor.createSnapshot(kUuid, "off", "");
    hypervisor.start(kUuid);
    hypervisor.createSnapshot(kUuid, "on", "");
    EXPECT_EQ(hypervisor.revertToSnapshot(kUuid, "off"), DomainState::Stopped);
    EXPECT_EQ(hypervisor.state(kUuid), DomainState::Stopped);
    EXPECT_EQ(current(hypervisor), "off");
    EXPECT_EQ(hypervisor.revertToSnapshot(kUuid, "on"), DomainState::Running);
    EXPECT_EQ(hypervisor.state(kUuid), DomainState::Running);
    EXPECT_EQ(current(hypervisor), "on");
}

TEST(SnapshotFakeHypervisor, Delete_MakesTheParentCurrentAndKeepsTheOthers)
{
    FakeHypervisor hypervisor;
    hypervisor.define(vm());
    hypervisor.createSnapshot(kUuid, "a", "");
    hypervisor.createSnapshot(kUuid, "b", "");
    hypervisor.createSnapshot(kUuid, "c", "");
    hypervisor.deleteSnapshot(kUuid, "c");
    EXPECT_EQ(current(hypervisor), "b");
    hypervisor.deleteSnapshot(kUuid, "a");
    EXPECT_EQ(names(hypervisor.listSnapshots(kUuid)), std::vector<std::string>{"b"});
    EXPECT_EQ(current(hypervisor), "b");
    hypervisor.deleteSnapshot(kUuid, "b");
    EXPECT_TRUE(hypervisor.listSnapshots(kUuid).empty());
    EXPECT_EQ(current(hypervisor), "");
}

TEST(SnapshotFakeHypervisor, Errors_AsLibvirtHypervisorReportsThem)
{
    FakeHypervisor hypervisor;
    hypervisor.define(vm());
    hypervisor.createSnapshot(kUuid, "a", "");
    EXPECT_EQ(codeOf([&] { hypervisor.createSnapshot(kUuid, "a", ""); }), ErrorCode::AlreadyExists);
    EXPECT_EQ(codeOf([&] { hypervisor.revertToSnapshot(kUuid, "nope"); }), ErrorCode::NotFound);
    EXPECT_EQ(codeOf([&] { hypervisor.deleteSnapshot(kUuid, "nope"); }), ErrorCode::NotFound);
    EXPECT_EQ(codeOf([&] { hypervisor.listSnapshots("00000000-0000-4000-8000-000000000000"); }), ErrorCode::NotFound);

    FakeHypervisor diskless;
    diskless.define(vm(""));
    EXPECT_EQ(codeOf([&] { diskless.createSnapshot(kUuid, "a", ""); }), ErrorCode::NotSupported);
}

TEST(SnapshotFakeHypervisor, FailNext_InjectsIntoEachSnapshotCall)
{
    FakeHypervisor hypervisor;
    hypervisor.define(vm());
    for (const char* method : {"createSnapshot", "listSnapshots", "revertToSnapshot", "deleteSnapshot"})
        hypervisor.failNext(method, Error(ErrorCode::BackendFailure, "injected"));
    EXPECT_EQ(codeOf([&] { hypervisor.createSnapshot(kUuid, "a", ""); }), ErrorCode::BackendFailure);
    EXPECT_EQ(codeOf([&] { hypervisor.listSnapshots(kUuid); }), ErrorCode::BackendFailure);
    hypervisor.createSnapshot(kUuid, "a", "");
    EXPECT_EQ(codeOf([&] { hypervisor.revertToSnapshot(kUuid, "a"); }), ErrorCode::BackendFailure);
    EXPECT_EQ(codeOf([&] { hypervisor.deleteSnapshot(kUuid, "a"); }), ErrorCode::BackendFailure);
    EXPECT_EQ(names(hypervisor.listSnapshots(kUuid)), std::vector<std::string>{"a"});
    EXPECT_EQ(hypervisor.calls("createSnapshot"), 2);
}

} // namespace
} // namespace hangar::testing
