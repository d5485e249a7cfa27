// Sample banks in SuperDirt's layout: <root>/<sound>/<files>, each folder a sound whose files are
// sorted by name and selected by `n` modulo their count. WAV, FLAC and AIFF are read with
// libsndfile and resampled to the engine rate with libsamplerate (SRC_SINC_MEDIUM_QUALITY) at
// load time, off the real-time path, into one allocation sized before decoding and bounded by a
// budget. Everything that is not loaded is reported with the reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsp/sample_voice.h"

namespace chronus::firmware {

/// Longest sound (folder) name, bytes; longer folders are skipped and `s` names refused.
inline constexpr size_t kMaxSoundNameBytes = 47;
/// Most files loaded per sound folder (the rest are skipped and reported).
inline constexpr size_t kMaxFilesPerSound = 1000;

/// FNV-1a hash of a sound name (what events carry, so the audio thread never hashes). Any thread.
uint32_t SoundNameHash(std::string_view name);

struct SampleBankConfig {
  std::string root;                        ///< Directory holding one folder per sound.
  float sample_rate = 48000.0f;            ///< Engine rate, Hz: every sample is resampled to it.
  size_t budget_bytes = size_t{64} << 20;  ///< Most memory the sample data may take.
};

/// A loaded bank. Immutable once loaded: the audio thread reads it with Find while the loader
/// may build the next one.
class SampleBank {
 public:
  /// One file that was not loaded, and why.
  struct Skipped {
    std::string path;
    std::string reason;
  };

  /// The sample `n` of `name` (n modulo the folder's file count, negative n wrapping), or nullptr
  /// when there is no such sound. `hash` must be SoundNameHash(name). RT-safe: no allocation, a
  /// bounded open-addressing probe.
  const dsp::SampleView* Find(std::string_view name, uint32_t hash, int64_t n) const;
  /// A stable index for sample `n` of `name` (for cut groups of the same sample), or -1.
  int64_t IndexOf(std::string_view name, uint32_t hash, int64_t n) const;

  size_t sound_count() const { return sounds_.size(); }
  size_t sample_count() const { return samples_.size(); }
  size_t bytes() const { return storage_.size() * sizeof(float); }
  const std::vector<Skipped>& skipped() const { return skipped_; }
  /// One line per sound: "bd (12)", in name order.
  std::vector<std::string> SoundList() const;
  /// Human-readable summary: what was loaded, the memory used, and each skipped file with its
  /// reason.
  std::string Report() const;
  /// Other files seen (no audio extension), not counted as skipped.
  size_t ignored_files() const { return ignored_files_; }

 private:
  friend std::unique_ptr<SampleBank> LoadSampleBank(const SampleBankConfig& config);
  struct Sound {
    std::string name;
    uint32_t hash = 0;
    uint32_t first = 0;  // index into samples_
    uint32_t count = 0;
  };
  int FindSound(std::string_view name, uint32_t hash) const;

  std::string root_;
  std::vector<float> storage_;
  std::vector<dsp::SampleView> samples_;
  std::vector<Sound> sounds_;
  std::vector<int32_t> table_;  // open addressing: index into sounds_, -1 = empty
  std::vector<Skipped> skipped_;
  size_t ignored_files_ = 0;
};

/// Loads every sound under `config.root`. Never fails as a whole: a missing or unreadable root
/// gives an empty bank whose report says so. Non-RT (file I/O, allocation); any thread.
std::unique_ptr<SampleBank> LoadSampleBank(const SampleBankConfig& config);

}  // namespace chronus::firmware
