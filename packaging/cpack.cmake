# Debian packages with CPack, one per install component (packaging/CMakeLists.txt):
#   rnull-server         component server: rnull-server, rnull-attach, man pages,
#                        systemd units, docs
#   nbdkit-plugin-rnull  component plugin: nbdkit-rnull-plugin.so in nbdkit's
#                        plugin directory, so `nbdkit rnull` works by name
#   librnull1            component librnull: librnull.so.1, librnull-nbd.so.1
#                        (named after the soname: packaging/README.md, "ABI")
#   librnull-dev         component librnull_dev: headers, .so links, rnull.pc,
#                        rnull-nbd.pc, the example driver's sources
# Build them (README.md, "Debian packages"):
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr && cmake --build build-deb -j
#   (cd build-deb && cpack -G DEB)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rnull)
set(CPACK_PACKAGE_VENDOR "rnull")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "rnull maintainers <maintainers@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "null block device with a blk-mq style engine, served over NBD")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr) # (what CPACK_SET_DESTDIR installs to)
# Absolute destinations (nbdkit's plugin directory) are staged like the rest.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL server plugin librnull librnull_dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/rnull/rnull")
# Run-time dependencies from the binaries (dpkg-shlibdeps): libc6, libev4,
# libgnutls30...; the packages' own relations below.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)

set(CPACK_DEBIAN_SERVER_PACKAGE_NAME rnull-server)
set(CPACK_DEBIAN_SERVER_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_SERVER_PACKAGE_RECOMMENDS "nbd-client")
set(CPACK_COMPONENT_SERVER_DESCRIPTION
    "standalone NBD server of the rnull null block device\n rnull-server serves an rnull disk (Linux null_blk's behaviour in user space:\n completion modes, memory store, fault injection, bad blocks, throttling,\n statistics) over NBD on libev loops, one per hardware queue; rnull-attach\n attaches it to /dev/nbdX with the configured block size.")

set(CPACK_DEBIAN_PLUGIN_PACKAGE_NAME nbdkit-plugin-rnull)
# The plugin's nbdkit_* symbols come from the nbdkit binary.
set(CPACK_DEBIAN_PLUGIN_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_PLUGIN_PACKAGE_DEPENDS "nbdkit, libc6")
set(CPACK_COMPONENT_PLUGIN_DESCRIPTION
    "nbdkit plugin serving the rnull null block device\n The rnull engine as an nbdkit plugin, installed in nbdkit's plugin\n directory: `nbdkit rnull [key=value...]`.")

# The runtime package is named after the soname (Debian policy 8.1): a
# soname bump makes a new package, librnull<N>, installable beside the old
# one (their files differ: programs linked against librnull.so.0 keep
# working); librnull-dev moves to the new one.
set(RNULL_LIBPKG librnull${PROJECT_VERSION_MAJOR})
set(CPACK_DEBIAN_LIBRNULL_PACKAGE_NAME ${RNULL_LIBPKG})
set(CPACK_DEBIAN_LIBRNULL_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_LIBRNULL_DESCRIPTION
    "rnull block driver API and NBD server libraries\n librnull.so.${PROJECT_VERSION_MAJOR}: a blk-mq style core (tag set, request lifecycle, hardware\n queues) with the null driver; librnull-nbd.so.${PROJECT_VERSION_MAJOR}: an NBD server serving\n any rnull disk, whatever its driver.")

set(CPACK_DEBIAN_LIBRNULL_DEV_PACKAGE_NAME librnull-dev)
set(CPACK_DEBIAN_LIBRNULL_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_LIBRNULL_DEV_PACKAGE_DEPENDS "${RNULL_LIBPKG} (= ${PROJECT_VERSION})")
set(CPACK_DEBIAN_LIBRNULL_DEV_PACKAGE_RECOMMENDS "pkg-config")
set(CPACK_DEBIAN_LIBRNULL_DEV_PACKAGE_SHLIBDEPS OFF)
set(CPACK_COMPONENT_LIBRNULL_DEV_DESCRIPTION
    "rnull block driver API and NBD server libraries: development files\n Headers under /usr/include/rnull, rnull.pc and rnull-nbd.pc for\n pkg-config, and an example file-backed driver served over NBD\n (/usr/share/doc/librnull-dev/examples).")

include(CPack)
