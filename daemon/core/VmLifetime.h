// VmLifetime deletes VMs when their time is up:
//  - an ephemeral VM once it has run and then stopped, whoever or whatever stopped it (Stop, the guest powering
//    off, a crash, virsh destroy): it follows State, not the Stop method. "Has run" (VmRecord::hasRun, stored) is
//    set the first time the VM is seen active, so a VM that was created and never started stays;
//  - any VM at its ExpiresAt: powered off and deleted. One timer on the loop is armed for the earliest expiry and
//    re-armed whenever an expiry is set or a VM with one appears; nothing polls.
// Both go through VmRemoval's deletion (phase Deleting first, domain, volume, row) as the daemon's (uid 0), with the
// reason in the audit log. A VM that expired, or an ephemeral one that stopped, while hangard was down is deleted
// as soon as start-up's reconciliation has told its state. SetExpiry is the operation that changes ExpiresAt; new
// VMs get theirs from admitNewVm. Loop thread only.
#pragma once

#include "core/VmContext.h"
#include "core/VmRemoval.h"

#include <cstdint>
#include <optional>
#include <string>

namespace hangar {

class VmLifetime
{
public:
    VmLifetime(VmContext& context, VmRemoval& removal);
    ~VmLifetime();
    VmLifetime(const VmLifetime&) = delete;
    VmLifetime& operator=(const VmLifetime&) = delete;

    // expiresAt in unix seconds, 0 = never. Owners only up to [Lifetime] max_ttl_sec ahead (when set; clearing counts
    // as beyond it), administrators freely. A time not in the future is InvalidArgument.
    void setExpiry(const Caller& caller, const std::string& uuid, std::int64_t expiresAt, Done<> done);

    // When the timer is armed for (unix seconds), if it is; for tests and the log.
    std::optional<std::int64_t> armedFor() const;

private:
    void stateChanged(Vm& vm);
    void deleteWhenSettled(const std::string& uuid, const std::string& reason);
    void expireDue();
    void rearm();
    std::int64_t nowSec() const;

    VmContext& m_ctx;
    VmRemoval& m_removal;
    std::optional<Executor::TimerId> m_timer;
    std::int64_t m_armedForUsec = 0;
};

// What a new VM's lifetime policy decides for caller (CreateVM, Clone): the create rate is taken (RateLimited when
// none is left), and ttlSec, or [Lifetime] default_ttl_sec / max_ttl_sec for a non-administrator, becomes the
// expiry (unix seconds, 0 = never; QuotaExceeded when ttlSec exceeds max_ttl_sec). Administrators are exempt from
// both. polkit is asked whether caller is an administrator only when a rate or a lifetime limit is configured.
void admitNewVm(VmContext& ctx, const Caller& caller, std::optional<std::uint64_t> ttlSec,
                const Done<std::int64_t>& done);

// "2026-12-03 14:05:00 UTC".
std::string formatUnixTime(std::int64_t seconds);

} // namespace hangar
