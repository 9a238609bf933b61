#include "core/VmLifetime.h"

#include "core/FaultPoints.h"
#include "core/Validation.h"
#include "core/VmStateTracker.h"

#include <ctime>
#include <fmt/format.h>
#include <limits>

namespace hangar {
namespace {

constexpr std::int64_t kUsecPerSec = 1'000'000;
// How soon a deletion that found the VM busy (another operation, not yet reconciled) looks again.
constexpr std::chrono::seconds kRetryDelay{1};

// Whether the daemon can start deleting vm now; otherwise it looks again later.
bool settled(const Vm& vm)
{
    return vm.record.phase == VmPhase::Ready && !vm.operation && vm.state != VmState::Creating &&
           vm.state != VmState::Deleting && vm.state != VmState::Unavailable;
}

bool stoppedAfterRunning(const Vm& vm)
{
    return vm.record.ephemeral && vm.record.hasRun && (vm.state == VmState::Stopped || vm.state == VmState::Crashed);
}

} // namespace

std::string formatUnixTime(std::int64_t seconds)
{
    const auto t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return text;
}

VmLifetime::VmLifetime(VmContext& context, VmRemoval& removal) : m_ctx(context), m_removal(removal)
{
    m_ctx.inventory.addStateListener([this](Vm& vm) { stateChanged(vm); });
}

VmLifetime::~VmLifetime()
{
    if (m_timer)
        m_ctx.executor.cancel(*m_timer);
}

std::optional<std::int64_t> VmLifetime::armedFor() const
{
    if (!m_timer)
        return std::nullopt;
    return m_armedForUsec / kUsecPerSec;
}

std::int64_t VmLifetime::nowSec() const
{
    return m_ctx.executor.nowUsec() / kUsecPerSec;
}

void VmLifetime::stateChanged(Vm& vm)
{
    if (vm.record.phase != VmPhase::Ready)
        return;
    if (isActive(vm.state) && !vm.record.hasRun) {
        vm.record.hasRun = true;
        try {
            m_ctx.store.updateVm(vm.record);
        } catch (const Error& e) { // kept in memory; an ephemeral VM left behind by a crash can still be deleted
            m_ctx.audit.failure(0, &vm.record, "state", e);
        }
    }
    if (stoppedAfterRunning(vm))
        deleteWhenSettled(vm.record.uuid, fmt::format("ephemeral VM {} after it ran; deleted", stateName(vm.state)));
    // A new VM, or one start-up's reconciliation has just settled: its expiry may be the earliest.
    if (vm.record.expiresAt > 0 && (!m_timer || vm.record.expiresAt * kUsecPerSec < m_armedForUsec))
        rearm();
}

// Not from within the state listener that noticed it: a deletion changes the state again. On the next loop turn
// the VM is looked at afresh.
void VmLifetime::deleteWhenSettled(const std::string& uuid, const std::string& reason)
{
    m_ctx.executor.submit([] {},
                          [this, uuid, reason] {
                              Vm* vm = m_ctx.inventory.find(uuid);
                              if (!vm || !stoppedAfterRunning(*vm))
                                  return; // gone, or started again meanwhile: it is deleted when it stops again
                              if (!settled(*vm)) {
                                  m_ctx.executor.schedule(kRetryDelay,
                                                          [this, uuid, reason] { deleteWhenSettled(uuid, reason); });
                                  return;
                              }
                              m_removal.removeAsDaemon(uuid, reason, [](const Outcome<>&) {});
                          });
}

void VmLifetime::expireDue()
{
    m_timer.reset();
    const std::int64_t now = nowSec();
    for (Vm* vm : m_ctx.inventory.allMutable()) {
        if (vm->record.expiresAt <= 0 || vm->record.expiresAt > now || !settled(*vm))
            continue;
        HANGAR_FAULT_POINT(ExpiryDue);
        m_removal.removeAsDaemon(vm->record.uuid,
                                 fmt::format("expired at {}; {}deleted", formatUnixTime(vm->record.expiresAt),
                                             isActive(vm->state) ? "powered off and " : ""),
                                 [](const Outcome<>&) {});
    }
    rearm();
}

void VmLifetime::rearm()
{
    const std::int64_t nowUsec = m_ctx.executor.nowUsec();
    std::int64_t earliest = std::numeric_limits<std::int64_t>::max();
    for (const Vm* vm : m_ctx.inventory.all()) {
        if (vm->record.expiresAt <= 0 || vm->record.phase != VmPhase::Ready || vm->state == VmState::Deleting)
            continue;
        std::int64_t due = vm->record.expiresAt * kUsecPerSec;
        // Due but busy or not yet reconciled: look again shortly rather than spin.
        if (due <= nowUsec && !settled(*vm))
            due = nowUsec + std::chrono::duration_cast<std::chrono::microseconds>(kRetryDelay).count();
        earliest = std::min(earliest, due);
    }
    if (m_timer && earliest == m_armedForUsec)
        return;
    if (m_timer)
        m_ctx.executor.cancel(*m_timer);
    m_timer.reset();
    if (earliest == std::numeric_limits<std::int64_t>::max())
        return;
    m_armedForUsec = earliest;
    m_timer = m_ctx.executor.schedule(std::chrono::microseconds(std::max<std::int64_t>(0, earliest - nowUsec)),
                                      [this] { expireDue(); });
}

void VmLifetime::setExpiry(const Caller& caller, const std::string& uuid, std::int64_t expiresAt, Done<> done)
{
    const Ticket ticket = OperationRunner::open(caller, uuid, VmOperation::SetExpiry, std::move(done));
    if (!m_ctx.runner.findOrLose(ticket))
        return;
    const bool valid = m_ctx.runner.attempt(ticket, [&] {
        const std::int64_t now = nowSec();
        if (expiresAt != 0 && expiresAt <= now)
            throw Error(ErrorCode::InvalidArgument,
                        fmt::format("expires_at {} ({}) is not in the future (now {}); give a later time, or 0 for "
                                    "never",
                                    expiresAt, formatUnixTime(expiresAt), now));
        if (expiresAt > now && static_cast<std::uint64_t>(expiresAt - now) > Limits::kMaxTtlSec)
            throw Error(ErrorCode::InvalidArgument, fmt::format("expires_at must be at most {} s ahead, got {} s",
                                                                Limits::kMaxTtlSec, expiresAt - now));
    });
    if (!valid)
        return;
    m_ctx.runner.authorize(ticket, [this, ticket, expiresAt](Vm& vm) {
        auto apply = [this, ticket, expiresAt](Vm& vm) {
            const bool allowed = m_ctx.runner.guard(ticket, vm, Guard::NotInFlux, [&](const Vm& vm) {
                VmRecord changed = vm.record;
                changed.expiresAt = expiresAt;
                m_ctx.store.updateVm(changed);
            });
            if (!allowed)
                return;
            vm.record.expiresAt = expiresAt;
            m_ctx.inventory.changed(vm, static_cast<VmFields>(VmField::Expiry));
            rearm();
            m_ctx.runner.succeed(ticket, vm.record,
                                 expiresAt == 0 ? std::string("never expires")
                                                : fmt::format("expires at {}", formatUnixTime(expiresAt)));
        };
        const std::uint64_t max = m_ctx.lifetime.maxTtlSec;
        const bool withinMax = max == 0 || (expiresAt != 0 && static_cast<std::uint64_t>(expiresAt - nowSec()) <= max);
        // Whoever acts on another's VM already holds manage-all-vms; only an owner past the maximum is asked about.
        if (withinMax || vm.record.owner != ticket->caller.uid)
            return apply(vm);
        m_ctx.quotas.isAdministrator(ticket->caller, [this, ticket, apply, max, expiresAt](bool admin) {
            Vm* vm = m_ctx.runner.findOrLose(ticket, "the VM was deleted while authorization was pending");
            if (!vm)
                return;
            if (!admin)
                return m_ctx.runner.fail(
                    ticket,
                    Error(ErrorCode::QuotaExceeded,
                          fmt::format("{}: owners may set an expiry at most max_ttl_sec = {} s ahead (until {}); "
                                      "an administrator can set a later one",
                                      expiresAt == 0 ? std::string("never expiring")
                                                     : fmt::format("expiry {}", formatUnixTime(expiresAt)),
                                      max, formatUnixTime(nowSec() + static_cast<std::int64_t>(max)))));
            apply(*vm);
        });
    });
}

void admitNewVm(VmContext& ctx, const Caller& caller, std::optional<std::uint64_t> ttlSec,
                const Done<std::int64_t>& done)
{
    auto decide = [&ctx, caller, ttlSec, done](bool admin) {
        try {
            const std::int64_t nowUsec = ctx.executor.nowUsec();
            std::optional<std::uint64_t> ttl = ttlSec;
            if (!admin) {
                ctx.createRate.take(caller.uid, nowUsec);
                const LifetimeSettings& policy = ctx.lifetime;
                if (!ttl && policy.defaultTtlSec > 0)
                    ttl = policy.defaultTtlSec;
                if (policy.maxTtlSec > 0 && !ttl)
                    ttl = policy.maxTtlSec;
                if (policy.maxTtlSec > 0 && *ttl > policy.maxTtlSec)
                    throw Error(ErrorCode::QuotaExceeded,
                                fmt::format("ttl_sec {} is beyond the maximum: owners may give at most max_ttl_sec = "
                                            "{}",
                                            *ttl, policy.maxTtlSec));
            }
            done(ttl ? nowUsec / kUsecPerSec + static_cast<std::int64_t>(*ttl) : std::int64_t{0});
        } catch (const Error& e) {
            done(e);
        }
    };
    if (!ctx.createRate.enabled() && ctx.lifetime == LifetimeSettings{})
        return decide(false); // nothing to hold anyone to: no need to ask polkit who is an administrator
    ctx.quotas.isAdministrator(caller, decide);
}

} // namespace hangar
