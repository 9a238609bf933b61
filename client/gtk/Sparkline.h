// A VM's recent CPU and memory use as a small picture for the list: the daemon's stats, sampled by the window.
#pragma once

#include <deque>
#include <gdkmm/pixbuf.h>

namespace hangar::gtk {

class Sparkline
{
public:
    static constexpr std::size_t kSamples = 40;

    // cpu: 0..1 of the VM's vCPUs; memory: 0..1 of its memory.
    void add(double cpu, double memory);
    void clear();
    bool empty() const { return m_cpu.empty(); }
    double lastCpu() const { return m_cpu.empty() ? 0 : m_cpu.back(); }
    double lastMemory() const { return m_memory.empty() ? 0 : m_memory.back(); }
    Glib::RefPtr<Gdk::Pixbuf> render(int width, int height) const;

private:
    std::deque<double> m_cpu;
    std::deque<double> m_memory;
};

} // namespace hangar::gtk
