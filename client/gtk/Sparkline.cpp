#include "Sparkline.h"

#include <algorithm>
#include <cairomm/context.h>
#include <cairomm/surface.h>
#include <gdk/gdk.h>

namespace hangar::gtk {

void Sparkline::add(double cpu, double memory)
{
    m_cpu.push_back(std::clamp(cpu, 0.0, 1.0));
    m_memory.push_back(std::clamp(memory, 0.0, 1.0));
    if (m_cpu.size() > kSamples) {
        m_cpu.pop_front();
        m_memory.pop_front();
    }
}

void Sparkline::clear()
{
    m_cpu.clear();
    m_memory.clear();
}

Glib::RefPtr<Gdk::Pixbuf> Sparkline::render(int width, int height) const
{
    auto surface = Cairo::ImageSurface::create(Cairo::FORMAT_ARGB32, width, height);
    auto cr = Cairo::Context::create(surface);
    // Opaque, so the lines read the same on a selected (blue) row as on a plain one.
    cr->set_source_rgb(0.98, 0.98, 0.98);
    cr->paint();
    cr->set_source_rgb(0.75, 0.75, 0.75);
    cr->set_line_width(1);
    cr->rectangle(0.5, 0.5, width - 1, height - 1);
    cr->stroke();
    auto line = [&](const std::deque<double>& values, double r, double g, double b) {
        if (values.empty())
            return;
        const double step = static_cast<double>(width - 1) / (kSamples - 1);
        const double x0 = width - 1 - step * static_cast<double>(values.size() - 1);
        for (std::size_t i = 0; i < values.size(); ++i) {
            const double x = x0 + step * static_cast<double>(i);
            const double y = (height - 2) * (1.0 - values[i]) + 1;
            i == 0 ? cr->move_to(x, y) : cr->line_to(x, y);
        }
        cr->set_source_rgb(r, g, b);
        cr->set_line_width(1.5);
        cr->stroke();
    };
    line(m_memory, 0.21, 0.52, 0.89); // memory: blue
    line(m_cpu, 0.15, 0.64, 0.41);    // CPU: green
    surface->flush();
    return Glib::wrap(gdk_pixbuf_get_from_surface(surface->cobj(), 0, 0, width, height));
}

} // namespace hangar::gtk
