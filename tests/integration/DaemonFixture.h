// The fixtures the integration suites share: DaemonFixture starts the real hangard on a private bus in a temporary
// directory before each test, stops it after, prints its log when the test failed, and runs hangarctl against it;
// ConnectedDaemonFixture adds a client connection with the Manager proxy and VM proxies made on first use, as a
// frontend would hold them.
#pragma once

#include "BusError.h"
#include "Clients.h"
#include "Harness.h"
#include "support/NotifySocket.h"

#include <csignal>
#include <gtest/gtest.h>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <vector>

namespace hangar::it {

class DaemonFixture : public ::testing::Test
{
protected:
    void SetUp() override
    {
        bus = std::make_unique<PrivateBus>(dir.path());
        startDaemon();
    }
    void TearDown() override
    {
        if (::testing::Test::HasFailure())
            std::cerr << "---- hangard log ----\n" << readFile(log()) << "---------------------\n";
        daemon.reset();
        bus.reset();
    }

    std::string log() const { return dir.path() + "/hangard.log"; }
    std::string state() const { return dir.path() + "/state"; }

    virtual void startDaemon() { daemon = std::make_unique<Hangard>(bus->address(), state(), log()); }

    // The configuration file Hangard writes and passes as --config when started with a text, and hangard's
    // sd_notify socket.
    std::string configPath() const { return state() + ".conf"; }
    std::string notifyPath() const { return state() + ".notify"; }

    // SIGHUP, then RELOADING=1 and READY=1 in that order: after READY=1 the reload is over.
    void reload()
    {
        support::NotifySocket notify(notifyPath());
        ASSERT_EQ(kill(daemon->process().pid(), SIGHUP), 0);
        auto alive = [this] { return daemon->process().running(); };
        ASSERT_TRUE(notify.waitFor("RELOADING=1", std::chrono::seconds(10), alive)) << "no RELOADING=1";
        ASSERT_TRUE(notify.waitFor("READY=1", std::chrono::seconds(10), alive)) << "no READY=1 after RELOADING=1";
    }

    std::vector<std::string> ctlArgv(const std::vector<std::string>& args) const
    {
        std::vector<std::string> out{hangarctlPath(), "--bus=" + bus->address()};
        out.insert(out.end(), args.begin(), args.end());
        return out;
    }

    RunResult ctl(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {})
    {
        return run(ctlArgv(args), env);
    }

    // Runs with --json, expects success, and parses stdout.
    nlohmann::json ctlJson(std::vector<std::string> args)
    {
        args.insert(args.begin(), "--json");
        const RunResult r = ctl(args);
        EXPECT_EQ(r.exitCode, 0) << r.err;
        try {
            return nlohmann::json::parse(r.out);
        } catch (const nlohmann::json::exception& e) {
            ADD_FAILURE() << "not JSON (" << e.what() << "):\n" << r.out;
            return nlohmann::json();
        }
    }

    TempDir dir;
    std::unique_ptr<PrivateBus> bus;
    std::unique_ptr<Hangard> daemon;
};

class ConnectedDaemonFixture : public DaemonFixture
{
protected:
    void TearDown() override
    {
        disconnect();
        DaemonFixture::TearDown();
    }

    void startDaemon() override
    {
        DaemonFixture::startDaemon();
        connection = sdbus::createSessionBusConnectionWithAddress(bus->address());
        onConnected();
        manager = std::make_unique<ManagerClient>(*connection);
        connection->enterEventLoopAsync();
    }
    void disconnect()
    {
        vms.clear();
        manager.reset();
        if (connection)
            connection->leaveEventLoop();
        onDisconnected();
        connection.reset();
    }

    // For a fixture that keeps more on the connection: onConnected runs before the Manager proxy exists and the
    // event loop starts, onDisconnected after the event loop has stopped and before the connection goes.
    virtual void onConnected() {}
    virtual void onDisconnected() {}

    VmClient& vm(const std::string& path)
    {
        auto& slot = vms[path];
        if (!slot)
            slot = std::make_unique<VmClient>(*connection, path);
        return *slot;
    }

    std::string create(const std::string& name, Dict spec = {}) { return manager->CreateVM(name, spec); }

    std::size_t vmCount() { return manager->ListVMs({{"all", sdbus::Variant(true)}}).size(); }

    std::unique_ptr<sdbus::IConnection> connection;
    std::unique_ptr<ManagerClient> manager;
    std::map<std::string, std::unique_ptr<VmClient>> vms;
};

} // namespace hangar::it
