// The fixture of the image end-to-end tests (ImageImportE2eTest.cpp, ImageVmE2eTest.cpp): the image files made once
// per run (a qcow2 with recognisable data, an ISO, a cut-off copy of the qcow2, 512 MiB of real data for the imports
// that are cancelled half-way), the ImageE2e fixture on the shared world (E2eWorld.h) with its helpers (importing,
// creating VMs from images, finding volumes in the pool directory), and the checks they make with qemu-img and
// qemu-io.
#pragma once

#include "E2eWorld.h"
#include "core/Types.h"

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hangar::e2e {

using json = nlohmann::json;

inline constexpr std::uint64_t kBaseVirtualBytes = 64 * kMiB;
inline constexpr std::uint64_t kBigBytes = 512 * kMiB;
inline constexpr const char* kBaseImage = "e2e-base";
inline constexpr const char* kIsoImage = "e2e-iso";
// In the base image: this pattern over its first MiB, and the marker at 1 MiB.
inline constexpr const char* kBasePattern = "0xa5";
inline constexpr const char* kMarker = "HANGAR-E2E-IMAGE-MARKER";

std::string run(const std::vector<std::string>& argv, std::chrono::seconds timeout = std::chrono::seconds(60));

json parseJson(const std::string& text, const std::string& what);

// What qemu-img reads from the file's header (-U: whatever else has it open).
json qemuImgInfo(const std::string& file);

std::string field(const json& object, const char* key);

// qemu-io's verdict on "read -P PATTERN OFFSET LENGTH" through the file's whole backing chain: "" when every byte
// matched, else what qemu-io said.
std::string patternMismatch(const std::string& file, const std::string& pattern, const std::string& offset,
                            const std::string& length);

// Fills a qcow2 disk behind Hangar's back (the VM is stopped): what a guest would have written.
void writePattern(const std::string& file, const std::string& pattern, const std::string& offset,
                  const std::string& length);

bool contains(const std::vector<std::string>& names, const std::string& name);

std::string joined(const std::vector<std::string>& names);

// The image files, made once per run in the world's temp dir.
struct Files
{
    std::string dir;
    std::string qcow2;     // 64 MiB virtual: kBasePattern over the first MiB, kMarker at 1 MiB
    std::string iso;       // an ISO 9660 image of a directory holding a file with kMarker
    std::string truncated; // the first 64 KiB of qcow2: header intact, its tables beyond the end
    std::string big;       // 512 MiB of real data (no holes): an upload that takes a moment

    explicit Files(const std::string& root);
};

class ImageE2e : public E2eFixture
{
protected:
    void SetUp() override;

    // Whatever images the suite made go with it (their VMs went with each test's TearDown).
    static void TearDownTestSuite();

    static Files& files();
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

} // namespace hangar::e2e
