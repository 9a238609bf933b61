# Install layout (issue 15, item 1): the files that dbus-daemon, polkitd and systemd read go where those programs look,
# which pkg-config knows (dbus-1, polkit-gobject-1, systemd). Those paths are absolute (/usr/share/..., /lib/systemd/...)
# and do not move with CMAKE_INSTALL_PREFIX: an install from the default prefix /usr/local puts hangard and hangarctl
# under /usr/local but the bus policy, activation file, polkit files, unit and sysusers/tmpfiles snippets under /usr,
# because nothing reads them from /usr/local. The unit's ExecStart= and the activation file's Exec= are written at
# install time from the prefix actually used (`cmake --install build --prefix P`), so they name the installed hangard.
# Each directory is a cache variable (HANGAR_*_DIR) to override, e.g. for a package built with a different layout;
# DESTDIR applies to all of them as usual. Without the .pc file, the fallback is the FHS path under the prefix.

# hangar_system_dir(VAR PKG PKG_VARIABLE FALLBACK [SUFFIX] DOC)
function(hangar_system_dir var pkg pkg_variable fallback suffix doc)
  pkg_get_variable(found ${pkg} ${pkg_variable})
  if(found)
    set(dir "${found}${suffix}")
  else()
    set(dir "${fallback}")
    message(STATUS "${var}: pkg-config ${pkg} has no ${pkg_variable}; using ${dir}")
  endif()
  set(${var} "${dir}" CACHE PATH "${doc}")
endfunction()

hangar_system_dir(HANGAR_DBUS_SYSTEM_SERVICES_DIR dbus-1 system_bus_services_dir
  "${CMAKE_INSTALL_FULL_DATADIR}/dbus-1/system-services" "" "D-Bus system bus activation files")
hangar_system_dir(HANGAR_DBUS_SYSTEM_POLICY_DIR dbus-1 datadir
  "${CMAKE_INSTALL_FULL_DATADIR}/dbus-1/system.d" "/dbus-1/system.d" "D-Bus system bus policy")
hangar_system_dir(HANGAR_DBUS_INTERFACES_DIR dbus-1 datadir
  "${CMAKE_INSTALL_FULL_DATADIR}/dbus-1/interfaces" "/dbus-1/interfaces" "D-Bus interface XML")
hangar_system_dir(HANGAR_POLKIT_ACTIONS_DIR polkit-gobject-1 policydir
  "${CMAKE_INSTALL_FULL_DATADIR}/polkit-1/actions" "" "polkit actions")
hangar_system_dir(HANGAR_POLKIT_RULES_DIR polkit-gobject-1 datadir
  "${CMAKE_INSTALL_FULL_DATADIR}/polkit-1/rules.d" "/polkit-1/rules.d" "polkit rules")
hangar_system_dir(HANGAR_SYSTEMD_UNIT_DIR systemd systemdsystemunitdir
  "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" "" "systemd system units")
hangar_system_dir(HANGAR_SYSUSERS_DIR systemd sysusersdir
  "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d" "" "sysusers.d snippets")
hangar_system_dir(HANGAR_TMPFILES_DIR systemd tmpfilesdir
  "${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d" "" "tmpfiles.d snippets")
# bash-completion looks in its completionsdir (/usr/share/...) and, for /usr/local, in
# /usr/local/share/bash-completion/completions: this one follows the prefix.
set(HANGAR_BASH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
  CACHE PATH "bash completions (relative: under the prefix)")

install(FILES dbus/org.hangar.Hangar1.conf DESTINATION ${HANGAR_DBUS_SYSTEM_POLICY_DIR})
foreach(iface IN LISTS HANGAR_DBUS_INTERFACES)
  install(FILES dbus/${iface}.xml DESTINATION ${HANGAR_DBUS_INTERFACES_DIR})
endforeach()
install(FILES systemd/hangar.sysusers.conf DESTINATION ${HANGAR_SYSUSERS_DIR} RENAME hangar.conf)
install(FILES systemd/hangar.tmpfiles.conf DESTINATION ${HANGAR_TMPFILES_DIR} RENAME hangar.conf)
install(FILES polkit/org.hangar.Hangar1.policy DESTINATION ${HANGAR_POLKIT_ACTIONS_DIR})
install(FILES polkit/50-hangar.rules DESTINATION ${HANGAR_POLKIT_RULES_DIR})
install(FILES docs/hangard.conf.example DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The unit and the activation file name the installed hangard: configured at install time, when the prefix given to
# `cmake --install --prefix` is known (install(CODE) sees it as CMAKE_INSTALL_PREFIX).
set(hangar_gen ${CMAKE_BINARY_DIR}/install-generated)
install(CODE "
  if(IS_ABSOLUTE \"${CMAKE_INSTALL_SBINDIR}\")
    set(HANGAR_SBINDIR \"${CMAKE_INSTALL_SBINDIR}\")
  else()
    set(HANGAR_SBINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}\")
  endif()
  configure_file(\"${CMAKE_SOURCE_DIR}/systemd/hangard.service.in\" \"${hangar_gen}/hangard.service\" @ONLY)
  configure_file(\"${CMAKE_SOURCE_DIR}/dbus/org.hangar.Hangar1.service.in\" \"${hangar_gen}/org.hangar.Hangar1.service\" @ONLY)
  file(INSTALL DESTINATION \"${HANGAR_SYSTEMD_UNIT_DIR}\" TYPE FILE FILES \"${hangar_gen}/hangard.service\")
  file(INSTALL DESTINATION \"${HANGAR_DBUS_SYSTEM_SERVICES_DIR}\" TYPE FILE
       FILES \"${hangar_gen}/org.hangar.Hangar1.service\")
")

install(FILES completion/hangarctl.bash DESTINATION ${HANGAR_BASH_COMPLETION_DIR} RENAME hangarctl)
