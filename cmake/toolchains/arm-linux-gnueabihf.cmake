# SPDX-License-Identifier: Apache-2.0
# Cross build for Debian 12 armhf (ARMv7, hard float; scripts/cross-build.sh armhf; libraries
# from scripts/install-cross-deps.sh armhf). Debian 12 armhf has a 32-bit time_t and size_t.
set(TIDEGATE_CROSS_TRIPLET arm-linux-gnueabihf)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(TIDEGATE_CROSS_QEMU qemu-arm-static)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
