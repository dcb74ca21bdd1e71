/* Fuzz target entry point (libFuzzer, or tests/fuzz/replay_main.c without it). */
#ifndef VEIL_FUZZ_H
#define VEIL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
