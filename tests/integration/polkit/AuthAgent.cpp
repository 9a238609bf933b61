// The polkit authentication agent of the authorization tests (PolkitHarness.h).
#include "PolkitHarness.h"

#include <poll.h>
#include <sstream>
#include <stdexcept>

namespace hangar::it::polkit {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kAgentPath = "/org/hangar/tests/AuthAgent";
constexpr const char* kAgentInterface = "org.freedesktop.PolicyKit1.AuthenticationAgent";
constexpr const char* kAuthorityInterface = "org.freedesktop.PolicyKit1.Authority";

using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;

std::uint64_t processStartTime(pid_t pid)
{
    const std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos)
        throw std::runtime_error("cannot read /proc/" + std::to_string(pid) + "/stat");
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    // Field 22 of stat(5) is starttime; the fields after ')' start at field 3.
    for (int i = 3; i <= 22 && fields >> field; ++i) {
        if (i == 22)
            return std::stoull(field);
    }
    throw std::runtime_error("no starttime in /proc/" + std::to_string(pid) + "/stat");
}

} // namespace

AuthAgent::AuthAgent(const std::string& busAddress)
    : m_connection(sdbus::createSessionBusConnectionWithAddress(busAddress))
{
    m_object = sdbus::createObject(*m_connection, kAgentPath);
    m_object->registerMethod("BeginAuthentication")
        .onInterface(kAgentInterface)
        .withInputParamNames("action_id", "message", "icon_name", "details", "cookie", "identities")
        .implementedAs([this](sdbus::Result<>&& result, const std::string& actionId, const std::string&,
                              const std::string&, const std::map<std::string, std::string>& details,
                              const std::string& cookie, const std::vector<Subject>&) {
            m_pending.push_back(Pending{std::move(result), cookie, actionId, details});
        });
    m_object->registerMethod("CancelAuthentication")
        .onInterface(kAgentInterface)
        .withInputParamNames("cookie")
        .implementedAs([this](const std::string& cookie) {
            for (auto it = m_pending.begin(); it != m_pending.end(); ++it) {
                if (it->cookie == cookie) {
                    it->result.returnError(sdbus::Error("org.freedesktop.PolicyKit1.Error.Cancelled", "cancelled"));
                    m_pending.erase(it);
                    return;
                }
            }
        });
    m_object->finishRegistration();
    m_authority = sdbus::createProxy(*m_connection, kPolkitName, "/org/freedesktop/PolicyKit1/Authority");
}

AuthAgent::~AuthAgent()
{
    for (auto& p : m_pending) {
        try {
            p.result.returnError(sdbus::Error("org.freedesktop.PolicyKit1.Error.Cancelled", "test ended"));
        } catch (const sdbus::Error&) {
            // The bus may be gone already.
        }
    }
}

void AuthAgent::registerForProcess(pid_t pid)
{
    const Subject subject{"unix-process",
                          {{"pid", sdbus::Variant(static_cast<std::uint32_t>(pid))},
                           {"start-time", sdbus::Variant(processStartTime(pid))}}};
    m_authority->callMethod("RegisterAuthenticationAgent")
        .onInterface(kAuthorityInterface)
        .withArguments(subject, std::string("C"), std::string(kAgentPath)); // polkit takes the path as s
}

bool AuthAgent::serveUntil(const std::function<bool()>& cond, std::chrono::milliseconds deadline)
{
    const auto end = Clock::now() + deadline;
    while (true) {
        while (m_connection->processPendingRequest()) {
        }
        if (cond())
            return true;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
        if (left <= 0)
            return false;
        const auto data = m_connection->getEventLoopPollData();
        pollfd p{data.fd, data.events, 0};
        // Short polls: cond may also depend on things other than this connection (processes ending).
        int timeout = data.getPollTimeout();
        if (timeout < 0 || timeout > 10)
            timeout = 10;
        poll(&p, 1, timeout);
    }
}

const std::string& AuthAgent::requestedAction() const
{
    if (m_pending.empty())
        throw std::logic_error("no pending authentication");
    return m_pending.front().action;
}

const std::map<std::string, std::string>& AuthAgent::requestDetails() const
{
    if (m_pending.empty())
        throw std::logic_error("no pending authentication");
    return m_pending.front().details;
}

void AuthAgent::approveAll(uid_t uid)
{
    // The uid argument is the agent's (root registered it); the identity is who authenticated.
    const Subject identity{"unix-user", {{"uid", sdbus::Variant(static_cast<std::uint32_t>(uid))}}};
    for (auto& p : m_pending) {
        m_authority->callMethod("AuthenticationAgentResponse2")
            .onInterface(kAuthorityInterface)
            .withArguments(std::uint32_t{0}, p.cookie, identity);
        p.result.returnResults();
    }
    m_pending.clear();
    while (m_connection->processPendingRequest()) {
    }
}

} // namespace hangar::it::polkit
