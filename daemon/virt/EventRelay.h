// Carries HypervisorEvents from libvirt's threads to the subscribed sink on the daemon's loop thread. Events are
// handed to postToLoop as closures; the sink is looked up when the closure runs, on the loop thread, so the sink is
// never called on a libvirt thread, a late subscriber still gets events posted before it subscribed, and after
// close() pending closures do nothing. Shared (shared_ptr) with the callbacks registered in libvirt, which may
// outlive the LibvirtHypervisor by a moment. Internal to daemon/virt.
#pragma once

#include "core/Hypervisor.h"

#include <functional>
#include <memory>
#include <mutex>

namespace hangar::virt {

class EventRelay : public std::enable_shared_from_this<EventRelay>
{
public:
    using Sink = std::function<void(const HypervisorEvent&)>;
    using PostToLoop = std::function<void(std::function<void()>)>;

    explicit EventRelay(PostToLoop postToLoop);

    void setSink(Sink sink);
    // Stops delivery, including of events already posted but not yet run. Once it returns, postToLoop is not
    // called again, so whatever postToLoop refers to may go away.
    void close();
    // Thread-safe; never throws (it is called from libvirt's C callbacks).
    void post(const HypervisorEvent& event) noexcept;

private:
    void deliver(const HypervisorEvent& event) const;

    const PostToLoop m_postToLoop;
    // Two locks, so that a postToLoop that runs the closure at once (on the loop thread itself) cannot deadlock.
    std::mutex m_postMutex; // held around postToLoop, so close() waits for a post in progress
    bool m_closed = false;
    mutable std::mutex m_sinkMutex;
    std::shared_ptr<const Sink> m_sink;
};

} // namespace hangar::virt
