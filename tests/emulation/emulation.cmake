# Tests under emulation (rpi-test preset, CHRONUS_EMULATED_TESTS=ON: the arm64 build's tests run
# under qemu-aarch64 through CMAKE_CROSSCOMPILING_EMULATOR). Included at the top of
# tests/CMakeLists.txt. Reasons for each exclusion: tests/emulation/README.md.
#
# 1. Tests that need real-time scheduling or the paced virtual card's timing call
#    CHRONUS_SKIP_IF_EMULATED("reason") (tests/support/emulation.h) and are reported as skipped
#    with that reason: compiled with CHRONUS_EMULATED_TESTS here, or CHRONUS_EMULATED set in the
#    environment (the rpi-test test preset and tools/test-cross set it too).
# 2. Whole test executables that cannot run there get the label `emulation-unsupported`, which the
#    rpi-test test preset excludes. gtest_discover_tests lists their tests only when ctest runs,
#    so the label is set by a ctest include file read after the discovered tests.
option(CHRONUS_EMULATED_TESTS "Tests run under an emulator (qemu-aarch64): skip what cannot" OFF)
set(CHRONUS_EMULATION_UNSUPPORTED
  # Spawn the arm64 chronus executable (an emulated process cannot exec a foreign binary: there
  # is no binfmt_misc) and play it in real time on the virtual card.
  firmware_integration_test failover_test service_test osc_hostile_test recording_crash_test
  persistence_test boot_to_sound_test osc_timing_test chronusctl_test dirt_e2e_test
  sound_e2e_test)

if(CHRONUS_EMULATED_TESTS)
  add_compile_definitions(CHRONUS_EMULATED_TESTS=1)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/labels.cmake.in ${CMAKE_BINARY_DIR}/tests/emulation_labels.cmake @ONLY)
  function(chronus_label_emulation_unsupported)
    foreach(dir IN ITEMS dsp vcard recorder firmware state systemd fuzz sound control hal package)
      if(EXISTS "${CMAKE_BINARY_DIR}/tests/${dir}")
        set_property(DIRECTORY "${PROJECT_SOURCE_DIR}/tests/${dir}" APPEND
                     PROPERTY TEST_INCLUDE_FILES "${CMAKE_BINARY_DIR}/tests/emulation_labels.cmake")
      endif()
    endforeach()
  endfunction()
  # After tests/CMakeLists.txt has added every test directory (and their discovery includes).
  cmake_language(DEFER CALL chronus_label_emulation_unsupported)
endif()
