// hangar-bench-images: how long it takes to make a VM from a base image — hangard's CreateVM with spec key "image",
// whose disk is a qcow2 overlay of the image — side by side with a full copy of the same image (libvirt's own volume
// clone, what a manager without overlays does), for a 1 GiB image that is all data and a 50 GiB sparse one, on a real
// libvirtd (the test driver keeps volumes in memory). It also times ImportImage of each image, and libvirt's overlay
// create (and the qemu-img run behind it) and domain define on their own, to show what the CreateVM figure is made
// of. Prints one Markdown table (docs/performance.md, "Images"). Runs inside tests/e2e/run-hermetic.sh's
// namespaces: scripts/bench-images.sh.
#include "Hangard.h"
#include "ImageFiles.h"
#include "ImageReport.h"
#include "LibvirtPool.h"
#include "Stats.h"
#include "support/PrivateLibvirtd.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <unistd.h>

namespace hangar::bench::images {
namespace {

namespace fs = std::filesystem;

struct Options
{
    std::string hangard = HANGARD_PATH;
    std::string workDir; // empty: a new directory in /var/tmp, removed at the end
    std::size_t creates = 20;
    std::size_t copies = 3;
    unsigned copySeconds = 150; // per image: no copy is started after this much copying (one always runs)
    std::uint64_t denseGiB = 1;
    std::uint64_t sparseGiB = 50;
    std::uint64_t sparseDataMiB = 64;
    std::size_t concurrentImports = 6; // the imports running while CreateVM is timed (issue 17, item 5); 0: none
    std::uint64_t concurrentImportGiB = 1;
};

const Clock::time_point g_started = Clock::now();

void progress(const std::string& what)
{
    std::fprintf(stderr, "[%6.1f s] %s\n", std::chrono::duration<double>(Clock::now() - g_started).count(),
                 what.c_str());
}

std::string loadAverage()
{
    std::istringstream in(readFile("/proc/loadavg"));
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

// The command libvirt's dir pool runs to make the overlay (storage_util.c), run here as a process of its own; the
// file is removed again.
Clock::duration timeQemuImgCreate(const std::string& base, const std::string& path, std::uint64_t capacity)
{
    const auto started = Clock::now();
    const RunResult qemuImg = run({"/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", "-o",
                                   "compat=1.1", path, std::to_string(capacity)},
                                  {}, std::chrono::seconds(30));
    const auto took = Clock::now() - started;
    if (qemuImg.exitCode != 0)
        throw std::runtime_error("qemu-img create failed: " + qemuImg.out + qemuImg.err);
    fs::remove(path);
    return took;
}

class Run
{
public:
    explicit Run(Options options) : m_options(std::move(options)) {}

    int execute()
    {
        const std::vector<ImageCase> cases{
            {formatBytes(m_options.denseGiB * kGiB) + " raw image, all data", "bench-dense", m_options.denseGiB * kGiB,
             m_options.denseGiB * kGiB},
            {formatBytes(m_options.sparseGiB * kGiB) + " raw image, sparse (" +
                 formatBytes(m_options.sparseDataMiB * kMiB) + " of data)",
             "bench-sparse", m_options.sparseGiB * kGiB, m_options.sparseDataMiB * kMiB},
        };
        requireSpace(cases);
        m_notes.push_back("load average (1, 5, 15 min) at the start: " + loadAverage());
        progress("starting a private libvirtd, dbus-daemon and hangard under " + m_options.workDir);
        fs::create_directories(m_options.workDir + "/libvirt");
        fs::create_directories(m_options.workDir + "/bus");
        fs::create_directories(m_options.workDir + "/files");
        support::PrivateLibvirtd libvirtd(m_options.workDir + "/libvirt");
        progress("libvirtd answered after " + formatMicros(micros(libvirtd.startup())));
        PrivateBus bus(m_options.workDir + "/bus");
        Hangard hangard(m_options.hangard, bus.address(), libvirtd.uri(), m_options.workDir + "/hangard");
        progress("hangard ready after " + formatMicros(micros(hangard.startup())));
        LibvirtPool pool(libvirtd.uri(), "hangar");
        m_notes.push_back("storage pool (hangard's, a libvirt dir pool): " + m_options.workDir +
                          "/hangard/state/pool; libvirtd answered after " + formatMicros(micros(libvirtd.startup())) +
                          ", hangard ready after " + formatMicros(micros(hangard.startup())));

        std::vector<CaseResult> results;
        results.reserve(cases.size());
        for (const auto& c : cases)
            results.push_back(measure(c, hangard, pool));
        std::string duringImports;
        if (m_options.concurrentImports > 0)
            duringImports = createsDuringImports(hangard);
        m_notes.push_back("load average (1, 5, 15 min) at the end: " + loadAverage());
        printReport(results, m_notes, std::cout);
        std::cout << duringImports;
        return 0;
    }

private:
    void requireSpace(const std::vector<ImageCase>& cases) const
    {
        // The file, its imported volume and one copy at a time, for each image in turn; a margin on top.
        std::uint64_t need = 0;
        for (const auto& c : cases)
            need = std::max(need, 3 * c.data);
        // Then the concurrent imports: their file and a volume each.
        need = std::max(need, (m_options.concurrentImports + 1) * m_options.concurrentImportGiB * kGiB);
        need += 2 * kGiB;
        const std::uint64_t free = freeBytes(m_options.workDir);
        if (free < need)
            throw std::runtime_error(m_options.workDir + " has " + formatBytes(free) + " free; the run needs " +
                                     formatBytes(need));
    }

    CaseResult measure(const ImageCase& c, Hangard& hangard, LibvirtPool& pool)
    {
        CaseResult r;
        r.image = c;
        const std::string file = m_options.workDir + "/files/" + c.name + ".raw";
        progress(c.name + ": writing " + c.label);
        if (c.data == c.size)
            writeDenseFile(file, c.size);
        else
            writeSparseFile(file, c.size, c.data);
        r.fileAllocated = allocatedBytes(file);
        sync(); // nothing of the setup left to write back while the timed calls run

        progress(c.name + ": ImportImage");
        const auto before = pool.volumeNames();
        const auto imported = hangard.importImage(c.name, file, std::chrono::seconds(300));
        r.imported = imported.took;
        const VolumeFacts image = pool.describe(newImageVolume(before, pool.volumeNames()));
        r.volumeAllocated = image.allocation;
        fs::remove(file);
        sync();
        progress(c.name + ": imported in " + formatMicros(micros(r.imported)) + " as volume " + image.name);

        // One CreateVM and Delete first, not counted: the first of a kind warms libvirt's and hangard's caches.
        hangard.deleteVm(hangard.createVm(c.name + "-warm-up", c.name).vm);
        std::vector<std::string> vms;
        progress(c.name + ": " + std::to_string(m_options.creates) + " x CreateVM");
        for (std::size_t i = 0; i < m_options.creates; ++i) {
            const auto created = hangard.createVm(c.name + "-vm-" + std::to_string(i), c.name);
            r.create.add(created.took);
            vms.push_back(created.vm);
        }
        progress(c.name + ": libvirt's overlay create and domain define alone");
        const std::uint64_t capacity = (image.capacity + kGiB - 1) / kGiB * kGiB; // CreateVM's default disk_gib
        for (std::size_t i = 0; i < m_options.creates; ++i) {
            const std::string overlay = c.name + "-overlay-" + std::to_string(i) + ".qcow2";
            r.overlayAlone.add(pool.timeOverlay(overlay, image, "raw", capacity));
            pool.removeVolume(overlay);
            r.qemuImg.add(timeQemuImgCreate(image.path, m_options.workDir + "/files/" + overlay, capacity));
        }
        const auto domains = pool.domainNames();
        if (domains.empty())
            throw std::runtime_error("hangard's VMs have no domains in libvirt");
        for (std::size_t i = 0; i < m_options.creates; ++i)
            r.defineAlone.add(pool.timeDefineLike(domains.front()));
        progress(c.name + ": " + std::to_string(vms.size()) + " x VM.Delete");
        for (const auto& vm : vms)
            r.remove.add(hangard.deleteVm(vm));
        sync();

        copies(c, image, pool, r);
        hangard.deleteImage(imported.image);
        return r;
    }

    void copies(const ImageCase& c, const VolumeFacts& image, LibvirtPool& pool, CaseResult& r)
    {
        const auto budget = std::chrono::seconds(m_options.copySeconds);
        Clock::duration spent{};
        std::string each;
        for (std::size_t i = 0; i < m_options.copies && (i == 0 || spent < budget); ++i) {
            const std::string copy = c.name + "-copy-" + std::to_string(i) + ".raw";
            progress(c.name + ": full copy " + std::to_string(i + 1) + " of " + std::to_string(m_options.copies));
            const auto took = pool.timeFullCopy(image.name, copy);
            spent += took;
            r.copy.add(took);
            r.copyAllocated = pool.describe(copy).allocation;
            pool.removeVolume(copy);
            sync();
            progress(c.name + ": full copy took " + formatMicros(micros(took)));
            each += (each.empty() ? "" : ", ") + formatMicros(micros(took));
        }
        m_notes.push_back(c.label + ": the full copies took, in order: " + each);
        if (r.copy.size() < m_options.copies)
            m_notes.push_back(c.label + ": " + std::to_string(r.copy.size()) + " of " +
                              std::to_string(m_options.copies) + " copies made: the copies had taken " +
                              formatMicros(micros(spent)) + ", over the budget of " +
                              std::to_string(m_options.copySeconds) + " s per image");
    }

    // CreateVM of a VM with a blank disk of its own, timed on a quiet daemon and then while concurrentImports
    // imports of a dense file run (queued on hangard's copy pool, [Images] copy_workers): long copies must not make
    // VM calls wait (issue 17, defect 4). Each VM is deleted again at once. A Markdown table.
    std::string createsDuringImports(Hangard& hangard)
    {
        const std::string file = m_options.workDir + "/files/concurrent.raw";
        progress("concurrent imports: writing " + formatBytes(m_options.concurrentImportGiB * kGiB) + " of data");
        writeDenseFile(file, m_options.concurrentImportGiB * kGiB);
        sync();
        Samples quiet, during;
        for (std::size_t i = 0; i < m_options.creates; ++i) {
            const auto created = hangard.createBlankVm("quiet-vm-" + std::to_string(i), 1);
            quiet.add(created.took);
            hangard.deleteVm(created.vm);
        }
        progress("concurrent imports: " + std::to_string(m_options.concurrentImports) +
                 " ImportImage at once, CreateVM + Delete in a loop until they end");
        std::vector<std::string> jobs;
        const auto started = Clock::now();
        for (std::size_t i = 0; i < m_options.concurrentImports; ++i)
            jobs.push_back(hangard.startImport("concurrent-" + std::to_string(i), file));
        const auto deadline = started + std::chrono::minutes(10);
        auto allDone = [&] {
            return std::all_of(jobs.begin(), jobs.end(),
                               [&](const std::string& job) { return hangard.importDone(job); });
        };
        for (std::size_t i = 0; !allDone(); ++i) {
            if (Clock::now() > deadline)
                throw std::runtime_error("the concurrent imports did not end within 10 minutes");
            const auto created = hangard.createBlankVm("busy-vm-" + std::to_string(i), 1);
            during.add(created.took);
            hangard.deleteVm(created.vm);
        }
        const auto importsTook = Clock::now() - started;
        for (std::size_t i = 0; i < m_options.concurrentImports; ++i)
            hangard.deleteImage(hangard.imagePath("concurrent-" + std::to_string(i)));
        fs::remove(file);
        std::ostringstream out;
        const Summary q = quiet.summary(), d = during.summary();
        out << "\nCreateVM (1 vCPU, 512 MiB, a blank 1 GiB disk), then VM.Delete, on the same hangard:\n\n"
            << "| CreateVM | n | p50 | p99 | max |\n| --- | ---: | ---: | ---: | ---: |\n"
            << "| quiet | " << q.count << " | " << formatMicros(q.p50) << " | " << formatMicros(q.p99) << " | "
            << formatMicros(q.max) << " |\n"
            << "| while " << m_options.concurrentImports << " imports of a "
            << formatBytes(m_options.concurrentImportGiB * kGiB) << " dense raw file run | " << d.count << " | "
            << formatMicros(d.p50) << " | " << formatMicros(d.p99) << " | " << formatMicros(d.max) << " |\n\n- the "
            << m_options.concurrentImports << " imports, started together, all ended after "
            << formatMicros(micros(importsTook)) << "\n";
        return out.str();
    }

    static std::string newImageVolume(const std::vector<std::string>& before, const std::vector<std::string>& after)
    {
        const std::set<std::string> old(before.begin(), before.end());
        for (const auto& name : after)
            if (!old.count(name) && name.rfind("img-", 0) == 0)
                return name;
        throw std::runtime_error("no new img-* volume in the pool after ImportImage");
    }

    Options m_options;
    std::vector<std::string> m_notes;
};

// The run's directory when none was given: on the disk (/var/tmp), not on the namespace's tmpfs, so copies are
// written where a host keeps its images. Removed when the run ends normally; scripts/bench-images.sh passes its own.
class RunDir
{
public:
    explicit RunDir(std::string& workDir)
    {
        if (!workDir.empty())
            return;
        std::string tmpl = "/var/tmp/hangar-bench-images.XXXXXX";
        if (!mkdtemp(tmpl.data()))
            throw std::runtime_error("cannot create a directory in /var/tmp");
        workDir = m_owned = tmpl;
    }
    ~RunDir()
    {
        std::error_code ec;
        if (!m_owned.empty())
            fs::remove_all(m_owned, ec);
    }
    RunDir(const RunDir&) = delete;
    RunDir& operator=(const RunDir&) = delete;

private:
    std::string m_owned;
};

} // namespace
} // namespace hangar::bench::images

int main(int argc, char** argv)
{
    using namespace hangar::bench;
    using namespace hangar::bench::images;
    CLI::App app{"hangar-bench-images: CreateVM from a base image (a qcow2 overlay) vs. a full copy of the image, on a "
                 "private libvirtd (docs/performance.md, \"Images\"); run it through scripts/bench-images.sh"};
    Options options;
    app.add_option("--hangard", options.hangard, "hangard binary")->capture_default_str();
    app.add_option("--work-dir", options.workDir,
                   "existing directory for the pool, the image files, the bus and the logs (default: a new one in "
                   "/var/tmp, removed at the end)");
    app.add_option("--creates", options.creates, "CreateVM calls per image (and overlay creates, defines)")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    app.add_option("--copies", options.copies, "full copies per image, at most")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    app.add_option("--copy-seconds", options.copySeconds,
                   "per image, no further copy is started once the copies have taken this long")
        ->capture_default_str();
    app.add_option("--dense-gib", options.denseGiB, "size of the image that is all data")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    app.add_option("--sparse-gib", options.sparseGiB, "virtual size of the sparse image")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    app.add_option("--sparse-data-mib", options.sparseDataMiB, "data in the sparse image")
        ->capture_default_str()
        ->check(CLI::Range(1, 4096));
    app.add_option("--concurrent-imports", options.concurrentImports,
                   "imports running at once while CreateVM is timed (0: skip that part)")
        ->capture_default_str()
        ->check(CLI::Range(0, 32));
    app.add_option("--concurrent-import-gib", options.concurrentImportGiB, "size of each of those imports")
        ->capture_default_str()
        ->check(CLI::Range(1, 16));
    CLI11_PARSE(app, argc, argv);

    installChildReaper();
    try {
        initLibvirt();
        const RunDir dir(options.workDir);
        Run run(options);
        return run.execute();
    } catch (const std::exception& e) {
        std::cerr << "hangar-bench-images: " << e.what() << '\n';
        return 1;
    }
}
