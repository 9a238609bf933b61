# docs/api.md (issue 15, item 7): the D-Bus API's reference in Markdown, generated from the comments in dbus/*.xml by
# scripts/dbus-doc.py, like org.hangar.Hangar1(5) (docs/man/CMakeLists.txt). It is committed, because docs/ is read
# where no build exists (the forge's web view, the source package), and ctest api_doc fails when it is stale. After
# changing a comment in dbus/*.xml: `cmake --build build --target hangar_api_doc` rewrites it.
find_program(HANGAR_PYTHON3 python3 REQUIRED)
add_custom_target(hangar_api_doc
  COMMAND ${HANGAR_PYTHON3} ${CMAKE_SOURCE_DIR}/scripts/dbus-doc.py --markdown ${CMAKE_SOURCE_DIR}/docs/api.md
          ${CMAKE_SOURCE_DIR}/dbus
  VERBATIM
  COMMENT "dbus-doc.py docs/api.md")
