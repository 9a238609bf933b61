// The descriptors the fuzzer sends (Generator.h, FdKeeper): one of every kind a caller could hand the daemon.
#include "Generator.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hangar::fuzz {

namespace {

constexpr std::size_t kMiB = 1024 * 1024;

} // namespace

int FdKeeper::keep(int fd)
{
    if (fd < 0)
        throw std::runtime_error("fuzzer: cannot open a descriptor: " + std::string(std::strerror(errno)));
    m_fds.emplace_back(fd);
    return fd;
}

int FdKeeper::make(Rng& rng, std::string* what)
{
    int p[2];
    switch (rng.below(13)) {
    case 0:
        *what = "pipe read end (writer open, silent)";
        if (pipe2(p, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe");
        keep(p[1]);
        return keep(p[0]);
    case 1:
        *what = "pipe write end";
        if (pipe2(p, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe");
        keep(p[0]);
        return keep(p[1]);
    case 2:
        *what = "socketpair end";
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0)
            throw std::runtime_error("socketpair");
        keep(p[1]);
        return keep(p[0]);
    case 3:
        *what = "directory O_RDONLY";
        return keep(open(m_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    case 4:
        *what = "/dev/null";
        return keep(open("/dev/null", O_RDWR | O_CLOEXEC));
    case 5:
        *what = "memfd, empty";
        return keep(memfd_create("fuzz-empty", MFD_CLOEXEC));
    case 6: {
        *what = "memfd with 64 KiB of junk";
        const int fd = keep(memfd_create("fuzz-junk", MFD_CLOEXEC));
        std::string junk(64 * 1024, '\0');
        for (auto& c : junk)
            c = static_cast<char>(rng.next());
        if (write(fd, junk.data(), junk.size()) != static_cast<ssize_t>(junk.size()))
            throw std::runtime_error("memfd write");
        lseek(fd, 0, SEEK_SET);
        return fd;
    }
    case 7: {
        // A qcow2 header (magic, version 3) claiming a virtual size of 2^63 bytes: issue 17's "absurd sizes".
        *what = "memfd with a qcow2 header claiming 2^63 bytes";
        const int fd = keep(memfd_create("fuzz-qcow2", MFD_CLOEXEC));
        std::string header(512, '\0');
        const unsigned char start[] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
        std::copy(std::begin(start), std::end(start), header.begin());
        header[24] = static_cast<char>(0x80); // size, big-endian, at offset 24
        header[23] = 16;                      // cluster_bits at offset 20..23
        if (write(fd, header.data(), header.size()) != static_cast<ssize_t>(header.size()))
            throw std::runtime_error("memfd write");
        lseek(fd, 0, SEEK_SET);
        return fd;
    }
    case 8:
        *what = "O_PATH of a directory";
        return keep(open(m_dir.c_str(), O_PATH | O_CLOEXEC));
    case 9: {
        *what = "write-only regular file";
        const std::string path = m_dir + "/write-only";
        return keep(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    }
    case 10:
        *what = "eventfd";
        return keep(eventfd(0, EFD_CLOEXEC));
    case 11:
        *what = "/proc/self/status (not seekable to a size)";
        return keep(open("/proc/self/status", O_RDONLY | O_CLOEXEC));
    default: {
        *what = "1 MiB zero-filled regular file";
        const std::string path = m_dir + "/zeros";
        if (!std::filesystem::exists(path)) {
            std::ofstream{path};
            std::filesystem::resize_file(path, kMiB);
        }
        return keep(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    }
    }
}

} // namespace hangar::fuzz
