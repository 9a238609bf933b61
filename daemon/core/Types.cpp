#include "core/Types.h"

#include <array>
#include <utility>

namespace hangar {
namespace {

constexpr std::array<std::pair<VmPhase, std::string_view>, 3> kPhases{{
    {VmPhase::Creating, "creating"},
    {VmPhase::Ready, "ready"},
    {VmPhase::Deleting, "deleting"},
}};

constexpr std::array<std::pair<VmState, std::string_view>, 9> kStates{{
    {VmState::Creating, "creating"},
    {VmState::Stopped, "stopped"},
    {VmState::Running, "running"},
    {VmState::Paused, "paused"},
    {VmState::ShuttingDown, "shutting-down"},
    {VmState::Crashed, "crashed"},
    {VmState::Suspended, "suspended"},
    {VmState::Deleting, "deleting"},
    {VmState::Unavailable, "unavailable"},
}};

constexpr std::array<std::pair<ImageFormat, std::string_view>, 3> kFormats{{
    {ImageFormat::Qcow2, "qcow2"},
    {ImageFormat::Raw, "raw"},
    {ImageFormat::Iso, "iso"},
}};

constexpr std::array<std::pair<ImagePhase, std::string_view>, 3> kImagePhases{{
    {ImagePhase::Importing, "importing"},
    {ImagePhase::Ready, "ready"},
    {ImagePhase::Deleting, "deleting"},
}};

constexpr std::array<std::pair<Severity, std::string_view>, 3> kSeverities{{
    {Severity::Info, "info"},
    {Severity::Warning, "warning"},
    {Severity::Error, "error"},
}};

template <typename E, std::size_t N>
std::string_view nameOf(const std::array<std::pair<E, std::string_view>, N>& table, E value)
{
    for (const auto& [v, n] : table)
        if (v == value)
            return n;
    return "unknown";
}

template <typename E, std::size_t N>
std::optional<E> valueOf(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view name)
{
    for (const auto& [v, n] : table)
        if (n == name)
            return v;
    return std::nullopt;
}

} // namespace

std::string_view phaseName(VmPhase phase)
{
    return nameOf(kPhases, phase);
}
std::optional<VmPhase> phaseFromName(std::string_view name)
{
    return valueOf(kPhases, name);
}
std::string_view stateName(VmState state)
{
    return nameOf(kStates, state);
}
std::optional<VmState> stateFromName(std::string_view name)
{
    return valueOf(kStates, name);
}
std::string_view formatName(ImageFormat format)
{
    return nameOf(kFormats, format);
}
std::optional<ImageFormat> formatFromName(std::string_view name)
{
    return valueOf(kFormats, name);
}
std::string_view imagePhaseName(ImagePhase phase)
{
    return nameOf(kImagePhases, phase);
}
std::optional<ImagePhase> imagePhaseFromName(std::string_view name)
{
    return valueOf(kImagePhases, name);
}

std::string_view severityName(Severity severity)
{
    return nameOf(kSeverities, severity);
}
std::optional<Severity> severityFromName(std::string_view name)
{
    return valueOf(kSeverities, name);
}
Severity severityForOutcome(std::string_view outcome)
{
    if (outcome == "ok")
        return Severity::Info;
    // The host or a backend broke: nothing the caller can fix. Every other error name is a request refused for a
    // reason it states (a bad argument, a denial, a quota, a busy VM), worth a look but not an outage.
    return outcome == "BackendFailure" ? Severity::Error : Severity::Warning;
}

} // namespace hangar
