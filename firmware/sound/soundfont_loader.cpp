#include "firmware/sound/soundfont_loader.h"

#include <pthread.h>
#include <sched.h>

#include <chrono>

#include "firmware/log/log.h"
#include "firmware/sound/sound_layers.h"
#include "hal/rt/thread_setup.h"

namespace chronus::firmware {

SoundFontLoader::SoundFontLoader(FluidWorker& worker, const SoundPatch& patch, double sample_rate)
    : worker_(worker),
      patch_(patch),
      channels_(AssignFluidChannels(patch.layers)),
      sample_rate_(sample_rate) {
  if (const FluidInstance* current = worker.current_for_info()) slots_ = current->font_paths();
}

SoundFontLoader::~SoundFontLoader() { Stop(); }

void SoundFontLoader::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void SoundFontLoader::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  cv_.notify_all();
  // A load in progress finishes (FluidSynth cannot cancel one: when a loader's read fails it
  // tries its default loader) but gets normal CPU time to do so: at SCHED_IDLE, beside a busy
  // firmware, it could take far longer. Its hand-over to the worker is not waited for (the
  // engine is stopped by now: the worker would never take it; see Quitting()).
  sched_param normal{};
  pthread_setschedparam(thread_.native_handle(), SCHED_OTHER, &normal);
  thread_.join();
  FreeRetired();
}

std::string SoundFontLoader::RequestNonRt(SoundFontRequest request) {
  if (request.slot < 0 || request.slot >= kSoundFontSlots) {
    return "SoundFont slot must be 0.." + std::to_string(kSoundFontSlots - 1);
  }
  std::lock_guard lock(mutex_);
  if (queue_.size() >= kMaxQueued) return "too many SoundFont loads queued; try again later";
  queue_.push_back(std::move(request));
  busy_.store(true);
  cv_.notify_all();
  return {};
}

void SoundFontLoader::WaitIdleNonRt() {
  while (busy_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

bool SoundFontLoader::Quitting() {
  std::lock_guard lock(mutex_);
  return quit_;
}

void SoundFontLoader::FreeRetired() {
  // The old instance, freed here: never on the audio thread or the worker.
  std::unique_ptr<FluidInstance> retired = worker_.TakeRetiredNonRt();
  retired.reset();
}

void SoundFontLoader::Run() {
  hal::SetUpCurrentThread({"chronus-sfload", 0, -1});
  // The lowest class: a load (seconds of CPU and memory traffic) only uses idle time.
  sched_param idle{};
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return quit_ || !queue_.empty(); });
    if (quit_) return;
    lock.unlock();
    FreeRetired();
    lock.lock();
    if (queue_.empty()) continue;
    SoundFontRequest request = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Load(request);
    lock.lock();
    if (queue_.empty()) busy_.store(false);
  }
}

void SoundFontLoader::Load(const SoundFontRequest& request) {
  auto fail = [&](const std::string& reason) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    LogWarning("SoundFont load refused: " + reason + "; the current sound keeps playing");
    if (request.done) request.done(false, reason);
  };
  std::string error;
  const std::string path = ResolveSoundFont(request.name, patch_.fluid.soundfont_dirs, &error);
  if (path.empty()) return fail(error);
  std::unique_ptr<FluidInstance> instance =
      FluidInstance::Create(patch_.fluid, sample_rate_, &error);
  if (instance == nullptr) return fail(error);
  const auto start = std::chrono::steady_clock::now();
  for (int slot = 0; slot < kSoundFontSlots; ++slot) {
    const bool requested = slot == request.slot;
    const std::string& file = requested ? path : slots_[static_cast<size_t>(slot)];
    if (file.empty()) continue;
    std::function<void(double)> progress;
    if (requested && request.progress) {
      progress = [&](double fraction) { request.progress(path, fraction); };
    }
    error = instance->LoadFont(slot, file, progress);
    if (!error.empty()) {
      return fail(requested ? error : "reloading slot " + std::to_string(slot) + ": " + error);
    }
  }
  const std::string warnings = instance->ApplyLayers(patch_.layers, channels_);
  if (!warnings.empty()) LogWarning("SoundFont " + path + ": " + warnings);
  const auto loaded_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  // Hand over: wait for a previous swap's old instance to be freed, then offer this one.
  while (!worker_.OfferInstanceNonRt(instance)) {
    if (Quitting()) return fail("shutting down before the swap");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    FreeRetired();
  }
  for (int i = 0; i < 5000 && worker_.instance_pending() && !Quitting(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (worker_.instance_pending() && Quitting()) {
    return fail("shutting down before the swap");  // the worker owns the offered instance
  }
  FreeRetired();
  slots_[static_cast<size_t>(request.slot)] = path;
  loads_.fetch_add(1, std::memory_order_relaxed);
  LogInfo("SoundFont " + path + " loaded into slot " + std::to_string(request.slot) + " in " +
          std::to_string(static_cast<int>(loaded_ms)) + " ms and swapped in at a block boundary");
  if (request.done) request.done(true, path);
}

}  // namespace chronus::firmware
