// VMs with a cloud-init seed through VmManager: the seed volume is written with the disk and attached, carries the
// VM's UUID as instance-id (a clone gets its own), goes with the VM, is rolled back with a failed or interrupted
// create, and GetProvisioning is the owner's and administrators' only. The real libisofs builder makes the ISOs.
#include "CoreFixture.h"
#include "core/CloudInit.h"
#include "core/Reconciler.h"
#include "provision/IsoSeedBuilder.h"

namespace hangar::testing {
namespace {

const std::string kKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJqwpr9K2Tqh2ylR2zXUpWFH3oR+3aFUJv/IHTVTCIcv alice@laptop";
const std::string kHash = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7";

VmSpecRequest provisioned()
{
    VmSpecRequest spec;
    spec.provisioning.users.push_back({"alice", {kKey}, true, kHash, ""});
    spec.provisioning.packages = {"nginx"};
    spec.provisioning.runcmd = {"touch /secret-command"};
    return spec;
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

class ProvisioningVmTest : public CoreFixture<>
{
protected:
    ProvisioningVmTest() { manager.setSeedBuilder(seeds); }

    Capture<std::string> tryCreate(const std::string& name, const VmSpecRequest& spec, std::uint32_t uid = kAlice)
    {
        Capture<std::string> r;
        manager.create(caller(uid), name, spec, r.done());
        executor.drain();
        return r;
    }

    std::string createProvisioned(const std::string& name)
    {
        auto r = tryCreate(name, provisioned());
        EXPECT_TRUE(r.ok()) << (r.outcome ? r.message() : "no outcome");
        return r.ok() ? r.outcome->value() : "";
    }

    Capture<Provisioning> provisioning(const std::string& uuid, std::uint32_t uid)
    {
        Capture<Provisioning> r;
        manager.provisioning(caller(uid), uuid, r.done());
        executor.drain();
        return r;
    }

    // The seed's meta-data as written into its volume: the ISO is searched for the instance-id line.
    bool seedNames(const std::string& volume, const std::string& instanceId)
    {
        return contains(storage.contents(volume), "instance-id: \"" + instanceId + "\"");
    }

    provision::IsoSeedBuilder seeds;
};

TEST_F(ProvisioningVmTest, CreateWritesAndAttachesTheSeed)
{
    const std::string uuid = createProvisioned("web");
    const Vm* vm = inventory.find(uuid);
    ASSERT_NE(vm, nullptr);
    EXPECT_EQ(vm->record.seedVolume, "vm-" + uuid + "-seed.iso");
    EXPECT_EQ(vm->record.provisioning, provisioned().provisioning);
    const std::string iso = storage.contents(vm->record.seedVolume);
    ASSERT_GT(iso.size(), 17U * 2048);
    EXPECT_EQ(iso.substr(16 * 2048 + 40, 6), "cidata");
    EXPECT_TRUE(seedNames(vm->record.seedVolume, uuid));
    EXPECT_TRUE(contains(iso, kKey)); // the user-data is in the image
    EXPECT_TRUE(contains(iso, "local-hostname: \"web\""));
    ASSERT_TRUE(hypervisor.metadata(uuid).has_value());
    EXPECT_EQ(hypervisor.metadata(uuid)->seedVolume, vm->record.seedVolume); // the domain has it as a CD-ROM

    // Stored with the VM, as a restart would read it.
    const auto stored = store.loadVms();
    ASSERT_EQ(stored.size(), 1U);
    EXPECT_EQ(stored[0].provisioning, provisioned().provisioning);
    EXPECT_EQ(stored[0].seedVolume, vm->record.seedVolume);

    // The audit log names users and packages, never keys, hashes or commands.
    bool named = false;
    for (const auto& e : allEvents()) {
        EXPECT_FALSE(contains(e.message, "AAAAC3") || contains(e.message, kHash) ||
                     contains(e.message, "secret-command"))
            << e.message;
        named = named || (e.action == "create" && contains(e.message, "users alice") && contains(e.message, "nginx"));
    }
    EXPECT_TRUE(named);
}

TEST_F(ProvisioningVmTest, WithoutProvisioningThereIsNoSeed)
{
    const std::string uuid = create("plain");
    EXPECT_EQ(inventory.find(uuid)->record.seedVolume, "");
    EXPECT_EQ(storage.list().size(), 1U);
    EXPECT_EQ(storage.calls("writeRaw"), 0);
}

TEST_F(ProvisioningVmTest, InvalidProvisioningChangesNothing)
{
    VmSpecRequest spec = provisioned();
    spec.provisioning.users[0].sshAuthorizedKeys = {"ssh-ed25519 not-a-key"};
    auto r = tryCreate("bad", spec);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), ErrorCode::InvalidArgument);
    EXPECT_TRUE(contains(r.message(), "users[0].ssh_authorized_keys[0]: not an OpenSSH public key")) << r.message();
    EXPECT_TRUE(inventory.all().empty());
    EXPECT_TRUE(storage.list().empty());
    EXPECT_TRUE(store.loadVms().empty());
    EXPECT_TRUE(authorizer.requests.empty()); // refused before polkit is asked
}

TEST_F(ProvisioningVmTest, WithoutASeedBuilderProvisioningIsNotSupported)
{
    VmManager bare{inventory, store, hypervisor, storage, images, authorizer, executor, audit, quotas, "local"};
    Capture<std::string> r;
    bare.create(caller(kAlice), "web", provisioned(), r.done());
    executor.drain();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), ErrorCode::NotSupported);
    EXPECT_TRUE(storage.list().empty());
}

TEST_F(ProvisioningVmTest, AFailedDefineTakesTheSeedBack)
{
    hypervisor.failNext("define", Error(ErrorCode::BackendFailure, "libvirt said no"));
    auto r = tryCreate("web", provisioned());
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(storage.list().empty());
    EXPECT_TRUE(store.loadVms().empty());
}

TEST_F(ProvisioningVmTest, AFailedSeedTakesTheDiskBack)
{
    storage.failNext("writeRaw", Error(ErrorCode::BackendFailure, "pool full"));
    auto r = tryCreate("web", provisioned());
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.message(), "pool full")) << r.message();
    EXPECT_TRUE(storage.list().empty());
    EXPECT_TRUE(inventory.all().empty());
}

TEST_F(ProvisioningVmTest, DeleteRemovesTheSeed)
{
    const std::string uuid = createProvisioned("web");
    ASSERT_EQ(storage.list().size(), 2U);
    EXPECT_TRUE(call([&](Done<> d) { manager.remove(caller(kAlice), uuid, {}, d); }).ok());
    EXPECT_TRUE(storage.list().empty());
    EXPECT_TRUE(store.loadVms().empty());
}

TEST_F(ProvisioningVmTest, CloneGetsTheSameProvisioningInANewSeed)
{
    const std::string source = createProvisioned("web");
    Capture<std::string> r;
    manager.clone(caller(kAlice), source, "web-2", r.done());
    executor.drain();
    ASSERT_TRUE(r.ok()) << r.message();
    const std::string copy = r.outcome->value();
    const Vm* vm = inventory.find(copy);
    EXPECT_EQ(vm->record.provisioning, provisioned().provisioning);
    EXPECT_EQ(vm->record.seedVolume, "vm-" + copy + "-seed.iso");
    EXPECT_TRUE(seedNames(vm->record.seedVolume, copy));
    EXPECT_FALSE(seedNames(vm->record.seedVolume, source));
    EXPECT_TRUE(contains(storage.contents(vm->record.seedVolume), "local-hostname: \"web-2\""));
    EXPECT_TRUE(seedNames(inventory.find(source)->record.seedVolume, source)); // the source's is untouched
}

TEST_F(ProvisioningVmTest, ProvisioningIsTheOwnersAndAdministratorsOnly)
{
    const std::string uuid = createProvisioned("web");
    auto own = provisioning(uuid, kAlice);
    ASSERT_TRUE(own.ok());
    EXPECT_EQ(own.outcome->value(), provisioned().provisioning);
    EXPECT_EQ(authorizer.requests.back().action, Action::ManageOwnVms);
    EXPECT_EQ(authorizer.requests.back().details.at("verb"), "provisioning");

    auto admin = provisioning(uuid, kBob); // bob may manage all VMs
    EXPECT_TRUE(admin.ok());
    EXPECT_EQ(authorizer.requests.back().action, Action::ManageAllVms);

    authorizer.denied[Action::ManageAllVms] = true;
    auto other = provisioning(uuid, kBob);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.code(), ErrorCode::PermissionDenied);
    EXPECT_EQ(allEvents().back().action, "provisioning");

    EXPECT_EQ(provisioning("00000000-0000-4000-8000-000000000000", kAlice).code(), ErrorCode::NotFound);
}

class SeedRecoveryTest : public ProvisioningVmTest
{
protected:
    VmRecord seeded(const std::string& uuid, VmPhase phase)
    {
        VmRecord r;
        r.uuid = uuid;
        r.name = "vm-" + uuid.substr(0, 4);
        r.owner = kAlice;
        r.host = "local";
        r.phase = phase;
        r.diskVolume = "vm-" + uuid + ".qcow2";
        r.seedVolume = seedVolumeName(uuid);
        r.provisioning = provisioned().provisioning;
        store.insertVm(r);
        storage.createBlank(r.diskVolume, kGiB);
        storage.writeRaw(r.seedVolume, "seed");
        return r;
    }

    Reconciler reconciler{inventory, store, hypervisor, storage, images, executor, audit};
};

TEST_F(SeedRecoveryTest, AnInterruptedCreateOrDeleteLeavesNoSeed)
{
    const auto creating = seeded("11111111-1111-4111-8111-111111111111", VmPhase::Creating);
    const auto deleting = seeded("22222222-2222-4222-8222-222222222222", VmPhase::Deleting);
    hypervisor.define(deleting);
    const auto report = runStartup(reconciler, executor);
    EXPECT_EQ(report.rolledBack, 1U);
    EXPECT_EQ(report.finished, 1U);
    EXPECT_TRUE(storage.list().empty());
    EXPECT_TRUE(store.loadVms().empty());
}

TEST_F(SeedRecoveryTest, AReadyVmKeepsItsSeedAndAnUnclaimedSeedGoes)
{
    const auto ready = seeded("33333333-3333-4333-8333-333333333333", VmPhase::Ready);
    hypervisor.define(ready);
    storage.writeRaw(seedVolumeName("44444444-4444-4444-8444-444444444444"), "orphan");
    runStartup(reconciler, executor);
    EXPECT_TRUE(storage.find(ready.seedVolume).has_value());
    EXPECT_FALSE(storage.find(seedVolumeName("44444444-4444-4444-8444-444444444444")).has_value());
}

} // namespace
} // namespace hangar::testing
