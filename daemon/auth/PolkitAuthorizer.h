// The Authorizer on polkit, the way systemd's machined does it: CheckAuthorization for the caller's bus name
// (subject system-bus-name), with details (vm, verb), sent asynchronously on the daemon's own connection, so the
// loop keeps serving everyone else while polkit decides or the user types a password. polkit unreachable or
// failing means deny, with a message saying so.
#pragma once

#include "core/Authorizer.h"

#include <chrono>
#include <memory>
#include <sdbus-c++/sdbus-c++.h>

namespace hangar::auth {

class PolkitAuthorizer final : public Authorizer
{
public:
    // connection must be served by the daemon's loop: replies arrive through it.
    explicit PolkitAuthorizer(sdbus::IConnection& connection);
    ~PolkitAuthorizer() override;
    PolkitAuthorizer(const PolkitAuthorizer&) = delete;
    PolkitAuthorizer& operator=(const PolkitAuthorizer&) = delete;

    void check(const Caller& caller, Action action, const AuthDetails& details, AuthCallback done) override;

private:
    std::unique_ptr<sdbus::IProxy> m_polkit;
};

} // namespace hangar::auth
