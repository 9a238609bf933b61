// A thin RAII layer over sd-bus for the benchmark's D-Bus clients. sd-bus rather than sdbus-c++ so the client's own
// cost is as small as it can be and the same for both D-Bus systems: what is measured is the daemons and the bus.
// One Bus is used by one thread.
#pragma once

#include "Process.h"

#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <stdexcept>
#include <string>
#include <systemd/sd-bus.h>

namespace hangar::bench {

struct MessageUnref
{
    void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
struct SlotUnref
{
    void operator()(sd_bus_slot* s) const { sd_bus_slot_unref(s); }
};
struct BusClose
{
    void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;

// An error reply (name and message), or a local failure of sd-bus (name "local").
class CallError : public std::runtime_error
{
public:
    CallError(std::string name, const std::string& message)
        : std::runtime_error(name + ": " + message), m_name(std::move(name))
    {}
    const std::string& name() const { return m_name; }

private:
    std::string m_name;
};

// Throws CallError("local", what + strerror) when r < 0; returns r otherwise.
int check(int r, const char* what);

class Bus
{
public:
    explicit Bus(const std::string& address);
    ~Bus();
    Bus(const Bus&) = delete;
    Bus& operator=(const Bus&) = delete;

    sd_bus* get() const { return m_bus.get(); }

    MessagePtr newCall(const char* destination, const char* path, const char* interface, const char* member);
    // Sends and waits for the reply; an error reply throws CallError.
    MessagePtr call(sd_bus_message* call);
    // Sends; done runs inside process()/processUntil() with the reply, or with the error as a CallError.
    using Reply = std::function<void(sd_bus_message* reply, const CallError* error)>;
    void callAsync(sd_bus_message* call, Reply done);
    // Dispatches incoming messages until cond() holds or the deadline passes; returns cond().
    bool processUntil(const std::function<bool()>& cond, std::chrono::milliseconds deadline);
    // Calls handler for every matching signal, from processUntil().
    void matchSignal(const char* sender, const char* path, const char* interface, const char* member,
                     std::function<void(sd_bus_message*)> handler);
    // org.freedesktop.DBus.Peer.Ping, waiting for the reply.
    void ping(const char* destination, const char* path);
    bool nameHasOwner(const char* name);

    struct SignalHandler
    {
        std::function<void(sd_bus_message*)> handle;
        std::exception_ptr* thrown;
    };

private:
    std::unique_ptr<sd_bus, BusClose> m_bus;
    // What a callback threw, kept here because it must not cross sd-bus's C frames; processUntil rethrows it.
    std::exception_ptr m_thrown;
    std::list<SignalHandler> m_handlers;
    std::list<std::unique_ptr<sd_bus_slot, SlotUnref>> m_slots;
};

// Issues count calls with at most window of them in flight: build(i) makes call i, handle(i, reply) consumes its
// reply. Stops issuing new calls once the deadline has passed; returns how many completed. An error reply is thrown
// (as CallError) once the calls in flight have come back.
std::size_t pipelined(Bus& bus, std::size_t count, std::size_t window,
                      const std::function<MessagePtr(std::size_t)>& build,
                      const std::function<void(std::size_t, sd_bus_message*)>& handle,
                      Clock::time_point deadline = Clock::time_point::max());

// Readers that throw on a type mismatch.
std::string readString(sd_bus_message* m, char type = 's');
std::string readVariantString(sd_bus_message* m);
std::uint32_t readVariantU32(sd_bus_message* m);
std::uint64_t readVariantU64(sd_bus_message* m);

} // namespace hangar::bench
