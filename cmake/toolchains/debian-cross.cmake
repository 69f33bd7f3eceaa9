# SPDX-License-Identifier: Apache-2.0
# Shared part of the Debian 12 multiarch cross toolchains (included by aarch64-linux-gnu.cmake
# and arm-linux-gnueabihf.cmake after they set TIDEGATE_CROSS_TRIPLET, CMAKE_SYSTEM_PROCESSOR
# and TIDEGATE_CROSS_QEMU). The compilers are Debian's <triplet>-gcc/g++
# (crossbuild-essential-<arch>), which search the multiarch directories
# /usr/include/<triplet> and /usr/lib/<triplet> where the :<arch> -dev packages install.
# Build tools (flatc, scdoc) stay the host's. Target binaries run through qemu-user
# (CMAKE_CROSSCOMPILING_EMULATOR): ctest, and catch_discover_tests at build time.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${TIDEGATE_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${TIDEGATE_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${TIDEGATE_CROSS_TRIPLET})

# Two ways to get the target's libraries (scripts/install-cross-deps.sh):
# - multiarch (default): the :<arch> -dev packages installed on this machine by dpkg;
# - a sysroot (TIDEGATE_CROSS_SYSROOT, install-cross-deps.sh --sysroot): the same Debian 12
#   packages unpacked into a directory, for a machine whose dpkg cannot take the architecture.
set(TIDEGATE_CROSS_SYSROOT "" CACHE PATH
  "A Debian 12 <arch> sysroot (install-cross-deps.sh --sysroot); empty: multiarch packages")
# try_compile projects read this file too, and must take the same branch (the environment
# below is the process's).
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TIDEGATE_CROSS_SYSROOT)
find_program(TIDEGATE_CROSS_QEMU_PATH ${TIDEGATE_CROSS_QEMU} REQUIRED NO_CMAKE_FIND_ROOT_PATH)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(ENV{PKG_CONFIG_PATH} "")
if(TIDEGATE_CROSS_SYSROOT)
  set(CMAKE_SYSROOT ${TIDEGATE_CROSS_SYSROOT})
  set(CMAKE_FIND_ROOT_PATH ${TIDEGATE_CROSS_SYSROOT})
  set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
  set(ENV{PKG_CONFIG_SYSROOT_DIR} ${TIDEGATE_CROSS_SYSROOT})
  set(ENV{PKG_CONFIG_LIBDIR} "${TIDEGATE_CROSS_SYSROOT}/usr/lib/${TIDEGATE_CROSS_TRIPLET}/pkgconfig:${TIDEGATE_CROSS_SYSROOT}/usr/share/pkgconfig")
  # qemu looks up absolute paths (the dynamic loader, every library) in the sysroot first.
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TIDEGATE_CROSS_QEMU_PATH} -L ${TIDEGATE_CROSS_SYSROOT})
  return()
endif()

# No `-L /usr/<triplet>`: that would load the dynamic loader and libc.so.6 of the cross
# toolchain's libc (libc6-<arch>-cross, 2.36-8cross1) while the loader searches the multiarch
# directories first for everything else, and mixing two glibc builds hung pthread_create (the
# group-commit tests of buffer_test timed out under qemu-aarch64). The multiarch libc6:<arch>,
# which every :<arch> library depends on, puts the target's loader at its real path.
set(CMAKE_CROSSCOMPILING_EMULATOR ${TIDEGATE_CROSS_QEMU_PATH})

# libyaml-cpp-dev and libsimdjson-dev are not Multi-Arch: same in Debian 12;
# scripts/install-cross-deps.sh unpacks them into this private root, searched first.
set(TIDEGATE_CROSS_ROOT /opt/tidegate-cross CACHE PATH
  "Where install-cross-deps.sh unpacked the -dev packages apt cannot co-install")
list(PREPEND CMAKE_PREFIX_PATH ${TIDEGATE_CROSS_ROOT}/${TIDEGATE_CROSS_TRIPLET}/usr)

# Only the target's .pc files (not the host's in /usr/lib/x86_64-linux-gnu/pkgconfig).
# Libraries, headers and CMake packages are the target's: the multiarch directory names keep
# them apart from the host's, so the root path is / for both.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${TIDEGATE_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
