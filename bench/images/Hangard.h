// hangard as the image benchmark drives it: the hangard of the same build on a private dbus-daemon, against the
// private libvirtd (qemu:///system?socket=...), with the allow-all authorizer and a state directory (and so its
// storage pool, <state>/pool) of its own. Only its D-Bus API is used: ImportImage (waiting for the Job's Completed),
// CreateVM with spec key "image", VM.Delete and Image.Delete. Each call that the benchmark times returns its time,
// measured around the call alone (from sending it to its reply).
#pragma once

#include "Bus.h"

#include <map>
#include <memory>
#include <string>

namespace hangar::bench::images {

class Hangard
{
public:
    Hangard(const std::string& hangard, const std::string& busAddress, const std::string& libvirtUri,
            const std::string& dir);
    ~Hangard();
    Hangard(const Hangard&) = delete;
    Hangard& operator=(const Hangard&) = delete;

    Clock::duration startup() const { return m_startup; }
    std::string log() const;

    struct Import
    {
        std::string image;      // the Image's object path
        Clock::duration took{}; // ImportImage sent -> the Job's Completed(true) seen
    };
    // Imports the file at path as a raw image named name; throws when the job fails or does not end in time.
    Import importImage(const std::string& name, const std::string& path, std::chrono::seconds deadline);
    // ImportImage sent, not waited for: the Job's path.
    std::string startImport(const std::string& name, const std::string& path);
    // Whether that job has completed (dispatching what the bus has for this client first); throws when it failed.
    bool importDone(const std::string& job);

    struct Created
    {
        std::string vm;
        Clock::duration took{};
    };
    // CreateVM(name, {vcpus 1, memory_mib 512, image}): the disk is an overlay of the image.
    Created createVm(const std::string& name, const std::string& image);
    // CreateVM(name, {vcpus 1, memory_mib 512, disk_gib}): a VM with a blank disk of its own, no image.
    Created createBlankVm(const std::string& name, std::uint64_t diskGiB);
    Clock::duration deleteVm(const std::string& path);
    void deleteImage(const std::string& path);
    std::string imagePath(const std::string& name); // Manager.GetImage

private:
    std::string m_dir;
    std::unique_ptr<Child> m_process;
    std::unique_ptr<Bus> m_bus;
    Clock::duration m_startup{};
    struct Completion
    {
        bool success = false;
        std::string message;
        Clock::time_point at;
    };
    std::map<std::string, Completion> m_completed; // by job path
};

} // namespace hangar::bench::images
