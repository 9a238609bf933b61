// Volleys: a few generated calls sent at once on separate connections while another connection reads the inventory
// (GetManagedObjects) over and over, so that the daemon sees calls overlap: two operations on one VM (Busy), an
// object retired while a call on it is in flight, the inventory read while objects come and go (issue 17 #3). A
// volley in which every call was refused must leave the inventory as it was, like a single refused call.
#include "FuzzSession.h"

#include <atomic>
#include <iostream>
#include <thread>

namespace hangar::fuzz {

namespace {

constexpr std::size_t kCallsPerVolley = 4;

} // namespace

sdbus::IProxy& FuzzSession::Lane::proxy(const std::string& path)
{
    auto& slot = proxies[path];
    if (!slot)
        slot = sdbus::createProxy(*connection, kService, path);
    return *slot;
}

void FuzzSession::volley()
{
    if (m_lanes.empty()) {
        m_lanes.resize(kCallsPerVolley + 1);
        for (auto& lane : m_lanes)
            lane.connection = sdbus::createSessionBusConnectionWithAddress(m_config.busAddress);
    }
    // Planned and built here, on this thread, in order: a seed replays the same volleys.
    std::vector<PlannedCall> calls;
    std::vector<std::optional<sdbus::MethodCall>> messages;
    for (std::size_t i = 0; i < kCallsPerVolley; ++i) {
        calls.push_back(plan());
        auto message = m_lanes[i].proxy(calls[i].path).createMethodCall(calls[i].interface, calls[i].member);
        messages.push_back(build(calls[i], message) ? std::optional(std::move(message)) : std::nullopt);
    }

    std::vector<CallOutcome> outcomes(kCallsPerVolley);
    std::atomic<bool> done{false};
    std::string readerError;
    Lane& reader = m_lanes.back();
    std::thread readerThread([&] {
        while (!done) {
            try {
                readInventory(reader.proxy(kManagerPath), m_config.callTimeout);
            } catch (const sdbus::Error& e) {
                readerError = e.getName() + ": " + e.getMessage();
                return;
            }
        }
    });
    std::vector<std::thread> senders;
    for (std::size_t i = 0; i < kCallsPerVolley; ++i)
        if (messages[i])
            senders.emplace_back([&, i] { outcomes[i] = send(m_lanes[i].proxy(calls[i].path), *messages[i]); });
    for (auto& t : senders)
        t.join();
    done = true;
    readerThread.join();
    m_fds.clear();

    std::string described;
    bool anySucceeded = false;
    for (std::size_t i = 0; i < kCallsPerVolley; ++i) {
        if (!messages[i])
            continue;
        described += "\n    " + calls[i].describe() + " -> " +
                     (outcomes[i].ok ? "ok" : outcomes[i].errorName + ": " + outcomes[i].errorMessage);
        if (outcomes[i].errorName == "org.freedesktop.DBus.Error.Disconnected")
            m_lanes.clear(); // made again on the next volley
        anySucceeded = anySucceeded || outcomes[i].ok;
        check(calls[i], outcomes[i], false);
    }
    if (!readerError.empty())
        unreadable(readerError, "read while a volley ran; the volley:" + described);
    if (anySucceeded || m_dirty) {
        settle();
        return;
    }
    try {
        Inventory after = inventory();
        ++m_report.comparisons;
        if (const std::string diff = difference(m_reference, after); !diff.empty()) {
            report("changed-after-refusal", "volley",
                   "every call of a volley was refused but the inventory changed:\n" + diff +
                       "the volley:" + described);
            m_reference = after;
            updatePools();
        }
    } catch (const sdbus::Error& e) {
        unreadable(e.getName() + ": " + e.getMessage(), "after a volley");
        m_dirty = true;
    }
}

} // namespace hangar::fuzz
