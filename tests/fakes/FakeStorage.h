// An in-memory Storage for core's unit tests: volumes are a map, the rules follow LibvirtStorage's (names, taken
// and missing volumes, a volume deleted again when its upload fails or is cancelled), upload really reads the fd
// with pread, failures can be injected per method, and a test can hold an operation half-way (its volume exists,
// it has reported progress once) until it lets it go, to drive core's cancel and recovery paths.
#pragma once

#include "core/Error.h"
#include "core/Storage.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace hangar::testing {

class FakeStorage final : public Storage
{
public:
    explicit FakeStorage(std::string poolName = "fake-pool") : m_poolName(std::move(poolName)) {}

    std::string poolName() const override { return m_poolName; }
    void ensurePool() override;
    // capacity: a qcow2 image's virtual size from its header, else size; allocation: size.
    VolumeInfo upload(const std::string& name, ImageFormat format, int fd, std::uint64_t size,
                      const ProgressFn& progress) override;
    void requireUploads() const override {} // the fake keeps contents: it can
    VolumeInfo writeRaw(const std::string& name, const std::string& bytes) override;
    // What writeRaw wrote into name ("" when nothing was).
    std::string contents(const std::string& name) const;
    VolumeInfo createOverlay(const std::string& name, const std::string& backing, std::uint64_t capacityBytes) override;
    VolumeInfo createBlank(const std::string& name, std::uint64_t capacityBytes) override;
    // Progress: 0, then the source's allocation.
    VolumeInfo cloneOverlay(const std::string& name, const std::string& source, const ProgressFn& progress) override;
    // Progress: 0, then the source's capacity (what LibvirtStorage reports).
    VolumeInfo flatten(const std::string& name, const std::string& source, const ProgressFn& progress) override;
    VolumeInfo resize(const std::string& name, std::uint64_t capacityBytes) override;
    void remove(const std::string& name) override;
    std::optional<VolumeInfo> find(const std::string& name) override;
    std::vector<std::string> list() override;

    // Test controls. None of them counts as a call or consumes an injected failure.
    // The next `times` calls of `method` ("upload", "createOverlay", "remove", ...) throw error.
    void failNext(const std::string& method, Error error, int times = 1);
    int calls(const std::string& method) const;
    int ensurePoolCalls() const { return calls("ensurePool"); }
    std::vector<std::string> volumes() const;
    bool has(const std::string& name) const;
    // The volume `name` is an overlay of ("" when standalone); nullopt when there is no such volume.
    std::optional<std::string> backingOf(const std::string& name) const;
    // A volume made behind Hangar's back (a leftover for recovery to find) or gone behind its back.
    void addOutside(VolumeInfo info);
    void removeOutside(const std::string& name);

    // While `method` (upload, cloneOverlay or flatten) is held, each call of it stops half-way — its volume
    // created, progress reported once — until release(method). Progress is asked again after the release, so a
    // cancel requested meanwhile ends the call with Error(Cancelled) and its volume gone.
    void hold(const std::string& method);
    void release(const std::string& method);
    // Waits until `count` calls of `method` are stopped at the hold; false when the deadline passes first.
    bool waitHeld(const std::string& method, std::size_t count, std::chrono::milliseconds deadline);

private:
    void enter(const std::string& method);
    // For a volume just added, outside the lock: progress(0), the hold, progress(total); on any failure the volume
    // is removed again.
    VolumeInfo finishLongCall(const std::string& method, const VolumeInfo& info, std::uint64_t total,
                              const ProgressFn& progress);
    // Whether it stopped there.
    bool waitAtHold(const std::string& method);
    const VolumeInfo& get(const std::string& name) const;
    void requireAbsent(const std::string& name) const;

    const std::string m_poolName;
    mutable std::mutex m_mutex;
    std::condition_variable m_holdChanged;
    std::map<std::string, VolumeInfo> m_volumes;
    std::map<std::string, std::string> m_contents;           // of the volumes writeRaw made
    std::map<std::string, std::pair<Error, int>> m_failures; // error, calls left to fail
    std::map<std::string, int> m_calls;
    std::set<std::string> m_held;
    std::map<std::string, std::size_t> m_waiting; // calls stopped at each hold
};

} // namespace hangar::testing
