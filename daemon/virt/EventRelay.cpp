#include "virt/EventRelay.h"

#include "virt/LibvirtSupport.h"

#include <exception>

namespace hangar::virt {

EventRelay::EventRelay(PostToLoop postToLoop) : m_postToLoop(std::move(postToLoop)) {}

void EventRelay::setSink(Sink sink)
{
    const std::lock_guard lock(m_sinkMutex);
    m_sink = sink ? std::make_shared<const Sink>(std::move(sink)) : nullptr;
}

void EventRelay::close()
{
    {
        const std::lock_guard lock(m_postMutex);
        m_closed = true;
    }
    const std::lock_guard lock(m_sinkMutex);
    m_sink.reset();
}

void EventRelay::post(const HypervisorEvent& event) noexcept
{
    try {
        const std::lock_guard lock(m_postMutex);
        if (m_closed)
            return;
        m_postToLoop([self = shared_from_this(), event] { self->deliver(event); });
    } catch (const std::exception& e) {
        logger()->error("cannot post a hypervisor event to the loop: {}", e.what());
    } catch (...) {
        logger()->error("cannot post a hypervisor event to the loop");
    }
}

void EventRelay::deliver(const HypervisorEvent& event) const
{
    std::shared_ptr<const Sink> sink;
    {
        const std::lock_guard lock(m_sinkMutex);
        sink = m_sink;
    }
    // Called outside the lock: the sink may well subscribe again or close.
    if (sink)
        (*sink)(event);
}

} // namespace hangar::virt
