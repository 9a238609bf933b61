// The image end-to-end fixture's helpers and the image files (ImageE2eFixture.h).
#include "ImageE2eFixture.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

namespace hangar::e2e {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<Files> g_files;
std::string g_filesError;

} // namespace

std::string run(const std::vector<std::string>& argv, std::chrono::seconds timeout)
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

Files::Files(const std::string& root) : dir(root + "/image-files")
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

void ImageE2e::SetUp()
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

void ImageE2e::TearDownTestSuite()
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

Files& ImageE2e::files()
{
    return *g_files;
}

} // namespace hangar::e2e
