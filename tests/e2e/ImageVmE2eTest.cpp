// VMs made from images end to end (issue "Images and disks"): overlays of a qcow2 image, a CD-ROM from an ISO, a
// guest booted on its overlay, image delete refused while a VM uses it, snapshots, clones and publish of stopped VMs,
// checked in the pool directory (qemu-img, qemu-io) and in the domain definitions (virsh). Only one guest boots here;
// everything else works on stopped VMs. Its last test restarts hangard, so this file stays the last e2e source
// (tests/CMakeLists.txt) and that test the last in it. The fixture: ImageE2eFixture.h.
#include "ImageE2eFixture.h"

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <gtest/gtest.h>
#include <iostream>
#include <unistd.h>

namespace hangar::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// ---- VMs from images ---------------------------------------------------------------------------------------------

TEST_F(ImageE2e, VmFromQcow2ImageGetsAConstantTimeOverlayOfIt)
{
    const std::string imagePath = baseImage();
    const std::string base = imageVolumeFile(imagePath);
    const auto start = Clock::now();
    const std::string vm = createWithHangarctl({"create", "e2e-overlay", "--image", kBaseImage});
    std::cout << "[          ] hangarctl create --image: " << secondsSince(start) << " s\n";
    EXPECT_EQ(client().vmProperty(vm, "Image").get<std::string>(), kBaseImage);
    EXPECT_EQ(client().vmProperty(vm, "DiskGiB").get<std::uint64_t>(), 1u) << "64 MiB rounded up";

    const std::string disk = vmDiskFile(vm);
    const json info = qemuImgInfo(disk);
    EXPECT_EQ(field(info, "format"), "qcow2") << info.dump(2);
    EXPECT_EQ(field(info, "backing-filename"), base) << info.dump(2);
    EXPECT_EQ(field(info, "backing-filename-format"), "qcow2") << info.dump(2);
    EXPECT_EQ(field(info, "virtual-size"), std::to_string(kGiB)) << info.dump(2);
    ASSERT_TRUE(info.contains("actual-size")) << info.dump(2);
    EXPECT_LT(info["actual-size"].get<std::uint64_t>(), kMiB) << "an overlay is metadata only: " << info.dump(2);
    // Through the chain, the VM's disk reads the image's bytes.
    EXPECT_EQ(patternMismatch(disk, kBasePattern, "0", "1M"), "");
    EXPECT_TRUE(contains(usedBy(imagePath), vm)) << joined(usedBy(imagePath));
}

TEST_F(ImageE2e, VmFromIsoHasTheCdromFirstInBootOrderAndABlankVirtioDisk)
{
    const std::string imagePath = imageNamed(kIsoImage, files().iso, "iso");
    const std::string iso = imageVolumeFile(imagePath);
    const std::string vm = createFromImage("e2e-installer", kIsoImage, 2);
    const std::string xml = libvirtd().virsh({"dumpxml", domainOf(vm)}).out;

    const std::string cdrom = diskElement(xml, "cdrom");
    ASSERT_FALSE(cdrom.empty()) << "no CD-ROM in the definition\n" << xml;
    EXPECT_NE(cdrom.find("<disk type='volume' device='cdrom'>"), std::string::npos) << cdrom;
    EXPECT_NE(
        cdrom.find("<source pool='" + std::string(kPoolName) + "' volume='" + fs::path(iso).filename().string() + "'"),
        std::string::npos)
        << cdrom;
    EXPECT_NE(cdrom.find("<readonly/>"), std::string::npos) << cdrom;
    EXPECT_NE(cdrom.find("<boot order='1'/>"), std::string::npos) << cdrom;

    const std::string diskXml = diskElement(xml, "disk");
    ASSERT_FALSE(diskXml.empty()) << "no disk in the definition\n" << xml;
    EXPECT_NE(diskXml.find("<target dev='vda' bus='virtio'/>"), std::string::npos) << diskXml;
    EXPECT_NE(diskXml.find("volume='" + fs::path(vmDiskFile(vm)).filename().string() + "'"), std::string::npos)
        << diskXml;
    EXPECT_NE(diskXml.find("<boot order='2'/>"), std::string::npos) << diskXml;
    EXPECT_EQ(xml.find("<boot dev="), std::string::npos) << "per-device boot order only\n" << xml;

    const json info = qemuImgInfo(vmDiskFile(vm));
    EXPECT_EQ(field(info, "format"), "qcow2") << info.dump(2);
    EXPECT_EQ(field(info, "backing-filename"), "") << "a blank disk, not an overlay of the ISO: " << info.dump(2);
    EXPECT_EQ(field(info, "virtual-size"), std::to_string(2 * kGiB)) << info.dump(2);
    EXPECT_TRUE(contains(usedBy(imagePath), vm)) << joined(usedBy(imagePath));
}

// The one guest this file boots: QEMU opening the overlay and its backing image is the proof the chain is right.
TEST_F(ImageE2e, VmFromAnImageRunsWithItsOverlayOnTheImage)
{
    const std::string imagePath = baseImage();
    const std::string base = imageVolumeFile(imagePath);
    Dict spec = guestSpec();
    spec["image"] = sdbus::Variant(std::string(kBaseImage));
    const std::string vm = bootVm("e2e-image-guest", spec);
    const std::string domain = domainOf(vm);

    const std::string xml = libvirtd().virsh({"dumpxml", domain}).out;
    const std::string disk = diskElement(xml, "disk");
    ASSERT_FALSE(disk.empty()) << xml;
    EXPECT_NE(disk.find("<target dev='vda' bus='virtio'/>"), std::string::npos) << disk;
    EXPECT_NE(disk.find("volume='" + fs::path(vmDiskFile(vm)).filename().string() + "'"), std::string::npos) << disk;
    // The live definition shows the chain QEMU opened: the image's volume behind the VM's.
    const auto backing = disk.find("<backingStore type='file'");
    ASSERT_NE(backing, std::string::npos) << "no backing store in the running domain's disk\n" << disk;
    EXPECT_NE(disk.find("<format type='qcow2'/>", backing), std::string::npos) << disk;
    EXPECT_NE(disk.find("<source file='" + base + "'", backing), std::string::npos) << disk;
}

// ---- delete ------------------------------------------------------------------------------------------------------

TEST_F(ImageE2e, ImageDeleteIsRefusedWhileAVmUsesItAndRemovesTheVolumeAfter)
{
    const json imported = importWithHangarctl(files().qcow2, "e2e-doomed", "qcow2");
    const std::string imagePath = field(imported, "ObjectPath");
    const std::string volume = imageVolumeFile(imagePath);
    const std::string vm = createWithHangarctl({"create", "e2e-doomed-user", "--image", "e2e-doomed"});

    const auto refused = hangarctl({"image", "delete", "e2e-doomed"});
    EXPECT_EQ(refused.exitCode, 1) << refused.err;
    EXPECT_NE(refused.err.find("e2e-doomed-user"), std::string::npos) << "the message names the VM: " << refused.err;
    EXPECT_NE(refused.err.find("(Busy)"), std::string::npos) << refused.err;
    EXPECT_TRUE(client().findImage("e2e-doomed"));
    EXPECT_TRUE(fs::exists(volume));

    const auto vmDeleted = hangarctl({"delete", "e2e-doomed-user"});
    ASSERT_EQ(vmDeleted.exitCode, 0) << vmDeleted.err;
    m_ownVms.clear();
    EXPECT_TRUE(it::waitFor([&] { return usedBy(imagePath).empty(); }, 10s)) << joined(usedBy(imagePath));
    const auto deleted = hangarctl({"image", "delete", "e2e-doomed"});
    EXPECT_EQ(deleted.exitCode, 0) << deleted.err << diagnostics();
    EXPECT_FALSE(client().findImage("e2e-doomed"));
    EXPECT_FALSE(fs::exists(volume)) << volume << " is left behind";
    const auto list = hangarctl({"--json", "image", "list"});
    EXPECT_EQ(list.out.find("\"e2e-doomed\""), std::string::npos) << list.out;
}

// ---- snapshots, clone, publish -----------------------------------------------------------------------------------

TEST_F(ImageE2e, SnapshotsOfAStoppedVmAreInternalSnapshotsOfItsQcow2Disk)
{
    baseImage();
    const std::string vm = createFromImage("e2e-snap", kBaseImage);
    const std::string disk = vmDiskFile(vm);

    const auto created = hangarctl({"snapshot", "create", "e2e-snap", "before", "--description", "e2e"});
    ASSERT_EQ(created.exitCode, 0) << created.err << diagnostics(domainOf(vm));
    const auto listedByQemu = run({"qemu-img", "snapshot", "-U", "-l", disk});
    EXPECT_NE(listedByQemu.find("before"), std::string::npos) << "qemu-img snapshot -l " << disk << ":\n"
                                                              << listedByQemu;
    EXPECT_EQ(client().vmProperty(vm, "Snapshots").get<std::vector<std::string>>(), std::vector<std::string>{"before"});
    const auto list = hangarctl({"--json", "snapshot", "list", "e2e-snap"});
    ASSERT_EQ(list.exitCode, 0) << list.err;
    const json snapshots = parseJson(list.out, "hangarctl --json snapshot list");
    ASSERT_EQ(snapshots.size(), 1u) << list.out;
    EXPECT_EQ(field(snapshots[0], "name"), "before") << list.out;
    EXPECT_EQ(field(snapshots[0], "description"), "e2e") << list.out;

    // What the guest wrote since goes with the revert: the image's bytes are back.
    writePattern(disk, "0x77", "0", "64k");
    ASSERT_EQ(patternMismatch(disk, "0x77", "0", "64k"), "");
    const auto reverted = hangarctl({"snapshot", "revert", "e2e-snap", "before"});
    ASSERT_EQ(reverted.exitCode, 0) << reverted.err << diagnostics(domainOf(vm));
    EXPECT_EQ(patternMismatch(disk, kBasePattern, "0", "64k"), "") << "the revert did not put the disk back";
    EXPECT_EQ(client().state(vm), "stopped");

    const auto deleted = hangarctl({"snapshot", "delete", "e2e-snap", "before"});
    ASSERT_EQ(deleted.exitCode, 0) << deleted.err;
    EXPECT_EQ(run({"qemu-img", "snapshot", "-U", "-l", disk}).find("before"), std::string::npos);
    EXPECT_TRUE(client().vmProperty(vm, "Snapshots").get<std::vector<std::string>>().empty());
}

TEST_F(ImageE2e, CloneOfAStoppedVmIsAnOverlayOfTheSameImageWithTheSourcesChanges)
{
    const std::string imagePath = baseImage();
    const std::string base = imageVolumeFile(imagePath);
    const std::string source = createFromImage("e2e-clone-src", kBaseImage);
    writePattern(vmDiskFile(source), "0x42", "8M", "1M");

    const auto start = Clock::now();
    const std::string clone = createWithHangarctl({"clone", "e2e-clone-src", "e2e-clone"});
    std::cout << "[          ] hangarctl clone: " << secondsSince(start) << " s\n";
    EXPECT_NE(client().vmProperty(clone, "UUID").get<std::string>(),
              client().vmProperty(source, "UUID").get<std::string>());
    EXPECT_EQ(client().vmProperty(clone, "Image").get<std::string>(), kBaseImage);

    const std::string disk = vmDiskFile(clone);
    const json info = qemuImgInfo(disk);
    EXPECT_EQ(field(info, "backing-filename"), base) << "the clone's disk keeps the image as its backing file\n"
                                                     << info.dump(2);
    EXPECT_EQ(field(info, "backing-filename-format"), "qcow2") << info.dump(2);
    EXPECT_LT(info.value("actual-size", std::uint64_t{0}), 4 * kMiB)
        << "only the source's changes are copied, not the image: " << info.dump(2);
    EXPECT_EQ(patternMismatch(disk, "0x42", "8M", "1M"), "") << "the source's changes are not in the clone";
    EXPECT_EQ(patternMismatch(disk, kBasePattern, "0", "1M"), "") << "the image does not show through the clone";
    const auto compare = it::run({"qemu-img", "compare", "-U", vmDiskFile(source), disk});
    EXPECT_EQ(compare.exitCode, 0) << compare.out << compare.err;
    EXPECT_TRUE(contains(usedBy(imagePath), clone)) << joined(usedBy(imagePath));
    EXPECT_TRUE(contains(usedBy(imagePath), source)) << joined(usedBy(imagePath));
}

TEST_F(ImageE2e, PublishedVmIsAStandaloneImageThatVmsAreMadeFrom)
{
    baseImage();
    const std::string source = createFromImage("e2e-pub-src", kBaseImage);
    writePattern(vmDiskFile(source), "0x42", "8M", "1M");

    const auto start = Clock::now();
    const auto r = hangarctl({"--json", "publish", "e2e-pub-src", "e2e-published"});
    ASSERT_EQ(r.exitCode, 0) << r.err << r.out << diagnostics();
    std::cout << "[          ] hangarctl publish: " << secondsSince(start) << " s\n";
    const json published = parseJson(r.out, "hangarctl --json publish");
    EXPECT_EQ(field(published, "State"), "ready") << r.out;
    EXPECT_EQ(field(published, "Format"), "qcow2") << r.out;
    EXPECT_EQ(field(published, "VirtualSizeBytes"), std::to_string(kGiB)) << r.out;
    EXPECT_EQ(client().state(source), "stopped");

    const std::string volume = imageVolumeFile(field(published, "ObjectPath"));
    const json info = qemuImgInfo(volume);
    EXPECT_EQ(field(info, "format"), "qcow2") << info.dump(2);
    EXPECT_EQ(field(info, "backing-filename"), "") << "a published image stands alone: " << info.dump(2);
    EXPECT_EQ(patternMismatch(volume, "0x42", "8M", "1M"), "");
    EXPECT_EQ(patternMismatch(volume, kBasePattern, "0", "1M"), "");
    const auto compare = it::run({"qemu-img", "compare", "-U", vmDiskFile(source), volume});
    EXPECT_EQ(compare.exitCode, 0) << compare.out << compare.err;

    const std::string vm = createFromImage("e2e-from-published", "e2e-published");
    const json overlay = qemuImgInfo(vmDiskFile(vm));
    EXPECT_EQ(field(overlay, "backing-filename"), volume) << overlay.dump(2);
    EXPECT_EQ(field(overlay, "backing-filename-format"), "qcow2") << overlay.dump(2);
    EXPECT_EQ(patternMismatch(vmDiskFile(vm), "0x42", "8M", "1M"), "");
}

// Last of the run: it restarts hangard. A kill during Publish's copy leaves the image row in phase importing and a
// volume libvirtd goes on filling (the copy is libvirtd's own job), which it refuses to delete until it is done
// ("still being allocated"). The restarted hangard's recovery must keep trying until the row and the volume are gone,
// without another restart, and meanwhile say Busy for the name, never AlreadyExists.
TEST_F(ImageE2e, PublishKilledMidCopyLeavesNothingOnceRecoveryEnds)
{
    baseImage();
    const std::string source = createFromImage("e2e-kill-src", kBaseImage, 2);
    writePattern(vmDiskFile(source), "0x5a", "0", "768M"); // a copy that takes a moment
    const auto before = m_world->poolFiles();

    const auto publish = client().proxy(source);
    sdbus::ObjectPath job;
    publish->callMethod("Publish")
        .onInterface(kVmIface)
        .withArguments(std::string("e2e-killed"), Dict{})
        .storeResultsTo(job);
    // Killed once libvirtd has begun the copy: its volume is in the pool directory.
    ASSERT_TRUE(it::waitFor([&] { return m_world->poolFiles().size() > before.size(); }, 30s))
        << "the publish made no volume within 30 s" << diagnostics();
    const auto killed = Clock::now();
    m_world->restartHangard();
    client().forgetCompleted();
    const std::string log = m_world->hangard->log();
    const bool hadToWait = log.find("still being allocated") != std::string::npos;
    std::cout << "[          ] hangard killed during publish and restarted in " << secondsSince(killed) << " s; "
              << (hadToWait ? "libvirtd was still copying: the clean-up is retried" : "the copy had ended") << "\n";
    for (std::size_t at = log.find("recover"); at != std::string::npos;) {
        const auto begin = log.rfind('\n', at); // npos + 1 == 0: the first line
        const auto end = log.find('\n', at);
        std::cout << "[          ] " << log.substr(begin + 1, end - begin - 1) << "\n";
        if (end == std::string::npos)
            break;
        at = log.find("recover", end);
    }

    // Asking for the name until it is free: Busy meanwhile, then an import that succeeds.
    std::string wrong;
    const auto freed = it::waitFor(
        [&] {
            const int fd = open(files().qcow2.c_str(), O_RDONLY | O_CLOEXEC);
            try {
                const auto importJob = client().importImage("e2e-killed", fd);
                close(fd);
                const auto end = client().waitCompleted(importJob, 60s);
                if (!end || !end->success)
                    wrong = "the import failed: " + (end ? end->message : std::string("no Completed"));
                return true;
            } catch (const sdbus::Error& e) {
                close(fd);
                if (e.getName() == std::string(kErrorPrefix) + "Busy")
                    return false;
                wrong = "while the interrupted publish is cleaned up, its name must be Busy: " + describe(e);
                return true;
            }
        },
        120s);
    ASSERT_TRUE(freed) << "the name is still held 120 s after the restart" << diagnostics();
    ASSERT_EQ(wrong, "") << diagnostics();
    const auto imported = client().findImage("e2e-killed");
    ASSERT_TRUE(imported);
    std::cout << "[          ] the name was free again " << secondsSince(killed) << " s after the kill\n";
    auto after = m_world->poolFiles();
    const std::string mine = imageVolumeFile(*imported);
    std::erase(after, mine.substr(mine.rfind('/') + 1));
    EXPECT_EQ(after, before) << "the interrupted publish left a volume behind";
    client().proxy(*imported)->callMethod("Delete").onInterface(kImageIface).withArguments(Dict{});
}

} // namespace
} // namespace hangar::e2e
