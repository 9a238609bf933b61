// What the scenarios need from each of the three systems under comparison (Hangar, libvirt-dbus, the libvirt C API):
// grow the inventory to N VMs through the system's own API, read the whole inventory the way a frontend would, and
// clients that start and stop one VM or watch for the notification of a state change. Every system gets the same VM
// shape (1 vCPU, 512 MiB) and the VMs are numbered 0..N-1 in creation order.
#pragma once

#include "Process.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hangar::bench {

inline constexpr std::uint32_t kVcpus = 1;
inline constexpr std::uint64_t kMemoryMiB = 512;

// What a frontend shows per VM.
struct VmInfo
{
    std::string name, uuid, state;
    std::uint32_t vcpus = 0;
    std::uint64_t memoryMiB = 0;
};

// One client, used by one thread: its own bus connection (or libvirt connection for the raw API).
class Client
{
public:
    virtual ~Client() = default;
    virtual void start(std::size_t vm) = 0;
    // A forced stop (power off at once): the same work on all three systems.
    virtual void stop(std::size_t vm) = 0;
};

// A client that also listens for the system's state-change notification.
class Watcher
{
public:
    virtual ~Watcher() = default;
    // Starts (running = true) or force-stops vm and returns the time from sending the request to seeing the
    // notification of the new state. signalBeforeReply tells whether it came before the method's reply.
    virtual Clock::duration changeSeen(std::size_t vm, bool running, bool& signalBeforeReply) = 0;
};

class System
{
public:
    virtual ~System() = default;
    virtual std::string name() const = 0;
    // Grows the inventory to n VMs; false when the deadline passed first.
    virtual bool populate(std::size_t n, Clock::time_point deadline) = 0;
    virtual std::size_t size() const = 0;
    virtual std::vector<VmInfo> readInventory() = 0;
    virtual std::unique_ptr<Client> connect() = 0;
    virtual std::unique_ptr<Watcher> watch() = 0;
    // The daemon serving it (nullopt for the in-process raw API) and its bus.
    virtual std::optional<pid_t> daemonPid() const = 0;
    virtual std::optional<std::string> busAddress() const = 0;
    virtual std::optional<std::string> daemonBusName() const = 0;
};

} // namespace hangar::bench
