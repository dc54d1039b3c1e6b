// Tests for runtime/kiln/npy.h: our own round trip, files written by numpy
// (accepted: 0-d, 3-d, versions 2.0 and 3.0; refused: float64, big-endian,
// Fortran order), numpy reading our files, and damaged files.
#include "runtime/kiln/npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

bool havePythonNumpy() {
  static const bool have =
      std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
  return have;
}

/// Runs `code` with /usr/bin/python3 (numpy imported as np); true on exit 0.
bool runPython(const std::string &code) {
  std::string cmd = "/usr/bin/python3 -c \"import numpy as np; " + code + "\"";
  return std::system(cmd.c_str()) == 0;
}

std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

/// A .npy version 1.0 file with the given header dict text and data bytes.
std::string npyBytes(const std::string &dict, const std::string &data) {
  std::string header = dict + "\n";
  std::string s = "\x93NUMPY";
  s += '\x01';
  s += '\x00';
  s += static_cast<char>(header.size() & 0xff);
  s += static_cast<char>(header.size() >> 8);
  return s + header + data;
}

uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

class Npy : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln_npy_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty())
      fs::remove_all(dir_);
  }
  std::string file(const std::string &name) const { return dir_ + "/" + name; }

  /// Reads `path`, expecting failure with `fragment` and the path in the
  /// message.
  ::testing::AssertionResult refuses(const std::string &path,
                                     const std::string &fragment) {
    std::vector<int64_t> shape;
    std::vector<float> data;
    std::string error;
    if (kiln_npy::read_f32(path.c_str(), shape, data, error))
      return ::testing::AssertionFailure() << "read_f32 succeeded";
    if (error.find(path) == std::string::npos)
      return ::testing::AssertionFailure() << "no file name in: " << error;
    if (error.find(fragment) == std::string::npos)
      return ::testing::AssertionFailure()
             << "\"" << fragment << "\" not in: " << error;
    if (!shape.empty() || !data.empty())
      return ::testing::AssertionFailure() << "outputs not cleared";
    return ::testing::AssertionSuccess() << error;
  }

  std::string dir_;
};

TEST_F(Npy, WriteThenReadRoundTripsShapeAndBits) {
  const std::string path = file("a.npy");
  const std::vector<int64_t> shape = {2, 3};
  const float values[6] = {1.5f,
                           -0.0f,
                           std::numeric_limits<float>::infinity(),
                           std::numeric_limits<float>::quiet_NaN(),
                           std::numeric_limits<float>::denorm_min(),
                           -3.25e10f};
  std::string error;
  ASSERT_TRUE(kiln_npy::write_f32(path.c_str(), shape, values, error)) << error;
  std::vector<int64_t> readShape;
  std::vector<float> data;
  ASSERT_TRUE(kiln_npy::read_f32(path.c_str(), readShape, data, error))
      << error;
  EXPECT_EQ(readShape, shape);
  ASSERT_EQ(data.size(), 6u);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(bits(data[i]), bits(values[i])) << "element " << i;
}

TEST_F(Npy, WriteAlignsDataTo64BytesWithVersion1Header) {
  const std::string path = file("a.npy");
  const float v[5] = {1, 2, 3, 4, 5};
  std::string error;
  ASSERT_TRUE(kiln_npy::write_f32(path.c_str(), {5}, v, error)) << error;
  std::string bytes = readBytes(path);
  // 10 + 58-byte dict + padding + '\n' = 128, then 5 floats.
  ASSERT_EQ(bytes.size(), 128u + 20u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  size_t headerLen = static_cast<unsigned char>(bytes[8]) |
                     static_cast<unsigned char>(bytes[9]) << 8;
  EXPECT_EQ(headerLen, 118u);
  EXPECT_EQ(bytes[127], '\n');
  EXPECT_EQ(bytes[126], ' ');
  EXPECT_NE(bytes.find("'shape': (5,)"), std::string::npos);
}

TEST_F(Npy, WriteThenReadScalar) {
  const std::string path = file("s.npy");
  const float v = 7.0f;
  std::string error;
  ASSERT_TRUE(kiln_npy::write_f32(path.c_str(), {}, &v, error)) << error;
  EXPECT_NE(readBytes(path).find("'shape': ()"), std::string::npos);
  std::vector<int64_t> shape = {9};
  std::vector<float> data;
  ASSERT_TRUE(kiln_npy::read_f32(path.c_str(), shape, data, error)) << error;
  EXPECT_TRUE(shape.empty());
  EXPECT_EQ(data, std::vector<float>{7.0f});
}

TEST_F(Npy, WriteRefusesNegativeDimensionAndBadPath) {
  std::string error;
  const float v = 0;
  EXPECT_FALSE(kiln_npy::write_f32(file("n.npy").c_str(), {2, -1}, &v, error));
  EXPECT_NE(error.find("negative"), std::string::npos) << error;
  const std::string bad = file("no-such-dir/x.npy");
  EXPECT_FALSE(kiln_npy::write_f32(bad.c_str(), {1}, &v, error));
  EXPECT_NE(error.find(bad), std::string::npos) << error;
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

TEST_F(Npy, NumpyReadsWrittenFile) {
  if (!havePythonNumpy())
    GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
  const std::string path = file("w.npy");
  std::vector<float> v(24);
  for (int i = 0; i < 24; ++i)
    v[i] = 0.5f * i - 3;
  std::string error;
  ASSERT_TRUE(kiln_npy::write_f32(path.c_str(), {2, 3, 4}, v.data(), error))
      << error;
  EXPECT_TRUE(runPython(
      "a = np.load('" + path +
      "'); assert a.dtype == np.float32 and a.shape == (2, 3, 4), a; "
      "assert (a.ravel() == np.arange(24, dtype=np.float32) * 0.5 - 3).all()"));
}

TEST_F(Npy, ReadsNumpyWritten3dAnd0dArrays) {
  if (!havePythonNumpy())
    GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
  const std::string p3 = file("three.npy"), p0 = file("zero.npy");
  ASSERT_TRUE(runPython("np.save('" + p3 +
                        "', np.arange(24, dtype=np.float32).reshape(2, 3, 4) "
                        "/ 8); np.save('" +
                        p0 + "', np.float32(-2.5))"));
  std::vector<int64_t> shape;
  std::vector<float> data;
  std::string error;
  ASSERT_TRUE(kiln_npy::read_f32(p3.c_str(), shape, data, error)) << error;
  EXPECT_EQ(shape, (std::vector<int64_t>{2, 3, 4}));
  ASSERT_EQ(data.size(), 24u);
  for (int i = 0; i < 24; ++i)
    EXPECT_EQ(data[i], i / 8.0f);
  ASSERT_TRUE(kiln_npy::read_f32(p0.c_str(), shape, data, error)) << error;
  EXPECT_TRUE(shape.empty());
  EXPECT_EQ(data, std::vector<float>{-2.5f});
}

TEST_F(Npy, ReadsNumpyVersion2And3Headers) {
  if (!havePythonNumpy())
    GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
  for (int version : {2, 3}) {
    const std::string path = file("v" + std::to_string(version) + ".npy");
    ASSERT_TRUE(
        runPython("f = open('" + path +
                  "', 'wb'); np.lib.format.write_array(f, np.ones((3, 1), "
                  "np.float32), version=(" +
                  std::to_string(version) + ", 0)); f.close()"));
    ASSERT_EQ(readBytes(path)[6], static_cast<char>(version));
    std::vector<int64_t> shape;
    std::vector<float> data;
    std::string error;
    ASSERT_TRUE(kiln_npy::read_f32(path.c_str(), shape, data, error)) << error;
    EXPECT_EQ(shape, (std::vector<int64_t>{3, 1}));
    EXPECT_EQ(data, std::vector<float>(3, 1.0f));
  }
}

TEST_F(Npy, RefusesNumpyFloat64File) {
  if (!havePythonNumpy())
    GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
  const std::string path = file("f8.npy");
  ASSERT_TRUE(runPython("np.save('" + path + "', np.zeros((2, 2)))"));
  EXPECT_TRUE(refuses(path, "expected dtype '<f4'"));
  EXPECT_TRUE(refuses(path, "found '<f8'"));
}

TEST_F(Npy, RefusesBigEndianFloat32File) {
  if (!havePythonNumpy())
    GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
  const std::string path = file("be.npy");
  ASSERT_TRUE(runPython("np.save('" + path + "', np.zeros(3, dtype='>f4'))"));
  EXPECT_TRUE(refuses(path, "found '>f4'"));
}

TEST_F(Npy, RefusesNumpyFortranOrderFile) {
  if (!havePythonNumpy())
    GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
  const std::string path = file("fortran.npy");
  ASSERT_TRUE(
      runPython("np.save('" + path +
                "', np.asfortranarray(np.zeros((2, 3), dtype=np.float32)))"));
  EXPECT_TRUE(refuses(path, "found fortran_order True"));
}

TEST_F(Npy, RefusesTruncatedData) {
  const std::string path = file("t.npy");
  const float v[4] = {1, 2, 3, 4};
  std::string error;
  ASSERT_TRUE(kiln_npy::write_f32(path.c_str(), {4}, v, error)) << error;
  fs::resize_file(path, fs::file_size(path) - 3);
  EXPECT_TRUE(refuses(path, "truncated data: expected 16 bytes"));
  EXPECT_TRUE(refuses(path, "found 13"));
}

TEST_F(Npy, RefusesTruncatedHeader) {
  const std::string path = file("th.npy");
  writeBytes(path, npyBytes("{'descr': '<f4', 'fortran_order': False, "
                            "'shape': (1,), }",
                            "")
                       .substr(0, 30));
  EXPECT_TRUE(refuses(path, "truncated header"));
}

TEST_F(Npy, RefusesTrailingBytes) {
  const std::string path = file("x.npy");
  writeBytes(path, npyBytes("{'descr': '<f4', 'fortran_order': False, "
                            "'shape': (1,), }",
                            std::string(6, '\0')));
  EXPECT_TRUE(refuses(path, "2 extra bytes"));
}

TEST_F(Npy, RefusesBadMagic) {
  const std::string path = file("m.npy");
  writeBytes(path, "PK\x03\x04 this is a zip");
  EXPECT_TRUE(refuses(path, "bad magic"));
  EXPECT_TRUE(refuses(path, "found 'PK\\x03\\x04 t'"));
}

TEST_F(Npy, RefusesMissingFile) {
  EXPECT_TRUE(refuses(file("absent.npy"), "cannot open"));
}

TEST_F(Npy, RefusesUnsupportedVersion) {
  const std::string path = file("v9.npy");
  std::string bytes =
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
               std::string(4, '\0'));
  bytes[6] = 9;
  writeBytes(path, bytes);
  EXPECT_TRUE(refuses(path, "unsupported .npy format version 9.0"));
}

TEST_F(Npy, ParsesHeaderWithKeysInAnyOrderAndNoTrailingComma) {
  const std::string path = file("h.npy");
  std::string data(8, '\0');
  writeBytes(path, npyBytes("{ \"shape\" : ( 2L ,1 ) , 'fortran_order':False,"
                            "'descr':'<f4'}   ",
                            data));
  std::vector<int64_t> shape;
  std::vector<float> out;
  std::string error;
  ASSERT_TRUE(kiln_npy::read_f32(path.c_str(), shape, out, error)) << error;
  EXPECT_EQ(shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(out, std::vector<float>(2, 0.0f));
}

TEST_F(Npy, RefusesMalformedHeaders) {
  struct Case {
    const char *dict, *fragment;
  };
  const Case cases[] = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3 }",
       "expected ',' or ')' in 'shape', found '}'"},
      {"{'descr': '<f4', 'fortran_order': False}",
       "the header dict has no 'shape' key"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': ()}",
       "expected True or False for 'fortran_order'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}",
       "unexpected key 'x'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
       "'shape': ()}",
       "key 'descr' appears twice"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
       "expected non-negative dimensions in 'shape', found -1"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}",
       "(a structured dtype)"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': ()} x",
       "expected only padding after the header dict"},
  };
  for (const Case &c : cases) {
    const std::string path = file("bad.npy");
    writeBytes(path, npyBytes(c.dict, std::string(4, '\0')));
    EXPECT_TRUE(refuses(path, "malformed header")) << c.dict;
    EXPECT_TRUE(refuses(path, c.fragment)) << c.dict;
  }
}

} // namespace
