// LibvirtStorage on a real libvirtd (QEMU driver, a dir pool on the run's tmpfs): what libvirt's test driver cannot
// show — uploads through sparse streams, cancellation half-way, and the qcow2 headers qemu-img really wrote, read
// back with qemu-img info. Test images are made at run time with qemu-img and qemu-io.
//
// The suite starts a libvirtd of its own and stops it when it ends. Two libvirtds cannot share the namespace's
// /run/libvirt, so it must run before E2eTest.cpp's world starts one: StorageTest.cpp comes first among
// hangar_e2e_tests' sources (gtest runs suites in the order they were registered), and the suite says so when it
// finds another libvirtd running.
#include "E2eHarness.h"
#include "core/Error.h"
#include "core/Types.h"
#include "core/UniqueFd.h"
#include "unit/ErrorTestSupport.h"
#include "virt/LibvirtStorage.h"

#include <array>
#include <fcntl.h>
#include <filesystem>
#include <gtest/gtest.h>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>

namespace hangar::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kPool = "hangar-e2e-storage";

struct StorageWorld
{
    it::TempDir root;
    std::string libvirtDir = root.path() + "/libvirt";
    std::string poolPath = root.path() + "/pool";
    std::string files = root.path() + "/files";
    std::unique_ptr<Libvirtd> libvirtd;

    StorageWorld()
    {
        for (const auto& entry : fs::directory_iterator("/proc")) {
            std::error_code ec;
            if (fs::read_symlink(entry.path() / "exe", ec).filename() == "libvirtd")
                throw std::runtime_error("a libvirtd is running already (E2eTest.cpp's world?): StorageE2e starts "
                                         "its own, so StorageTest.cpp must stay first in hangar_e2e_tests' sources");
        }
        fs::create_directories(libvirtDir);
        fs::create_directories(files);
        libvirtd = std::make_unique<Libvirtd>(libvirtDir);
    }

    ~StorageWorld()
    {
        // Gone before another libvirtd in this namespace could autostart it.
        if (libvirtd) {
            libvirtd->virsh({"pool-destroy", kPool});
            libvirtd->virsh({"pool-undefine", kPool});
        }
    }
};

std::unique_ptr<StorageWorld> g_world;
std::string g_worldError;

std::string run(const std::vector<std::string>& argv)
{
    const auto r = it::run(argv, {}, 60s);
    if (r.exitCode != 0)
        throw std::runtime_error(argv[0] + " " + argv[1] + " failed (" + std::to_string(r.exitCode) + "): " + r.err);
    return r.out;
}

// One field of qemu-img's JSON output ("" when absent): a string without its quotes, or a number.
std::string jsonField(const std::string& json, const std::string& key)
{
    const std::string needle = "\"" + key + "\": ";
    const auto at = json.find(needle);
    if (at == std::string::npos)
        return "";
    auto begin = at + needle.size();
    if (json[begin] == '"')
        return json.substr(begin + 1, json.find('"', begin + 1) - begin - 1);
    return json.substr(begin, json.find_first_of(",\n}", begin) - begin);
}

std::string qemuImgInfo(const std::string& path)
{
    return run({"qemu-img", "info", "--output=json", path});
}

std::string readAll(const std::string& path)
{
    return it::readFile(path);
}

std::string readRange(const std::string& path, std::uint64_t offset, std::size_t n)
{
    const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::string out(n, '\0');
    const ssize_t got = pread(fd.get(), out.data(), n, static_cast<off_t>(offset));
    out.resize(got < 0 ? 0 : static_cast<std::size_t>(got));
    return out;
}

void writeRange(const std::string& path, std::uint64_t offset, const std::string& bytes)
{
    const UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd ||
        pwrite(fd.get(), bytes.data(), bytes.size(), static_cast<off_t>(offset)) != static_cast<ssize_t>(bytes.size()))
        throw std::runtime_error("cannot write " + path);
}

std::uint64_t fileSize(const std::string& path)
{
    return fs::file_size(path);
}

using testing::errorOf;

class StorageE2e : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        try {
            g_world = std::make_unique<StorageWorld>();
        } catch (const std::exception& e) {
            g_worldError = e.what();
        }
    }

    static void TearDownTestSuite() { g_world.reset(); }

    void SetUp() override
    {
        if (!g_world)
            FAIL() << "the storage suite's libvirtd could not be started: " << g_worldError;
    }

    void TearDown() override
    {
        if (!m_storage)
            return;
        try {
            for (const auto& name : m_storage->list())
                m_storage->remove(name);
        } catch (const Error&) {
        }
    }

    virt::LibvirtStorage& storage()
    {
        if (!m_storage) {
            m_storage = std::make_unique<virt::LibvirtStorage>(g_world->libvirtd->uri(), kPool, g_world->poolPath);
            m_storage->ensurePool();
        }
        return *m_storage;
    }

    static std::string poolFile(const std::string& name) { return g_world->poolPath + "/" + name; }
    static std::string file(const std::string& name) { return g_world->files + "/" + name; }

    // A qcow2 image of virtualMiB with `written` MiB of the byte `pattern` from offset 0.
    static std::string makeQcow2(const std::string& name, std::uint64_t virtualMiB, std::uint64_t writtenMiB,
                                 int pattern = 0xaa)
    {
        const std::string path = file(name);
        run({"qemu-img", "create", "-q", "-f", "qcow2", path, std::to_string(virtualMiB) + "M"});
        if (writtenMiB > 0)
            run({"qemu-io", "-f", "qcow2", "-c",
                 "write -P " + std::to_string(pattern) + " 0 " + std::to_string(writtenMiB) + "M", path});
        return path;
    }

    // A raw file of size bytes (sparse) with the given bytes written at the given offsets.
    static std::string makeRaw(const std::string& name, std::uint64_t size,
                               const std::vector<std::pair<std::uint64_t, std::string>>& writes)
    {
        const std::string path = file(name);
        run({"truncate", "-s", std::to_string(size), path});
        for (const auto& [offset, bytes] : writes)
            writeRange(path, offset, bytes);
        return path;
    }

    VolumeInfo upload(const std::string& name, ImageFormat format, const std::string& path,
                      const ProgressFn& progress = {})
    {
        const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd)
            throw std::runtime_error("cannot open " + path);
        return storage().upload(name, format, fd.get(), fileSize(path), progress);
    }

    // A qcow2 base with 1 MiB of 0xaa at 0 and an overlay of it with 1 MiB of 0xbb at 2 MiB, both 64 MiB.
    void makeChain(const std::string& base, const std::string& overlay)
    {
        upload(base, ImageFormat::Qcow2, makeQcow2(base, 64, 1));
        storage().createOverlay(overlay, base, 0);
        run({"qemu-io", "-f", "qcow2", "-c", "write -P 0xbb 2M 1M", poolFile(overlay)});
    }

    std::unique_ptr<virt::LibvirtStorage> m_storage;
};

TEST_F(StorageE2e, EnsurePoolMakesAnAutostartedDirPoolWithMode0711)
{
    storage().ensurePool(); // a second time: nothing changes

    struct stat st
    {
    };
    ASSERT_EQ(stat(g_world->poolPath.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0711U);
    const auto info = g_world->libvirtd->virsh({"pool-info", kPool});
    EXPECT_NE(info.out.find("running"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("Autostart:      yes"), std::string::npos) << info.out;
    const auto xml = g_world->libvirtd->virsh({"pool-dumpxml", kPool}).out;
    EXPECT_NE(xml.find("<pool type='dir'>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<path>" + g_world->poolPath + "</path>"), std::string::npos) << xml;
}

TEST_F(StorageE2e, EnsurePoolAdoptsADirectoryThatIsThereAlready)
{
    const std::string path = g_world->root.path() + "/adopted";
    fs::create_directories(path);
    run({"qemu-img", "create", "-q", "-f", "raw", path + "/leftover.raw", "1M"});
    virt::LibvirtStorage adopted(g_world->libvirtd->uri(), "hangar-e2e-adopted", path);

    adopted.ensurePool();

    EXPECT_EQ(adopted.list(), std::vector<std::string>{"leftover.raw"});
    EXPECT_TRUE(fs::exists(path + "/leftover.raw"));
    struct stat st
    {
    };
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0711U);
    g_world->libvirtd->virsh({"pool-destroy", "hangar-e2e-adopted"});
    g_world->libvirtd->virsh({"pool-undefine", "hangar-e2e-adopted"});
}

TEST_F(StorageE2e, UploadedQcow2KeepsItsBytesAndReportsItsVirtualSize)
{
    const std::string source = makeQcow2("base.qcow2", 64, 1);
    std::vector<std::uint64_t> reported;

    const VolumeInfo info = upload("img-1.qcow2", ImageFormat::Qcow2, source, [&](std::uint64_t done) {
        reported.push_back(done);
        return true;
    });

    EXPECT_EQ(info.format, ImageFormat::Qcow2);
    EXPECT_EQ(info.capacityBytes, 64 * kMiB);
    EXPECT_GE(info.allocationBytes, 1 * kMiB);
    EXPECT_EQ(info.backingVolume, "");
    EXPECT_TRUE(readAll(poolFile("img-1.qcow2")) == readAll(source)) << "the volume's bytes differ from the file's";
    ASSERT_FALSE(reported.empty());
    EXPECT_TRUE(std::is_sorted(reported.begin(), reported.end()));
    EXPECT_EQ(reported.back(), fileSize(source));
    EXPECT_EQ(storage().find("img-1.qcow2"), info);
}

TEST_F(StorageE2e, UploadedIsoIsAnIsoVolume)
{
    // What makes an ISO 9660 image to libvirt and to core's probe: the primary volume descriptor at sector 16.
    std::string descriptor(2048, '\0');
    descriptor.replace(0, 6,
                       "\x01"
                       "CD001");
    const std::string source = makeRaw("cd.iso", 1 * kMiB, {{16 * 2048, descriptor}});

    const VolumeInfo info = upload("img-1.iso", ImageFormat::Iso, source);

    EXPECT_EQ(info.format, ImageFormat::Iso);
    EXPECT_EQ(info.capacityBytes, 1 * kMiB);
    EXPECT_TRUE(readAll(poolFile("img-1.iso")) == readAll(source));
}

TEST_F(StorageE2e, SparseUploadSendsHolesAsHolesAndCountsThemAsDone)
{
    const std::string data(kMiB, '\x5a');
    const std::string source = makeRaw("sparse.raw", 20 * kGiB, {{0, data}, {10 * kGiB, data}});
    std::uint64_t last = 0;
    const auto start = Clock::now();

    const VolumeInfo info = upload("img-1.raw", ImageFormat::Raw, source, [&](std::uint64_t done) {
        last = done;
        return true;
    });

    EXPECT_LT(secondsSince(start), 10.0) << "a 20 GiB file with 2 MiB of data must not be sent byte by byte";
    EXPECT_EQ(info.format, ImageFormat::Raw);
    EXPECT_EQ(info.capacityBytes, 20 * kGiB);
    EXPECT_LT(info.allocationBytes, 64 * kMiB);
    EXPECT_EQ(last, 20 * kGiB);
    EXPECT_EQ(fileSize(poolFile("img-1.raw")), 20 * kGiB);
    EXPECT_TRUE(readRange(poolFile("img-1.raw"), 10 * kGiB, kMiB) == data);
    EXPECT_TRUE(readRange(poolFile("img-1.raw"), 5 * kGiB, kMiB) == std::string(kMiB, '\0'));
}

TEST_F(StorageE2e, UploadCancelledHalfWayLeavesNoVolume)
{
    const std::string source = makeRaw("dense.raw", 16 * kMiB, {{0, std::string(16 * kMiB, '\x11')}});
    std::uint64_t stoppedAt = 0;

    const auto e = errorOf([&] {
        upload("img-1.raw", ImageFormat::Raw, source, [&](std::uint64_t done) {
            stoppedAt = done;
            return done < 1 * kMiB;
        });
    });

    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::Cancelled) << e->what();
    EXPECT_GE(stoppedAt, 1 * kMiB);
    EXPECT_LT(stoppedAt, 16 * kMiB);
    EXPECT_FALSE(storage().find("img-1.raw"));
    EXPECT_FALSE(fs::exists(poolFile("img-1.raw")));
}

TEST_F(StorageE2e, UploadOfContentOtherThanDeclaredLeavesNoVolume)
{
    const std::string raw = makeRaw("plain.raw", 1 * kMiB, {{0, std::string(4096, '\x22')}});
    const std::string qcow2 = makeQcow2("plain.qcow2", 16, 0);
    const std::string overlay = file("overlay.qcow2");
    run({"qemu-img", "create", "-q", "-f", "qcow2", "-b", qcow2, "-F", "qcow2", overlay});

    for (const auto& [path, format] : std::vector<std::pair<std::string, ImageFormat>>{{raw, ImageFormat::Qcow2},
                                                                                       {qcow2, ImageFormat::Raw},
                                                                                       {qcow2, ImageFormat::Iso},
                                                                                       {overlay, ImageFormat::Qcow2}}) {
        const auto e = errorOf([&] { upload("img-1", format, path); });
        ASSERT_TRUE(e) << path << " accepted as " << formatName(format);
        EXPECT_EQ(e->code(), ErrorCode::InvalidArgument) << e->what();
        EXPECT_FALSE(fs::exists(poolFile("img-1")));
    }
    EXPECT_TRUE(storage().list().empty());
}

TEST_F(StorageE2e, OverlayHeaderNamesItsBackingFileAndFormat)
{
    upload("img-base.qcow2", ImageFormat::Qcow2, makeQcow2("base.qcow2", 64, 1));

    const VolumeInfo same = storage().createOverlay("vm-1.qcow2", "img-base.qcow2", 0);
    const VolumeInfo larger = storage().createOverlay("vm-2.qcow2", "img-base.qcow2", 128 * kMiB);

    const std::string header = qemuImgInfo(poolFile("vm-1.qcow2"));
    EXPECT_EQ(jsonField(header, "backing-filename"), poolFile("img-base.qcow2")) << header;
    EXPECT_EQ(jsonField(header, "backing-filename-format"), "qcow2") << header;
    EXPECT_EQ(jsonField(header, "virtual-size"), std::to_string(64 * kMiB)) << header;
    EXPECT_EQ(jsonField(qemuImgInfo(poolFile("vm-2.qcow2")), "virtual-size"), std::to_string(128 * kMiB));
    EXPECT_EQ(same, (VolumeInfo{"vm-1.qcow2", ImageFormat::Qcow2, 64 * kMiB, same.allocationBytes, "img-base.qcow2"}));
    EXPECT_EQ(larger.capacityBytes, 128 * kMiB);
    EXPECT_EQ(larger.backingVolume, "img-base.qcow2");
}

TEST_F(StorageE2e, OverlayOfARawImageRecordsRawAndCopiesNothing)
{
    const VolumeInfo base =
        upload("img-base.raw", ImageFormat::Raw, makeRaw("base.raw", 32 * kMiB, {{0, std::string(32 * kMiB, 'r')}}));
    ASSERT_GE(base.allocationBytes, 32 * kMiB);

    const VolumeInfo overlay = storage().createOverlay("vm-1.qcow2", "img-base.raw", 0);

    const std::string header = qemuImgInfo(poolFile("vm-1.qcow2"));
    EXPECT_EQ(jsonField(header, "backing-filename"), poolFile("img-base.raw")) << header;
    EXPECT_EQ(jsonField(header, "backing-filename-format"), "raw") << header;
    EXPECT_EQ(overlay.capacityBytes, 32 * kMiB);
    EXPECT_LT(overlay.allocationBytes, 1 * kMiB);
}

TEST_F(StorageE2e, CloneOverlayKeepsTheBackingAndCopiesTheTopLayer)
{
    makeChain("img-base.qcow2", "vm-1.qcow2");
    std::uint64_t last = 0;

    const VolumeInfo clone = storage().cloneOverlay("vm-2.qcow2", "vm-1.qcow2", [&](std::uint64_t done) {
        last = done;
        return true;
    });

    const std::string header = qemuImgInfo(poolFile("vm-2.qcow2"));
    EXPECT_EQ(jsonField(header, "backing-filename"), poolFile("img-base.qcow2")) << header;
    EXPECT_EQ(jsonField(header, "backing-filename-format"), "qcow2") << header;
    EXPECT_EQ(clone.backingVolume, "img-base.qcow2");
    EXPECT_EQ(clone.capacityBytes, 64 * kMiB);
    EXPECT_TRUE(readAll(poolFile("vm-2.qcow2")) == readAll(poolFile("vm-1.qcow2")))
        << "the clone is not a byte copy of the overlay's file";
    EXPECT_EQ(last, fileSize(poolFile("vm-1.qcow2")));
    // The base's megabyte stays in the base: the clone holds only the overlay's own.
    EXPECT_LT(clone.allocationBytes, 2 * kMiB);
    EXPECT_EQ(it::run({"qemu-img", "compare", poolFile("vm-1.qcow2"), poolFile("vm-2.qcow2")}).exitCode, 0);
}

TEST_F(StorageE2e, CloneOfAStandaloneVolumeIsAStandaloneCopy)
{
    upload("img-1.raw", ImageFormat::Raw, makeRaw("one.raw", 4 * kMiB, {{kMiB, std::string(kMiB, 'x')}}));
    upload("img-1.qcow2", ImageFormat::Qcow2, makeQcow2("one.qcow2", 16, 1));

    const VolumeInfo raw = storage().cloneOverlay("img-2.raw", "img-1.raw", {});
    const VolumeInfo qcow2 = storage().cloneOverlay("img-2.qcow2", "img-1.qcow2", {});

    EXPECT_EQ(raw, (VolumeInfo{"img-2.raw", ImageFormat::Raw, 4 * kMiB, raw.allocationBytes, ""}));
    EXPECT_TRUE(readAll(poolFile("img-2.raw")) == readAll(poolFile("img-1.raw")));
    EXPECT_EQ(qcow2.backingVolume, "");
    EXPECT_EQ(jsonField(qemuImgInfo(poolFile("img-2.qcow2")), "backing-filename"), "");
    EXPECT_TRUE(readAll(poolFile("img-2.qcow2")) == readAll(poolFile("img-1.qcow2")));
}

TEST_F(StorageE2e, CloneCancelledHalfWayLeavesNoVolume)
{
    makeChain("img-base.qcow2", "vm-1.qcow2");
    run({"qemu-io", "-f", "qcow2", "-c", "write -P 0xcc 8M 8M", poolFile("vm-1.qcow2")});

    const auto e = errorOf(
        [&] { storage().cloneOverlay("vm-2.qcow2", "vm-1.qcow2", [](std::uint64_t done) { return done < kMiB; }); });

    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::Cancelled) << e->what();
    EXPECT_FALSE(storage().find("vm-2.qcow2"));
    EXPECT_FALSE(fs::exists(poolFile("vm-2.qcow2")));
}

TEST_F(StorageE2e, FlattenFoldsTheChainIntoAStandaloneQcow2)
{
    makeChain("img-base.qcow2", "vm-1.qcow2");
    std::vector<std::uint64_t> reported;

    const VolumeInfo flat = storage().flatten("img-2.qcow2", "vm-1.qcow2", [&](std::uint64_t done) {
        reported.push_back(done);
        return true;
    });

    const std::string header = qemuImgInfo(poolFile("img-2.qcow2"));
    EXPECT_EQ(jsonField(header, "backing-filename"), "") << header;
    EXPECT_EQ(jsonField(header, "compat"), "1.1") << header;
    EXPECT_EQ(flat, (VolumeInfo{"img-2.qcow2", ImageFormat::Qcow2, 64 * kMiB, flat.allocationBytes, ""}));
    EXPECT_GE(flat.allocationBytes, 2 * kMiB); // the base's megabyte and the overlay's
    const auto compare = it::run({"qemu-img", "compare", poolFile("vm-1.qcow2"), poolFile("img-2.qcow2")});
    EXPECT_EQ(compare.exitCode, 0) << compare.out << compare.err;
    EXPECT_EQ(reported, (std::vector<std::uint64_t>{0, 64 * kMiB}));
}

TEST_F(StorageE2e, RemoveDeletesTheFileAndAMissingVolumeIsNoError)
{
    storage().createBlank("vm-1.qcow2", kGiB);
    ASSERT_TRUE(fs::exists(poolFile("vm-1.qcow2")));

    storage().remove("vm-1.qcow2");
    storage().remove("vm-1.qcow2");

    EXPECT_FALSE(fs::exists(poolFile("vm-1.qcow2")));
    EXPECT_FALSE(storage().find("vm-1.qcow2"));
}

// Last: it restarts the suite's libvirtd. The pool comes back by itself (autostart); the connection is reopened by
// the first call that finds it dead, or the one after the call that failed on it.
TEST_F(StorageE2e, ReconnectsAfterLibvirtdRestarts)
{
    storage().createBlank("vm-1.qcow2", kGiB);
    g_world->libvirtd.reset();
    g_world->libvirtd = std::make_unique<Libvirtd>(g_world->libvirtDir);

    std::optional<VolumeInfo> found;
    int failed = 0;
    for (; failed < 2; ++failed) {
        try {
            found = storage().find("vm-1.qcow2");
            break;
        } catch (const Error& e) {
            EXPECT_EQ(failed, 0) << "still failing after a reconnect: " << e.what();
        }
    }
    std::cout << "[          ] found the volume again after " << failed << " failed call(s)\n";
    ASSERT_TRUE(found);
    EXPECT_EQ(found->capacityBytes, kGiB);
}

} // namespace
} // namespace hangar::e2e
