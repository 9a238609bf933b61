// Images and disks end to end (issue "Images and disks"): hangard's storage pool on the real libvirtd, images
// imported with hangarctl and through D-Bus, VMs made from them, snapshots, clones and publish, checked where the
// bytes are — the pool directory, with qemu-img and qemu-io — and in the domain definitions (virsh).
//
// It shares E2eTest.cpp's world (E2eWorld.h: libvirtd, hangard, the pool at its default place <state dir>/pool). The
// image files are made at run time: a qcow2 with recognisable data (qemu-img create, then qemu-img convert from a
// raw file carrying a marker), an ISO (xorriso), a cut-off copy of the qcow2, and 512 MiB of real data for the
// imports that are cancelled half-way. Only one guest boots here (a VM made from an image); everything else works on
// stopped VMs, which is all snapshots, clone and publish need.
#include "E2eWorld.h"
#include "core/Types.h"

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace hangar::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::uint64_t kBaseVirtualBytes = 64 * kMiB;
constexpr std::uint64_t kBigBytes = 512 * kMiB;
constexpr const char* kBaseImage = "e2e-base";
constexpr const char* kIsoImage = "e2e-iso";
// In the base image: this pattern over its first MiB, and the marker at 1 MiB.
constexpr const char* kBasePattern = "0xa5";
constexpr const char* kMarker = "HANGAR-E2E-IMAGE-MARKER";

std::string run(const std::vector<std::string>& argv, std::chrono::seconds timeout = 60s)
{
    const auto r = it::run(argv, {}, timeout);
    if (r.exitCode != 0) {
        std::string command;
        for (const auto& arg : argv)
            command += (command.empty() ? "" : " ") + arg;
        throw std::runtime_error(command + " failed (exit " + std::to_string(r.exitCode) + "): " + r.out + r.err);
    }
    return r.out;
}

json parseJson(const std::string& text, const std::string& what)
{
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        throw std::runtime_error(what + " is not JSON (" + e.what() + "): " + text);
    }
}

// What qemu-img reads from the file's header (-U: whatever else has it open).
json qemuImgInfo(const std::string& file)
{
    return parseJson(run({"qemu-img", "info", "-U", "--output=json", file}), "qemu-img info " + file);
}

std::string field(const json& object, const char* key)
{
    if (!object.contains(key))
        return "";
    return object[key].is_string() ? object[key].get<std::string>() : object[key].dump();
}

// qemu-io's verdict on "read -P PATTERN OFFSET LENGTH" through the file's whole backing chain: "" when every byte
// matched, else what qemu-io said.
std::string patternMismatch(const std::string& file, const std::string& pattern, const std::string& offset,
                            const std::string& length)
{
    const auto r =
        it::run({"qemu-io", "-r", "-U", "-f", "qcow2", "-c", "read -P " + pattern + " " + offset + " " + length, file});
    if (r.exitCode == 0 && r.out.find("Pattern verification failed") == std::string::npos &&
        r.out.find("read ") != std::string::npos)
        return "";
    return "qemu-io read -P " + pattern + " " + offset + " " + length + " of " + file + ": " + r.out + r.err;
}

// Fills a qcow2 disk behind Hangar's back (the VM is stopped): what a guest would have written.
void writePattern(const std::string& file, const std::string& pattern, const std::string& offset,
                  const std::string& length)
{
    run({"qemu-io", "-f", "qcow2", "-c", "write -P " + pattern + " " + offset + " " + length, file});
}

bool contains(const std::vector<std::string>& names, const std::string& name)
{
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::string joined(const std::vector<std::string>& names)
{
    std::string out;
    for (const auto& name : names)
        out += (out.empty() ? "" : " ") + name;
    return out.empty() ? "(none)" : out;
}

// The image files, made once per run in the world's temp dir.
struct Files
{
    std::string dir;
    std::string qcow2;     // 64 MiB virtual: kBasePattern over the first MiB, kMarker at 1 MiB
    std::string iso;       // an ISO 9660 image of a directory holding a file with kMarker
    std::string truncated; // the first 64 KiB of qcow2: header intact, its tables beyond the end
    std::string big;       // 512 MiB of real data (no holes): an upload that takes a moment

    explicit Files(const std::string& root) : dir(root + "/image-files")
    {
        fs::create_directories(dir + "/iso-root");
        const std::string raw = dir + "/base.raw";
        run({"truncate", "-s", std::to_string(kBaseVirtualBytes), raw});
        run({"qemu-io", "-f", "raw", "-c", std::string("write -P ") + kBasePattern + " 0 1M", raw});
        {
            std::fstream out(raw, std::ios::in | std::ios::out | std::ios::binary);
            out.seekp(static_cast<std::streamoff>(kMiB));
            out << kMarker;
        }
        qcow2 = dir + "/base.qcow2";
        run({"qemu-img", "create", "-q", "-f", "qcow2", qcow2, std::to_string(kBaseVirtualBytes)});
        run({"qemu-img", "convert", "-n", "-f", "raw", "-O", "qcow2", raw, qcow2});

        std::ofstream(dir + "/iso-root/README") << kMarker << "\n";
        iso = dir + "/cd.iso";
        run({"xorriso", "-as", "mkisofs", "-quiet", "-V", "HANGAR_E2E", "-o", iso, dir + "/iso-root"});

        truncated = dir + "/truncated.qcow2";
        fs::copy_file(qcow2, truncated);
        fs::resize_file(truncated, 64 * std::uintmax_t{1024});

        // Written, not fallocated: every byte is data, so a sparse upload has all of it to send.
        big = dir + "/big.raw";
        std::ofstream out(big, std::ios::binary);
        std::string block(kMiB, '\0');
        for (std::size_t i = 0; i < block.size(); ++i)
            block[i] = static_cast<char>(1 + i % 251);
        for (std::uint64_t written = 0; written < kBigBytes; written += kMiB)
            out.write(block.data(), static_cast<std::streamsize>(block.size()));
        if (!out.flush())
            throw std::runtime_error("cannot write " + big);
    }
};

std::unique_ptr<Files> g_files;
std::string g_filesError;

class ImageE2e : public E2eFixture
{
protected:
    void SetUp() override
    {
        E2eFixture::SetUp();
        if (!m_world || HasFatalFailure())
            return;
        if (!g_files && g_filesError.empty()) {
            const auto start = Clock::now();
            try {
                g_files = std::make_unique<Files>(m_world->root.path());
                std::cout << "[          ] image files made in " << secondsSince(start) << " s\n";
            } catch (const std::exception& e) {
                g_filesError = e.what();
            }
        }
        if (!g_files)
            FAIL() << "the test images could not be made: " << g_filesError;
    }

    // Whatever images the suite made go with it (their VMs went with each test's TearDown).
    static void TearDownTestSuite()
    {
        World* w = builtWorld();
        if (!w)
            return;
        for (const char* name : {kBaseImage, kIsoImage, "e2e-published", "e2e-doomed"}) {
            try {
                if (auto path = w->client->findImage(name))
                    w->client->proxy(*path)->callMethod("Delete").onInterface(kImageIface).withArguments(Dict{});
            } catch (const sdbus::Error& e) {
                std::cout << "[          ] could not delete image " << name << ": " << describe(e) << "\n";
            }
        }
    }

    Files& files() { return *g_files; }
    RunResult hangarctl(const std::vector<std::string>& args) { return m_world->hangarctl(args); }
    std::string poolFile(const std::string& name) { return m_world->poolDir() + "/" + name; }

    // The image's volume in the pool directory: img-<id>.<format>, the id being the object path's label with dashes.
    std::string imageVolumeFile(const std::string& imagePath)
    {
        const std::string label = imagePath.substr(imagePath.rfind('/') + 1);
        for (const auto& name : m_world->poolFiles()) {
            std::string undashed = name;
            std::erase(undashed, '-');
            if (undashed.rfind("img" + label + ".", 0) == 0)
                return poolFile(name);
        }
        throw std::runtime_error("no volume of image " + imagePath + " in " + m_world->poolDir() + ": " +
                                 joined(m_world->poolFiles()));
    }

    std::string vmDiskFile(const std::string& vmPath)
    {
        return poolFile("vm-" + client().vmProperty(vmPath, "UUID").get<std::string>() + ".qcow2");
    }

    // Imports with hangarctl --json and returns the image it printed; fails the test (throws) otherwise.
    json importWithHangarctl(const std::string& file, const std::string& name, const std::string& format)
    {
        const auto r = hangarctl({"--json", "image", "import", file, "--name", name, "--format", format});
        if (r.exitCode != 0)
            throw std::runtime_error("hangarctl image import " + file + " --name " + name + " exited " +
                                     std::to_string(r.exitCode) + ": " + r.err + r.out + diagnostics());
        return parseJson(r.out, "hangarctl --json image import");
    }

    // The image of that name, imported from file first when there is none yet (the test that checks the import
    // itself runs first; the others use what it made, or make it when run alone).
    std::string imageNamed(const std::string& name, const std::string& file, const std::string& format)
    {
        if (auto path = client().findImage(name))
            return *path;
        return importWithHangarctl(file, name, format)["ObjectPath"].get<std::string>();
    }
    std::string baseImage() { return imageNamed(kBaseImage, files().qcow2, "qcow2"); }

    // CreateVM from an image with no kernel: a VM that is never started, for what works on a stopped VM.
    std::string createFromImage(const std::string& name, const std::string& imageName, std::uint64_t diskGiB = 0)
    {
        Dict spec{{"image", sdbus::Variant(imageName)},
                  {"memory_mib", sdbus::Variant(kGuestMemoryMiB)},
                  {"description", sdbus::Variant(std::string("Hangar end-to-end image test"))}};
        if (diskGiB > 0)
            spec["disk_gib"] = sdbus::Variant(diskGiB);
        return createVm(name, spec);
    }

    // Creates a VM with hangarctl --json and owns it; returns its object path.
    std::string createWithHangarctl(const std::vector<std::string>& args)
    {
        std::vector<std::string> argv{"--json"};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto r = hangarctl(argv);
        if (r.exitCode != 0)
            throw std::runtime_error("hangarctl " + joined(args) + " exited " + std::to_string(r.exitCode) + ": " +
                                     r.err + r.out + diagnostics());
        std::string path = parseJson(r.out, "hangarctl --json " + args.front())["ObjectPath"].get<std::string>();
        own(path);
        return path;
    }

    std::vector<std::string> usedBy(const std::string& imagePath)
    {
        std::vector<std::string> paths;
        for (const auto& path : client().imageProperty(imagePath, "UsedBy").get<std::vector<sdbus::ObjectPath>>())
            paths.push_back(path);
        return paths;
    }

    // The text of the first <disk ...device='DEVICE'> element of a domain definition.
    static std::string diskElement(const std::string& xml, const std::string& device)
    {
        const auto start = xml.find("device='" + device + "'>");
        if (start == std::string::npos)
            return "";
        const auto begin = xml.rfind("<disk", start);
        return xml.substr(begin, xml.find("</disk>", start) + 7 - begin);
    }
};

// ---- import ------------------------------------------------------------------------------------------------------

TEST_F(ImageE2e, ImportedQcow2IsListedReadyWithItsFormatAndVirtualSize)
{
    const auto start = Clock::now();
    const json imported = importWithHangarctl(files().qcow2, kBaseImage, "qcow2");
    std::cout << "[          ] hangarctl image import of a " << fs::file_size(files().qcow2) / 1024
              << " KiB qcow2: " << secondsSince(start) << " s\n";
    EXPECT_EQ(field(imported, "Name"), kBaseImage) << imported.dump(2);
    EXPECT_EQ(field(imported, "State"), "ready") << imported.dump(2);
    EXPECT_EQ(field(imported, "Format"), "qcow2") << imported.dump(2);
    EXPECT_EQ(field(imported, "VirtualSizeBytes"), std::to_string(kBaseVirtualBytes)) << imported.dump(2);

    const auto list = hangarctl({"--json", "image", "list"});
    ASSERT_EQ(list.exitCode, 0) << list.err;
    const json images = parseJson(list.out, "hangarctl --json image list");
    const auto listed = std::find_if(images.begin(), images.end(),
                                     [](const json& image) { return field(image, "Name") == kBaseImage; });
    ASSERT_NE(listed, images.end()) << list.out;
    EXPECT_EQ(field(*listed, "State"), "ready") << listed->dump(2);
    EXPECT_EQ(field(*listed, "Format"), "qcow2") << listed->dump(2);
    EXPECT_EQ(field(*listed, "VirtualSizeBytes"), std::to_string(kBaseVirtualBytes)) << listed->dump(2);

    // The volume: in the default pool at the default place, holding the same image, marker and all.
    EXPECT_EQ(m_world->poolDir(), m_world->stateDir + "/pool");
    const std::string volume = imageVolumeFile(field(imported, "ObjectPath"));
    EXPECT_EQ(fs::path(volume).extension(), ".qcow2");
    const json info = qemuImgInfo(volume);
    EXPECT_EQ(field(info, "format"), "qcow2") << info.dump(2);
    EXPECT_EQ(field(info, "virtual-size"), std::to_string(kBaseVirtualBytes)) << info.dump(2);
    EXPECT_EQ(field(info, "backing-filename"), "") << info.dump(2);
    const auto compare = it::run({"qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", files().qcow2, volume});
    EXPECT_EQ(compare.exitCode, 0) << "the volume's content differs from the file's: " << compare.out << compare.err;
    EXPECT_NE(it::readFile(volume).find(kMarker), std::string::npos) << "no marker in " << volume;
}

TEST_F(ImageE2e, ImportedIsoIsAnIsoImageOfTheFilesSize)
{
    // The plain (not --json) form, as a user sees it.
    const auto r = hangarctl({"image", "import", files().iso, "--name", kIsoImage});
    ASSERT_EQ(r.exitCode, 0) << r.err << r.out << diagnostics();
    EXPECT_NE(r.out.find(std::string("Imported image '") + kIsoImage + "': iso"), std::string::npos) << r.out;

    const auto show = hangarctl({"--json", "image", "show", kIsoImage});
    ASSERT_EQ(show.exitCode, 0) << show.err;
    const json image = parseJson(show.out, "hangarctl --json image show");
    EXPECT_EQ(field(image, "Format"), "iso") << show.out;
    EXPECT_EQ(field(image, "State"), "ready") << show.out;
    EXPECT_EQ(field(image, "VirtualSizeBytes"), std::to_string(fs::file_size(files().iso))) << show.out;
    const std::string volume = imageVolumeFile(field(image, "ObjectPath"));
    EXPECT_EQ(fs::path(volume).extension(), ".iso");
    EXPECT_TRUE(it::readFile(volume) == it::readFile(files().iso)) << volume << " is not a copy of the ISO";
}

TEST_F(ImageE2e, ImportRefusesADirectoryAndATruncatedQcow2AndLeavesNothing)
{
    const auto before = m_world->poolFiles();
    struct Case
    {
        const char* what;
        std::string path;
        int flags;
    };
    for (const Case& c : {Case{"a directory", files().dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC},
                          Case{"a truncated qcow2", files().truncated, O_RDONLY | O_CLOEXEC}}) {
        const int fd = open(c.path.c_str(), c.flags);
        ASSERT_GE(fd, 0) << c.path;
        try {
            const auto job = client().importImage("e2e-refused", fd);
            ADD_FAILURE() << "ImportImage accepted " << c.what << " (job " << job << ")";
            client().waitCompleted(job, 60s);
        } catch (const sdbus::Error& e) {
            EXPECT_EQ(e.getName(), std::string(kErrorPrefix) + "InvalidArgument") << c.what << ": " << describe(e);
            std::cout << "[          ] " << c.what << ": " << describe(e) << "\n";
        }
        close(fd);
        EXPECT_FALSE(client().findImage("e2e-refused")) << "an image was left after refusing " << c.what;
    }
    // hangarctl refuses a directory itself (usage, exit 2); the truncated file reaches hangard, which refuses it.
    const auto dir = hangarctl({"image", "import", files().dir, "--name", "e2e-refused"});
    EXPECT_EQ(dir.exitCode, 2) << dir.err;
    const auto truncated = hangarctl({"image", "import", files().truncated, "--name", "e2e-refused"});
    EXPECT_EQ(truncated.exitCode, 1) << truncated.err;
    EXPECT_NE(truncated.err.find("(InvalidArgument)"), std::string::npos) << truncated.err;

    EXPECT_FALSE(client().findImage("e2e-refused"));
    EXPECT_EQ(m_world->poolFiles(), before) << "the pool directory changed";
}

TEST_F(ImageE2e, ImportCancelledThroughDBusLeavesNoImageAndNoVolume)
{
    const auto before = m_world->poolFiles();
    const int fd = open(files().big.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    const auto start = Clock::now();
    std::string job;
    try {
        job = client().importImage("e2e-cancelled", fd);
    } catch (const sdbus::Error& e) {
        close(fd);
        FAIL() << "ImportImage of 512 MiB failed: " << describe(e);
    }
    close(fd);
    // As soon as the job exists: the upload has barely begun.
    try {
        client().cancelJob(job);
    } catch (const sdbus::Error& e) {
        ADD_FAILURE() << "Job.Cancel right after ImportImage returned failed: " << describe(e);
    }
    const auto end = client().waitCompleted(job, 60s);
    ASSERT_TRUE(end) << "no Completed from " << job << " within 60 s of Cancel" << diagnostics();
    std::cout << "[          ] cancelled import: Completed(" << end->success << ", \"" << end->message << "\") after "
              << secondsSince(start) << " s\n";
    EXPECT_FALSE(end->success) << "the job completed although it was cancelled at once";
    EXPECT_NE(end->message.find("cancel"), std::string::npos) << end->message;
    EXPECT_FALSE(client().findImage("e2e-cancelled")) << "the Image object is still there";
    EXPECT_EQ(m_world->poolFiles(), before) << "the pool directory changed";
}

TEST_F(ImageE2e, CtrlCDuringHangarctlImportExits130AndLeavesNothing)
{
    const auto before = m_world->poolFiles();
    const std::string log = m_world->root.path() + "/hangarctl-interrupted.log";
    it::Child ctl(m_world->hangarctlArgv({"image", "import", files().big, "--name", "e2e-interrupted"}), {}, log);

    // Held still by the test rather than by luck: once the import runs, libvirtd is stopped (SIGSTOP), so the upload
    // cannot finish before the Ctrl-C, and it goes on (SIGCONT) once hangarctl has asked for the cancellation.
    ASSERT_TRUE(it::waitFor([&] { return client().findImage("e2e-interrupted").has_value() || !ctl.running(); }, 30s))
        << "no image e2e-interrupted within 30 s of hangarctl image import: " << it::readFile(log);
    ASSERT_TRUE(ctl.running()) << "hangarctl ended before it could be interrupted: " << it::readFile(log);
    const pid_t libvirtdPid = libvirtd().pid();
    ASSERT_GT(libvirtdPid, 1);
    ASSERT_EQ(kill(libvirtdPid, SIGSTOP), 0);
    struct Resume
    {
        pid_t pid;
        ~Resume() { kill(pid, SIGCONT); }
    } resume{libvirtdPid};

    ASSERT_EQ(kill(ctl.pid(), SIGINT), 0);
    const bool asked =
        it::waitFor([&] { return it::readFile(log).find("Cancelling the job") != std::string::npos; }, 10s);
    kill(libvirtdPid, SIGCONT);
    ASSERT_TRUE(asked) << "hangarctl did not start cancelling within 10 s of SIGINT: " << it::readFile(log);
    ASSERT_TRUE(it::waitFor([&] { return !ctl.running(); }, 70s)) << "hangarctl still waits: " << it::readFile(log);
    const int status = ctl.stop(SIGKILL, 1s);
    const std::string output = it::readFile(log);
    std::cout << "[          ] hangarctl after SIGINT: exit " << status << ": " << output;
    EXPECT_EQ(status, 130) << output;
    EXPECT_NE(output.find("cancelled after Ctrl-C"), std::string::npos) << output;
    EXPECT_FALSE(client().findImage("e2e-interrupted")) << "the Image object is still there";
    EXPECT_EQ(m_world->poolFiles(), before) << "the pool directory changed";
}

TEST_F(ImageE2e, ImportOfAFileTruncatedUnderItFailsAndLeavesNothing)
{
    const auto before = m_world->poolFiles();
    const std::string shrinking = files().dir + "/shrinking.raw";
    fs::copy_file(files().big, shrinking, fs::copy_options::overwrite_existing);
    const int fd = open(shrinking.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    // Held still by the test: libvirtd is stopped as soon as the job exists, so the upload cannot get far before the
    // file shrinks to 1 MiB (truncate -s 1M). Its missing 511 MiB used to be taken for a hole: a "ready" image of
    // 512 MiB with a zero-filled tail.
    const pid_t libvirtdPid = libvirtd().pid();
    ASSERT_GT(libvirtdPid, 1);
    std::string job;
    try {
        job = client().importImage("e2e-shrunk", fd);
    } catch (const sdbus::Error& e) {
        close(fd);
        FAIL() << "ImportImage of 512 MiB failed: " << describe(e);
    }
    close(fd);
    ASSERT_EQ(kill(libvirtdPid, SIGSTOP), 0);
    const int truncated = truncate(shrinking.c_str(), static_cast<off_t>(kMiB));
    kill(libvirtdPid, SIGCONT);
    ASSERT_EQ(truncated, 0);
    const auto end = client().waitCompleted(job, 120s);
    ASSERT_TRUE(end) << "no Completed from " << job << " within 120 s" << diagnostics();
    fs::remove(shrinking);
    std::cout << "[          ] import of a file truncated under it: Completed(" << end->success << ", \""
              << end->message << "\")\n";
    EXPECT_FALSE(end->success) << "a file that shrank under the import became an image";
    EXPECT_NE(end->message.find("ended after"), std::string::npos) << end->message;
    EXPECT_FALSE(client().findImage("e2e-shrunk")) << "the Image object is still there";
    EXPECT_EQ(m_world->poolFiles(), before) << "the pool directory changed";
}

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
