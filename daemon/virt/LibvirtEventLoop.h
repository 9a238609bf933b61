// The thread that runs libvirt's default event loop. libvirt delivers domain events, close notifications and
// keepalives only while someone runs virEventRunDefaultImpl, and there is one such loop per process, so every
// libvirt connection in the daemon shares one thread: acquire() hands out a reference, the first starts the
// thread, the last one stops and joins it. (A thread per connection would not work: they would all iterate the
// same GLib main context and steal each other's wake-ups.) Internal to daemon/virt.
#pragma once

#include <memory>

namespace hangar::virt {

class LibvirtEventLoop
{
public:
    // Registers the default implementation (once per process) and makes sure the thread runs while the returned
    // reference lives. Error(BackendFailure) if libvirt cannot register it.
    static std::shared_ptr<LibvirtEventLoop> acquire();

private:
    struct Key
    {
        explicit Key() = default;
    };

public:
    explicit LibvirtEventLoop(Key); // through acquire() only
    ~LibvirtEventLoop();
    LibvirtEventLoop(const LibvirtEventLoop&) = delete;
    LibvirtEventLoop& operator=(const LibvirtEventLoop&) = delete;
};

} // namespace hangar::virt
