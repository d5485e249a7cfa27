#include "firmware/samples/sample_bank.h"

#include <samplerate.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>

namespace chronus::firmware {

namespace fs = std::filesystem;

namespace {

bool HasAudioExtension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".wav" || ext == ".flac" || ext == ".aif" || ext == ".aiff";
}

std::string CheckSoundName(const std::string& name) {
  if (name.empty() || name.size() > kMaxSoundNameBytes) {
    return "folder name longer than " + std::to_string(kMaxSoundNameBytes) + " bytes";
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return "folder name has control characters";
  }
  if (name[0] == '.') return "hidden folder";
  return {};
}

std::string Megabytes(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

struct PlannedFile {
  std::string path;
  uint32_t sound = 0;
  int channels = 0;
  int rate = 0;
  int64_t frames_in = 0;
  uint32_t frames_out = 0;
  size_t offset = 0;  // floats into storage, at the first pad frame
};

}  // namespace

uint32_t SoundNameHash(std::string_view name) {
  uint32_t h = 2166136261u;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

int SampleBank::FindSound(std::string_view name, uint32_t hash) const {
  if (table_.empty()) return -1;
  const size_t mask = table_.size() - 1;
  for (size_t i = 0, slot = hash & mask; i < table_.size(); ++i, slot = (slot + 1) & mask) {
    const int32_t index = table_[slot];
    if (index < 0) return -1;
    const Sound& sound = sounds_[static_cast<size_t>(index)];
    if (sound.hash == hash && sound.name == name) return index;
  }
  return -1;
}

int64_t SampleBank::IndexOf(std::string_view name, uint32_t hash, int64_t n) const {
  const int index = FindSound(name, hash);
  if (index < 0) return -1;
  const Sound& sound = sounds_[static_cast<size_t>(index)];
  const auto count = static_cast<int64_t>(sound.count);
  const int64_t wrapped = ((n % count) + count) % count;
  return sound.first + wrapped;
}

const dsp::SampleView* SampleBank::Find(std::string_view name, uint32_t hash, int64_t n) const {
  const int64_t index = IndexOf(name, hash, n);
  return index < 0 ? nullptr : &samples_[static_cast<size_t>(index)];
}

std::vector<std::string> SampleBank::SoundList() const {
  std::vector<std::string> out;
  for (const Sound& sound : sounds_)
    out.push_back(sound.name + " (" + std::to_string(sound.count) + ")");
  return out;
}

std::string SampleBank::Report() const {
  std::string text = "samples: " + std::to_string(samples_.size()) + " files in " +
                     std::to_string(sounds_.size()) + " sounds from " + root_ + ", " +
                     Megabytes(bytes());
  if (skipped_.empty()) return text + "; nothing skipped";
  text += "; skipped " + std::to_string(skipped_.size()) + ":";
  for (const Skipped& s : skipped_) text += "\n  " + s.path + ": " + s.reason;
  return text;
}

std::unique_ptr<SampleBank> LoadSampleBank(const SampleBankConfig& config) {
  auto bank = std::make_unique<SampleBank>();
  bank->root_ = config.root;
  std::error_code ec;
  if (!fs::is_directory(config.root, ec)) {
    bank->skipped_.push_back({config.root, "not a directory (no samples loaded)"});
    return bank;
  }
  // 1. Folders (sounds) and their files, sorted by name.
  std::vector<fs::path> folders;
  for (fs::directory_iterator it(config.root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_directory(ec2)) {
      folders.push_back(it->path());
    } else {
      ++bank->ignored_files_;
    }
  }
  if (ec) bank->skipped_.push_back({config.root, "cannot list: " + ec.message()});
  std::sort(folders.begin(), folders.end());

  std::vector<PlannedFile> planned;
  size_t budget_floats = config.budget_bytes / sizeof(float);
  size_t used_floats = 0;
  for (const fs::path& folder : folders) {
    const std::string name = folder.filename().string();
    if (const std::string why = CheckSoundName(name); !why.empty()) {
      bank->skipped_.push_back({folder.string(), why});
      continue;
    }
    std::vector<fs::path> files;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code ec2;
      if (it->is_regular_file(ec2) && HasAudioExtension(it->path())) {
        files.push_back(it->path());
      } else {
        ++bank->ignored_files_;
      }
    }
    if (ec) {
      bank->skipped_.push_back({folder.string(), "cannot list: " + ec.message()});
      ec.clear();
      continue;
    }
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    const auto sound_index = static_cast<uint32_t>(bank->sounds_.size());
    SampleBank::Sound sound;
    sound.name = name;
    sound.hash = SoundNameHash(name);
    for (size_t i = 0; i < files.size(); ++i) {
      const std::string path = files[i].string();
      if (i >= kMaxFilesPerSound) {
        bank->skipped_.push_back(
            {path, "more than " + std::to_string(kMaxFilesPerSound) + " files in the folder"});
        continue;
      }
      SF_INFO info{};
      SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
      if (file == nullptr) {
        bank->skipped_.push_back({path, std::string("cannot read: ") + sf_strerror(nullptr)});
        continue;
      }
      sf_close(file);
      if (info.channels != 1 && info.channels != 2) {
        bank->skipped_.push_back(
            {path, std::to_string(info.channels) + " channels (only mono and stereo are played)"});
        continue;
      }
      if (info.frames <= 0 || info.samplerate <= 0) {
        bank->skipped_.push_back({path, "no audio frames"});
        continue;
      }
      const double ratio = static_cast<double>(config.sample_rate) / info.samplerate;
      const double out_frames = std::ceil(static_cast<double>(info.frames) * ratio);
      if (out_frames > 0x7fffffff) {
        bank->skipped_.push_back({path, "too long"});
        continue;
      }
      const size_t floats =
          (static_cast<size_t>(out_frames) + 2 * dsp::kSamplePadFrames) * info.channels;
      if (used_floats + floats > budget_floats) {
        bank->skipped_.push_back({path, "over the sample memory budget of " +
                                            Megabytes(config.budget_bytes) + " (needs " +
                                            Megabytes(floats * sizeof(float)) + " more)"});
        continue;
      }
      PlannedFile plan;
      plan.path = path;
      plan.sound = sound_index;
      plan.channels = info.channels;
      plan.rate = info.samplerate;
      plan.frames_in = info.frames;
      plan.frames_out = static_cast<uint32_t>(out_frames);
      plan.offset = used_floats;
      used_floats += floats;
      planned.push_back(std::move(plan));
      ++sound.count;
    }
    if (sound.count > 0) bank->sounds_.push_back(std::move(sound));
  }

  // 2. One allocation for all the sample data, then decode and resample into it.
  bank->storage_.assign(used_floats, 0.0f);
  std::vector<uint32_t> loaded(bank->sounds_.size(), 0);
  std::vector<std::vector<dsp::SampleView>> per_sound(bank->sounds_.size());
  for (const PlannedFile& plan : planned) {
    SF_INFO info{};
    SNDFILE* file = sf_open(plan.path.c_str(), SFM_READ, &info);
    if (file == nullptr) {
      bank->skipped_.push_back({plan.path, std::string("cannot read: ") + sf_strerror(nullptr)});
      continue;
    }
    std::vector<float> raw(static_cast<size_t>(plan.frames_in) * plan.channels);
    const sf_count_t got = sf_readf_float(file, raw.data(), plan.frames_in);
    sf_close(file);
    if (got <= 0) {
      bank->skipped_.push_back({plan.path, "decoding failed"});
      continue;
    }
    float* dest = bank->storage_.data() + plan.offset + dsp::kSamplePadFrames * plan.channels;
    uint32_t frames = 0;
    if (plan.rate == static_cast<int>(config.sample_rate)) {
      frames = static_cast<uint32_t>(std::min<sf_count_t>(got, plan.frames_out));
      std::copy(raw.begin(), raw.begin() + static_cast<ptrdiff_t>(frames) * plan.channels, dest);
    } else {
      SRC_DATA data{};
      data.data_in = raw.data();
      data.input_frames = static_cast<long>(got);
      data.data_out = dest;
      data.output_frames = static_cast<long>(plan.frames_out);
      data.src_ratio = static_cast<double>(config.sample_rate) / plan.rate;
      const int err = src_simple(&data, SRC_SINC_MEDIUM_QUALITY, plan.channels);
      if (err != 0) {
        bank->skipped_.push_back(
            {plan.path, std::string("resampling failed: ") + src_strerror(err)});
        continue;
      }
      frames = static_cast<uint32_t>(data.output_frames_gen);
    }
    if (frames == 0) {
      bank->skipped_.push_back({plan.path, "no audio frames"});
      continue;
    }
    per_sound[plan.sound].push_back({dest, frames, static_cast<uint32_t>(plan.channels)});
  }
  // 3. Index: sounds in name order, each with its files in name order; a sound none of whose
  //    files decoded is dropped.
  std::vector<SampleBank::Sound> sounds;
  for (size_t i = 0; i < bank->sounds_.size(); ++i) {
    if (per_sound[i].empty()) continue;
    SampleBank::Sound sound = bank->sounds_[i];
    sound.first = static_cast<uint32_t>(bank->samples_.size());
    sound.count = static_cast<uint32_t>(per_sound[i].size());
    bank->samples_.insert(bank->samples_.end(), per_sound[i].begin(), per_sound[i].end());
    sounds.push_back(std::move(sound));
  }
  bank->sounds_ = std::move(sounds);
  size_t table_size = 16;
  while (table_size < 2 * bank->sounds_.size()) table_size *= 2;
  bank->table_.assign(table_size, -1);
  for (size_t i = 0; i < bank->sounds_.size(); ++i) {
    size_t slot = bank->sounds_[i].hash & (table_size - 1);
    while (bank->table_[slot] >= 0) slot = (slot + 1) & (table_size - 1);
    bank->table_[slot] = static_cast<int32_t>(i);
  }
  return bank;
}

}  // namespace chronus::firmware
