// Writes the hand-made seeds of the OSC fuzz corpus into a directory (one file per datagram):
// every address with good and bad arguments, every OSC type, bundles (immediate, past and future
// time tags, nested, empty), blobs, strings without terminators, huge argument counts, truncations;
// then the sound-layer, generative and SuperDirt addresses and time-tagged bundles.
//   osc_seed_corpus DIR
// The checked-in corpus (tests/fuzz/corpus/osc) is these seeds merged with what the fuzzer found
// (tests/fuzz/run --merge).
#include <lo/lo.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<uint8_t>;

std::string g_dir;
int g_count = 0;

void Write(const std::string& name, const Bytes& bytes) {
  char prefix[16];
  std::snprintf(prefix, sizeof(prefix), "seed-%03d-", g_count++);
  std::ofstream out(g_dir + "/" + prefix + name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

Bytes Serialise(lo_message m, const char* path) {
  size_t size = 0;
  void* data = lo_message_serialise(m, path, nullptr, &size);
  Bytes bytes(static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  std::free(data);
  lo_message_free(m);
  return bytes;
}

Bytes SerialiseBundle(lo_bundle b) {
  size_t size = 0;
  void* data = lo_bundle_serialise(b, nullptr, &size);
  Bytes bytes(static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  std::free(data);
  return bytes;
}

lo_message Note(int note, float velocity) {
  lo_message m = lo_message_new();
  lo_message_add_int32(m, note);
  lo_message_add_float(m, velocity);
  return m;
}

lo_message OneFloat(float v) {
  lo_message m = lo_message_new();
  lo_message_add_float(m, v);
  return m;
}

// Raw OSC building: padded strings and big-endian words.
void PutString(Bytes* b, const std::string& s, bool terminate = true) {
  b->insert(b->end(), s.begin(), s.end());
  if (!terminate) return;
  b->push_back(0);
  while (b->size() % 4 != 0) b->push_back(0);
}
void PutU32(Bytes* b, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b->push_back(static_cast<uint8_t>(v >> shift));
}
void PutBytes(Bytes* b, const Bytes& more) { b->insert(b->end(), more.begin(), more.end()); }

Bytes Bundle(uint32_t sec, uint32_t frac, const std::vector<Bytes>& elements) {
  Bytes b;
  PutString(&b, "#bundle");
  PutU32(&b, sec);
  PutU32(&b, frac);
  for (const Bytes& e : elements) {
    PutU32(&b, static_cast<uint32_t>(e.size()));
    PutBytes(&b, e);
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  g_dir = argv[1];

  // Every address, well formed.
  Write("note-on", Serialise(Note(60, 0.8f), "/note/on"));
  Write("note-on-vel0", Serialise(Note(60, 0.0f), "/note/on"));
  {
    lo_message m = lo_message_new();
    lo_message_add_float(m, 61.0f);
    lo_message_add_double(m, 1.0);
    Write("note-on-fd", Serialise(m, "/note/on"));
    m = lo_message_new();
    lo_message_add_int64(m, 62);
    lo_message_add_int64(m, 1);
    Write("note-on-hh", Serialise(m, "/note/on"));
    m = lo_message_new();
    lo_message_add_int32(m, 60);
    Write("note-off", Serialise(m, "/note/off"));
  }
  for (const char* name :
       {"cutoff", "resonance", "attack", "decay", "sustain", "release", "waveform", "gain"}) {
    Write(std::string("param-") + name,
          Serialise(OneFloat(0.5f), (std::string("/param/") + name).c_str()));
  }
  Write("param-cutoff-int", [] {
    lo_message m = lo_message_new();
    lo_message_add_int32(m, 800);
    return Serialise(m, "/param/cutoff");
  }());
  Write("status", Serialise(lo_message_new(), "/status"));
  Write("status-port", [] {
    lo_message m = lo_message_new();
    lo_message_add_int32(m, 9001);
    return Serialise(m, "/status");
  }());
  Write("record-start", Serialise(lo_message_new(), "/record/start"));
  Write("health", Serialise(lo_message_new(), "/health"));
  Write("ping", Serialise(lo_message_new(), "/ping"));
  for (const int slot : {0, 127, 128, -1}) {
    lo_message m = lo_message_new();
    lo_message_add_int32(m, slot);
    Write("preset-save", Serialise(m, "/preset/save"));
    m = lo_message_new();
    lo_message_add_int32(m, slot);
    Write("preset-load", Serialise(m, "/preset/load"));
  }
  {
    lo_message m = lo_message_new();
    lo_message_add_float(m, 3.5f);
    Write("preset-load-fraction", Serialise(m, "/preset/load"));
    m = lo_message_new();
    lo_message_add_int64(m, int64_t{1} << 40);
    Write("preset-save-huge", Serialise(m, "/preset/save"));
  }
  Write("record-stop", Serialise(lo_message_new(), "/record/stop"));
  for (const char* name : {"take", "my take", "../../etc/passwd", "/abs", "..", ".", "a\\b",
                           "%2e%2e%2f", "x.wav", "\xc3\xa9\xc3\xa9", "tab\there"}) {
    lo_message m = lo_message_new();
    lo_message_add_string(m, name);
    Write("record-name", Serialise(m, "/record/start"));
  }
  {
    lo_message m = lo_message_new();
    lo_message_add_string(m, std::string(300, 'n').c_str());
    Write("record-long-name", Serialise(m, "/record/start"));
  }

  // Wrong arguments and addresses.
  Write("note-on-128", Serialise(Note(128, 0.5f), "/note/on"));
  Write("note-on-nan", Serialise(Note(60, NAN), "/note/on"));
  Write("param-inf", Serialise(OneFloat(INFINITY), "/param/cutoff"));
  Write("param-unknown", Serialise(OneFloat(1), "/param/nonsense"));
  Write("unknown", Serialise(lo_message_new(), "/nowhere"));
  Write("pattern", Serialise(OneFloat(1), "/param/*"));
  Write("pattern2", Serialise(OneFloat(1), "/note/{on,off}"));
  Write("trailing-slash", Serialise(lo_message_new(), "/note/"));

  // Every OSC type.
  {
    lo_message m = lo_message_new();
    lo_message_add_int32(m, 1);
    lo_message_add_float(m, 2);
    lo_message_add_string(m, "three");
    uint8_t blob_data[5] = {1, 2, 3, 4, 5};
    lo_blob blob = lo_blob_new(5, blob_data);
    lo_message_add_blob(m, blob);
    lo_message_add_int64(m, 6);
    lo_timetag tt = {7, 8};
    lo_message_add_timetag(m, tt);
    lo_message_add_double(m, 9);
    lo_message_add_symbol(m, "ten");
    lo_message_add_char(m, 'e');
    uint8_t midi[4] = {0x90, 60, 100, 0};
    lo_message_add_midi(m, midi);
    lo_message_add_true(m);
    lo_message_add_false(m);
    lo_message_add_nil(m);
    lo_message_add_infinitum(m);
    Write("all-types", Serialise(m, "/note/on"));
    lo_blob_free(blob);
  }

  // Huge argument counts: many no-data arguments (N), and many ints.
  {
    lo_message m = lo_message_new();
    for (int i = 0; i < 900; ++i) lo_message_add_nil(m);
    Write("many-nil", Serialise(m, "/note/on"));
    m = lo_message_new();
    for (int i = 0; i < 900; ++i) lo_message_add_int32(m, i);
    Write("many-int", Serialise(m, "/status"));
    Bytes b;
    PutString(&b, "/note/on");
    PutString(&b, "," + std::string(3000, 'i'));  // type tags promise far more than is there
    PutU32(&b, 60);
    Write("many-int-missing-data", b);
  }

  // Bundles: immediate, past, future time tags; nested; empty; mixed.
  const Bytes on = Serialise(Note(64, 0.7f), "/note/on");
  const Bytes off = [] {
    lo_message m = lo_message_new();
    lo_message_add_int32(m, 64);
    return Serialise(m, "/note/off");
  }();
  const Bytes status = Serialise(lo_message_new(), "/status");
  Write("bundle-immediate", Bundle(0, 1, {on, off}));
  Write("bundle-past", Bundle(1, 0, {on, status}));
  Write("bundle-future", Bundle(0xf0000000u, 0, {on, off}));  // year ~2091
  Write("bundle-empty", Bundle(0, 1, {}));
  Write("bundle-nested", Bundle(0, 1, {Bundle(0, 1, {on}), off}));
  {
    Bytes deep = on;
    for (int i = 0; i < 40; ++i) deep = Bundle(0xf0000000u, 0, {deep});
    Write("bundle-deep", deep);
  }
  {
    lo_timetag tt = {0, 1};
    lo_bundle b = lo_bundle_new(tt);
    lo_bundle_add_message(b, "/note/on", Note(60, 0.5f));
    lo_bundle inner = lo_bundle_new(tt);
    lo_bundle_add_message(inner, "/param/cutoff", OneFloat(500));
    lo_bundle_add_bundle(b, inner);
    Write("bundle-liblo", SerialiseBundle(b));
    lo_bundle_free_recursive(b);
  }

  // Malformed: strings without terminators, bad lengths, truncations.
  {
    Bytes b;
    PutString(&b, "/note/on", false);
    Write("path-unterminated", b);
    b.clear();
    PutString(&b, "/record/start");
    PutString(&b, ",s");
    PutString(&b, "abcd", false);
    Write("string-unterminated", b);
    b.clear();
    PutString(&b, "/note/on");
    PutString(&b, ",if", false);
    Write("types-unterminated", b);
    b.clear();
    PutString(&b, "/x");
    PutString(&b, ",b");
    PutU32(&b, 0x7fffffff);  // blob far larger than the packet
    PutU32(&b, 0);
    Write("blob-oversized", b);
    b.clear();
    PutString(&b, "/x");
    PutString(&b, ",b");
    PutU32(&b, 0xfffffff0u);  // negative blob size
    Write("blob-negative", b);
    b.clear();
    PutString(&b, "/x");
    PutString(&b, "if");  // type tags without the comma
    PutU32(&b, 1);
    PutU32(&b, 2);
    Write("types-no-comma", b);
    b.clear();
    PutString(&b, "/record/start");
    PutString(&b, ",b");
    PutU32(&b, 0);  // empty blob
    Write("blob-empty", b);
    b.clear();
    PutString(&b, "/x");  // no type tag string at all
    Write("no-types", b);
  }
  {
    Bytes b = Bundle(0, 1, {on});
    b[16] = 0x7f;  // element length far beyond the packet
    Write("bundle-elem-too-long", b);
    b = Bundle(0, 1, {on});
    b[19] = static_cast<uint8_t>(on.size() - 1);  // element length not a multiple of 4
    Write("bundle-elem-odd", b);
    b = Bundle(0, 1, {on});
    b[19] = 0;  // zero-length element
    Write("bundle-elem-zero", b);
    Bytes head;
    PutString(&head, "#bundle");
    Write("bundle-no-timetag", head);
    PutU32(&head, 0);
    PutU32(&head, 1);
    PutU32(&head, 8);  // element claims 8 bytes that are not there
    Write("bundle-missing-elem", head);
    b = Bundle(0, 1, {Bundle(0, 1, {on})});
    b[b.size() - on.size() - 1] = 0xff;  // inner element length corrupted
    Write("bundle-nested-corrupt", b);
  }
  // Every truncation of a note and of a bundle.
  for (size_t n = 0; n < on.size(); n += 3) Write("trunc-note", Bytes(on.begin(), on.begin() + n));
  const Bytes nested = Bundle(0, 1, {Bundle(0, 1, {on}), off});
  for (size_t n = 8; n < nested.size(); n += 5) {
    Write("trunc-bundle", Bytes(nested.begin(), nested.begin() + n));
  }
  Write("empty", Bytes{});
  Write("one-byte", Bytes{'/'});
  Write("garbage", Bytes{0xff, 0xfe, 0xfd});

  // The other network translators (appended, so the numbers of the seeds above stay): the sound
  // layers and generative mode of the control port, SuperDirt's /dirt/play, bundle time tags.
  {
    lo_message m = lo_message_new();
    lo_message_add_int32(m, 2);
    lo_message_add_int32(m, 60);
    lo_message_add_float(m, 0.8f);
    Write("midi-note-on", Serialise(m, "/midi/note/on"));
    m = lo_message_new();
    lo_message_add_int32(m, 16);
    lo_message_add_int32(m, 60);
    Write("midi-note-off", Serialise(m, "/midi/note/off"));
    m = lo_message_new();
    lo_message_add_int32(m, 17);  // channel out of range
    lo_message_add_int32(m, 60);
    lo_message_add_float(m, 0.5f);
    Write("midi-note-on-ch17", Serialise(m, "/midi/note/on"));
  }
  for (const char* name : {"a.sf2", "FluidR3_GM.sf2", "../../etc/passwd", "/etc/passwd",
                           "/tmp/chronus-osc-fuzz/soundfonts/a.sf2",
                           "/tmp/chronus-osc-fuzz/soundfonts/../../../etc/passwd", "", ".."}) {
    lo_message m = lo_message_new();
    lo_message_add_string(m, name);
    Write("sf-load", Serialise(m, "/sf/load"));
  }
  {
    lo_message m = lo_message_new();
    lo_message_add_string(m, "a.sf2");
    lo_message_add_int32(m, 3);
    Write("sf-load-slot", Serialise(m, "/sf/load"));
    m = lo_message_new();
    lo_message_add_string(m, "a.sf2");
    lo_message_add_int32(m, 4);  // slot out of range
    Write("sf-load-slot4", Serialise(m, "/sf/load"));
  }
  Write("gen-start", Serialise(lo_message_new(), "/gen/start"));
  Write("gen-stop", Serialise(lo_message_new(), "/gen/stop"));
  {
    lo_message m = lo_message_new();
    lo_message_add_string(m, "lydian");
    Write("gen-mode", Serialise(m, "/gen/mode"));
    m = lo_message_new();
    lo_message_add_int32(m, 48);
    Write("gen-root", Serialise(m, "/gen/root"));
    m = lo_message_new();
    lo_message_add_float(m, 120.0f);
    Write("gen-bpm", Serialise(m, "/gen/bpm"));
    m = lo_message_new();
    lo_message_add_float(m, 0.7f);
    Write("gen-intensity", Serialise(m, "/gen/intensity"));
    m = lo_message_new();
    lo_message_add_int32(m, 12345);
    Write("gen-seed", Serialise(m, "/gen/seed"));
    m = lo_message_new();
    lo_message_add_float(m, 301.0f);  // out of range
    Write("gen-bpm-301", Serialise(m, "/gen/bpm"));
  }
  // /dirt/play as Tidal sends it: key/value pairs, in a bundle with a timetag.
  auto dirt = [](const std::string& s, bool with_effects) {
    lo_message m = lo_message_new();
    lo_message_add_string(m, "_id_");
    lo_message_add_string(m, "1");
    lo_message_add_string(m, "cps");
    lo_message_add_float(m, 0.5625f);
    lo_message_add_string(m, "cycle");
    lo_message_add_float(m, 12.25f);
    lo_message_add_string(m, "delta");
    lo_message_add_float(m, 0.444f);
    lo_message_add_string(m, "orbit");
    lo_message_add_int32(m, 0);
    lo_message_add_string(m, "s");
    lo_message_add_string(m, s.c_str());
    lo_message_add_string(m, "n");
    lo_message_add_float(m, 3.0f);
    if (with_effects) {
      for (const char* key :
           {"gain",   "pan",       "speed",         "begin",      "end",       "cut",
            "note",   "legato",    "sustain",       "attack",     "release",   "shape",
            "cutoff", "resonance", "hcutoff",       "hresonance", "room",      "size",
            "delay",  "delaytime", "delayfeedback", "overgain",   "unknownkey"}) {
        lo_message_add_string(m, key);
        const std::string k = key;
        lo_message_add_float(m, k == "begin" ? 0.25f : k == "end" ? 0.75f : 0.5f);
      }
    }
    return Serialise(m, "/dirt/play");
  };
  const Bytes play = dirt("bd", false);
  Write("dirt-play", play);
  Write("dirt-play-effects", dirt("sn:2", true));
  Write("dirt-play-synth", dirt("superpiano", true));
  Write("dirt-play-bundle-now", Bundle(0, 1, {play}));
  Write("dirt-play-bundle-future", Bundle(0xe9000000u, 0x80000000u, {play, dirt("hh", true)}));
  Write("dirt-play-bundle-past", Bundle(0x80000000u, 0, {play}));
  {
    // n at its bound and a ":n" suffix: the sum must stay within kDirtMaxN (it did not).
    lo_message m = lo_message_new();
    lo_message_add_string(m, "s");
    lo_message_add_string(m, "bd:9999999");
    lo_message_add_string(m, "n");
    lo_message_add_float(m, 1e6f);
    Write("dirt-play-n-suffix-overflow", Serialise(m, "/dirt/play"));
    m = lo_message_new();
    lo_message_add_string(m, "s");
    lo_message_add_int32(m, 3);  // s not a string
    Write("dirt-play-s-int", Serialise(m, "/dirt/play"));
    m = lo_message_new();
    lo_message_add_string(m, "s");
    Write("dirt-play-odd", Serialise(m, "/dirt/play"));
  }
  Write("dirt-handshake", Serialise(lo_message_new(), "/dirt/handshake"));
  Write("samples-reload", Serialise(lo_message_new(), "/samples/reload"));
  // Control-port commands in bundles with time tags (scheduled at their frame).
  {
    const Bytes midi_on = [] {
      lo_message m = lo_message_new();
      lo_message_add_int32(m, 1);
      lo_message_add_int32(m, 64);
      lo_message_add_float(m, 0.5f);
      return Serialise(m, "/midi/note/on");
    }();
    Write("bundle-timetag-now-ish", Bundle(0xe9000000u, 0, {on, midi_on}));
    Write("bundle-timetag-max", Bundle(0xffffffffu, 0xffffffffu, {on}));
    Write("bundle-timetag-epoch", Bundle(0, 2, {on}));
    Write("bundle-timetag-nested", Bundle(0xe9000000u, 0, {Bundle(0xe9000001u, 0, {play}), on}));
  }
  std::printf("%d seeds written to %s\n", g_count, g_dir.c_str());
  return 0;
}
