# SPDX-License-Identifier: Apache-2.0
# Cross build for Debian 12 arm64 (scripts/cross-build.sh arm64; libraries from
# scripts/install-cross-deps.sh arm64).
set(TIDEGATE_CROSS_TRIPLET aarch64-linux-gnu)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(TIDEGATE_CROSS_QEMU qemu-aarch64-static)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
