// Owns one file descriptor and closes it when it goes, so a socket handed from the hypervisor layer to a D-Bus
// reply is closed on every path: the reply sent (sd-bus sends its own duplicate), the call failed, the VM object
// retired meanwhile. Move-only; SharedFd carries one through core's copyable completion callbacks.
#pragma once

#include <memory>
#include <unistd.h>
#include <utility>

namespace hangar {

class UniqueFd
{
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : m_fd(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept
    {
        if (this != &other)
            reset(std::exchange(other.m_fd, -1));
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const noexcept { return m_fd; }
    explicit operator bool() const noexcept { return m_fd >= 0; }
    // Gives up ownership: the caller closes it.
    int release() noexcept { return std::exchange(m_fd, -1); }
    void reset(int fd = -1) noexcept
    {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = fd;
    }

private:
    int m_fd = -1;
};

using SharedFd = std::shared_ptr<UniqueFd>;

} // namespace hangar
