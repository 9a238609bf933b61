#include "Scenarios.h"

#include "Bus.h"

#include <algorithm>
#include <barrier>
#include <mutex>
#include <thread>

namespace hangar::bench {
Samples pingRoundTrips(const std::string& address, const std::string& destination, std::size_t count)
{
    Bus bus(address);
    for (int i = 0; i < 20; ++i)
        bus.ping(destination.c_str(), "/");
    Samples samples;
    const auto end = Clock::now() + kScenarioTime;
    for (std::size_t i = 0; i < count && Clock::now() < end; ++i) {
        const auto t0 = Clock::now();
        bus.ping(destination.c_str(), "/");
        samples.add(Clock::now() - t0);
    }
    return samples;
}

Samples inventoryReads(const std::function<std::vector<VmInfo>()>& read, std::size_t expected, std::string& problem)
{
    const auto first = read();
    std::size_t wrong = 0;
    for (const auto& vm : first)
        if (vm.vcpus != kVcpus || vm.memoryMiB != kMemoryMiB || vm.state != "stopped" || vm.name.empty() ||
            vm.uuid.size() != 36)
            ++wrong;
    if (first.size() != expected || wrong > 0)
        problem = "read " + std::to_string(first.size()) + " VMs, expected " + std::to_string(expected) + "; " +
                  std::to_string(wrong) + " with unexpected values";
    Samples samples;
    const auto started = Clock::now();
    for (std::size_t i = 0; i < 200; ++i) {
        if (i >= 3 && Clock::now() - started >= kScenarioTime)
            break;
        const auto t0 = Clock::now();
        const auto vms = read();
        samples.add(Clock::now() - t0);
        if (vms.size() != expected)
            problem = "a read returned " + std::to_string(vms.size()) + " VMs";
    }
    return samples;
}

LifecycleResult lifecycle(System& system, std::size_t vm, std::size_t pairs)
{
    LifecycleResult r;
    auto client = system.connect();
    const auto timed = [&](bool start, Samples* into) {
        const auto t0 = Clock::now();
        try {
            start ? client->start(vm) : client->stop(vm);
        } catch (const std::exception& e) {
            if (into && r.errors++ == 0)
                r.firstError = e.what();
            return;
        }
        if (into)
            into->add(Clock::now() - t0);
    };
    for (int i = 0; i < 5; ++i) {
        timed(true, nullptr);
        timed(false, nullptr);
    }
    const auto end = Clock::now() + kScenarioTime;
    for (std::size_t i = 0; i < pairs && Clock::now() < end; ++i) {
        timed(true, &r.start);
        timed(false, &r.stop);
    }
    return r;
}

NotificationResult notification(System& system, std::size_t vm, std::size_t transitions)
{
    NotificationResult r;
    auto watcher = system.watch();
    bool before = false;
    for (int i = 0; i < 6; ++i)
        watcher->changeSeen(vm, i % 2 == 0, before);
    const auto end = Clock::now() + kScenarioTime;
    std::size_t i = 0;
    for (; i < transitions && Clock::now() < end; ++i) {
        const bool start = i % 2 == 0;
        (start ? r.started : r.stopped).add(watcher->changeSeen(vm, start, before));
        r.signalBeforeReply += before ? 1 : 0;
    }
    if (i % 2 == 1) // leave the VM stopped
        watcher->changeSeen(vm, false, before);
    return r;
}

ConcurrencyResult concurrency(System& system, std::size_t clients, std::chrono::seconds duration)
{
    std::vector<std::unique_ptr<Client>> connections;
    for (std::size_t i = 0; i < clients; ++i)
        connections.push_back(system.connect());
    ConcurrencyResult r;
    std::mutex mutex;
    std::barrier sync(static_cast<std::ptrdiff_t>(clients + 1));
    Clock::time_point end;
    Clock::time_point lastFinished;
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < clients; ++i) {
        threads.emplace_back([&, i] {
            Samples mine;
            std::size_t errors = 0;
            std::string firstError;
            Client& client = *connections[i];
            sync.arrive_and_wait();
            auto finished = Clock::now();
            for (bool start = true; Clock::now() < end; start = !start) {
                const auto t0 = Clock::now();
                try {
                    start ? client.start(i) : client.stop(i);
                    finished = Clock::now();
                    mine.add(finished - t0);
                } catch (const std::exception& e) {
                    finished = Clock::now();
                    if (errors++ == 0)
                        firstError = e.what();
                }
            }
            // Leave the VM stopped for whatever runs next (not timed, not counted).
            try {
                client.stop(i);
            } catch (const std::exception&) {
            }
            std::lock_guard lock(mutex);
            lastFinished = std::max(lastFinished, finished);
            r.calls.append(mine);
            r.errors += errors;
            if (r.firstError.empty())
                r.firstError = firstError;
        });
    }
    const auto started = Clock::now();
    end = started + duration;
    sync.arrive_and_wait();
    for (auto& t : threads)
        t.join();
    // Throughput counts every call that ended, over the time until the last of them ended.
    r.seconds = std::chrono::duration<double>(lastFinished - started).count();
    r.ok = r.calls.size();
    return r;
}

} // namespace hangar::bench
