# ctest-time include (see emulation.cmake): labels the discovered tests of the executables in
# CHRONUS_EMULATION_UNSUPPORTED, and gives every test CHRONUS_EMULATED=qemu-aarch64.
foreach(target IN ITEMS @CHRONUS_EMULATION_UNSUPPORTED@)
endforeach()
