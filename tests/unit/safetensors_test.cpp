// Tests for the safetensors reader: value conversion for each floating dtype,
// tensor order and lookup, every validation error, and the LeNet weights
// shipped in shared/.
#include "frontend/safetensors.h"

#include "support/error.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using kiln::DType;
using kiln::SafetensorsFile;

const std::string kPath = "model.safetensors";

/// A safetensors file made of `header` (JSON text) and `data`.
std::string makeFile(const std::string &header, const std::string &data = "") {
  uint64_t n = header.size();
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &n, 8);
  return bytes + header + data;
}

template <typename T> void append(std::string &out, T value) {
  char buf[sizeof(T)];
  std::memcpy(buf, &value, sizeof(T));
  out.append(buf, sizeof(T));
}

uint32_t bits(float f) { return std::bit_cast<uint32_t>(f); }

/// Passes if `fn` throws kiln::Error whose what() names kPath and contains
/// `fragment`.
::testing::AssertionResult throwsError(const std::function<void()> &fn,
                                       const std::string &fragment,
                                       const std::string &file = kPath) {
  try {
    fn();
  } catch (const kiln::Error &e) {
    std::string what = e.what();
    if (what.find(file) == std::string::npos)
      return ::testing::AssertionFailure()
             << "message does not name " << file << ": " << what;
    if (what.find(fragment) == std::string::npos)
      return ::testing::AssertionFailure()
             << "message lacks \"" << fragment << "\": " << what;
    return ::testing::AssertionSuccess() << what;
  }
  return ::testing::AssertionFailure() << "no kiln::Error thrown";
}

/// Passes if parsing `header` + `data` fails with `fragment` in the message.
::testing::AssertionResult rejects(const std::string &header,
                                   const std::string &data,
                                   const std::string &fragment) {
  return throwsError(
      [&] { SafetensorsFile::fromBytes(makeFile(header, data), kPath); },
      fragment);
}

TEST(Safetensors, DTypeNamesAndSizes) {
  EXPECT_EQ(kiln::dtypeName(DType::BF16), "BF16");
  EXPECT_EQ(kiln::dtypeName(DType::Bool), "BOOL");
  EXPECT_EQ(kiln::dtypeSize(DType::F64), 8u);
  EXPECT_EQ(kiln::dtypeSize(DType::F16), 2u);
  EXPECT_EQ(kiln::dtypeSize(DType::Bool), 1u);
}

TEST(Safetensors, ReadsF32F16BF16F64Values) {
  std::string data;
  // F32 [2] at [0, 8)
  append(data, 1.5f);
  append(data, -0.0f);
  // F16 [5] at [8, 18): 1, -2, smallest subnormal, inf, NaN
  for (uint16_t h : {0x3C00, 0xC000, 0x0001, 0x7C00, 0x7C01})
    append(data, h);
  // BF16 [4] at [18, 26): 1, -3, smallest subnormal, -inf
  for (uint16_t h : {0x3F80, 0xC040, 0x0001, 0xFF80})
    append(data, h);
  // F64 [5] at [26, 66)
  append(data, 0.1);
  append(data, 1.0 + std::ldexp(1.0, -24));     // tie: rounds to even, 1.0
  append(data, 1.0 + 3 * std::ldexp(1.0, -24)); // tie: rounds up to even
  append(data, 1e300);                          // overflows to inf
  append(data, 1e-40);                          // float subnormal
  std::string header =
      R"({"w32":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("a16":{"dtype":"F16","shape":[5],"data_offsets":[8,18]},)"
      R"("zb16":{"dtype":"BF16","shape":[2,2],"data_offsets":[18,26]},)"
      R"("m64":{"dtype":"F64","shape":[5],"data_offsets":[26,66]},)"
      R"("__metadata__":{"format":"pt"}})";
  SafetensorsFile f = SafetensorsFile::fromBytes(makeFile(header, data), kPath);
  EXPECT_EQ(f.path(), kPath);
  ASSERT_EQ(f.tensors().size(), 4u);
  // In order of data offset, not of name.
  EXPECT_EQ(f.tensors()[0].name, "w32");
  EXPECT_EQ(f.tensors()[1].name, "a16");
  EXPECT_EQ(f.tensors()[2].name, "zb16");
  EXPECT_EQ(f.tensors()[3].name, "m64");
  ASSERT_EQ(f.metadata().size(), 1u);
  EXPECT_EQ(f.metadata()[0].second, "pt");

  const kiln::TensorInfo *w32 = f.find("w32");
  ASSERT_NE(w32, nullptr);
  EXPECT_EQ(w32->dtype, DType::F32);
  std::vector<float> v = f.readFloat32(*w32);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], 1.5f);
  EXPECT_EQ(bits(v[1]), 0x80000000u);

  v = f.readFloat32(*f.find("a16"));
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(v[2], std::ldexp(1.0f, -24));
  EXPECT_EQ(bits(v[3]), 0x7F800000u);
  EXPECT_EQ(bits(v[4]), 0x7FC02000u); // as torch: payload kept, quiet bit set

  const kiln::TensorInfo *b16 = f.find("zb16");
  ASSERT_NE(b16, nullptr);
  EXPECT_EQ(b16->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(b16->numElements(), 4);
  v = f.readFloat32(*b16);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -3.0f);
  EXPECT_EQ(bits(v[2]), 0x00010000u);
  EXPECT_EQ(bits(v[3]), 0xFF800000u);

  v = f.readFloat32(*f.find("m64"));
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(bits(v[0]), 0x3DCCCCCDu);
  EXPECT_EQ(bits(v[1]), 0x3F800000u);
  EXPECT_EQ(bits(v[2]), 0x3F800002u);
  EXPECT_EQ(bits(v[3]), 0x7F800000u);
  EXPECT_EQ(v[4], 1e-40f);
  EXPECT_NE(v[4], 0.0f);
}

TEST(Safetensors, FindReturnsNullForAbsentName) {
  SafetensorsFile f = SafetensorsFile::fromBytes(makeFile("{}"), kPath);
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(f.find("x"), nullptr);
}

TEST(Safetensors, AcceptsEmptyTensorsAndPaddedHeader) {
  std::string data;
  append(data, 2.0f);
  SafetensorsFile f = SafetensorsFile::fromBytes(
      makeFile(R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
               R"("s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}    )",
               data),
      kPath);
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.readFloat32(*f.find("e")).size(), 0u);
  EXPECT_EQ(f.find("s")->numElements(), 1);
  EXPECT_EQ(f.readFloat32(*f.find("s")), std::vector<float>{2.0f});
}

TEST(Safetensors, ReadFloat32RefusesIntegerDtype) {
  std::string data;
  append(data, int64_t{7});
  SafetensorsFile f = SafetensorsFile::fromBytes(
      makeFile(R"({"n":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})",
               data),
      kPath);
  EXPECT_FALSE(f.isFloating(*f.find("n")));
  EXPECT_TRUE(throwsError([&] { f.readFloat32(*f.find("n")); },
                          "has dtype I64, expected a floating-point dtype"));
}

TEST(Safetensors, RejectsMissingFile) {
  std::string path = "/nonexistent-dir/missing.safetensors";
  EXPECT_TRUE(
      throwsError([&] { SafetensorsFile::open(path); }, "no such file", path));
}

TEST(Safetensors, RejectsDirectory) {
  std::string path = std::filesystem::temp_directory_path().string();
  EXPECT_TRUE(throwsError([&] { SafetensorsFile::open(path); },
                          "is a directory", path));
}

TEST(Safetensors, OpenReadsFileFromDisk) {
  std::string path =
      (std::filesystem::temp_directory_path() /
       ("kiln_st_test_" + std::to_string(::getpid()) + ".safetensors"))
          .string();
  std::string data;
  append(data, 4.0f);
  std::string bytes = makeFile(
      R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data);
  std::FILE *out = std::fopen(path.c_str(), "wb");
  ASSERT_NE(out, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), out);
  std::fclose(out);
  SafetensorsFile f = SafetensorsFile::open(path);
  std::remove(path.c_str());
  EXPECT_EQ(f.readFloat32(*f.find("x")), std::vector<float>{4.0f});
}

TEST(Safetensors, RejectsFileShorterThan8Bytes) {
  EXPECT_TRUE(throwsError(
      [] { SafetensorsFile::fromBytes(std::string(5, '\0'), kPath); },
      "8-byte header length"));
}

TEST(Safetensors, RejectsHeaderLengthBeyondFile) {
  std::string bytes = makeFile("{}");
  bytes[0] = 100;
  EXPECT_TRUE(throwsError([&] { SafetensorsFile::fromBytes(bytes, kPath); },
                          "only 2 bytes follow"));
}

TEST(Safetensors, RejectsAbsurdHeaderLength) {
  std::string bytes = makeFile("{}");
  bytes[7] = 1; // 2^56 + 2
  EXPECT_TRUE(throwsError([&] { SafetensorsFile::fromBytes(bytes, kPath); },
                          "more than the 100000000 allowed"));
}

TEST(Safetensors, RejectsInvalidJsonSayingWhere) {
  EXPECT_TRUE(rejects(R"({"x": {"dtype": F32}})", "", "not valid JSON"));
  EXPECT_TRUE(rejects(R"({"x": {"dtype": F32}})", "",
                      "at header offset 16, file offset 24"));
}

TEST(Safetensors, RejectsNulByteInHeader) {
  // nlohmann alone would stop at the NUL and accept "{}".
  EXPECT_TRUE(rejects(std::string("{}\0{\"x\": 1}", 11), "",
                      "at header offset 2, file offset 10): NUL byte"));
}

TEST(Safetensors, RejectsInvalidUtf8InHeader) {
  EXPECT_TRUE(rejects("{\"\xff\": 1}", "", "not valid JSON"));
}

TEST(Safetensors, RejectsHeaderThatIsNotAnObject) {
  EXPECT_TRUE(rejects("[1, 2]", "", "expected a JSON object"));
}

TEST(Safetensors, RejectsDuplicateTensorName) {
  std::string data(8, '\0');
  EXPECT_TRUE(
      rejects(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
              R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
              data, "duplicate key \"a\""));
}

TEST(Safetensors, RejectsDuplicateKeyInEntry) {
  std::string data(4, '\0');
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"F32","dtype":"F32",)"
                      R"("shape":[1],"data_offsets":[0,4]}})",
                      data, "header.a.dtype: duplicate key \"dtype\""));
}

TEST(Safetensors, RejectsEntryThatIsNotAnObject) {
  EXPECT_TRUE(rejects(R"({"a":[1,2]})", "", "expected a tensor entry"));
}

TEST(Safetensors, RejectsMissingKey) {
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"F32","data_offsets":[0,0]}})", "",
                      "missing key \"shape\""));
}

TEST(Safetensors, RejectsExtraKey) {
  EXPECT_TRUE(rejects(
      R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"foo":1}})", "",
      "unexpected key \"foo\""));
}

TEST(Safetensors, RejectsUnknownDtype) {
  EXPECT_TRUE(
      rejects(R"({"a":{"dtype":"Q7","shape":[0],"data_offsets":[0,0]}})", "",
              "unsupported dtype \"Q7\""));
  EXPECT_TRUE(rejects(R"({"a":{"dtype":3,"shape":[0],"data_offsets":[0,0]}})",
                      "", "expected a dtype string"));
}

TEST(Safetensors, RejectsShapeThatIsNotAListOfNonNegativeIntegers) {
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"F32","shape":3,"data_offsets":[0,0]}})",
                      "", "expected a list of non-negative integers"));
  EXPECT_TRUE(
      rejects(R"({"a":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,0]}})",
              "", "header.a.shape[1]: expected a non-negative integer"));
  EXPECT_TRUE(
      rejects(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})",
              std::string(8, '\0'), "found the number 2.0"));
}

TEST(Safetensors, RejectsTooManyElements) {
  EXPECT_TRUE(rejects(
      R"({"a":{"dtype":"U8","shape":[65536,65536],"data_offsets":[0,0]}})", "",
      "more than 2147483647 elements"));
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","shape":[18446744073709551615],)"
                      R"("data_offsets":[0,0]}})",
                      "", "is too large"));
  EXPECT_TRUE(rejects(
      R"({"a":{"dtype":"U8","shape":[99999999999999999999],"data_offsets":[0,0]}})",
      "", "expected a non-negative integer"));
}

TEST(Safetensors, RejectsMalformedDataOffsets) {
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0]}})",
                      "", "expected [begin, end]"));
  EXPECT_TRUE(
      rejects(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,"0"]}})", "",
              "data_offsets[1]: expected a non-negative integer"));
  EXPECT_TRUE(
      rejects(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})",
              std::string(8, '\0'), "begin offset 8 is after end offset 4"));
}

TEST(Safetensors, RejectsEndBeyondDataSection) {
  EXPECT_TRUE(rejects(
      R"({"fc1.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
      std::string(4, '\0'), "beyond the end of the data section"));
  try {
    SafetensorsFile::fromBytes(
        makeFile(
            R"({"fc1.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
            std::string(4, '\0')),
        kPath);
    FAIL() << "no error";
  } catch (const kiln::Error &e) {
    EXPECT_EQ(e.file(), kPath);
    EXPECT_EQ(e.location(), "header.\"fc1.weight\".data_offsets");
  }
}

TEST(Safetensors, RejectsByteCountNotMatchingShape) {
  EXPECT_TRUE(
      rejects(R"({"a":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}})",
              std::string(8, '\0'), "expected 6 bytes (3 elements of F16"));
}

TEST(Safetensors, RejectsOverlappingTensors) {
  EXPECT_TRUE(
      rejects(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
              std::string(12, '\0'), "tensor \"b\" (bytes [4, 12)) overlaps"));
}

TEST(Safetensors, RejectsHoleBetweenTensors) {
  EXPECT_TRUE(
      rejects(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
              R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
              std::string(12, '\0'), "bytes [4, 8) of the data section"));
}

TEST(Safetensors, RejectsUncoveredBytesAtEnd) {
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"F32","shape":[1],)"
                      R"("data_offsets":[0,4]}})",
                      std::string(6, '\0'),
                      "bytes [4, 6) of the data section"));
  EXPECT_TRUE(rejects("{}", "x", "bytes [0, 1) of the data section"));
}

TEST(Safetensors, RejectsMetadataThatIsNotStringToString) {
  EXPECT_TRUE(rejects(R"({"__metadata__":{"epoch":3}})", "",
                      "header.__metadata__.epoch: expected a string"));
  EXPECT_TRUE(rejects(R"({"__metadata__":["a"]})", "",
                      "expected an object mapping strings to strings"));
}

TEST(Safetensors, ReadsLeNetWeights) {
  const std::string path = "/work/shared/models/lenet/weights.safetensors";
  if (!std::filesystem::exists(path))
    GTEST_SKIP() << path << " not present";
  SafetensorsFile f = SafetensorsFile::open(path);
  const kiln::TensorInfo *w = f.find("features.conv1.weight");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, DType::F32);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{6, 3, 5, 5}));
  std::vector<float> v = f.readFloat32(*w);
  ASSERT_EQ(v.size(), 450u);
  for (float x : v)
    EXPECT_TRUE(std::isfinite(x));
}

} // namespace
