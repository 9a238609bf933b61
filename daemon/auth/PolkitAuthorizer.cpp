#include "auth/PolkitAuthorizer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace hangar::auth {
namespace {

constexpr const char* kPolkitName = "org.freedesktop.PolicyKit1";
constexpr const char* kPolkitPath = "/org/freedesktop/PolicyKit1/Authority";
constexpr const char* kAuthorityInterface = "org.freedesktop.PolicyKit1.Authority";
constexpr std::uint32_t kAllowUserInteraction = 1;
// Long enough for a person to type a password; polkit's own agents give up earlier.
constexpr auto kInteractiveTimeout = std::chrono::minutes(5);
constexpr auto kQuietTimeout = std::chrono::seconds(25);

using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
using AuthResult = sdbus::Struct<bool, bool, std::map<std::string, std::string>>;

} // namespace

PolkitAuthorizer::PolkitAuthorizer(sdbus::IConnection& connection)
    : m_polkit(sdbus::createProxy(connection, kPolkitName, kPolkitPath))
{
    // Registered without a signal handler: only method replies are used, and they are dispatched by the loop
    // that serves the connection (the proxy was created on a connection we do not let sdbus-c++ run itself).
    m_polkit->finishRegistration();
}

PolkitAuthorizer::~PolkitAuthorizer() = default;

void PolkitAuthorizer::check(const Caller& caller, Action action, const AuthDetails& details, AuthCallback done)
{
    const std::string id(actionId(action));
    const Subject subject{"system-bus-name", {{"name", sdbus::Variant(caller.busName)}}};
    const std::uint32_t flags = caller.allowInteraction ? kAllowUserInteraction : 0;
    try {
        m_polkit->callMethodAsync("CheckAuthorization")
            .onInterface(kAuthorityInterface)
            .withTimeout(caller.allowInteraction
                             ? std::chrono::duration_cast<std::chrono::microseconds>(kInteractiveTimeout)
                             : std::chrono::duration_cast<std::chrono::microseconds>(kQuietTimeout))
            .withArguments(subject, id, std::map<std::string, std::string>(details.begin(), details.end()), flags,
                           std::string())
            .uponReplyInvoke([id, uid = caller.uid, done](const sdbus::Error* error, const AuthResult& result) {
                if (error) {
                    spdlog::warn("polkit: cannot check {} for uid {}: {} ({})", id, uid, error->getMessage(),
                                 error->getName());
                    return done(Error(ErrorCode::PermissionDenied,
                                      fmt::format("not authorized: could not ask polkit about {} ({}); refusing", id,
                                                  error->getMessage())));
                }
                const bool authorized = result.get<0>();
                const bool challenge = result.get<1>();
                if (authorized)
                    return done(std::nullopt);
                if (challenge)
                    return done(Error(ErrorCode::PermissionDenied,
                                      fmt::format("not authorized: {} requires authentication, and no authentication "
                                                  "agent answered (run the command in a terminal, or ask an "
                                                  "administrator to add you to group hangar or hangar-admin)",
                                                  id)));
                done(Error(ErrorCode::PermissionDenied,
                           fmt::format("not authorized: {} is not granted to uid {}", id, uid)));
            });
    } catch (const sdbus::Error& e) {
        done(Error(ErrorCode::PermissionDenied,
                   fmt::format("not authorized: could not ask polkit about {} ({}); refusing", id, e.getMessage())));
    }
}

} // namespace hangar::auth
