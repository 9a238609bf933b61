// Outcome<T> carries either a value or a hangar::Error across an asynchronous boundary (worker thread → loop,
// core → bus reply). std::expected would do, but it is C++23.
#pragma once

#include "core/Error.h"

#include <functional>
#include <utility>
#include <variant>

namespace hangar {

template <typename T = std::monostate> class Outcome
{
public:
    Outcome(T value) : m_value(std::move(value)) {}
    Outcome(Error error) : m_value(std::move(error)) {}

    bool ok() const noexcept { return std::holds_alternative<T>(m_value); }
    const T& value() const { return std::get<T>(m_value); }
    const Error& error() const { return std::get<Error>(m_value); }

private:
    std::variant<T, Error> m_value;
};

// The completion of an asynchronous core operation; always called on the loop thread, exactly once.
template <typename T = std::monostate> using Done = std::function<void(Outcome<T>)>;

} // namespace hangar
