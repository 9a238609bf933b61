// The one place where a D-Bus call meets Hangar's code. Every adaptor method and property getter runs its body
// through one of three wrappers, by shape: syncMethod (answered by returning values), asyncMethod (answered later
// through sdbus::Result) and property (a getter). Whatever the body throws becomes exactly one D-Bus error, mapped
// once by busErrorOfCurrentException: hangar::Error through toBusError, sdbus::Error as it is, anything else
// BackendFailure. Only sdbus::Error may leave a wrapper, because it is the one exception sdbus-c++ catches before
// sd-bus's C code; anything else would unwind through C frames. An asynchronous call is answered exactly once: its
// Reply is shared by every copy of the completion, and the first answer (a result, core's error, or what the
// handler threw) is the one sent.
#pragma once

#include "bus/BusSupport.h"
#include "core/Error.h"
#include "core/Outcome.h"

#include <memory>
#include <optional>
#include <sdbus-c++/sdbus-c++.h>
#include <utility>

namespace hangar::bus {

// The D-Bus error for the exception being handled; call only inside a catch block.
sdbus::Error busErrorOfCurrentException();

// Logs that an answer could not be sent (the caller left, the bus went away): nobody is left to tell.
void logUnsentReply(const std::exception& e) noexcept;

// A synchronous method: returns what body returns, or throws the one sdbus::Error for what it threw.
template <typename Body> auto syncMethod(Body&& body) -> decltype(body())
{
    try {
        return body();
    } catch (...) {
        throw busErrorOfCurrentException();
    }
}

// A property getter: the same contract as a synchronous method. Getters of objects whose entity is gone must not
// fail at all (GetManagedObjects reads every property of every object and fails with the first getter that does),
// so such objects serve the values they had when they were retired.
template <typename Body> auto property(Body&& body) -> decltype(body())
{
    return syncMethod(std::forward<Body>(body));
}

// The answer to one asynchronous call (no result or one result of type R...), copyable into core's completions.
// Counted in its object's InFlightCalls from creation until answered.
template <typename... R> class Reply
{
    static_assert(sizeof...(R) <= 1, "Hangar's methods return at most one value");

public:
    Reply(sdbus::Result<R...>&& result, InFlightCalls& calls)
        : m_state(std::make_shared<State>(std::move(result), calls))
    {}

    // Sends the values; does nothing if the call was already answered.
    void results(const R&... values) const noexcept
    {
        if (!claim())
            return;
        try {
            m_state->result.returnResults(values...);
        } catch (const sdbus::Error& e) { // the values did not serialize (say, a bad object path)
            sendError(e);
        } catch (const std::exception& e) {
            logUnsentReply(e);
        }
        m_state->calls.end();
    }

    void error(const sdbus::Error& error) const noexcept
    {
        if (!claim())
            return;
        sendError(error);
        m_state->calls.end();
    }
    void error(const Error& error) const noexcept { this->error(toBusError(error)); }

    // Answers with what produce returns (R...), or with the error it throws.
    template <typename Produce> void resultsOf(Produce&& produce) const noexcept
    {
        try {
            if constexpr (sizeof...(R) == 0) {
                produce();
                results();
            } else {
                results(produce());
            }
        } catch (...) {
            error(busErrorOfCurrentException());
        }
    }

    // Core's completion for this call: its error, or map(value) as the result (no map for a call without result).
    template <typename T = std::monostate, typename Map> Done<T> done(Map map) const
    {
        return [reply = *this, map = std::move(map)](Outcome<T> outcome) {
            if (!outcome.ok())
                return reply.error(outcome.error());
            reply.resultsOf([&] { return map(outcome.value()); });
        };
    }
    Done<> done() const
    {
        return done([](const std::monostate&) {});
    }

private:
    struct State
    {
        State(sdbus::Result<R...>&& r, InFlightCalls& c) : result(std::move(r)), calls(c) { calls.begin(); }
        sdbus::Result<R...> result;
        InFlightCalls& calls; // the object stays until every call on it is answered (see InFlightCalls)
        bool answered = false;
    };

    bool claim() const { return !std::exchange(m_state->answered, true); }
    void sendError(const sdbus::Error& error) const noexcept
    {
        try {
            m_state->result.returnError(error);
        } catch (const std::exception& e) {
            logUnsentReply(e);
        }
    }

    std::shared_ptr<State> m_state;
};

// An asynchronous method: body receives the call's Reply and hands it (or reply.done(...)) to core. Whatever body
// throws answers the call with that error, unless it was answered already; the call is never answered twice.
template <typename... R, typename Body>
void asyncMethod(sdbus::Result<R...>&& result, InFlightCalls& calls, Body&& body)
{
    std::optional<Reply<R...>> reply;
    try {
        reply.emplace(std::move(result), calls);
        body(*reply);
    } catch (...) {
        if (!reply) // the Result was never taken: sdbus-c++ answers with what we throw
            throw busErrorOfCurrentException();
        reply->error(busErrorOfCurrentException());
    }
}

} // namespace hangar::bus
