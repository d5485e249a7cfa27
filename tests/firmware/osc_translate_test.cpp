// The pure OSC validation and translation (no sockets): every address, every refusal, the
// reusable index and take-name validators, and the rate limiter.
#include "firmware/control/osc_translate.h"

#include <gtest/gtest.h>
#include <lo/lo.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "firmware/control/rate_limit.h"
#include "firmware/recorder/take_name.h"

namespace chronus::firmware {
namespace {

// A message built with liblo, serialised and deserialised (as the server sees it).
class Msg {
 public:
  explicit Msg(const char* path) : path_(path) { message_ = lo_message_new(); }
  ~Msg() {
    if (parsed_ != nullptr) lo_message_free(parsed_);
    lo_message_free(message_);
    free(data_);
  }
  Msg& I(int32_t v) { return lo_message_add_int32(message_, v), *this; }
  Msg& F(float v) { return lo_message_add_float(message_, v), *this; }
  Msg& D(double v) { return lo_message_add_double(message_, v), *this; }
  Msg& H(int64_t v) { return lo_message_add_int64(message_, v), *this; }
  Msg& S(const char* v) { return lo_message_add_string(message_, v), *this; }
  Msg& True() { return lo_message_add_true(message_), *this; }
  Msg& Nil() { return lo_message_add_nil(message_), *this; }

  OscRequest Translate() {
    size_t size = 0;
    data_ = lo_message_serialise(message_, path_.c_str(), nullptr, &size);
    int result = 0;
    parsed_ = lo_message_deserialise(data_, size, &result);
    EXPECT_NE(parsed_, nullptr) << result;
    return TranslateOsc(path_, lo_message_get_types(parsed_), lo_message_get_argv(parsed_),
                        lo_message_get_argc(parsed_));
  }

 private:
  std::string path_;
  lo_message message_ = nullptr;
  lo_message parsed_ = nullptr;
  void* data_ = nullptr;
};

using Kind = OscRequest::Kind;

TEST(OscTranslate, NotesBecomeCommands) {
  OscRequest r = Msg("/note/on").I(60).F(0.5f).Translate();
  ASSERT_EQ(r.kind, Kind::kCommand) << r.refusal;
  EXPECT_EQ(r.command.type, CommandType::kNoteOn);
  EXPECT_EQ(r.command.note, 60);
  EXPECT_FLOAT_EQ(r.command.value, 0.5f);
  r = Msg("/note/on").F(127.0f).D(1.0).Translate();  // integral float note, double velocity
  ASSERT_EQ(r.kind, Kind::kCommand) << r.refusal;
  EXPECT_EQ(r.command.note, 127);
  r = Msg("/note/on").H(0).I(0).Translate();  // velocity 0 = note off, by the engine
  ASSERT_EQ(r.kind, Kind::kCommand) << r.refusal;
  r = Msg("/note/off").I(60).Translate();
  ASSERT_EQ(r.kind, Kind::kCommand) << r.refusal;
  EXPECT_EQ(r.command.type, CommandType::kNoteOff);
  EXPECT_EQ(r.command.note, 60);
}

TEST(OscTranslate, NoteArgumentsAreRangeAndTypeChecked) {
  EXPECT_EQ(Msg("/note/on").I(128).F(0.5f).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").I(-1).F(0.5f).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").F(60.5f).F(0.5f).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").F(NAN).F(0.5f).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").D(INFINITY).F(0.5f).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").H(int64_t{1} << 40).F(0.5f).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").H(std::numeric_limits<int64_t>::min()).F(0.5f).Translate().kind,
            Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").D(1e300).F(0.5f).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").I(60).F(1.0001f).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").I(60).F(-0.1f).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").I(60).F(NAN).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").I(60).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").I(60).F(0.5f).F(0.5f).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").S("60").F(0.5f).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/on").True().F(0.5f).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/off").Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/note/off").Nil().Translate().kind, Kind::kRefuse);
}

TEST(OscTranslate, ParametersAreRangeChecked) {
  for (const auto& spec : dsp::kParamSpecs) {
    const std::string path = "/param/" + std::string(spec.name);
    OscRequest r = Msg(path.c_str()).F(spec.max).Translate();
    ASSERT_EQ(r.kind, Kind::kCommand) << path << ": " << r.refusal;
    EXPECT_EQ(r.command.param, spec.id);
    EXPECT_FLOAT_EQ(r.command.value, spec.max);
    EXPECT_EQ(Msg(path.c_str()).F(spec.min).Translate().kind, Kind::kCommand) << path;
    EXPECT_EQ(Msg(path.c_str()).D(double(spec.max) * 1.01 + 1).Translate().kind, Kind::kRefuse);
    EXPECT_EQ(Msg(path.c_str()).F(NAN).Translate().kind, Kind::kRefuse) << path;
    EXPECT_EQ(Msg(path.c_str()).F(-INFINITY).Translate().kind, Kind::kRefuse) << path;
    EXPECT_EQ(Msg(path.c_str()).D(1e308).Translate().kind, Kind::kRefuse) << path;
    EXPECT_EQ(Msg(path.c_str()).Translate().kind, Kind::kRefuse) << path;
  }
  OscRequest r = Msg("/param/cutoff").F(1e9f).Translate();
  EXPECT_EQ(r.refusal, "value 1e+09 outside 20..20000 Hz");
  EXPECT_EQ(Msg("/param/").F(1).Translate().refusal, "unknown parameter");
  EXPECT_EQ(Msg("/param/cutoff/x").F(1).Translate().refusal, "unknown parameter");
  EXPECT_EQ(Msg("/param/*").F(1).Translate().refusal, "unknown parameter");
}

TEST(OscTranslate, StatusTakesAnOptionalReplyPort) {
  OscRequest r = Msg("/status").Translate();
  ASSERT_EQ(r.kind, Kind::kStatus);
  EXPECT_EQ(r.reply_port, 0);
  r = Msg("/status").I(9001).Translate();
  ASSERT_EQ(r.kind, Kind::kStatus);
  EXPECT_EQ(r.reply_port, 9001);
  EXPECT_EQ(Msg("/status").I(0).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/status").I(65536).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/status").F(9001.5f).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/status").S("9001").Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/status").I(1).I(2).Translate().kind, Kind::kRefuse);
}

TEST(OscTranslate, RecordNamesAreBoundedAndCannotBePaths) {
  OscRequest r = Msg("/record/start").Translate();
  ASSERT_EQ(r.kind, Kind::kRecordStart);
  EXPECT_EQ(r.take_name, "");
  Msg named("/record/start");  // take_name points into the message: keep it alive
  r = named.S("my take").Translate();
  ASSERT_EQ(r.kind, Kind::kRecordStart);
  EXPECT_EQ(r.take_name, "my take");
  EXPECT_EQ(Msg("/record/start").S(std::string(64, 'x').c_str()).Translate().kind,
            Kind::kRecordStart);
  for (const char* name : {"../../etc/passwd", "/etc/passwd", "a/b", "..\\..\\x", "x/", ".", "..",
                           "tab\tname", "bell\a", "del\x7f", "new\nline"}) {
    r = Msg("/record/start").S(name).Translate();
    EXPECT_EQ(r.kind, Kind::kRefuse) << name;
    EXPECT_TRUE(r.reply_on_refusal) << name;
  }
  r = Msg("/record/start").S(std::string(65, 'x').c_str()).Translate();
  EXPECT_EQ(r.refusal, "take name longer than 64 bytes");
  EXPECT_EQ(Msg("/record/start").I(1).Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/record/start").S("a").S("b").Translate().kind, Kind::kRefuse);
  EXPECT_EQ(Msg("/record/stop").Translate().kind, Kind::kRecordStop);
  r = Msg("/record/stop").I(1).Translate();
  EXPECT_EQ(r.kind, Kind::kRefuse);
  EXPECT_TRUE(r.reply_on_refusal);
}

TEST(OscTranslate, PresetSlotsAreRangeChecked) {
  for (const char* path : {"/preset/save", "/preset/load"}) {
    OscRequest r = Msg(path).I(0).Translate();
    ASSERT_NE(r.kind, Kind::kRefuse) << path << ": " << r.refusal;
    EXPECT_EQ(r.preset, 0);
    r = Msg(path).F(float(kPresetSlots - 1)).Translate();
    ASSERT_NE(r.kind, Kind::kRefuse) << path << ": " << r.refusal;
    EXPECT_EQ(r.preset, kPresetSlots - 1);
    for (OscRequest bad : {Msg(path).I(kPresetSlots).Translate(), Msg(path).I(-1).Translate(),
                           Msg(path).F(2.5f).Translate(), Msg(path).H(int64_t{1} << 40).Translate(),
                           Msg(path).S("1").Translate(), Msg(path).Translate()}) {
      EXPECT_EQ(bad.kind, Kind::kRefuse) << path;
      EXPECT_TRUE(bad.reply_on_refusal) << path;
    }
  }
}

TEST(OscTranslate, AcceptedNamesAlwaysStayInTheRecordingsDirectory) {
  // Whatever passes CheckTakeName, the recorder's sanitizer keeps inside the directory.
  const std::filesystem::path dir = "/srv/recordings";
  std::vector<std::string> names = {"%2e%2e%2f", "..hidden", "...",
                                    "-rf",       "~root",    "$HOME",
                                    "C:",        "take.wav", "\xc3\xa9t\xc3\xa9",
                                    "*?[]{}",    " "};
  for (int c = 0x20; c < 0x7f; ++c) names.push_back(std::string(3, static_cast<char>(c)));
  for (const std::string& name : names) {
    if (!CheckTakeName(name).empty()) continue;
    std::string stem = SanitizeTakeStem(name);
    if (stem.empty()) stem = "take";
    const std::filesystem::path file = (dir / TakeFileName(stem, 0)).lexically_normal();
    EXPECT_EQ(file.parent_path(), dir) << name;
  }
}

TEST(OscTranslate, UnknownAddressesAndHugeArgumentListsAreRefused) {
  EXPECT_EQ(Msg("/nowhere").Translate().refusal, "unknown address");
  EXPECT_EQ(Msg("").Translate().kind, Kind::kRefuse);
  Msg many("/note/on");
  for (int i = 0; i < 10000; ++i) many.I(i);
  EXPECT_EQ(many.Translate().kind, Kind::kRefuse);
}

TEST(OscTranslate, InconsistentArgumentListsAreRefusedWithoutReading) {
  lo_arg value{};
  lo_arg* argv[2] = {&value, nullptr};
  EXPECT_EQ(TranslateOsc("/note/on", "if", argv, 2).refusal, "inconsistent argument list");
  EXPECT_EQ(TranslateOsc("/note/on", "i", argv, 2).refusal, "inconsistent argument list");
  EXPECT_EQ(TranslateOsc("/note/on", nullptr, argv, 2).refusal, "inconsistent argument list");
  EXPECT_EQ(TranslateOsc("/note/on", "if", nullptr, 2).refusal, "inconsistent argument list");
  EXPECT_EQ(TranslateOsc("/note/on", "", argv, -1).refusal, "inconsistent argument list");
  EXPECT_EQ(TranslateOsc("/status", nullptr, nullptr, 0).kind, Kind::kStatus);
}

TEST(OscTranslate, IndexHelperRangeChecksEveryType) {
  auto index = [](char type, double number, int count) {
    lo_arg arg{};
    switch (type) {
      case 'i':
        arg.i = static_cast<int32_t>(number);
        break;
      case 'h':
        arg.h = static_cast<int64_t>(number);
        break;
      case 'f':
        arg.f = static_cast<float>(number);
        break;
      default:
        arg.d = number;
    }
    return OscIndex(type, &arg, count);
  };
  EXPECT_EQ(index('i', 0, 16), 0);
  EXPECT_EQ(index('i', 15, 16), 15);
  EXPECT_EQ(index('i', 16, 16), std::nullopt);
  EXPECT_EQ(index('i', -1, 16), std::nullopt);
  EXPECT_EQ(index('h', 3, 16), 3);
  EXPECT_EQ(index('h', 4294967296.0, 16), std::nullopt);
  EXPECT_EQ(index('f', 2, 16), 2);
  EXPECT_EQ(index('f', 2.5, 16), std::nullopt);
  EXPECT_EQ(index('d', 1e300, 16), std::nullopt);
  EXPECT_EQ(index('d', NAN, 16), std::nullopt);
  EXPECT_EQ(index('d', -0.0, 16), 0);
  EXPECT_EQ(index('i', 0, 0), std::nullopt);
  lo_arg arg{};
  EXPECT_EQ(OscIndex('s', &arg, 16), std::nullopt);
  EXPECT_EQ(OscIndex('i', nullptr, 16), std::nullopt);
  EXPECT_EQ(OscInteger('i', &arg, 5, 4), std::nullopt);
}

TEST(OscTranslate, TokenBucketBoundsTheRate) {
  TokenBucket bucket(10.0, 5.0);
  int taken = 0;
  for (int i = 0; i < 100; ++i) taken += bucket.Take(1.0);
  EXPECT_EQ(taken, 5);  // the burst
  EXPECT_FALSE(bucket.Take(1.05));
  EXPECT_TRUE(bucket.Take(1.11));  // 10 per second
  taken = 0;
  for (int i = 0; i < 1000; ++i) taken += bucket.Take(2.0 + i * 0.001);  // 1 s at 1 kHz
  EXPECT_GE(taken, 10);
  EXPECT_LE(taken, 16);
  EXPECT_FALSE(bucket.Take(0.5));  // a clock going backwards grants nothing
}

}  // namespace
}  // namespace chronus::firmware
