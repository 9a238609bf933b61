// The bus layer's reply boundary (daemon/bus/ReplyBoundary.h) on a real private bus: an object served in this
// process answers through syncMethod, asyncMethod and property, its handlers throw every kind of exception, and a
// client on its own connection checks that each call gets exactly one answer with the one mapped D-Bus error.
#include "bus/ReplyBoundary.h"

#include "BusError.h"
#include "Harness.h"

#include <gtest/gtest.h>
#include <memory>
#include <stdexcept>
#include <utility>

namespace hangar::it {
namespace {

constexpr const char* kName = "org.hangar.BoundaryTest";
constexpr const char* kPath = "/org/hangar/BoundaryTest";
constexpr const char* kInterface = "org.hangar.BoundaryTest";

// What a handler throws, chosen by the client.
[[noreturn]] void throwKind(const std::string& kind)
{
    if (kind == "hangar")
        throw Error(ErrorCode::Busy, "busy doing something else");
    if (kind == "sdbus")
        throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs", "bad arguments");
    if (kind == "std")
        throw std::runtime_error("a library failed");
    throw 42; // the boundary must also survive what is no exception class
}

class ReplyBoundaryTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        bus = std::make_unique<PrivateBus>(dir.path());
        server = sdbus::createSessionBusConnectionWithAddress(bus->address());
        server->requestName(kName);
        object = sdbus::createObject(*server, kPath);
        // Throws after it took the call's Result and handed its completion on, as a handler that fails after
        // calling core would.
        object->registerMethod("ThrowAfterHandingOn")
            .onInterface(kInterface)
            .implementedAs([this](sdbus::Result<std::string>&& result, const std::string& kind) {
                calls = std::make_unique<bus::InFlightCalls>();
                bus::asyncMethod(std::move(result), *calls, [&](const bus::Reply<std::string>& reply) {
                    pending = reply.done<std::string>([](const std::string& value) { return value; });
                    throwKind(kind);
                });
            });
        // Answers with core's error first, then throws: the first answer is the one sent.
        object->registerMethod("AnswerThenThrow")
            .onInterface(kInterface)
            .implementedAs([this](sdbus::Result<>&& result) {
                calls = std::make_unique<bus::InFlightCalls>();
                bus::asyncMethod(std::move(result), *calls, [&](const bus::Reply<>& reply) {
                    reply.done()(Error(ErrorCode::NotFound, "answered by core"));
                    throw std::runtime_error("thrown after the answer");
                });
            });
        // Completes what ThrowAfterHandingOn handed on; true if that call was answered exactly once.
        object->registerMethod("CompleteLate").onInterface(kInterface).implementedAs([this]() {
            pending(Outcome<std::string>(std::string("too late")));
            int idle = 0;
            calls->retire([&idle] { ++idle; }); // runs at once only if the count is back at exactly zero
            return idle == 1;
        });
        object->registerMethod("Sync").onInterface(kInterface).implementedAs([](const std::string& kind) {
            return bus::syncMethod([&]() -> std::string { throwKind(kind); });
        });
        object->registerProperty("Broken").onInterface(kInterface).withGetter([] {
            return bus::property([]() -> std::string { throwKind("std"); });
        });
        object->finishRegistration();
        server->enterEventLoopAsync();
        client = sdbus::createSessionBusConnectionWithAddress(bus->address());
        proxy = sdbus::createProxy(*client, kName, kPath);
    }
    void TearDown() override
    {
        proxy.reset();
        client.reset();
        server->leaveEventLoop();
        pending = nullptr; // holds a call message, which must go before its connection
        calls.reset();
        object.reset();
        server.reset();
        bus.reset();
    }

    // The error name and message a call ends with, "" when it succeeds.
    template <typename Fn> static std::string failureOf(Fn&& fn)
    {
        std::string message;
        const std::string name = errorOf(std::forward<Fn>(fn), &message);
        return name.empty() ? "" : name + ": " + message;
    }

    TempDir dir;
    std::unique_ptr<PrivateBus> bus;
    std::unique_ptr<sdbus::IConnection> server, client;
    std::unique_ptr<sdbus::IObject> object;
    std::unique_ptr<sdbus::IProxy> proxy;
    // Touched only on the server's event loop thread.
    std::unique_ptr<bus::InFlightCalls> calls;
    Done<std::string> pending;
};

TEST_F(ReplyBoundaryTest, AsyncHandlerThrowingAfterHandingOnItsReply_AnswersOnceWithTheMappedError)
{
    const std::map<std::string, std::string> expected{
        {"hangar", "org.hangar.Hangar1.Error.Busy: busy doing something else"},
        {"sdbus", "org.freedesktop.DBus.Error.InvalidArgs: bad arguments"},
        {"std", "org.hangar.Hangar1.Error.BackendFailure: a library failed"},
        {"other", "org.hangar.Hangar1.Error.BackendFailure: unexpected failure of an unknown kind"}};
    for (const auto& entry : expected) {
        const std::string& kind = entry.first; // not a structured binding: clang 14 cannot capture one in a lambda
        const std::string& error = entry.second;
        EXPECT_EQ(
            failureOf([&] { proxy->callMethod("ThrowAfterHandingOn").onInterface(kInterface).withArguments(kind); }),
            error)
            << kind;
        bool answeredOnce = false;
        proxy->callMethod("CompleteLate").onInterface(kInterface).storeResultsTo(answeredOnce);
        EXPECT_TRUE(answeredOnce) << kind << ": the late completion answered again or the count is off";
    }
}

TEST_F(ReplyBoundaryTest, AsyncHandlerThrowingAfterCoreAnswered_KeepsCoresAnswer)
{
    EXPECT_EQ(failureOf([&] { proxy->callMethod("AnswerThenThrow").onInterface(kInterface); }),
              "org.hangar.Hangar1.Error.NotFound: answered by core");
    // The server still answers: nothing unwound through sd-bus.
    EXPECT_EQ(failureOf([&] { proxy->callMethod("AnswerThenThrow").onInterface(kInterface); }),
              "org.hangar.Hangar1.Error.NotFound: answered by core");
}

TEST_F(ReplyBoundaryTest, SyncMethodAndGetter_TurnEveryExceptionIntoOneDbusError)
{
    EXPECT_EQ(
        failureOf([&] { proxy->callMethod("Sync").onInterface(kInterface).withArguments(std::string("hangar")); }),
        "org.hangar.Hangar1.Error.Busy: busy doing something else");
    EXPECT_EQ(failureOf([&] { proxy->callMethod("Sync").onInterface(kInterface).withArguments(std::string("other")); }),
              "org.hangar.Hangar1.Error.BackendFailure: unexpected failure of an unknown kind");
    EXPECT_EQ(failureOf([&] { proxy->getProperty("Broken").onInterface(kInterface); }),
              "org.hangar.Hangar1.Error.BackendFailure: a library failed");
}

} // namespace
} // namespace hangar::it
