#include "Bus.h"

#include <cstring>
#include <optional>
#include <utility>

namespace hangar::bench {
namespace {

// Pending replies: the callback lives on the heap until sd-bus destroys the (floating) slot.
struct PendingReply
{
    Bus::Reply done;
    std::exception_ptr* thrown;
};

int onReply(sd_bus_message* m, void* userdata, sd_bus_error*)
{
    auto* pending = static_cast<PendingReply*>(userdata);
    try {
        if (sd_bus_message_is_method_error(m, nullptr)) {
            const sd_bus_error* e = sd_bus_message_get_error(m);
            const CallError error(e && e->name ? e->name : "unknown", e && e->message ? e->message : "");
            pending->done(m, &error);
        } else {
            pending->done(m, nullptr);
        }
    } catch (...) { // never through sd-bus's C frames: rethrown by processUntil
        if (!*pending->thrown)
            *pending->thrown = std::current_exception();
    }
    return 0;
}

void destroyPending(void* userdata)
{
    std::unique_ptr<PendingReply> owned(static_cast<PendingReply*>(userdata));
}

int onSignal(sd_bus_message* m, void* userdata, sd_bus_error*)
{
    auto* handler = static_cast<Bus::SignalHandler*>(userdata);
    try {
        handler->handle(m);
    } catch (...) {
        if (!*handler->thrown)
            *handler->thrown = std::current_exception();
    }
    return 0;
}

} // namespace

int check(int r, const char* what)
{
    if (r < 0)
        throw CallError("local", std::string(what) + ": " + std::strerror(-r));
    return r;
}

Bus::Bus(const std::string& address)
{
    sd_bus* bus = nullptr;
    check(sd_bus_new(&bus), "sd_bus_new");
    m_bus.reset(bus);
    check(sd_bus_set_address(bus, address.c_str()), "sd_bus_set_address");
    check(sd_bus_set_bus_client(bus, 1), "sd_bus_set_bus_client");
    check(sd_bus_start(bus), ("connect to " + address).c_str());
}

Bus::~Bus()
{
    m_slots.clear();
    m_bus.reset();
}

MessagePtr Bus::newCall(const char* destination, const char* path, const char* interface, const char* member)
{
    sd_bus_message* m = nullptr;
    check(sd_bus_message_new_method_call(m_bus.get(), &m, destination, path, interface, member), member);
    return MessagePtr(m);
}

MessagePtr Bus::call(sd_bus_message* call)
{
    sd_bus_error error{};
    sd_bus_message* reply = nullptr;
    const int r = sd_bus_call(m_bus.get(), call, 0, &error, &reply);
    if (r < 0) {
        CallError e(error.name ? error.name : "local", error.message ? error.message : std::strerror(-r));
        sd_bus_error_free(&error);
        throw e;
    }
    return MessagePtr(reply);
}

void Bus::callAsync(sd_bus_message* call, Reply done)
{
    auto pending = std::make_unique<PendingReply>(PendingReply{std::move(done), &m_thrown});
    sd_bus_slot* slot = nullptr;
    check(sd_bus_call_async(m_bus.get(), &slot, call, onReply, pending.get(), 0), "sd_bus_call_async");
    // From here the slot owns the callback: sd-bus destroys it with the slot, once the reply has been handled.
    check(sd_bus_slot_set_destroy_callback(slot, destroyPending), "sd_bus_slot_set_destroy_callback");
    static_cast<void>(pending.release()); // owned by the slot now
    check(sd_bus_slot_set_floating(slot, 1), "sd_bus_slot_set_floating");
    sd_bus_slot_unref(slot);
}

bool Bus::processUntil(const std::function<bool()>& cond, std::chrono::milliseconds deadline)
{
    const auto end = Clock::now() + deadline;
    for (;;) {
        if (m_thrown)
            std::rethrow_exception(std::exchange(m_thrown, nullptr));
        if (cond())
            return true;
        const int r = check(sd_bus_process(m_bus.get(), nullptr), "sd_bus_process");
        if (r > 0)
            continue;
        const auto left = std::chrono::duration_cast<std::chrono::microseconds>(end - Clock::now()).count();
        if (left <= 0)
            return cond();
        check(sd_bus_wait(m_bus.get(), static_cast<std::uint64_t>(left)), "sd_bus_wait");
    }
}

void Bus::matchSignal(const char* sender, const char* path, const char* interface, const char* member,
                      std::function<void(sd_bus_message*)> handler)
{
    auto& stored = m_handlers.emplace_back(SignalHandler{std::move(handler), &m_thrown});
    sd_bus_slot* slot = nullptr;
    check(sd_bus_match_signal(m_bus.get(), &slot, sender, path, interface, member, onSignal, &stored),
          "sd_bus_match_signal");
    m_slots.emplace_back(slot);
}

void Bus::ping(const char* destination, const char* path)
{
    auto m = newCall(destination, path, "org.freedesktop.DBus.Peer", "Ping");
    call(m.get());
}

bool Bus::nameHasOwner(const char* name)
{
    auto m = newCall("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner");
    check(sd_bus_message_append(m.get(), "s", name), "append");
    auto reply = call(m.get());
    int has = 0;
    check(sd_bus_message_read(reply.get(), "b", &has), "read NameHasOwner");
    return has != 0;
}

std::string readString(sd_bus_message* m, char type)
{
    const char* s = nullptr;
    const char sig[2] = {type, '\0'};
    check(sd_bus_message_read(m, sig, &s), "read string");
    return s;
}

std::string readVariantString(sd_bus_message* m)
{
    // A variant holding a variant holding the string is accepted too (see LibvirtDbusSystem).
    int depth = 0;
    for (;;) {
        char type = 0;
        const char* contents = nullptr;
        check(sd_bus_message_peek_type(m, &type, &contents), "peek variant");
        if (type != 'v' || !contents)
            throw CallError("local", "read variant s: not a variant");
        if (std::strcmp(contents, "v") != 0)
            break;
        check(sd_bus_message_enter_container(m, 'v', "v"), "enter variant");
        ++depth;
    }
    const char* s = nullptr;
    check(sd_bus_message_read(m, "v", "s", &s), "read variant s");
    std::string value = s;
    for (; depth > 0; --depth)
        check(sd_bus_message_exit_container(m), "exit variant");
    return value;
}

std::uint32_t readVariantU32(sd_bus_message* m)
{
    std::uint32_t v = 0;
    check(sd_bus_message_read(m, "v", "u", &v), "read variant u");
    return v;
}

std::uint64_t readVariantU64(sd_bus_message* m)
{
    std::uint64_t v = 0;
    check(sd_bus_message_read(m, "v", "t", &v), "read variant t");
    return v;
}

} // namespace hangar::bench

namespace hangar::bench {

std::size_t pipelined(Bus& bus, std::size_t count, std::size_t window,
                      const std::function<MessagePtr(std::size_t)>& build,
                      const std::function<void(std::size_t, sd_bus_message*)>& handle, Clock::time_point deadline)
{
    std::size_t next = 0;
    std::size_t inFlight = 0;
    std::size_t completed = 0;
    std::optional<CallError> firstError;
    bool stopped = false;
    while (completed < next || (!stopped && next < count)) {
        while (!stopped && next < count && inFlight < window) {
            if (Clock::now() >= deadline || firstError) {
                stopped = true;
                break;
            }
            auto m = build(next);
            bus.callAsync(m.get(), [&, i = next](sd_bus_message* reply, const CallError* error) {
                --inFlight;
                ++completed;
                if (error) {
                    if (!firstError)
                        firstError = *error;
                    return;
                }
                try {
                    handle(i, reply);
                } catch (const CallError& e) {
                    if (!firstError)
                        firstError = e;
                } catch (const std::exception& e) {
                    if (!firstError)
                        firstError = CallError("local", e.what());
                }
            });
            ++next;
            ++inFlight;
        }
        // Room for another call if there is one to issue; otherwise every call back.
        const bool more = !stopped && next < count;
        if (inFlight > 0 &&
            !bus.processUntil([&] { return more ? inFlight < window : completed == next; }, std::chrono::minutes(2)))
            throw CallError("local", "no reply within 2 minutes");
    }
    if (firstError)
        throw *firstError;
    return completed;
}

} // namespace hangar::bench
