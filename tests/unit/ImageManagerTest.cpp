// Images, jobs, VMs from images, clone, snapshots and publish in core, on the fake hypervisor and storage, the real
// SQLite store in memory and the driven executor.
#include "ImageFixture.h"
#include "core/Reconciler.h"

#include <fcntl.h>
#include <thread>
#include <unistd.h>

namespace hangar::testing {
namespace {

TEST_F(ImageManagerTest, Import_UploadsAsAJobAndTheImageBecomesReady)
{
    auto r = startImport("debian", makeFile("qcow2"));
    // The probe runs on a worker; the job starts when it is back.
    ASSERT_FALSE(r.outcome.has_value());
    executor.drainOne();
    ASSERT_TRUE(r.ok()) << r.message();
    const Image* image = images.findByName("debian");
    ASSERT_NE(image, nullptr);
    EXPECT_EQ(image->record.phase, ImagePhase::Importing);
    EXPECT_EQ(store.loadImages().at(0).phase, ImagePhase::Importing) << "the row goes first";
    ASSERT_NE(jobs.find(r.outcome->value()), nullptr);
    EXPECT_EQ(jobLog.added, std::vector<std::string>{"import-image"});

    executor.drain();
    image = images.findByName("debian");
    ASSERT_NE(image, nullptr);
    EXPECT_EQ(image->record.phase, ImagePhase::Ready);
    EXPECT_EQ(image->record.format, ImageFormat::Qcow2);
    EXPECT_EQ(image->record.virtualSizeBytes, 3 * kGiB);
    EXPECT_EQ(image->record.owner, kAlice);
    EXPECT_TRUE(storage.has(image->record.volume));
    EXPECT_EQ(image->record.volume, "img-" + image->record.id + ".qcow2");
    EXPECT_EQ(store.loadImages().at(0).phase, ImagePhase::Ready);
    ASSERT_EQ(jobLog.completed.size(), 1U);
    EXPECT_TRUE(jobLog.completed[0].first);
    EXPECT_EQ(jobs.find(r.outcome->value()), nullptr) << "a job disappears when it ends";
}

TEST_F(ImageManagerTest, Import_NeedsManageImagesAndChangesNothingWhenDenied)
{
    authorizer.denied[Action::ManageImages] = true;
    auto r = startImport("debian", makeFile("qcow2"));
    executor.drain();
    ASSERT_TRUE(r.outcome.has_value());
    EXPECT_EQ(r.code(), ErrorCode::PermissionDenied);
    EXPECT_EQ(authorizer.requests.back().action, Action::ManageImages);
    EXPECT_TRUE(images.all().empty());
    EXPECT_TRUE(store.loadImages().empty());
    EXPECT_TRUE(storage.volumes().empty());
}

TEST_F(ImageManagerTest, Import_BadInputIsInvalidArgumentAndLeavesNothing)
{
    const int dir = ::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (auto [name, fd, expected] :
         {std::tuple<std::string, SharedFd, std::optional<ImageFormat>>{"Bad Name", makeFile("qcow2"), std::nullopt},
          {"dir", std::make_shared<UniqueFd>(dir), std::nullopt},
          {"wrong-format", makeFile("qcow2"), ImageFormat::Iso},
          {"no-fd", std::make_shared<UniqueFd>(), std::nullopt}}) {
        auto r = startImport(name, fd, kAlice, expected);
        executor.drain();
        ASSERT_TRUE(r.outcome.has_value()) << name;
        EXPECT_EQ(r.code(), ErrorCode::InvalidArgument) << name << ": " << r.message();
    }
    EXPECT_TRUE(images.all().empty());
    EXPECT_TRUE(store.loadImages().empty());
    EXPECT_TRUE(storage.volumes().empty());
}

TEST_F(ImageManagerTest, Import_ATakenNameIsAlreadyExists)
{
    import("debian");
    auto r = startImport("debian", makeFile("raw"));
    executor.drain();
    EXPECT_EQ(r.code(), ErrorCode::AlreadyExists);
    EXPECT_EQ(storage.volumes().size(), 1U);
}

TEST_F(ImageManagerTest, Import_AFailedUploadLeavesNoImageNoRowNoVolume)
{
    storage.failNext("upload", Error(ErrorCode::BackendFailure, "disk full"));
    auto r = startImport("debian", makeFile("qcow2"));
    executor.drain();
    ASSERT_TRUE(r.ok()) << "the job started; the failure is its outcome";
    ASSERT_EQ(jobLog.completed.size(), 1U);
    EXPECT_FALSE(jobLog.completed[0].first);
    EXPECT_NE(jobLog.completed[0].second.find("disk full"), std::string::npos);
    EXPECT_TRUE(images.all().empty());
    EXPECT_TRUE(store.loadImages().empty());
    EXPECT_TRUE(storage.volumes().empty());
}

TEST_F(ImageManagerTest, Import_CancelMidUploadLeavesNothing)
{
    storage.hold("upload");
    auto r = startImport("debian", makeFile("qcow2"));
    executor.drainOne(); // the probe
    ASSERT_TRUE(r.ok());
    const std::uint64_t job = r.outcome->value();
    std::thread worker(executor.takeWork()); // the upload, stopped half-way
    ASSERT_TRUE(storage.waitHeld("upload", 1, std::chrono::seconds(5)));
    EXPECT_EQ(storage.volumes().size(), 1U) << "half-uploaded";

    // Another user may not cancel it; its starter may.
    Capture<std::monostate> denied;
    authorizer.denied[Action::ManageImages] = true;
    jobs.cancel(caller(kBob), job, denied.done());
    EXPECT_EQ(denied.code(), ErrorCode::PermissionDenied);
    Capture<std::monostate> cancel;
    jobs.cancel(caller(kAlice), job, cancel.done());
    EXPECT_TRUE(cancel.ok());

    storage.release("upload");
    worker.join();
    executor.drain();
    ASSERT_EQ(jobLog.completed.size(), 1U);
    EXPECT_FALSE(jobLog.completed[0].first);
    EXPECT_EQ(jobLog.completed[0].second, "cancelled");
    EXPECT_TRUE(images.all().empty());
    EXPECT_TRUE(store.loadImages().empty());
    EXPECT_TRUE(storage.volumes().empty());
}

TEST_F(ImageManagerTest, Jobs_ReportProgressAtMostFourTimesASecond)
{
    storage.hold("upload");
    auto r = startImport("debian", makeFile("qcow2"));
    executor.drainOne();
    std::thread worker(executor.takeWork());
    ASSERT_TRUE(storage.waitHeld("upload", 1, std::chrono::seconds(5)));
    const Job* job = jobs.find(r.outcome->value());
    ASSERT_NE(job, nullptr);
    job->shared->bytesDone = job->totalBytes / 2;
    executor.advance(std::chrono::milliseconds(100));
    EXPECT_TRUE(jobLog.progress.empty()) << "not sampled before 250 ms";
    executor.advance(std::chrono::milliseconds(150));
    ASSERT_EQ(jobLog.progress.size(), 1U);
    EXPECT_DOUBLE_EQ(jobLog.progress[0], 0.5);
    EXPECT_GT(job->rate, 0U);
    EXPECT_GT(job->expectedEndUsec, 0);
    executor.advance(std::chrono::milliseconds(100));
    EXPECT_EQ(jobLog.progress.size(), 1U) << "not more often than every 250 ms";
    executor.advance(std::chrono::milliseconds(150));
    ASSERT_LE(jobLog.progress.size(), 2U);
    EXPECT_DOUBLE_EQ(jobLog.progress.back(), 0.5) << "stalled: the rate falls, the progress stays";
    storage.release("upload");
    worker.join();
    executor.drain();
    EXPECT_EQ(executor.timers(), 0U) << "the sampler stops with the last job";
}

TEST_F(ImageManagerTest, CreateFromQcow2_IsAnOverlayBackedByTheImage)
{
    const std::string id = import("debian");
    auto r = createFrom("web-1", "debian");
    ASSERT_TRUE(r.ok()) << r.message();
    const Vm* vm = inventory.find(r.outcome->value());
    ASSERT_NE(vm, nullptr);
    EXPECT_EQ(vm->record.image, id);
    EXPECT_EQ(vm->record.spec.diskGiB, 3U) << "defaults to the image's size";
    EXPECT_EQ(vm->record.diskVolume, "vm-" + vm->record.uuid + ".qcow2");
    EXPECT_TRUE(vm->record.cdromVolume.empty());
    EXPECT_EQ(storage.backingOf(vm->record.diskVolume), images.find(id)->record.volume);
    EXPECT_EQ(inventory.madeFrom(id).size(), 1U);

    auto bigger = createFrom("web-2", "debian", 20);
    ASSERT_TRUE(bigger.ok());
    EXPECT_EQ(storage.find(inventory.find(bigger.outcome->value())->record.diskVolume)->capacityBytes, 20 * kGiB);

    auto smaller = createFrom("web-3", "debian", 2);
    EXPECT_EQ(smaller.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(smaller.message().find("at least 3"), std::string::npos) << smaller.message();
    EXPECT_EQ(createFrom("web-4", "nope").code(), ErrorCode::NotFound);
}

TEST_F(ImageManagerTest, CreateFromIso_IsABlankDiskPlusTheIsoAsCdrom)
{
    const std::string id = import("installer", "iso");
    auto r = createFrom("new-os", "installer", 8);
    ASSERT_TRUE(r.ok()) << r.message();
    const Vm* vm = inventory.find(r.outcome->value());
    EXPECT_EQ(vm->record.cdromVolume, images.find(id)->record.volume);
    EXPECT_EQ(storage.backingOf(vm->record.diskVolume), "");
    EXPECT_EQ(storage.find(vm->record.diskVolume)->capacityBytes, 8 * kGiB);
    EXPECT_EQ(hypervisor.cdromVolume(vm->record.uuid), vm->record.cdromVolume);
}

TEST_F(ImageManagerTest, CreateWithoutImage_GetsABlankDiskAndDeleteRemovesIt)
{
    const std::string uuid = create("plain");
    const std::string disk = inventory.find(uuid)->record.diskVolume;
    EXPECT_TRUE(storage.has(disk));
    EXPECT_TRUE(call([&](Done<> d) { manager.remove(caller(kAlice), uuid, {}, d); }).ok());
    EXPECT_FALSE(storage.has(disk));
    EXPECT_FALSE(hypervisor.has(uuid));
}

TEST_F(ImageManagerTest, CreateFailingToDefine_RemovesTheNewDisk)
{
    import("debian");
    hypervisor.failNext("define", Error(ErrorCode::BackendFailure, "no"));
    EXPECT_EQ(createFrom("web-1", "debian").code(), ErrorCode::BackendFailure);
    EXPECT_EQ(storage.volumes().size(), 1U) << "only the image is left";
    EXPECT_TRUE(store.loadVms().empty());
}

TEST_F(ImageManagerTest, DeleteImage_RefusedWhileUsedNamingTheVms)
{
    const std::string id = import("debian");
    const auto vm = createFrom("web-1", "debian");
    Capture<std::monostate> busy;
    images.remove(caller(kAlice), id, busy.done());
    executor.drain();
    EXPECT_EQ(busy.code(), ErrorCode::Busy);
    EXPECT_NE(busy.message().find("web-1"), std::string::npos) << busy.message();
    EXPECT_TRUE(storage.has(images.find(id)->record.volume));

    EXPECT_TRUE(call([&](Done<> d) { manager.remove(caller(kAlice), vm.outcome->value(), {}, d); }).ok());
    const std::string volume = images.find(id)->record.volume;
    Capture<std::monostate> ok;
    images.remove(caller(kAlice), id, ok.done());
    executor.drain();
    EXPECT_TRUE(ok.ok()) << ok.message();
    EXPECT_EQ(images.find(id), nullptr);
    EXPECT_FALSE(storage.has(volume));
    EXPECT_TRUE(store.loadImages().empty());
}

TEST_F(ImageManagerTest, Clone_NewOverlayOfTheSameImageWithACopyOfTheChanges)
{
    const std::string id = import("debian");
    VmSpecRequest spec;
    spec.image = "debian";
    spec.vcpus = 2;
    spec.description = "golden";
    Capture<std::string> source;
    manager.create(caller(kAlice), "src", spec, source.done());
    executor.drain();
    ASSERT_TRUE(source.ok());

    Capture<std::string> clone;
    manager.clone(caller(kBob), source.outcome->value(), "copy", clone.done());
    executor.drain();
    ASSERT_TRUE(clone.ok()) << clone.message();
    const Vm* copy = inventory.find(clone.outcome->value());
    const Vm* src = inventory.find(source.outcome->value());
    EXPECT_NE(copy->record.uuid, src->record.uuid);
    EXPECT_EQ(copy->record.owner, kBob);
    EXPECT_EQ(copy->record.spec, src->record.spec);
    EXPECT_EQ(copy->record.image, id);
    EXPECT_EQ(copy->state, VmState::Stopped);
    EXPECT_EQ(storage.backingOf(copy->record.diskVolume), images.find(id)->record.volume);
    EXPECT_EQ(storage.calls("cloneOverlay"), 1);
    EXPECT_FALSE(src->operation.has_value());
    EXPECT_EQ(inventory.madeFrom(id).size(), 2U);

    // Only a stopped VM; the name must be free.
    ASSERT_TRUE(call([&](Done<> d) { manager.start(caller(kAlice), src->record.uuid, d); }).ok());
    Capture<std::string> running;
    manager.clone(caller(kAlice), src->record.uuid, "copy-2", running.done());
    executor.drain();
    EXPECT_EQ(running.code(), ErrorCode::Busy);
    Capture<std::string> taken;
    manager.clone(caller(kAlice), copy->record.uuid, "src", taken.done());
    executor.drain();
    EXPECT_EQ(taken.code(), ErrorCode::AlreadyExists);
}

TEST_F(ImageManagerTest, Clone_NeedsCreateVmAsWellAsTheRightOnTheSource)
{
    const std::string uuid = create("src");
    authorizer.denied[Action::CreateVm] = true;
    Capture<std::string> r;
    manager.clone(caller(kAlice), uuid, "copy", r.done());
    executor.drain();
    EXPECT_EQ(r.code(), ErrorCode::PermissionDenied);
    EXPECT_EQ(inventory.counts().vms, 1U);
    EXPECT_EQ(storage.volumes().size(), 1U);
}

TEST_F(ImageManagerTest, Snapshots_CreateRevertDeleteKeepTheSnapshotsPropertyCurrent)
{
    const std::string uuid = create("web-1");
    auto snap = [&](auto fn) { return call(fn); };
    EXPECT_TRUE(snap([&](Done<> d) { manager.createSnapshot(caller(kAlice), uuid, "before", "clean", d); }).ok());
    EXPECT_TRUE(snap([&](Done<> d) { manager.createSnapshot(caller(kAlice), uuid, "after", "", d); }).ok());
    EXPECT_EQ(inventory.find(uuid)->snapshots, (std::vector<std::string>{"before", "after"}));
    EXPECT_EQ(snap([&](Done<> d) { manager.createSnapshot(caller(kAlice), uuid, "after", "", d); }).code(),
              ErrorCode::AlreadyExists);
    EXPECT_EQ(snap([&](Done<> d) { manager.createSnapshot(caller(kAlice), uuid, "Bad!", "", d); }).code(),
              ErrorCode::InvalidArgument);
    EXPECT_EQ(snap([&](Done<> d) { manager.createSnapshot(caller(kAlice), uuid, "bell", "ring\a", d); }).code(),
              ErrorCode::InvalidArgument)
        << "descriptions follow one rule: no control characters but tab and newline";
    EXPECT_EQ(snap([&](Done<> d) { manager.revertToSnapshot(caller(kAlice), uuid, "nope", d); }).code(),
              ErrorCode::NotFound);
    EXPECT_TRUE(snap([&](Done<> d) { manager.revertToSnapshot(caller(kAlice), uuid, "before", d); }).ok());
    EXPECT_TRUE(snap([&](Done<> d) { manager.deleteSnapshot(caller(kAlice), uuid, "after", d); }).ok());
    EXPECT_EQ(inventory.find(uuid)->snapshots, std::vector<std::string>{"before"});

    Capture<std::vector<SnapshotInfo>> list;
    manager.listSnapshots(uuid, list.done());
    executor.drain();
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list.outcome->value().size(), 1U);
    EXPECT_EQ(list.outcome->value()[0].description, "clean");

    authorizer.denied[Action::ManageAllVms] = true;
    EXPECT_EQ(snap([&](Done<> d) { manager.createSnapshot(caller(kBob), uuid, "bobs", "", d); }).code(),
              ErrorCode::PermissionDenied);
    EXPECT_EQ(inventory.find(uuid)->snapshots, std::vector<std::string>{"before"});
}

TEST_F(ImageManagerTest, Publish_FlattensAStoppedVmsDiskIntoANewImage)
{
    import("debian");
    const auto vm = createFrom("golden", "debian");
    ASSERT_TRUE(vm.ok());
    Capture<std::uint64_t> r;
    images.publish(caller(kAlice), vm.outcome->value(), "golden-image", "", std::nullopt, r.done());
    ASSERT_TRUE(r.ok()) << r.message();
    const Image* pending = images.findByName("golden-image");
    ASSERT_NE(pending, nullptr);
    EXPECT_EQ(pending->record.phase, ImagePhase::Importing);
    EXPECT_EQ(inventory.find(vm.outcome->value())->operation, VmOperation::Publish) << "the VM is Busy meanwhile";
    executor.drain();
    const Image* image = images.findByName("golden-image");
    ASSERT_NE(image, nullptr);
    EXPECT_EQ(image->record.phase, ImagePhase::Ready);
    EXPECT_EQ(image->record.format, ImageFormat::Qcow2);
    EXPECT_EQ(image->record.description, "published from VM golden");
    EXPECT_EQ(storage.backingOf(image->record.volume), "") << "flattened: no backing chain";
    EXPECT_FALSE(inventory.find(vm.outcome->value())->operation.has_value());
    ASSERT_EQ(jobLog.completed.size(), 2U);
    EXPECT_TRUE(jobLog.completed[1].first);

    // A VM made from the published image, and a running VM cannot be published.
    EXPECT_TRUE(createFrom("from-golden", "golden-image").ok());
    ASSERT_TRUE(call([&](Done<> d) { manager.start(caller(kAlice), vm.outcome->value(), d); }).ok());
    Capture<std::uint64_t> busy;
    images.publish(caller(kAlice), vm.outcome->value(), "again", "", std::nullopt, busy.done());
    executor.drain();
    EXPECT_EQ(busy.code(), ErrorCode::Busy);
    authorizer.denied[Action::ManageImages] = true;
    Capture<std::uint64_t> denied;
    images.publish(caller(kAlice), vm.outcome->value(), "again", "", std::nullopt, denied.done());
    executor.drain();
    EXPECT_EQ(denied.code(), ErrorCode::PermissionDenied);
}

TEST_F(ImageManagerTest, Quota_ImagesCountAgainstMaxDiskGib)
{
    store.setQuota(kAlice, QuotaLimits{std::nullopt, std::nullopt, std::nullopt, std::nullopt, 4});
    authorizer.denied[Action::ManageAllVms] = true; // alice is not an administrator: her quota applies
    import("small", "raw");                         // 8 KiB: 1 GiB rounded up
    EXPECT_EQ(quotas.usage(kAlice).diskGiB, 1U);
    auto r = createFrom("web-1", "small", 4);
    EXPECT_EQ(r.code(), ErrorCode::QuotaExceeded) << "1 GiB of images + 4 GiB of disk > 4";
    EXPECT_TRUE(createFrom("web-2", "small", 3).ok());
}

TEST_F(ImageManagerTest, Recovery_RollsBackInterruptedImportsAndRemovesOrphanVolumes)
{
    ImageRecord half;
    half.id = "11111111-1111-4111-8111-111111111111";
    half.name = "half";
    half.volume = imageVolumeName(half.id, ImageFormat::Qcow2);
    half.phase = ImagePhase::Importing;
    store.insertImage(half);
    storage.addOutside(VolumeInfo{half.volume, ImageFormat::Qcow2, kGiB, 1000, ""});
    ImageRecord ready = half;
    ready.id = "22222222-2222-4222-8222-222222222222";
    ready.name = "ready";
    ready.volume = imageVolumeName(ready.id, ImageFormat::Qcow2);
    ready.phase = ImagePhase::Ready;
    store.insertImage(ready);
    storage.addOutside(VolumeInfo{ready.volume, ImageFormat::Qcow2, kGiB, 1000, ""});
    storage.addOutside(VolumeInfo{"vm-33333333-3333-4333-8333-333333333333.qcow2", ImageFormat::Qcow2, kGiB, 0, ""});
    storage.addOutside(VolumeInfo{"somebody-elses.qcow2", ImageFormat::Qcow2, kGiB, 0, ""});

    Inventory freshInventory;
    ImageManager freshImages{freshInventory, store, storage, authorizer, executor, audit, jobs, quotas, kGiB};
    Reconciler reconciler{freshInventory, store, hypervisor, storage, freshImages, executor, audit};
    const auto report = runStartup(reconciler, executor);
    EXPECT_EQ(report.imagesRecovered, 1U);
    EXPECT_EQ(report.orphanVolumes, 1U);
    EXPECT_EQ(storage.volumes(), (std::vector<std::string>{ready.volume, "somebody-elses.qcow2"}))
        << "a volume not named like Hangar's is not ours to remove";
    ASSERT_EQ(store.loadImages().size(), 1U);
    EXPECT_NE(freshImages.findByName("ready"), nullptr);
    EXPECT_EQ(storage.ensurePoolCalls(), 1);
}

} // namespace
} // namespace hangar::testing
