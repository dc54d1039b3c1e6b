// Unit tests of the IR graph's own bookkeeping (ir/graph.h).
#include "ir/graph.h"

#include <gtest/gtest.h>

#include <string>

// uniqueName gives the smallest free suffix, also when names with suffixes
// were taken directly in between (its search resumes, it does not skip).
TEST(GraphNames, UniqueNameTakesTheSmallestFreeSuffix) {
  kiln::Graph g;
  EXPECT_EQ(g.uniqueName("relu"), "relu");
  EXPECT_EQ(g.uniqueName("relu"), "relu_1");
  EXPECT_EQ(g.uniqueName("relu_3"), "relu_3");
  EXPECT_EQ(g.uniqueName("relu"), "relu_2");
  EXPECT_EQ(g.uniqueName("relu"), "relu_4");
  EXPECT_EQ(g.uniqueName("relu_5"), "relu_5");
  EXPECT_EQ(g.uniqueName("relu_1"), "relu_1_1");
  EXPECT_EQ(g.uniqueName("relu"), "relu_6");
  EXPECT_EQ(g.uniqueName(""), "v");
  EXPECT_EQ(g.uniqueName(""), "v_1");
  for (int i = 7; i < 20007; ++i)
    ASSERT_EQ(g.uniqueName("relu"), "relu_" + std::to_string(i));
}
